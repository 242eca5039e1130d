import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ChunkedArticle, Passage } from '../types.js';

/** What the index was built with; an index is only usable with the same embedder. */
export interface IndexModel {
  model: string;
  dimension: number;
  normalized: boolean;
}

export interface ArticleRecord {
  id: string;
  title: string;
  url?: string;
  date?: string;
  /** Who wrote it, when the source said (front matter, page metadata, feed entry). */
  author?: string;
  origin: string;
  hash: string;
  paragraphs: number;
  passages: number;
  duplicatesDropped: number;
  addedBy?: string;
  addedAt: string;
  updatedAt: string;
}

/** The part of an article a search result or a title list shows. */
export type ArticleHeading = Pick<ArticleRecord, 'id' | 'title' | 'url' | 'date'>;

/** An article as the knowledge base keeps it in memory. */
export type ArticleTitle = Pick<ArticleRecord, 'id' | 'title' | 'date'>;

/** A passage row with its HNSW label (the vector's key in the index). */
export interface StoredPassage extends Passage {
  label: number;
}

export interface PassageWrite {
  passage: Passage;
  vector: Float32Array;
  /** Label to store the passage under (a reindex builds its HNSW before committing); default: the next free one. */
  label?: number;
}

export interface ArticleChange {
  article: ChunkedArticle;
  addedBy?: string;
  /** Passages with their vectors, in article order. */
  passages: PassageWrite[];
  /** The article's body (paragraphs separated by blank lines), kept for exports and reindexing. */
  body?: string;
  /** Timestamps to keep (copying a knowledge base); default: now, or the stored ones. */
  addedAt?: string;
  updatedAt?: string;
}

/** An article a commit wrote or removed, for the audit trail. */
export interface CommittedArticle {
  id: string;
  title: string;
  /** Content hash of the article (of the removed version, for removals). */
  hash: string;
  /** For writes: true when an article with this id existed before. */
  replaced?: boolean;
  passages?: number;
}

export interface CommitInfo {
  version: number;
  at: string;
  written: CommittedArticle[];
  removed: CommittedArticle[];
}

export interface CommitOptions {
  /** Records this embedding model in the same transaction (a reindex with another model). */
  model?: IndexModel;
  /** Keeps `updated_at` of written articles (a reindex re-embeds; it does not edit). */
  keepTimestamps?: boolean;
  /** Runs inside the transaction, after the changes (audit rows): all or nothing together. */
  within?: (info: CommitInfo) => void;
}

/** What one committed write did to the vector side, so the caller can mirror it in HNSW and BM25. */
export interface CommitResult {
  version: number;
  removedLabels: number[];
  added: StoredPassage[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  url TEXT,
  date TEXT,
  origin TEXT NOT NULL,
  hash TEXT NOT NULL,
  paragraphs INTEGER NOT NULL,
  duplicates_dropped INTEGER NOT NULL,
  added_by TEXT,
  added_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS passages (
  label INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  paragraph INTEGER NOT NULL,
  text TEXT NOT NULL,
  hash TEXT NOT NULL,
  vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
`;

/** Columns added after the first release, created on open when missing. */
const MIGRATIONS: { table: string; column: string; ddl: string }[] = [
  { table: 'articles', column: 'body', ddl: 'ALTER TABLE articles ADD COLUMN body TEXT' },
  { table: 'articles', column: 'author', ddl: 'ALTER TABLE articles ADD COLUMN author TEXT' },
];

/** A passages row as both backends select it (label, id, article_id, paragraph, text, hash). */
export interface PassageRow {
  label: number;
  id: string;
  article_id: string;
  paragraph: number;
  text: string;
  hash: string;
}

export function toPassage(row: PassageRow): StoredPassage {
  // Number(): PostgreSQL returns a bigint label as a string.
  return { label: Number(row.label), id: row.id, articleId: row.article_id, paragraph: row.paragraph, text: row.text, hash: row.hash };
}

function toBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function fromBlob(blob: Buffer): Float32Array {
  // Copy: the Buffer may share a pool slab with other values.
  const copy = new Float32Array(blob.byteLength / 4);
  new Uint8Array(copy.buffer).set(blob);
  return copy;
}

/**
 * The single source of truth: articles, passages, their vectors, and a version number that
 * every committed change increments. HNSW and BM25 are derived from it and can always be rebuilt.
 * SQLite in WAL mode: each change is one transaction, so a crash leaves the last committed state.
 */
export class Catalog {
  readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    for (const m of MIGRATIONS) {
      const columns = this.db.prepare(`PRAGMA table_info(${m.table})`).all() as { name: string }[];
      if (!columns.some((c) => c.name === m.column)) this.db.exec(m.ddl);
    }
  }

  /** The model recorded in a catalog file, read without creating or migrating anything. */
  static peekModel(file: string): IndexModel | undefined {
    if (!existsSync(file)) return undefined;
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT value FROM meta WHERE key = 'model'").get() as { value: string } | undefined;
      return row ? (JSON.parse(row.value) as IndexModel) : undefined;
    } catch {
      return undefined;
    } finally {
      db.close();
    }
  }

  /** SQLite's own check of the file (`PRAGMA quick_check`): null when sound, else what is wrong. */
  integrityProblem(): string | null {
    const rows = this.db.pragma('quick_check(5)') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    return problems.length > 0 ? problems.join('; ') : null;
  }

  close(): void {
    this.db.close();
  }

  private getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  get version(): number {
    return Number(this.getMeta('version') ?? 0);
  }

  get lastChange(): string | undefined {
    return this.getMeta('last_change');
  }

  get model(): IndexModel | undefined {
    const raw = this.getMeta('model');
    return raw ? (JSON.parse(raw) as IndexModel) : undefined;
  }

  /** Records the embedder the vectors come from. Only allowed while the catalog is empty. */
  setModel(model: IndexModel): void {
    this.db.transaction(() => {
      if (this.passageCount() > 0) throw new Error('cannot change the model of a non-empty catalog; clear it first');
      this.setMeta('model', JSON.stringify(model));
    })();
  }

  articleCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM articles').get() as { n: number }).n;
  }

  passageCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM passages').get() as { n: number }).n;
  }

  maxLabel(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(label), -1) AS n FROM passages').get() as { n: number }).n;
  }

  /** Every live label, ascending (for checking the vector index against the catalog). */
  labels(): number[] {
    return (this.db.prepare('SELECT label FROM passages ORDER BY label').pluck().all() as number[]);
  }

  /** The label the next inserted passage would get (AUTOINCREMENT never reuses one). */
  nextLabel(): number {
    const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'passages'").get() as { seq: number } | undefined;
    return Math.max(row?.seq ?? 0, this.maxLabel()) + 1;
  }

  vectorByLabel(label: number): Float32Array | undefined {
    const row = this.db.prepare('SELECT vector FROM passages WHERE label = ?').get(label) as { vector: Buffer } | undefined;
    return row ? fromBlob(row.vector) : undefined;
  }

  /** Id, title and date of every article (kept in memory by the knowledge base, for autocomplete and questions about time). */
  titles(): ArticleTitle[] {
    const rows = this.db.prepare('SELECT id, title, date FROM articles ORDER BY title COLLATE NOCASE').all() as { id: string; title: string; date: string | null }[];
    return rows.map((r) => ({ id: r.id, title: r.title, ...(r.date ? { date: r.date } : {}) }));
  }

  /** The stored body of an article (null for articles stored before bodies were kept). */
  articleBody(id: string): string | null | undefined {
    const row = this.db.prepare('SELECT body FROM articles WHERE id = ?').get(id) as { body: string | null } | undefined;
    return row ? row.body : undefined;
  }

  passageById(id: string): StoredPassage | undefined {
    const row = this.db.prepare('SELECT label, id, article_id, paragraph, text, hash FROM passages WHERE id = ?').get(id) as PassageRow | undefined;
    return row ? toPassage(row) : undefined;
  }

  listArticles(): ArticleRecord[] {
    const rows = this.db
      .prepare(
        `SELECT a.*, (SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id) AS passages
         FROM articles a ORDER BY a.title COLLATE NOCASE`,
      )
      .all() as Record<string, unknown>[];
    return rows.map(toArticle);
  }

  getArticle(id: string): ArticleRecord | undefined {
    const row = this.db
      .prepare(`SELECT a.*, (SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id) AS passages FROM articles a WHERE a.id = ?`)
      .get(id) as Record<string, unknown> | undefined;
    return row ? toArticle(row) : undefined;
  }

  findArticleByUrl(url: string): ArticleRecord | undefined {
    const row = this.db.prepare('SELECT id FROM articles WHERE url = ?').get(url) as { id: string } | undefined;
    return row ? this.getArticle(row.id) : undefined;
  }

  articlePassages(articleId: string): StoredPassage[] {
    const rows = this.db
      .prepare('SELECT label, id, article_id, paragraph, text, hash FROM passages WHERE article_id = ? ORDER BY label')
      .all(articleId) as PassageRow[];
    return rows.map(toPassage);
  }

  /** Vectors of an article's current passages, keyed by content hash (for re-use on re-ingest). */
  articleVectorsByHash(articleId: string): Map<string, Float32Array> {
    const rows = this.db.prepare('SELECT hash, vector FROM passages WHERE article_id = ?').all(articleId) as { hash: string; vector: Buffer }[];
    return new Map(rows.map((r) => [r.hash, fromBlob(r.vector)]));
  }

  passageByLabel(label: number): StoredPassage | undefined {
    const row = this.db.prepare('SELECT label, id, article_id, paragraph, text, hash FROM passages WHERE label = ?').get(label) as PassageRow | undefined;
    return row ? toPassage(row) : undefined;
  }

  passagesByLabels(labels: number[]): Map<number, StoredPassage> {
    const out = new Map<number, StoredPassage>();
    if (labels.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT label, id, article_id, paragraph, text, hash FROM passages WHERE label IN (${labels.map(() => '?').join(',')})`)
      .all(...labels) as PassageRow[];
    for (const row of rows) out.set(row.label, toPassage(row));
    return out;
  }

  /** The stored vectors of these passages (an unknown label is left out). */
  vectorsByLabels(labels: number[]): Map<number, Float32Array> {
    const out = new Map<number, Float32Array>();
    if (labels.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT label, vector FROM passages WHERE label IN (${labels.map(() => '?').join(',')})`)
      .all(...labels) as { label: number; vector: Buffer }[];
    for (const row of rows) out.set(row.label, fromBlob(row.vector));
    return out;
  }

  /** What a search result shows of its article (title, link, date), for these ids in one query. */
  articleHeadings(ids: string[]): Map<string, ArticleHeading> {
    const out = new Map<string, ArticleHeading>();
    if (ids.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT id, title, url, date FROM articles WHERE id IN (${ids.map(() => '?').join(',')})`)
      .all(...ids) as { id: string; title: string; url: string | null; date: string | null }[];
    for (const row of rows) out.set(row.id, { id: row.id, title: row.title, ...(row.url ? { url: row.url } : {}), ...(row.date ? { date: row.date } : {}) });
    return out;
  }

  /** Every passage (with article title) in label order, for rebuilding BM25. */
  *iteratePassages(): IterableIterator<StoredPassage & { title: string }> {
    const stmt = this.db.prepare(
      'SELECT p.label, p.id, p.article_id, p.paragraph, p.text, p.hash, a.title FROM passages p JOIN articles a ON a.id = p.article_id ORDER BY p.label',
    );
    for (const row of stmt.iterate() as IterableIterator<PassageRow & { title: string }>) yield { ...toPassage(row), title: row.title };
  }

  /** Every vector in label order, for rebuilding HNSW. */
  *iterateVectors(): IterableIterator<{ label: number; vector: Float32Array }> {
    const stmt = this.db.prepare('SELECT label, vector FROM passages ORDER BY label');
    for (const row of stmt.iterate() as IterableIterator<{ label: number; vector: Buffer }>) yield { label: row.label, vector: fromBlob(row.vector) };
  }

  /**
   * Replaces (or adds) articles and removes others in ONE transaction, bumping the version.
   * An article's old passages are removed and its new passages get new labels, so an index
   * that still holds an old label can never return the new text under it.
   */
  commit(changes: ArticleChange[], removals: string[] = [], options: CommitOptions = {}): CommitResult {
    const now = new Date().toISOString();
    const removedLabels: number[] = [];
    const added: StoredPassage[] = [];
    const labelsOf = this.db.prepare('SELECT label FROM passages WHERE article_id = ?');
    const deletePassages = this.db.prepare('DELETE FROM passages WHERE article_id = ?');
    const deleteArticle = this.db.prepare('DELETE FROM articles WHERE id = ?');
    const existing = this.db.prepare('SELECT title, hash, added_at, added_by, updated_at, body FROM articles WHERE id = ?');
    const upsertArticle = this.db.prepare(
      `INSERT INTO articles (id, title, url, date, author, origin, hash, paragraphs, duplicates_dropped, added_by, added_at, updated_at, body)
       VALUES (@id, @title, @url, @date, @author, @origin, @hash, @paragraphs, @duplicatesDropped, @addedBy, @addedAt, @updatedAt, @body)
       ON CONFLICT(id) DO UPDATE SET title = excluded.title, url = excluded.url, date = excluded.date, author = excluded.author, origin = excluded.origin,
         hash = excluded.hash, paragraphs = excluded.paragraphs, duplicates_dropped = excluded.duplicates_dropped,
         added_by = excluded.added_by, updated_at = excluded.updated_at, body = excluded.body`,
    );
    const insertPassage = this.db.prepare(
      'INSERT INTO passages (id, article_id, paragraph, text, hash, vector) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertPassageAt = this.db.prepare(
      'INSERT INTO passages (label, id, article_id, paragraph, text, hash, vector) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const removeArticle = (id: string) => {
      for (const row of labelsOf.all(id) as { label: number }[]) removedLabels.push(row.label);
      deletePassages.run(id);
    };
    type Before = { title: string; hash: string; added_at: string; added_by: string | null; updated_at: string; body: string | null };
    const run = this.db.transaction(() => {
      const written: CommittedArticle[] = [];
      const removed: CommittedArticle[] = [];
      for (const id of removals) {
        const before = existing.get(id) as Before | undefined;
        if (!before) continue;
        removeArticle(id);
        deleteArticle.run(id);
        removed.push({ id, title: before.title, hash: before.hash });
      }
      for (const change of changes) {
        const { article } = change;
        const before = existing.get(article.id) as Before | undefined;
        removeArticle(article.id);
        upsertArticle.run({
          id: article.id,
          title: article.title,
          url: article.url ?? null,
          date: article.date ?? null,
          author: article.author ?? null,
          origin: article.origin,
          hash: article.hash,
          paragraphs: article.passages.length === 0 ? 0 : article.passages[article.passages.length - 1].paragraph,
          duplicatesDropped: article.duplicatesDropped,
          addedBy: change.addedBy ?? before?.added_by ?? null,
          addedAt: change.addedAt ?? before?.added_at ?? now,
          updatedAt: change.updatedAt ?? (options.keepTimestamps && before ? before.updated_at : now),
          body: change.body ?? before?.body ?? null,
        });
        for (const { passage, vector, label } of change.passages) {
          const info =
            label === undefined
              ? insertPassage.run(passage.id, article.id, passage.paragraph, passage.text, passage.hash, toBlob(vector))
              : insertPassageAt.run(label, passage.id, article.id, passage.paragraph, passage.text, passage.hash, toBlob(vector));
          added.push({ ...passage, label: Number(info.lastInsertRowid) });
        }
        written.push({ id: article.id, title: article.title, hash: article.hash, replaced: before !== undefined, passages: change.passages.length });
      }
      if (options.model) this.setMeta('model', JSON.stringify(options.model));
      const version = this.version + 1;
      this.setMeta('version', String(version));
      this.setMeta('last_change', now);
      options.within?.({ version, at: now, written, removed });
      return version;
    });
    const version = run();
    return { version, removedLabels, added };
  }

  /** Removes every article and passage and forgets the model (for a rebuild with another embedder). */
  clear(within?: (version: number, at: string) => void): number {
    return this.db.transaction(() => {
      this.db.exec('DELETE FROM passages; DELETE FROM articles;');
      this.db.prepare("DELETE FROM meta WHERE key = 'model'").run();
      const version = this.version + 1;
      const at = new Date().toISOString();
      this.setMeta('version', String(version));
      this.setMeta('last_change', at);
      within?.(version, at);
      return version;
    })();
  }
}

function toArticle(row: Record<string, unknown>): ArticleRecord {
  return {
    id: row.id as string,
    title: row.title as string,
    url: (row.url as string | null) ?? undefined,
    date: (row.date as string | null) ?? undefined,
    ...(row.author ? { author: row.author as string } : {}),
    origin: row.origin as string,
    hash: row.hash as string,
    paragraphs: row.paragraphs as number,
    passages: row.passages as number,
    duplicatesDropped: row.duplicates_dropped as number,
    addedBy: (row.added_by as string | null) ?? undefined,
    addedAt: row.added_at as string,
    updatedAt: row.updated_at as string,
  };
}
