/**
 * The local (default) backend: one folder per knowledge base, as the registry lays them out
 * today: the operator's in `dataDir`, a server's in `dataDir/servers/<id>/`. Each folder holds a
 * SQLite catalog and the HNSW and BM25 indexes derived from it ({@link LocalTenant}). One process
 * owns a data folder; the change feed is this process's own commits.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LexicalOptions } from '../lexical-index.js';
import { tenantKey, tenantName, type KnowledgeStore, type ServerDirectoryStore, type StoreChange, type TenantKey } from '../port.js';
import { Catalog, type IndexModel } from '../catalog.js';
import { FeedbackStore, type FeedbackRow } from '../feedback.js';
import { SqliteFeedStore } from '../feeds.js';
import { ServerDirectory } from '../servers.js';
import type { HnswOptions } from '../vector-index.js';
import { MemoryCooldowns } from './cooldowns.js';
import { MemoryReindexMarker } from './reindex-marker.js';
import { CATALOG_FILE, LocalTenant } from './tenant.js';

export { LocalTenant } from './tenant.js';

export interface LocalStoreOptions {
  dataDir: string;
  hnsw?: HnswOptions;
  /** HNSW options of server knowledge bases (they start small). Default: `hnsw` with capacity 128. */
  serverHnsw?: HnswOptions;
  lexical?: LexicalOptions;
  log?: (line: string) => void;
}

const SERVER_DIR = /^\d{1,20}$/;

/** The folder of a tenant's files in a data folder: the operator's at the top, each server's under servers/. */
function tenantDir(dataDir: string, name: string): string {
  return name === 'base' ? dataDir : join(dataDir, 'servers', name);
}

/** Where a tenant's catalog lives in a data folder (whether it exists says whether anything was ever stored there). */
export function localCatalogPath(dataDir: string, tenant: TenantKey): string {
  return join(tenantDir(dataDir, tenantName(tenant)), CATALOG_FILE);
}

export class LocalStore implements KnowledgeStore {
  readonly kind = 'local' as const;
  readonly shared = false;
  readonly servers: ServerDirectoryStore;
  readonly cooldowns = new MemoryCooldowns();
  /** By tenant name; in memory like the cooldowns (see reindex-marker.ts). */
  private readonly reindexMarkers = new Map<string, MemoryReindexMarker>();
  private readonly open_ = new Map<string, Promise<LocalTenant>>();
  /** Tenants being closed: opening one again waits for its files to be written and closed. */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly directoryDb: Database.Database;
  private closed = false;

  constructor(private readonly opts: LocalStoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    // Its own connection to the operator's catalog file (WAL: it never blocks the catalog's readers).
    this.directoryDb = new Database(join(opts.dataDir, CATALOG_FILE));
    this.directoryDb.pragma('journal_mode = WAL');
    this.directoryDb.pragma('busy_timeout = 5000');
    const directory = new ServerDirectory(this.directoryDb);
    this.servers = {
      joined: async (id, at) => directory.joined(id, at),
      left: async (id, at) => directory.left(id, at),
      get: async (id) => directory.get(id),
      list: async () => directory.list(),
      leftBefore: async (before) => directory.leftBefore(before),
      forget: async (id) => directory.forget(id),
    };
  }

  private dirOf(name: string): string {
    return tenantDir(this.opts.dataDir, name);
  }

  async open(tenant: TenantKey): Promise<LocalTenant> {
    if (this.closed) throw new Error('the store is closed');
    const name = tenantName(tenant);
    const existing = this.open_.get(name);
    if (existing) {
      const t = await existing;
      t.refs++;
      return t;
    }
    const opening = this.openTenant(name);
    this.open_.set(name, opening);
    opening.catch(() => {
      if (this.open_.get(name) === opening) this.open_.delete(name);
    });
    return opening;
  }

  private async openTenant(name: string): Promise<LocalTenant> {
    await this.closing.get(name);
    return LocalTenant.open({
      dir: this.dirOf(name),
      tenant: name === 'base' ? null : name,
      hnsw: name === 'base' ? this.opts.hnsw : (this.opts.serverHnsw ?? { ...this.opts.hnsw, initialCapacity: 128 }),
      lexical: this.opts.lexical,
      reindexMarker: this.reindexMarkerOf(name),
      log: (line) => this.opts.log?.(name === 'base' ? line : `server ${name}: ${line}`),
      emit: (change) => this.emit({ ...change, remote: false }),
      onClosing: (done) => {
        this.open_.delete(name);
        this.closing.set(name, done);
        const forget = () => {
          if (this.closing.get(name) === done) this.closing.delete(name);
        };
        done.then(forget, forget);
      },
    });
  }

  private reindexMarkerOf(name: string): MemoryReindexMarker {
    let marker = this.reindexMarkers.get(name);
    if (!marker) this.reindexMarkers.set(name, (marker = new MemoryReindexMarker()));
    return marker;
  }

  async tenants(): Promise<string[]> {
    const root = join(this.opts.dataDir, 'servers');
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .filter((d) => SERVER_DIR.test(d) && existsSync(join(root, d, CATALOG_FILE)))
      .sort();
  }

  async tenantsWithFeedsDue(now: Date): Promise<TenantKey[]> {
    const due: TenantKey[] = [];
    for (const name of ['base', ...(await this.tenants())]) {
      // Read-only and without opening the tenant: a catalog being created or purged right now is looked at next time.
      try {
        if (SqliteFeedStore.hasDue(join(this.dirOf(name), CATALOG_FILE), now)) due.push(tenantKey(name));
      } catch {
        continue;
      }
    }
    return due;
  }

  async modelOf(tenant: TenantKey): Promise<IndexModel | undefined> {
    return Catalog.peekModel(join(this.dirOf(tenantName(tenant)), CATALOG_FILE));
  }

  async forgetQuestionsOlderThan(days: number, now = new Date()): Promise<number> {
    let n = 0;
    for (const name of ['base', ...(await this.tenants())]) {
      const file = join(this.dirOf(name), CATALOG_FILE);
      if (!existsSync(file)) continue;
      // Its own connection (WAL, busy timeout): an open tenant keeps answering meanwhile.
      const store = FeedbackStore.open(file);
      try {
        n += store.forgetOlderThan(days, now);
      } finally {
        store.close();
      }
    }
    return n;
  }

  async feedbackOf(tenant: TenantKey, options: { since?: string; guildId?: string } = {}): Promise<FeedbackRow[] | undefined> {
    const file = join(this.dirOf(tenantName(tenant)), CATALOG_FILE);
    if (!existsSync(file)) return undefined;
    // Its own connection (WAL), as forgetQuestionsOlderThan: the bot may hold the tenant open meanwhile.
    const store = FeedbackStore.open(file);
    try {
      return store.listFeedback(options);
    } finally {
      store.close();
    }
  }

  async purgeTenant(serverId: string): Promise<{ articles: number; questions: number }> {
    const name = tenantName(serverId);
    if (name === 'base') throw new Error("the operator's knowledge base is not purged this way; clear it instead");
    await this.closing.get(name);
    if (this.open_.has(name)) throw new Error(`server ${serverId}'s knowledge base is open; close it before purging`);
    const dir = this.dirOf(name);
    let articles = 0;
    let questions = 0;
    if (existsSync(join(dir, CATALOG_FILE))) {
      const db = new Database(join(dir, CATALOG_FILE), { readonly: true });
      try {
        const has = (table: string) => (db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { n: number }).n > 0;
        if (has('articles')) articles = (db.prepare('SELECT COUNT(*) AS n FROM articles').get() as { n: number }).n;
        if (has('questions')) questions = (db.prepare('SELECT COUNT(*) AS n FROM questions').get() as { n: number }).n;
      } finally {
        db.close();
      }
    }
    rmSync(dir, { recursive: true, force: true });
    this.reindexMarkers.delete(name);
    this.emit({ tenant: name, kind: 'purge', version: -1, articles: [], remote: false });
    return { articles, questions };
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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

  /** Closes the directory connection. Tenants still open are closed by their holders. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.directoryDb.close();
  }
}
