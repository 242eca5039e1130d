import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Actor, AuditEntry, AuditEntryInput } from '../audit.js';
import { toPassage, type ArticleRecord, type ArticleTitle, type IndexModel, type PassageRow, type StoredPassage } from '../catalog.js';
import type { FeedbackRow, QuestionRecord, StoredSource } from '../feedback.js';
import {
  checkVectors,
  ModelPolicyError,
  type ArticleDump,
  type CachedSummary,
  type CommitOutcome,
  type CommitRequest,
  type CommittedArticle,
  type ConfirmationStore,
  type FeedStore,
  type DenseHit,
  type LexicalHit,
  type QuestionStore,
  type ReindexMarkerStore,
  type SearchCandidate,
  type SearchRequest,
  type SentenceCache,
  type StorageStats,
  type StoreState,
  type SummaryCache,
  type TakeResult,
  type TenantKey,
  type TenantStore,
} from '../port.js';
import { BM25_CTES, fieldLexemes, lexicalQuery, type bm25Params } from './lexical.js';
import { PgFeeds } from './feeds.js';
import { PgReindexMarker } from './reindex-marker.js';
import { inTransaction } from './transaction.js';

/** What a tenant handle needs from its store. */
export interface PostgresContext {
  pool: pg.Pool;
  bm25: ReturnType<typeof bm25Params>;
  writeTimeoutMs: number;
  /** The connections' `hnsw.ef_search`: a dense search for more rows raises it for its own statement. */
  efSearch: number;
  /** Creates the HNSW index for vectors of this dimension when missing (outside any transaction). */
  ensureDimension(dimension: number): Promise<void>;
  /** Tells this process's subscribers and, after commit, every other process (NOTIFY inside the transaction). */
  notify(client: pg.PoolClient, change: { tenant: string; kind: 'commit' | 'clear' | 'note'; version: number; articles: string[] }): Promise<void>;
  emitLocal(change: { tenant: string; kind: 'commit' | 'clear' | 'note'; version: number; articles: string[] }): void;
  log(line: string): void;
  released(tenant: string): void;
}

/** The partition of kb_passages that holds one tenant's passages. */
export function passagePartition(tenant: string): string {
  return `kb_passages_t_${tenant}`;
}

/** A value for `hnsw.ef_search`: pgvector accepts 1 to 1000. */
export function efSearchSetting(candidates: number): number {
  return Math.min(1000, Math.max(1, Math.floor(candidates)));
}

/** Passages written by this process since the last ANALYZE that make the next commit run one (or a fifth of the tenant, when more). */
const ANALYZE_AFTER_ROWS = 500;

/** Advisory lock classes (the first key of the two-key form); the second key is hashtext(tenant). */
export const LOCK_COMMIT = 0x6b62_0001;
export const LOCK_WRITER = 0x6b62_0002;

/** Rows per INSERT of passages: each statement stays well inside the write time-out (HNSW inserts cost). */
const INSERT_CHUNK = 256;

export function vectorLiteral(v: Float32Array): string {
  return `[${Array.from(v).join(',')}]`;
}

export function parseVector(text: string): Float32Array {
  return new Float32Array(text.slice(1, -1).split(',').map(Number));
}

const ARTICLE_COLUMNS = `a.id, a.title, a.url, a.date, a.author, a.origin, a.hash, a.paragraphs, a.duplicates_dropped, a.added_by, a.added_at, a.updated_at,
  (SELECT count(*) FROM kb_passages p WHERE p.tenant = a.tenant AND p.article_id = a.id) AS passages`;

function toArticle(r: Record<string, unknown>): ArticleRecord {
  return {
    id: r.id as string,
    title: r.title as string,
    ...(r.url ? { url: r.url as string } : {}),
    ...(r.date ? { date: r.date as string } : {}),
    ...(r.author ? { author: r.author as string } : {}),
    origin: r.origin as string,
    hash: r.hash as string,
    paragraphs: r.paragraphs as number,
    passages: Number(r.passages),
    duplicatesDropped: r.duplicates_dropped as number,
    ...(r.added_by ? { addedBy: r.added_by as string } : {}),
    addedAt: r.added_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toAudit(r: Record<string, unknown>): AuditEntry {
  return {
    id: Number(r.id),
    at: r.at as string,
    actor: { id: r.actor_id as string, ...(r.actor_name ? { name: r.actor_name as string } : {}), ...(r.via ? { via: r.via as string } : {}) },
    action: r.action as AuditEntry['action'],
    ...(r.article_id ? { articleId: r.article_id as string } : {}),
    ...(r.title ? { title: r.title as string } : {}),
    ...(r.content_hash ? { contentHash: r.content_hash as string } : {}),
    ...(r.details ? { details: r.details as Record<string, unknown> } : {}),
    version: Number(r.catalog_version),
  };
}

/**
 * One knowledge base in PostgreSQL: every statement carries `tenant = $1`. Reads are plain
 * statements (MVCC: never blocked by a writer, and one statement sees one snapshot). Commits are
 * one transaction under the tenant's advisory commit lock; the NOTIFY sent inside it reaches other
 * processes only if it commits.
 */
export class PostgresTenant implements TenantStore {
  readonly tenant: TenantKey;
  readonly questions: QuestionStore;
  readonly summaries: SummaryCache;
  readonly confirmations: ConfirmationStore;
  readonly feeds: FeedStore;
  readonly sentences: SentenceCache;
  readonly reindexMarker: ReindexMarkerStore;
  private closed = false;
  /** In-process queue in front of the cross-process writer lock (one pool client waits, not many). */
  private writerChain: Promise<unknown> = Promise.resolve();
  /** Passages this handle wrote since it last refreshed the planner statistics (see keepPlannerStatistics). */
  private addedSinceAnalyze = 0;

  constructor(
    private readonly ctx: PostgresContext,
    private readonly name: string,
  ) {
    this.tenant = name === 'base' ? null : name;
    this.questions = new PgQuestions(ctx.pool, name);
    this.summaries = new PgSummaries(ctx.pool, name);
    this.confirmations = new PgConfirmations(ctx.pool, name);
    this.feeds = new PgFeeds(() => this.pool, name);
    this.sentences = new PgSentences(ctx.pool, name);
    this.reindexMarker = new PgReindexMarker(() => this.pool, name);
  }

  private get pool(): pg.Pool {
    if (this.closed) throw new Error(`tenant ${this.name} was closed; open it again from the store`);
    return this.ctx.pool;
  }

  private async q<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, [this.name, ...params])).rows;
  }

  /**
   * A statement with a dense top-k. An HNSW scan yields at most `hnsw.ef_search` rows, so a k
   * above the connections' setting runs in a transaction that raises it to k for itself.
   */
  private async denseQ<R extends pg.QueryResultRow>(k: number, sql: string, params: unknown[]): Promise<R[]> {
    if (k <= this.ctx.efSearch) return this.q<R>(sql, params);
    return inTransaction(this.pool, async (client) => {
      await client.query(`SET LOCAL hnsw.ef_search = ${efSearchSetting(k)}`);
      return (await client.query<R>(sql, [this.name, ...params])).rows;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------

  async state(): Promise<StoreState> {
    const [row] = await this.q(
      `SELECT version, last_change, model, (SELECT count(*) FROM kb_articles WHERE tenant = $1) AS articles,
              (SELECT count(*) FROM kb_passages WHERE tenant = $1) AS passages
       FROM kb_tenants WHERE tenant = $1`,
    );
    if (!row) throw new Error(`tenant ${this.name} does not exist (was it purged?)`);
    return {
      version: Number(row.version),
      ...(row.last_change ? { lastChange: row.last_change as string } : {}),
      ...(row.model ? { model: row.model as IndexModel } : {}),
      articles: Number(row.articles),
      passages: Number(row.passages),
    };
  }

  async setModel(model: IndexModel): Promise<void> {
    await this.ctx.ensureDimension(model.dimension);
    await this.transaction(async (c) => {
      const { model: recorded, passages } = await this.lockTenant(c);
      if (recorded && recorded.model === model.model && recorded.dimension === model.dimension && recorded.normalized === model.normalized) return;
      if (passages > 0) {
        throw new ModelPolicyError(`this knowledge base holds vectors of ${recorded?.model}; re-embed every article (a commit with replaceAll and model) instead of relabelling them`);
      }
      await c.query('UPDATE kb_tenants SET model = $2 WHERE tenant = $1', [this.name, JSON.stringify(model)]);
    });
  }

  async listArticles(): Promise<ArticleRecord[]> {
    return (await this.q(`SELECT ${ARTICLE_COLUMNS} FROM kb_articles a WHERE a.tenant = $1 ORDER BY lower(a.title), a.id`)).map(toArticle);
  }

  async getArticle(id: string): Promise<ArticleRecord | undefined> {
    const [row] = await this.q(`SELECT ${ARTICLE_COLUMNS} FROM kb_articles a WHERE a.tenant = $1 AND a.id = $2`, [id]);
    return row && toArticle(row);
  }

  async findArticleByUrl(url: string): Promise<ArticleRecord | undefined> {
    const [row] = await this.q(`SELECT ${ARTICLE_COLUMNS} FROM kb_articles a WHERE a.tenant = $1 AND a.url = $2 LIMIT 1`, [url]);
    return row && toArticle(row);
  }

  async titles(): Promise<ArticleTitle[]> {
    const rows = await this.q<{ id: string; title: string; date: string | null }>('SELECT id, title, date FROM kb_articles WHERE tenant = $1 ORDER BY lower(title), id');
    return rows.map((r) => ({ id: r.id, title: r.title, ...(r.date ? { date: r.date } : {}) }));
  }

  async articleBody(id: string): Promise<string | null | undefined> {
    const [row] = await this.q<{ body: string | null }>('SELECT body FROM kb_articles WHERE tenant = $1 AND id = $2', [id]);
    return row ? row.body : undefined;
  }

  async articlePassages(articleId: string): Promise<StoredPassage[]> {
    return (
      await this.q<PassageRow>('SELECT label, id, article_id, paragraph, text, hash FROM kb_passages WHERE tenant = $1 AND article_id = $2 ORDER BY label', [articleId])
    ).map(toPassage);
  }

  async articleVectorsByHash(articleId: string): Promise<Map<string, Float32Array>> {
    const rows = await this.q<{ hash: string; embedding: string }>('SELECT hash, embedding::text AS embedding FROM kb_passages WHERE tenant = $1 AND article_id = $2', [articleId]);
    return new Map(rows.map((r) => [r.hash, parseVector(r.embedding)]));
  }

  async passageById(id: string): Promise<StoredPassage | undefined> {
    const [row] = await this.q<PassageRow>('SELECT label, id, article_id, paragraph, text, hash FROM kb_passages WHERE tenant = $1 AND id = $2', [id]);
    return row && toPassage(row);
  }

  async passagesByLabels(labels: number[]): Promise<Map<number, StoredPassage>> {
    if (labels.length === 0) return new Map();
    const rows = await this.q<PassageRow>('SELECT label, id, article_id, paragraph, text, hash FROM kb_passages WHERE tenant = $1 AND label = ANY($2::bigint[])', [labels]);
    return new Map(rows.map((r) => [Number(r.label), toPassage(r)]));
  }

  async *dumpArticles(): AsyncIterable<ArticleDump> {
    const ids = (await this.q<{ id: string }>('SELECT id FROM kb_articles WHERE tenant = $1 ORDER BY id')).map((r) => r.id);
    for (const id of ids) {
      const record = await this.getArticle(id);
      if (!record) continue;
      const body = (await this.articleBody(id)) ?? null;
      const rows = await this.q<PassageRow & { embedding: string }>(
        'SELECT label, id, article_id, paragraph, text, hash, embedding::text AS embedding FROM kb_passages WHERE tenant = $1 AND article_id = $2 ORDER BY label',
        [id],
      );
      yield { record, body, passages: rows.map((r) => ({ ...toPassage(r), vector: parseVector(r.embedding) })) };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Search
  // -------------------------------------------------------------------------------------------

  /** The recorded dimension, checked against the query vector (a stale model cannot be searched densely). */
  private async dimensionFor(vector: Float32Array): Promise<number> {
    const [row] = await this.q<{ model: IndexModel | null }>('SELECT model FROM kb_tenants WHERE tenant = $1');
    const dimension = row?.model?.dimension;
    if (dimension !== undefined && dimension !== vector.length) {
      throw new ModelPolicyError(`the query vector has ${vector.length} dimensions; the stored vectors (${row!.model!.model}) have ${dimension}`);
    }
    return vector.length;
  }

  private bm25Params(query: NonNullable<ReturnType<typeof lexicalQuery>>, k: number): unknown[] {
    const { titleBoost, k1, b, d } = this.ctx.bm25;
    return [query.lexemes, query.counts, k, titleBoost, k1, b, d];
  }

  /**
   * Both sides in ONE statement (one snapshot): the dense top-k through the tenant's HNSW index,
   * the BM25 top-k from the postings, and every candidate scored by the other side too.
   */
  async search(request: SearchRequest): Promise<SearchCandidate[]> {
    const query = lexicalQuery(request.text);
    const vector = request.vector;
    if (!query && !vector) return [];
    const dim = vector ? await this.dimensionFor(vector) : 0;
    // Parameters a statement does not use cannot be typed by Postgres: only the used ones are sent.
    const params: unknown[] = query ? this.bm25Params(query, request.k) : [request.k];
    const kParam = query ? 4 : 2; // $1 is the tenant
    const vecParam = params.length + 2;
    if (vector) params.push(vectorLiteral(vector));
    const distance = (col: string) => `((${col})::vector(${dim}) <=> $${vecParam}::vector(${dim}))`;
    const ctes = [
      query ? BM25_CTES : 'lexical AS (SELECT NULL::bigint AS label, NULL::float8 AS score WHERE false)',
      vector
        ? `dense AS MATERIALIZED (
             SELECT label, ${distance('embedding')} AS dist FROM kb_passages
             WHERE tenant = $1 AND vector_dims(embedding) = ${dim}
             ORDER BY ${distance('embedding')} LIMIT $${kParam})`
        : 'dense AS (SELECT NULL::bigint AS label, NULL::float8 AS dist WHERE false)',
    ];
    const sql = `
      WITH ${ctes.join(',\n')},
      ids AS (SELECT label FROM lexical UNION SELECT label FROM dense)
      SELECT p.label, p.id, p.article_id, p.paragraph, p.text, p.hash, a.title, a.url, a.date,
             ${vector ? `1 - COALESCE(d.dist, ${distance('p.embedding')})` : '0'} AS dense,
             COALESCE(l.score, 0) AS lexical
      FROM ids
      JOIN kb_passages p ON p.tenant = $1 AND p.label = ids.label
      JOIN kb_articles a ON a.tenant = $1 AND a.id = p.article_id
      LEFT JOIN dense d ON d.label = ids.label
      LEFT JOIN lexical l ON l.label = ids.label`;
    type Row = PassageRow & { title: string; url: string | null; date: string | null; dense: number; lexical: number };
    const rows = vector ? await this.denseQ<Row>(request.k, sql, params) : await this.q<Row>(sql, params);
    return rows.map((r) => ({
      passage: toPassage(r),
      articleTitle: r.title,
      ...(r.url ? { articleUrl: r.url } : {}),
      ...(r.date ? { articleDate: r.date } : {}),
      dense: Number(r.dense),
      lexical: Number(r.lexical),
    }));
  }

  async searchDense(vector: Float32Array, k: number): Promise<DenseHit[]> {
    const dim = await this.dimensionFor(vector);
    const rows = await this.denseQ<{ label: number; dist: number }>(
      k,
      `SELECT label, (embedding::vector(${dim}) <=> $2::vector(${dim})) AS dist FROM kb_passages
       WHERE tenant = $1 AND vector_dims(embedding) = ${dim}
       ORDER BY embedding::vector(${dim}) <=> $2::vector(${dim}) LIMIT $3`,
      [vectorLiteral(vector), k],
    );
    return rows.map((r) => ({ label: Number(r.label), similarity: 1 - Number(r.dist) }));
  }

  async searchLexical(text: string, k: number): Promise<LexicalHit[]> {
    const query = lexicalQuery(text);
    if (!query) return [];
    const rows = await this.q<{ label: number; score: number }>(`WITH ${BM25_CTES} SELECT label, score FROM lexical ORDER BY score DESC, label`, this.bm25Params(query, k));
    return rows.map((r) => ({ label: Number(r.label), score: Number(r.score) }));
  }

  async similarities(labels: number[], vector: Float32Array): Promise<Map<number, number>> {
    const dim = await this.dimensionFor(vector);
    const out = new Map(labels.map((l) => [l, 0]));
    if (labels.length === 0) return out;
    const rows = await this.q<{ label: number; sim: number }>(
      `SELECT label, 1 - (embedding::vector(${dim}) <=> $3::vector(${dim})) AS sim FROM kb_passages
       WHERE tenant = $1 AND label = ANY($2::bigint[]) AND vector_dims(embedding) = ${dim}`,
      [labels, vectorLiteral(vector)],
    );
    for (const r of rows) out.set(Number(r.label), Number(r.sim));
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------------------------

  private transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work, { statementTimeoutMs: Math.max(1, this.ctx.writeTimeoutMs) });
  }

  /** Takes the tenant's commit lock (other processes' commits wait; readers do not) and reads its row. */
  private async lockTenant(c: pg.PoolClient): Promise<{ version: number; model?: IndexModel; passages: number }> {
    await c.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_COMMIT, this.name]);
    const { rows } = await c.query('SELECT version, model, passages FROM kb_tenants WHERE tenant = $1 FOR UPDATE', [this.name]);
    if (!rows[0]) throw new Error(`tenant ${this.name} does not exist (was it purged?)`);
    return { version: Number(rows[0].version), ...(rows[0].model ? { model: rows[0].model as IndexModel } : {}), passages: Number(rows[0].passages) };
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writerChain.then(() => this.withWriterLock(work), () => this.withWriterLock(work));
    this.writerChain = run.catch(() => undefined);
    return run;
  }

  private async withWriterLock<T>(work: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      // Polled rather than waited for: a blocking wait would count against statement_timeout,
      // and a process killed while holding it releases it with its session.
      const started = Date.now();
      let warned = false;
      for (;;) {
        const { rows } = await client.query('SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS ok', [LOCK_WRITER, this.name]);
        if (rows[0].ok) break;
        if (!warned && Date.now() - started > 5000) {
          warned = true;
          this.ctx.log(`tenant ${this.name}: waiting for another process's write to finish`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::int, hashtext($2))', [LOCK_WRITER, this.name]).catch((e: Error) => {
          broken = e;
        });
      }
    } finally {
      client.release(broken);
    }
  }

  async commit(request: CommitRequest): Promise<CommitOutcome> {
    const writes = request.write ?? [];
    const dimension = request.model?.dimension ?? writes.find((w) => w.passages.length > 0)?.passages[0].vector.length;
    if (dimension) await this.ctx.ensureDimension(dimension);
    const outcome = await this.transaction(async (c) => {
      const tenant = await this.lockTenant(c);
      const model = checkVectors(request, tenant.model);
      const now = new Date().toISOString();
      const keep = new Set(writes.map((w) => w.article.id));
      const toRemove = request.replaceAll
        ? (await c.query('SELECT id FROM kb_articles WHERE tenant = $1', [this.name])).rows.map((r) => r.id as string).filter((id) => !keep.has(id))
        : [...new Set(request.remove ?? [])].filter((id) => !keep.has(id));
      const removed: CommittedArticle[] = toRemove.length
        ? (
            await c.query('DELETE FROM kb_articles WHERE tenant = $1 AND id = ANY($2::text[]) RETURNING id, title, hash', [this.name, toRemove])
          ).rows.map((r) => ({ id: r.id, title: r.title, hash: r.hash }))
        : [];
      // Removals in the order asked (the audit trail reads like the request).
      removed.sort((x, y) => toRemove.indexOf(x.id) - toRemove.indexOf(y.id));

      const written: CommittedArticle[] = [];
      const added: StoredPassage[] = [];
      if (writes.length > 0) {
        const ids = writes.map((w) => w.article.id);
        const before = new Map(
          (
            await c.query('SELECT id, added_at, added_by, updated_at, body FROM kb_articles WHERE tenant = $1 AND id = ANY($2::text[])', [this.name, ids])
          ).rows.map((r) => [r.id as string, r]),
        );
        await c.query('DELETE FROM kb_passages WHERE tenant = $1 AND article_id = ANY($2::text[])', [this.name, ids]);
        for (const w of writes) {
          const a = w.article;
          const prev = before.get(a.id);
          await c.query(
            `INSERT INTO kb_articles (tenant, id, title, url, date, author, origin, hash, paragraphs, duplicates_dropped, added_by, added_at, updated_at, body)
             VALUES ($1, $2, $3, $4, $5, $14, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (tenant, id) DO UPDATE SET title = excluded.title, url = excluded.url, date = excluded.date, author = excluded.author, origin = excluded.origin,
               hash = excluded.hash, paragraphs = excluded.paragraphs, duplicates_dropped = excluded.duplicates_dropped,
               added_by = excluded.added_by, updated_at = excluded.updated_at, body = excluded.body`,
            [
              this.name, a.id, a.title, a.url ?? null, a.date ?? null, a.origin, a.hash,
              a.passages.length === 0 ? 0 : a.passages[a.passages.length - 1].paragraph,
              a.duplicatesDropped,
              w.addedBy ?? prev?.added_by ?? null,
              w.addedAt ?? prev?.added_at ?? now,
              w.updatedAt ?? (request.keepTimestamps && prev ? prev.updated_at : now),
              w.body ?? prev?.body ?? null,
              a.author ?? null,
            ],
          );
          written.push({ id: a.id, title: a.title, hash: a.hash, replaced: prev !== undefined, passages: w.passages.length });
        }
        const rows = writes.flatMap((w) => w.passages.map((p) => ({ w, p })));
        const title = new Map(writes.map((w) => [w.article.id, fieldLexemes(w.article.title)]));
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          const chunk = rows.slice(i, i + INSERT_CHUNK);
          const lex = chunk.map(({ p }) => fieldLexemes(p.passage.text));
          const result = await c.query(
            `INSERT INTO kb_passages (tenant, id, article_id, paragraph, text, hash, embedding, lex_text, lex_title, text_len, title_len)
             SELECT $1, t.id, t.article_id, t.paragraph, t.text, t.hash, t.embedding::vector, t.lex_text::tsvector, t.lex_title::tsvector, t.text_len, t.title_len
             FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $11::int[])
               WITH ORDINALITY AS t(id, article_id, paragraph, text, hash, embedding, lex_text, lex_title, text_len, title_len, n)
             ORDER BY t.n
             RETURNING label, id`,
            [
              this.name,
              chunk.map(({ p }) => p.passage.id),
              chunk.map(({ w }) => w.article.id),
              chunk.map(({ p }) => p.passage.paragraph),
              chunk.map(({ p }) => p.passage.text),
              chunk.map(({ p }) => p.passage.hash),
              chunk.map(({ p }) => vectorLiteral(p.vector)),
              lex.map((l) => l.tsvector),
              chunk.map(({ w }) => title.get(w.article.id)!.tsvector),
              lex.map((l) => l.length),
              chunk.map(({ w }) => title.get(w.article.id)!.length),
            ],
          );
          const labelOf = new Map(result.rows.map((r) => [r.id as string, Number(r.label)]));
          for (const { w, p } of chunk) added.push({ ...p.passage, articleId: w.article.id, label: labelOf.get(p.passage.id)! });
        }
      }

      const version = tenant.version + 1;
      const { rows: counted } = await c.query(
        `UPDATE kb_tenants t SET version = $2, last_change = $3, model = COALESCE($4::jsonb, t.model),
           passages = s.n, text_len_sum = s.text_len, title_len_sum = s.title_len
         FROM (SELECT count(*) AS n, COALESCE(sum(text_len), 0) AS text_len, COALESCE(sum(title_len), 0) AS title_len
               FROM kb_passages WHERE tenant = $1) s
         WHERE t.tenant = $1
         RETURNING t.passages`,
        [this.name, version, now, request.model ? JSON.stringify(model) : null],
      );
      const audit = request.audit
        ? await this.insertAudit(c, request.audit.actor, version, now, [
            ...(request.audit.perArticle === false
              ? []
              : [
                  ...removed.map((a) => ({ action: 'remove' as const, articleId: a.id, title: a.title, contentHash: a.hash })),
                  ...written.map((a) => ({
                    action: a.replaced ? ('replace' as const) : ('add' as const),
                    articleId: a.id,
                    title: a.title,
                    contentHash: a.hash,
                    details: { passages: a.passages },
                  })),
                ]),
            ...(request.audit.extra ?? []),
          ])
        : [];
      const change = { tenant: this.name, kind: 'commit' as const, version, articles: [...written.map((a) => a.id), ...removed.map((a) => a.id)] };
      await this.ctx.notify(c, change);
      return { outcome: { version, at: now, written, removed, added, audit }, change, passages: Number(counted[0].passages) };
    });
    this.ctx.emitLocal(outcome.change);
    await this.keepPlannerStatistics(outcome.outcome.added.length, outcome.passages);
    return outcome.outcome;
  }

  /**
   * Re-reads the planner statistics of the tenant's passages and of the postings after a bulk
   * write. Without them (a fresh ingest or kb:migrate copy, until autovacuum gets to it about a
   * minute later) the planner sorts every passage instead of walking the HNSW index: a dense
   * top-50 on BBC took 48 ms instead of 3. Statistics only steer plans, so a failure is logged.
   */
  private async keepPlannerStatistics(added: number, passages: number): Promise<void> {
    this.addedSinceAnalyze += added;
    if (this.addedSinceAnalyze < Math.max(ANALYZE_AFTER_ROWS, 0.2 * (passages - this.addedSinceAnalyze))) return;
    this.addedSinceAnalyze = 0;
    try {
      await inTransaction(
        this.pool,
        async (c) => {
          await c.query(`ANALYZE ${passagePartition(this.name)}`);
          await c.query('ANALYZE kb_postings');
        },
        { statementTimeoutMs: Math.max(1, this.ctx.writeTimeoutMs) },
      );
    } catch (error) {
      this.ctx.log(`tenant ${this.name}: could not refresh planner statistics after a bulk write: ${(error as Error).message}`);
    }
  }

  private async insertAudit(c: pg.PoolClient, actor: Actor, version: number, at: string, entries: AuditEntryInput[]): Promise<AuditEntry[]> {
    if (entries.length === 0) return [];
    const { rows } = await c.query(
      `INSERT INTO kb_audit (tenant, at, actor_id, actor_name, via, action, article_id, title, content_hash, catalog_version, details)
       SELECT $1, $2, $3, $4, $5, t.action, t.article_id, t.title, t.content_hash, $6, t.details::jsonb
       FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY AS t(action, article_id, title, content_hash, details, n)
       ORDER BY t.n
       RETURNING id`,
      [
        this.name, at, actor.id, actor.name ?? null, actor.via ?? null, version,
        entries.map((e) => e.action),
        entries.map((e) => e.articleId ?? null),
        entries.map((e) => e.title ?? null),
        entries.map((e) => e.contentHash ?? null),
        entries.map((e) => (e.details ? JSON.stringify(e.details) : null)),
      ],
    );
    return entries.map((e, i) => ({ ...e, id: Number(rows[i].id), at, actor, version }));
  }

  async clear(audit?: { actor: Actor; entries: AuditEntryInput[] }): Promise<{ version: number; at: string; audit: AuditEntry[] }> {
    const result = await this.transaction(async (c) => {
      const tenant = await this.lockTenant(c);
      await c.query('DELETE FROM kb_articles WHERE tenant = $1', [this.name]);
      const version = tenant.version + 1;
      const at = new Date().toISOString();
      await c.query('UPDATE kb_tenants SET version = $2, last_change = $3, model = NULL, passages = 0, text_len_sum = 0, title_len_sum = 0 WHERE tenant = $1', [
        this.name, version, at,
      ]);
      const rows = audit ? await this.insertAudit(c, audit.actor, version, at, audit.entries) : [];
      const change = { tenant: this.name, kind: 'clear' as const, version, articles: [] };
      await this.ctx.notify(c, change);
      return { value: { version, at, audit: rows }, change };
    });
    this.ctx.emitLocal(result.change);
    return result.value;
  }

  async recordAudit(actor: Actor, entries: AuditEntryInput[]): Promise<AuditEntry[]> {
    const result = await this.transaction(async (c) => {
      const { rows } = await c.query('SELECT version FROM kb_tenants WHERE tenant = $1', [this.name]);
      const version = Number(rows[0]?.version ?? 0);
      const audit = await this.insertAudit(c, actor, version, new Date().toISOString(), entries);
      const change = { tenant: this.name, kind: 'note' as const, version, articles: [] };
      await this.ctx.notify(c, change);
      return { audit, change };
    });
    this.ctx.emitLocal(result.change);
    return result.audit;
  }

  async auditTrail(options: { limit?: number; articleId?: string; beforeId?: number } = {}): Promise<AuditEntry[]> {
    const limit = Math.max(1, Math.min(options.limit ?? 50, 10_000));
    const rows = await this.q(
      `SELECT * FROM kb_audit WHERE tenant = $1 AND ($2::text IS NULL OR article_id = $2) AND ($3::bigint IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [options.articleId ?? null, options.beforeId ?? null, limit],
    );
    return rows.map(toAudit);
  }

  async importAudit(entries: AuditEntry[]): Promise<void> {
    await this.transaction(async (c) => {
      for (const e of entries) {
        await c.query(
          `INSERT INTO kb_audit (tenant, id, at, actor_id, actor_name, via, action, article_id, title, content_hash, catalog_version, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [this.name, e.id, e.at, e.actor.id, e.actor.name ?? null, e.actor.via ?? null, e.action, e.articleId ?? null, e.title ?? null, e.contentHash ?? null, e.version,
            e.details ? JSON.stringify(e.details) : null],
        );
      }
      // Later rows must not collide with the copied ids.
      await c.query("SELECT setval('kb_row_ids', GREATEST((SELECT last_value FROM kb_row_ids), (SELECT COALESCE(max(id), 1) FROM kb_audit)))");
    });
  }

  async stats(): Promise<StorageStats> {
    const state = await this.state();
    const [row] = await this.q<{ bytes: number }>(
      `SELECT COALESCE((SELECT sum(pg_column_size(p.*)) FROM kb_passages p WHERE p.tenant = $1), 0)
            + COALESCE((SELECT sum(pg_column_size(a.*)) FROM kb_articles a WHERE a.tenant = $1), 0) AS bytes`,
    );
    return { ...state, storageBytes: Number(row?.bytes ?? 0) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writerChain;
    this.ctx.released(this.name);
  }
}

// ---------------------------------------------------------------------------------------------
// Questions and feedback, summaries, confirmations
// ---------------------------------------------------------------------------------------------

function toQuestion(r: Record<string, unknown>): QuestionRecord {
  return {
    id: Number(r.id),
    askedAt: r.asked_at as string,
    via: r.via as string,
    userId: r.user_id as string,
    guildId: (r.guild_id as string | null) ?? null,
    channelId: (r.channel_id as string | null) ?? null,
    conversationId: (r.conversation_id as string | null) ?? null,
    questionChars: r.question_chars as number,
    outcome: r.outcome as QuestionRecord['outcome'],
    question: (r.question as string | null) ?? null,
    answer: (r.answer as string | null) ?? null,
    sources: (r.sources as StoredSource[] | null) ?? [],
    ms: (r.ms as number | null) ?? null,
  };
}

function toFeedback(r: Record<string, unknown>): FeedbackRow {
  return {
    id: Number(r.id),
    createdAt: r.created_at as string,
    vote: r.vote as FeedbackRow['vote'],
    userId: r.user_id as string,
    guildId: (r.guild_id as string | null) ?? null,
    questionId: Number(r.question_id),
    question: r.question as string,
    answer: r.answer as string,
    passageIds: r.passage_ids as string[],
  };
}

/**
 * Blanks the text of questions asked (and of votes cast) before `cutoff`, in one tenant or in all;
 * the rows and their counts stay. Returns how many questions were blanked.
 */
export async function forgetQuestionText(client: pg.PoolClient, cutoff: string, tenant?: string): Promise<number> {
  const params = tenant === undefined ? [cutoff] : [cutoff, tenant];
  const inTenant = (alias: string) => (tenant === undefined ? '' : ` AND ${alias}tenant = $2`);
  await client.query(
    `UPDATE kb_feedback f SET question = '', answer = ''
     WHERE (f.question != '' OR f.answer != '')${inTenant('f.')}
       AND (f.created_at < $1 OR EXISTS (SELECT 1 FROM kb_questions q WHERE q.tenant = f.tenant AND q.id = f.question_id AND q.asked_at < $1))`,
    params,
  );
  const { rowCount } = await client.query(`UPDATE kb_questions SET question = NULL, answer = NULL, sources = NULL WHERE asked_at < $1 AND question IS NOT NULL${inTenant('')}`, params);
  return rowCount ?? 0;
}

export class PgQuestions implements QuestionStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tenant: string,
  ) {}

  private async q(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query(sql, [this.tenant, ...params]);
  }

  async recordQuestion(input: Parameters<QuestionStore['recordQuestion']>[0]): Promise<number> {
    const { rows } = await this.q(
      `INSERT INTO kb_questions (tenant, asked_at, via, user_id, guild_id, channel_id, conversation_id, question_chars, outcome, question, answer, sources, ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
      [
        input.at ?? new Date().toISOString(), input.via, input.userId, input.guildId ?? null, input.channelId ?? null, input.conversationId ?? null,
        input.question.length, input.outcome, input.question, input.answer ?? null, input.sources ? JSON.stringify(input.sources) : null,
        input.ms === undefined ? null : Math.round(input.ms),
      ],
    );
    return Number(rows[0].id);
  }

  async getQuestion(id: number, guildId?: string | null): Promise<QuestionRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const { rows } = await this.q('SELECT * FROM kb_questions WHERE tenant = $1 AND id = $2', [id]);
    if (!rows[0]) return undefined;
    const record = toQuestion(rows[0]);
    if (guildId !== undefined && record.guildId !== guildId) return undefined;
    return record;
  }

  async recentQuestions(conversationId: string, limit = 2): Promise<string[]> {
    const { rows } = await this.q(
      `SELECT question FROM kb_questions
       WHERE tenant = $1 AND conversation_id = $2 AND question IS NOT NULL AND outcome IN ('answered', 'no-answer')
       ORDER BY id DESC LIMIT $3`,
      [conversationId, limit],
    );
    return rows.map((r) => r.question as string).reverse();
  }

  async recordFeedback(input: Parameters<QuestionStore['recordFeedback']>[0]): Promise<FeedbackRow | undefined> {
    const q = await this.getQuestion(input.questionId, input.guildId ?? null);
    if (!q || q.question === null || q.answer === null) return undefined;
    const { rows } = await this.q(
      `INSERT INTO kb_feedback (tenant, created_at, question_id, user_id, guild_id, vote, question, answer, passage_ids)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (tenant, question_id, user_id) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at
       RETURNING *`,
      [input.at ?? new Date().toISOString(), q.id, input.userId, input.guildId ?? null, input.vote, q.question, q.answer, JSON.stringify(q.sources.map((s) => s.passageId))],
    );
    return toFeedback(rows[0]);
  }

  async listFeedback(options: { since?: string; guildId?: string } = {}): Promise<FeedbackRow[]> {
    const { rows } = await this.q(
      `SELECT * FROM kb_feedback WHERE tenant = $1 AND ($2::text IS NULL OR created_at >= $2) AND ($3::text IS NULL OR guild_id = $3)
       ORDER BY created_at, id`,
      [options.since ?? null, options.guildId ?? null],
    );
    return rows.map(toFeedback);
  }

  async forgetServer(guildId: string): Promise<number> {
    // Votes go with their question (ON DELETE CASCADE); votes cast from that server on other questions too.
    await this.q('DELETE FROM kb_feedback WHERE tenant = $1 AND guild_id = $2', [guildId]);
    const { rowCount } = await this.q('DELETE FROM kb_questions WHERE tenant = $1 AND guild_id = $2', [guildId]);
    return rowCount ?? 0;
  }

  async stats(guildId?: string): Promise<Awaited<ReturnType<QuestionStore['stats']>>> {
    const { rows } = await this.q(
      `SELECT
         (SELECT count(*) FROM kb_questions WHERE tenant = $1 AND outcome != 'rejected' AND ($2::text IS NULL OR guild_id = $2)) AS questions,
         (SELECT count(*) FROM kb_questions WHERE tenant = $1 AND outcome = 'answered' AND ($2::text IS NULL OR guild_id = $2)) AS answered,
         (SELECT count(*) FROM kb_questions WHERE tenant = $1 AND outcome = 'no-answer' AND ($2::text IS NULL OR guild_id = $2)) AS unanswered,
         (SELECT count(*) FROM kb_questions WHERE tenant = $1 AND outcome IN ('timeout', 'error') AND ($2::text IS NULL OR guild_id = $2)) AS failed,
         (SELECT count(*) FROM kb_feedback WHERE tenant = $1 AND vote = 'up' AND ($2::text IS NULL OR guild_id = $2)) AS up,
         (SELECT count(*) FROM kb_feedback WHERE tenant = $1 AND vote = 'down' AND ($2::text IS NULL OR guild_id = $2)) AS down`,
      [guildId ?? null],
    );
    const r = rows[0];
    return {
      questions: Number(r.questions),
      answered: Number(r.answered),
      unanswered: Number(r.unanswered),
      failed: Number(r.failed),
      feedbackUp: Number(r.up),
      feedbackDown: Number(r.down),
    };
  }

  async forgetOlderThan(days: number, now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    return inTransaction(this.pool, (client) => forgetQuestionText(client, cutoff, this.tenant));
  }

  async listQuestions(): Promise<QuestionRecord[]> {
    const { rows } = await this.q('SELECT * FROM kb_questions WHERE tenant = $1 ORDER BY id');
    return rows.map(toQuestion);
  }

  async importRows(questions: QuestionRecord[], feedback: FeedbackRow[]): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      for (const r of questions) {
        await client.query(
          `INSERT INTO kb_questions (tenant, id, asked_at, via, user_id, guild_id, channel_id, conversation_id, question_chars, outcome, question, answer, sources, ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [this.tenant, r.id, r.askedAt, r.via, r.userId, r.guildId, r.channelId, r.conversationId, r.questionChars, r.outcome, r.question, r.answer,
            r.question === null ? null : JSON.stringify(r.sources), r.ms],
        );
      }
      for (const r of feedback) {
        await client.query(
          `INSERT INTO kb_feedback (tenant, id, created_at, question_id, user_id, guild_id, vote, question, answer, passage_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [this.tenant, r.id, r.createdAt, r.questionId, r.userId, r.guildId, r.vote, r.question, r.answer, JSON.stringify(r.passageIds)],
        );
      }
      await client.query(
        "SELECT setval('kb_row_ids', GREATEST((SELECT last_value FROM kb_row_ids), (SELECT COALESCE(max(id), 1) FROM kb_questions), (SELECT COALESCE(max(id), 1) FROM kb_feedback)))",
      );
    });
  }
}

class PgSentences implements SentenceCache {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tenant: string,
  ) {}

  async vectors(model: string, keys: string[]): Promise<Map<string, Float32Array>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.pool.query('SELECT hash, vector FROM kb_sentence_vectors WHERE tenant = $1 AND model = $2 AND hash = ANY($3::text[])', [this.tenant, model, keys]);
    return new Map(rows.map((r: { hash: string; vector: Buffer }) => [r.hash, bytesToVector(r.vector)]));
  }

  async putVectors(model: string, entries: { key: string; vector: Float32Array }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO kb_sentence_vectors (tenant, model, hash, vector)
       SELECT $1, $2, k, v FROM unnest($3::text[], $4::bytea[]) AS x(k, v) ON CONFLICT DO NOTHING`,
      [this.tenant, model, entries.map((e) => e.key), entries.map((e) => Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength))],
    );
  }

  async entities(keys: string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.pool.query('SELECT hash, entities FROM kb_sentence_entities WHERE tenant = $1 AND hash = ANY($2::text[])', [this.tenant, keys]);
    return new Map(rows.map((r: { hash: string; entities: string }) => [r.hash, r.entities]));
  }

  async putEntities(entries: { key: string; entities: string }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO kb_sentence_entities (tenant, hash, entities)
       SELECT $1, k, e FROM unnest($2::text[], $3::text[]) AS x(k, e) ON CONFLICT DO NOTHING`,
      [this.tenant, entries.map((e) => e.key), entries.map((e) => e.entities)],
    );
  }

  async *dumpVectors(pageSize = 1000): AsyncIterable<{ model: string; key: string; vector: Float32Array }[]> {
    for (let after = ['', '']; ; ) {
      const { rows } = await this.pool.query(
        'SELECT model, hash, vector FROM kb_sentence_vectors WHERE tenant = $1 AND (model, hash) > ($2, $3) ORDER BY model, hash LIMIT $4',
        [this.tenant, after[0], after[1], pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r: { model: string; hash: string; vector: Buffer }) => ({ model: r.model, key: r.hash, vector: bytesToVector(r.vector) }));
      after = [rows[rows.length - 1].model, rows[rows.length - 1].hash];
    }
  }

  async *dumpEntities(pageSize = 1000): AsyncIterable<{ key: string; entities: string }[]> {
    for (let after = ''; ; ) {
      const { rows } = await this.pool.query('SELECT hash, entities FROM kb_sentence_entities WHERE tenant = $1 AND hash > $2 ORDER BY hash LIMIT $3', [this.tenant, after, pageSize]);
      if (rows.length === 0) return;
      yield rows.map((r: { hash: string; entities: string }) => ({ key: r.hash, entities: r.entities }));
      after = rows[rows.length - 1].hash;
    }
  }
}

function bytesToVector(bytes: Buffer): Float32Array {
  const copy = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

class PgSummaries implements SummaryCache {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tenant: string,
  ) {}

  async get(articleId: string, length: string): Promise<CachedSummary | undefined> {
    const { rows } = await this.pool.query(
      'SELECT article_hash, model, algorithm, result, created_at FROM kb_summary_cache WHERE tenant = $1 AND article_id = $2 AND length = $3',
      [this.tenant, articleId, length],
    );
    const r = rows[0];
    return r && { articleId, length, articleHash: r.article_hash, model: r.model, algorithm: r.algorithm, result: r.result, createdAt: r.created_at };
  }

  async put(entry: CachedSummary): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO kb_summary_cache (tenant, article_id, length, article_hash, model, algorithm, result, created_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8
       WHERE EXISTS (SELECT 1 FROM kb_articles WHERE tenant = $1 AND id = $2 AND hash = $4)
       ON CONFLICT (tenant, article_id, length) DO UPDATE SET article_hash = excluded.article_hash, model = excluded.model,
         algorithm = excluded.algorithm, result = excluded.result, created_at = excluded.created_at`,
      [this.tenant, entry.articleId, entry.length, entry.articleHash, entry.model, entry.algorithm, entry.result, entry.createdAt ?? new Date().toISOString()],
    );
    return (rowCount ?? 0) > 0;
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query('SELECT count(*) AS n FROM kb_summary_cache WHERE tenant = $1', [this.tenant]);
    return Number(rows[0].n);
  }
}

class PgConfirmations implements ConfirmationStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tenant: string,
  ) {}

  async stage(userId: string, data: unknown, ttlMs: number, now = Date.now(), maxPendingBytes?: number): Promise<string> {
    const token = randomBytes(8).toString('hex');
    await this.pool.query('DELETE FROM kb_pending_confirmations WHERE tenant = $1 AND expires_at <= $2', [this.tenant, now]);
    if (maxPendingBytes !== undefined) {
      // Keeps the confirmations farthest from expiry while they fit beside the new one; the rest make room.
      await this.pool.query(
        `DELETE FROM kb_pending_confirmations WHERE tenant = $1 AND token IN (
           SELECT token FROM (
             SELECT token, sum(octet_length(data::text)) OVER (ORDER BY expires_at DESC, token DESC) AS kept
             FROM kb_pending_confirmations WHERE tenant = $1) newest
           WHERE kept + $2 > $3)`,
        [this.tenant, Buffer.byteLength(JSON.stringify(data) ?? 'null'), maxPendingBytes],
      );
    }
    await this.pool.query('INSERT INTO kb_pending_confirmations (tenant, token, user_id, data, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      this.tenant, token, userId, JSON.stringify(data), now + ttlMs,
    ]);
    return token;
  }

  async take(token: string, userId: string, now = Date.now()): Promise<TakeResult> {
    // Deleted and returned in one statement: of two processes clicking at once, one gets it.
    const { rows } = await this.pool.query(
      'DELETE FROM kb_pending_confirmations WHERE tenant = $1 AND token = $2 AND user_id = $3 AND expires_at > $4 RETURNING data',
      [this.tenant, token, userId, now],
    );
    if (rows[0]) return { ok: true, data: rows[0].data as unknown };
    const { rows: other } = await this.pool.query('SELECT user_id, expires_at FROM kb_pending_confirmations WHERE tenant = $1 AND token = $2', [this.tenant, token]);
    if (other[0] && Number(other[0].expires_at) > now) return { ok: false, reason: 'not-yours' };
    await this.pool.query('DELETE FROM kb_pending_confirmations WHERE tenant = $1 AND token = $2', [this.tenant, token]);
    return { ok: false, reason: 'expired' };
  }

  async cancel(token: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM kb_pending_confirmations WHERE tenant = $1 AND token = $2 AND user_id = $3', [this.tenant, token, userId]);
    return (rowCount ?? 0) > 0;
  }

  async pending(now = Date.now()): Promise<number> {
    await this.pool.query('DELETE FROM kb_pending_confirmations WHERE tenant = $1 AND expires_at <= $2', [this.tenant, now]);
    const { rows } = await this.pool.query('SELECT count(*) AS n FROM kb_pending_confirmations WHERE tenant = $1', [this.tenant]);
    return Number(rows[0].n);
  }
}
