/**
 * The PostgreSQL backend (`DATABASE_URL=postgres://…`): every knowledge base of every server in
 * one database, shared by any number of bot processes. pgvector (HNSW, cosine) for dense search,
 * tsvector + GIN with BM25 ranking for lexical search, one passages partition per tenant,
 * migrations by node-pg-migrate, advisory locks for writers, LISTEN/NOTIFY for the change feed.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { IndexModel } from '../catalog.js';
import type { FeedbackRow } from '../feedback.js';
import type { LexicalOptions } from '../lexical-index.js';
import { tenantKey, tenantName, type KnowledgeStore, type ServerDirectoryStore, type StoreChange, type TenantKey } from '../port.js';
import { PgCooldowns } from './cooldowns.js';
import { bm25Params } from './lexical.js';
import { efSearchSetting, forgetQuestionText, LOCK_COMMIT, passagePartition, PgQuestions, PostgresTenant, type PostgresContext } from './tenant.js';
import { inTransaction } from './transaction.js';

export { PostgresTenant } from './tenant.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Longest a read may run. Default 10 s. */
  statementTimeoutMs?: number;
  /** Longest one statement of a write may run (they insert in chunks). Default 120 s. */
  writeTimeoutMs?: number;
  /** pgvector `hnsw.ef_search`: candidates examined per dense search (1–1000; a search for more rows than this raises it to its k for that statement). Default 200. */
  efSearch?: number;
  /**
   * HNSW build parameters of new per-dimension indexes. Defaults m 16, ef_construction 200: with
   * pgvector's own 64, recall@10 at ef_search 200 was 0.936 on 100,000 vectors; with 200, 0.985
   * (README, "pgvector's HNSW next to hnswlib"; the build takes about twice as long).
   */
  hnsw?: { m?: number; efConstruction?: number };
  /** pgvector ≥ 0.8: `hnsw.iterative_scan` (off, relaxed_order, strict_order). Default off: passages are partitioned per tenant, so no filter eats the k nearest. */
  iterativeScan?: 'off' | 'relaxed_order' | 'strict_order';
  lexical?: LexicalOptions;
  /** Listen for other processes' changes (LISTEN/NOTIFY). Default true. */
  listen?: boolean;
  log?: (line: string) => void;
}

const CHANNEL = 'kb_change';
/** NOTIFY payloads are limited to 8000 bytes; article lists are cut well below. */
const MAX_NOTIFY_ARTICLES = 100;
const LOCK_DDL = 0x6b62_0003;
/** Migration 1796169600011 rebuilds the indexes built with pgvector's 64 at this value: change both together. */
const HNSW_EF_CONSTRUCTION = 200;
const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** bigint columns (labels, ids, versions, counts) as numbers: they stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Applies the schema migrations (idempotent; concurrent starts wait for each other). */
export async function migrate(url: string, log?: (line: string) => void): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      migrationsTable: 'kb_migrations',
      direction: 'up',
      checkOrder: true,
      advisoryLockMode: 'wait',
      log: (line: string) => log?.(line),
    } as Parameters<typeof runner>[0]);
  } catch (error) {
    throw new Error(
      `could not migrate the knowledge-base schema in ${redact(url)}: ${(error as Error).message}. ` +
        'The database needs the pgvector extension (Debian: postgresql-15-pgvector; or the pgvector/pgvector image) and a role allowed to CREATE EXTENSION vector once.',
    );
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export class PostgresStore implements KnowledgeStore {
  readonly kind = 'postgres' as const;
  readonly shared = true;
  readonly servers: ServerDirectoryStore;
  readonly cooldowns: PgCooldowns;
  /** Tells this store's own notifications apart from other processes'. */
  readonly origin = randomUUID();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly dimensions = new Set<number>();
  private readonly openCount = new Map<string, number>();
  private listener?: pg.Client;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly ctx: PostgresContext;

  private constructor(
    private readonly opts: PostgresStoreOptions,
    readonly pool: pg.Pool,
  ) {
    this.ctx = {
      pool,
      bm25: bm25Params(opts.lexical),
      writeTimeoutMs: opts.writeTimeoutMs ?? 120_000,
      efSearch: efSearchSetting(opts.efSearch ?? 200),
      ensureDimension: (d) => this.ensureDimension(d),
      notify: async (client, change) => {
        const articles = change.articles.slice(0, MAX_NOTIFY_ARTICLES);
        const payload = { o: this.origin, t: change.tenant, k: change.kind, v: change.version, a: articles, ...(articles.length < change.articles.length ? { x: 1 } : {}) };
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(payload)]);
      },
      emitLocal: (change) => this.emit({ ...change, tenant: tenantKey(change.tenant), remote: false }),
      log: (line) => opts.log?.(line),
      released: (name) => {
        const n = (this.openCount.get(name) ?? 1) - 1;
        if (n <= 0) this.openCount.delete(name);
        else this.openCount.set(name, n);
      },
    };
    this.cooldowns = new PgCooldowns(pool, { log: (line) => opts.log?.(line) });
    const q = (sql: string, params: unknown[]) => pool.query(sql, params);
    this.servers = {
      joined: async (id, at = new Date()) => {
        await q(`INSERT INTO kb_servers (server_id, joined_at, left_at) VALUES ($1, $2, NULL) ON CONFLICT (server_id) DO UPDATE SET left_at = NULL`, [id, at.toISOString()]);
      },
      left: async (id, at = new Date()) => {
        await q(
          `INSERT INTO kb_servers (server_id, joined_at, left_at) VALUES ($1, $2, $2)
           ON CONFLICT (server_id) DO UPDATE SET left_at = COALESCE(kb_servers.left_at, excluded.left_at)`,
          [id, at.toISOString()],
        );
      },
      get: async (id) => {
        const { rows } = await q('SELECT server_id, joined_at, left_at FROM kb_servers WHERE server_id = $1', [id]);
        return rows[0] && { serverId: rows[0].server_id, joinedAt: rows[0].joined_at, leftAt: rows[0].left_at };
      },
      list: async () => {
        const { rows } = await q('SELECT server_id, joined_at, left_at FROM kb_servers ORDER BY server_id', []);
        return rows.map((r) => ({ serverId: r.server_id, joinedAt: r.joined_at, leftAt: r.left_at }));
      },
      leftBefore: async (before) => {
        const { rows } = await q('SELECT server_id, joined_at, left_at FROM kb_servers WHERE left_at IS NOT NULL AND left_at < $1 ORDER BY server_id', [before.toISOString()]);
        return rows.map((r) => ({ serverId: r.server_id, joinedAt: r.joined_at, leftAt: r.left_at }));
      },
      forget: async (id) => {
        await q('DELETE FROM kb_servers WHERE server_id = $1', [id]);
      },
    };
  }

  /** Migrates the schema, opens the pool and (by default) starts listening for other processes' changes. */
  static async connect(opts: PostgresStoreOptions): Promise<PostgresStore> {
    await migrate(opts.url, opts.log);
    const timeout = Math.max(1, Math.floor(opts.statementTimeoutMs ?? 10_000));
    const settings: [string, string][] = [
      ['statement_timeout', String(timeout)],
      ['hnsw.ef_search', String(efSearchSetting(opts.efSearch ?? 200))],
      ...(opts.iterativeScan && opts.iterativeScan !== 'off' ? [['hnsw.iterative_scan', opts.iterativeScan] as [string, string]] : []),
    ];
    // Sent in the startup packet, so every connection has them before its first query.
    const options = settings.map(([k, v]) => `-c ${k}=${v}`).join(' ');
    // Set once a server turns out to ignore startup options: every new connection then runs it
    // before its first query (pg-pool awaits onConnect, so no query overlaps it).
    let perConnection: string | undefined;
    const onConnect = async (client: pg.ClientBase) => {
      if (perConnection) await client.query(perConnection);
    };
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, types, options, onConnect });
    const applied = await pool.query("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'").then((r) => r.rows[0].setting as string, async (error: Error) => {
      await pool.end();
      throw new Error(`could not connect to ${redact(opts.url)}: ${error.message}`);
    });
    if (applied !== String(timeout)) {
      // Some servers ignore startup options (PGlite; poolers in transaction mode): set them on each new connection.
      opts.log?.(`the database ignored connection options (statement_timeout is ${applied} ms); setting them on each connection instead`);
      perConnection = settings.map(([k, v]) => `SET ${k} = ${k === 'hnsw.iterative_scan' ? v : `'${v}'`}`).join('; ');
      // The connection already open (the one that answered above) gets them now.
      await pool.query(perConnection);
    }
    pool.on('error', (e) => opts.log?.(`an idle database connection failed: ${e.message}`));
    const store = new PostgresStore(opts, pool);
    try {
      if (opts.listen ?? true) await store.startListening();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  private async startListening(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.url, types });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const p = JSON.parse(message.payload) as { o: string; t: string; k: StoreChange['kind']; v: number; a: string[]; x?: 1 };
        if (p.o === this.origin) return; // emitted locally when it committed
        this.emit({ tenant: tenantKey(p.t), kind: p.k, version: p.v, articles: p.a, ...(p.x ? { truncated: true } : {}), remote: true });
      } catch (error) {
        this.opts.log?.(`ignored a malformed change notification: ${(error as Error).message}`);
      }
    });
    const lost = (error?: Error) => {
      if (this.closed || this.listener !== client) return;
      this.listener = undefined;
      this.opts.log?.(`the change feed connection was lost (${error?.message ?? 'closed'}); reconnecting`);
      client.end().catch(() => undefined);
      this.scheduleReconnect(1000);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  private scheduleReconnect(delayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      if (this.closed) return;
      this.startListening().then(
        // Changes made while the feed was down were missed: caches must assume anything changed.
        () => this.emit({ tenant: undefined, kind: 'resync', version: -1, articles: [], remote: true }),
        (e: Error) => {
          this.opts.log?.(`reconnecting the change feed failed: ${e.message}`);
          this.scheduleReconnect(Math.min(delayMs * 2, 30_000));
        },
      );
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.opts.log?.(`a change listener failed: ${(error as Error).message}`);
      }
    }
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One HNSW index per vector dimension in use, on the partitioned table (so on every tenant's partition). */
  private async ensureDimension(dimension: number): Promise<void> {
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > 2000) {
      throw new Error(`pgvector's HNSW index takes 1 to 2,000 dimensions; the embedding model has ${dimension}`);
    }
    if (this.dimensions.has(dimension)) return;
    const m = Math.floor(this.opts.hnsw?.m ?? 16);
    const ef = Math.floor(this.opts.hnsw?.efConstruction ?? HNSW_EF_CONSTRUCTION);
    await this.ddl(
      `CREATE INDEX IF NOT EXISTS kb_passages_hnsw_${dimension} ON kb_passages
       USING hnsw ((embedding::vector(${dimension})) vector_cosine_ops) WITH (m = ${m}, ef_construction = ${ef})
       WHERE vector_dims(embedding) = ${dimension}`,
    );
    this.dimensions.add(dimension);
  }

  /** Schema changes at run time (a tenant's partition, a dimension's index), one process at a time. */
  private async ddl(...statements: string[]): Promise<void> {
    await inTransaction(
      this.pool,
      async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1::int, 0)', [LOCK_DDL]);
        for (const sql of statements) await client.query(sql);
      },
      { statementTimeoutMs: 0 },
    );
  }

  async open(tenant: TenantKey): Promise<PostgresTenant> {
    if (this.closed) throw new Error('the store is closed');
    const name = tenantName(tenant);
    const partition = passagePartition(name);
    const { rows } = await this.pool.query('SELECT (SELECT 1 FROM kb_tenants WHERE tenant = $1) AS row, to_regclass($2) AS part', [name, partition]);
    if (!rows[0].row || !rows[0].part) {
      await this.ddl(
        `INSERT INTO kb_tenants (tenant) VALUES ('${name}') ON CONFLICT DO NOTHING`,
        `CREATE TABLE IF NOT EXISTS ${partition} PARTITION OF kb_passages FOR VALUES IN ('${name}')`,
      );
    }
    this.openCount.set(name, (this.openCount.get(name) ?? 0) + 1);
    return new PostgresTenant(this.ctx, name);
  }

  async tenants(): Promise<string[]> {
    const { rows } = await this.pool.query("SELECT tenant FROM kb_tenants WHERE tenant <> 'base' ORDER BY tenant");
    return rows.map((r) => r.tenant as string);
  }

  async tenantsWithFeedsDue(now: Date): Promise<TenantKey[]> {
    const { rows } = await this.pool.query('SELECT DISTINCT tenant FROM kb_feeds WHERE next_poll_at <= $1 ORDER BY tenant', [now.toISOString()]);
    return rows.map((r) => tenantKey(r.tenant as string));
  }

  async modelOf(tenant: TenantKey): Promise<IndexModel | undefined> {
    const { rows } = await this.pool.query('SELECT model FROM kb_tenants WHERE tenant = $1', [tenantName(tenant)]);
    return (rows[0]?.model as IndexModel | null) ?? undefined;
  }

  async forgetQuestionsOlderThan(days: number, now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    return inTransaction(this.pool, (client) => forgetQuestionText(client, cutoff));
  }

  async feedbackOf(tenant: TenantKey, options: { since?: string; guildId?: string } = {}): Promise<FeedbackRow[] | undefined> {
    const name = tenantName(tenant);
    const { rows } = await this.pool.query('SELECT 1 FROM kb_tenants WHERE tenant = $1', [name]);
    if (!rows[0]) return undefined;
    return new PgQuestions(this.pool, name).listFeedback(options);
  }

  async purgeTenant(serverId: string): Promise<{ articles: number; questions: number }> {
    const name = tenantName(serverId);
    if (name === 'base') throw new Error("the operator's knowledge base is not purged this way; clear it instead");
    if (this.openCount.has(name)) throw new Error(`server ${serverId}'s knowledge base is open in this process; close it before purging`);
    const counts = await inTransaction(
      this.pool,
      async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_COMMIT, name]);
        const { rows } = await client.query(
          'SELECT (SELECT count(*) FROM kb_articles WHERE tenant = $1) AS articles, (SELECT count(*) FROM kb_questions WHERE tenant = $1) AS questions',
          [name],
        );
        await client.query(`DROP TABLE IF EXISTS ${passagePartition(name)}`);
        await client.query('DELETE FROM kb_tenants WHERE tenant = $1', [name]);
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ o: this.origin, t: name, k: 'purge', v: -1, a: [] })]);
        return { articles: Number(rows[0].articles), questions: Number(rows[0].questions) };
      },
      { statementTimeoutMs: 0 },
    );
    this.emit({ tenant: name, kind: 'purge', version: -1, articles: [], remote: false });
    return counts;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.cooldowns.settled();
    await this.pool.end();
  }
}
