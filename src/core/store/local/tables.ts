import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { CachedSummary, ConfirmationStore, SentenceCache, SummaryCache, TakeResult } from '../port.js';

/**
 * The summaries cache, in the tenant's catalog file. Same table as `SummaryService` creates today
 * (so an existing cache keeps working after the switch); rows go with their article (ON DELETE CASCADE).
 */
const SUMMARY_SCHEMA = `
CREATE TABLE IF NOT EXISTS summary_cache (
  article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  length TEXT NOT NULL,
  article_hash TEXT NOT NULL,
  model TEXT NOT NULL,
  algorithm INTEGER NOT NULL,
  result TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (article_id, length)
);
`;

export class SqliteSummaryCache implements SummaryCache {
  constructor(private readonly db: Database.Database) {
    db.exec(SUMMARY_SCHEMA);
  }

  async get(articleId: string, length: string): Promise<CachedSummary | undefined> {
    const row = this.db
      .prepare('SELECT article_hash, model, algorithm, result, created_at FROM summary_cache WHERE article_id = ? AND length = ?')
      .get(articleId, length) as { article_hash: string; model: string; algorithm: number; result: string; created_at: string } | undefined;
    return row && { articleId, length, articleHash: row.article_hash, model: row.model, algorithm: row.algorithm, result: row.result, createdAt: row.created_at };
  }

  async put(entry: CachedSummary): Promise<boolean> {
    // The hash check and the write in one statement: a summary of an article edited meanwhile is never stored.
    const info = this.db
      .prepare(
        `INSERT INTO summary_cache (article_id, length, article_hash, model, algorithm, result, created_at)
         SELECT @articleId, @length, @articleHash, @model, @algorithm, @result, @createdAt
         WHERE EXISTS (SELECT 1 FROM articles WHERE id = @articleId AND hash = @articleHash)
         ON CONFLICT (article_id, length) DO UPDATE SET article_hash = excluded.article_hash, model = excluded.model,
           algorithm = excluded.algorithm, result = excluded.result, created_at = excluded.created_at`,
      )
      .run({ ...entry, createdAt: entry.createdAt ?? new Date().toISOString() });
    return info.changes > 0;
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM summary_cache').get() as { n: number }).n;
  }
}

const CONFIRMATION_SCHEMA = `
CREATE TABLE IF NOT EXISTS pending_confirmations (
  token TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  data TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

/** Pending /kb confirmations in the tenant's catalog file, so a restart does not void them. */
export class SqliteConfirmations implements ConfirmationStore {
  constructor(private readonly db: Database.Database) {
    db.exec(CONFIRMATION_SCHEMA);
  }

  async stage(userId: string, data: unknown, ttlMs: number, now = Date.now(), maxPendingBytes?: number): Promise<string> {
    const token = randomBytes(8).toString('hex');
    const json = JSON.stringify(data) ?? 'null';
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM pending_confirmations WHERE expires_at <= ?').run(now);
      if (maxPendingBytes !== undefined) {
        // The ones closest to expiry make room first (equal lifetimes: the oldest).
        const rows = this.db.prepare('SELECT token, length(CAST(data AS BLOB)) AS bytes FROM pending_confirmations ORDER BY expires_at, rowid').all() as { token: string; bytes: number }[];
        let total = rows.reduce((n, r) => n + r.bytes, 0) + Buffer.byteLength(json);
        for (const row of rows) {
          if (total <= maxPendingBytes) break;
          this.db.prepare('DELETE FROM pending_confirmations WHERE token = ?').run(row.token);
          total -= row.bytes;
        }
      }
      this.db.prepare('INSERT INTO pending_confirmations (token, user_id, data, expires_at) VALUES (?, ?, ?, ?)').run(token, userId, json, now + ttlMs);
    })();
    return token;
  }

  async take(token: string, userId: string, now = Date.now()): Promise<TakeResult> {
    return this.db.transaction((): TakeResult => {
      const row = this.db.prepare('SELECT user_id, data, expires_at FROM pending_confirmations WHERE token = ?').get(token) as
        | { user_id: string; data: string; expires_at: number }
        | undefined;
      if (!row || row.expires_at <= now) {
        this.db.prepare('DELETE FROM pending_confirmations WHERE token = ?').run(token);
        return { ok: false, reason: 'expired' };
      }
      if (row.user_id !== userId) return { ok: false, reason: 'not-yours' };
      this.db.prepare('DELETE FROM pending_confirmations WHERE token = ?').run(token);
      return { ok: true, data: JSON.parse(row.data) as unknown };
    })();
  }

  async cancel(token: string, userId: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM pending_confirmations WHERE token = ? AND user_id = ?').run(token, userId).changes > 0;
  }

  async pending(now = Date.now()): Promise<number> {
    this.db.prepare('DELETE FROM pending_confirmations WHERE expires_at <= ?').run(now);
    return (this.db.prepare('SELECT COUNT(*) AS n FROM pending_confirmations').get() as { n: number }).n;
  }
}

/** Same tables the sentence cache always used, so the vectors and entities of an existing catalog are kept. */
const SENTENCE_SCHEMA = `
CREATE TABLE IF NOT EXISTS sentence_vectors (
  model TEXT NOT NULL,
  hash TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (model, hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sentence_entities (
  hash TEXT PRIMARY KEY,
  entities TEXT NOT NULL
) WITHOUT ROWID;
`;

/** Sentence vectors and entities in the tenant's catalog file. */
export class SqliteSentenceCache implements SentenceCache {
  private readonly selectVector: Database.Statement;
  private readonly insertVector: Database.Statement;
  private readonly selectEntities: Database.Statement;
  private readonly insertEntities: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(SENTENCE_SCHEMA);
    this.selectVector = db.prepare('SELECT vector FROM sentence_vectors WHERE model = ? AND hash = ?');
    this.insertVector = db.prepare('INSERT OR IGNORE INTO sentence_vectors (model, hash, vector) VALUES (?, ?, ?)');
    this.selectEntities = db.prepare('SELECT entities FROM sentence_entities WHERE hash = ?');
    this.insertEntities = db.prepare('INSERT OR IGNORE INTO sentence_entities (hash, entities) VALUES (?, ?)');
  }

  async vectors(model: string, keys: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const key of keys) {
      const row = this.selectVector.get(model, key) as { vector: Buffer } | undefined;
      if (!row) continue;
      out.set(key, blobToVector(row.vector));
    }
    return out;
  }

  async putVectors(model: string, entries: { key: string; vector: Float32Array }[]): Promise<void> {
    this.db.transaction(() => {
      for (const { key, vector } of entries) this.insertVector.run(model, key, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
    })();
  }

  async entities(keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const key of keys) {
      const row = this.selectEntities.get(key) as { entities: string } | undefined;
      if (row) out.set(key, row.entities);
    }
    return out;
  }

  async putEntities(entries: { key: string; entities: string }[]): Promise<void> {
    this.db.transaction(() => {
      for (const { key, entities } of entries) this.insertEntities.run(key, entities);
    })();
  }

  // Keyset pages rather than one open iterator: the connection stays free for the bot's writes in between.
  async *dumpVectors(pageSize = 1000): AsyncIterable<{ model: string; key: string; vector: Float32Array }[]> {
    const page = this.db.prepare('SELECT model, hash, vector FROM sentence_vectors WHERE (model, hash) > (?, ?) ORDER BY model, hash LIMIT ?');
    for (let after = ['', '']; ; ) {
      const rows = page.all(after[0], after[1], pageSize) as { model: string; hash: string; vector: Buffer }[];
      if (rows.length === 0) return;
      yield rows.map((r) => ({ model: r.model, key: r.hash, vector: blobToVector(r.vector) }));
      const last = rows[rows.length - 1];
      after = [last.model, last.hash];
    }
  }

  async *dumpEntities(pageSize = 1000): AsyncIterable<{ key: string; entities: string }[]> {
    const page = this.db.prepare('SELECT hash, entities FROM sentence_entities WHERE hash > ? ORDER BY hash LIMIT ?');
    for (let after = ''; ; ) {
      const rows = page.all(after, pageSize) as { hash: string; entities: string }[];
      if (rows.length === 0) return;
      yield rows.map((r) => ({ key: r.hash, entities: r.entities }));
      after = rows[rows.length - 1].hash;
    }
  }
}

export function blobToVector(blob: Buffer): Float32Array {
  const copy = new Float32Array(blob.byteLength / 4);
  new Uint8Array(copy.buffer).set(blob);
  return copy;
}
