import type Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComposeOptions } from './answer.js';
import { askKnowledge, validateQuestion, type AnswerContext, type AskOptions, type Retrieved, type RetrieveOptions } from './ask.js';
import { originId, splitParagraphs, type ChunkOptions } from './chunk.js';
import type { Embedder, EmbedderInfo } from './embed/embedder.js';
import { rankCandidates, type FusionOptions, type PassageCandidate } from './retrieve.js';
import { AuditLog, type Actor, type AuditEntry, type AuditEntryInput } from './store/audit.js';
import {
  Catalog,
  type ArticleChange,
  type ArticleRecord,
  type CommitInfo,
  type CommitResult,
  type IndexModel,
  type StoredPassage,
} from './store/catalog.js';
import { chunkArticles } from './offload/thread.js';
import type { KnowledgeReader } from './servers/reader.js';
import { LexicalIndex, type LexicalOptions } from './store/lexical-index.js';
import { HnswIndex, type HnswOptions } from './store/vector-index.js';
import { SentenceVectorCache } from './store/sentence-vectors.js';
import { sameVector } from './vectors.js';
import type { AskResult, ChunkedArticle, Layer, RawArticle } from './types.js';

export { UserInputError } from './errors.js';

/** The index on disk was built with another embedding model than the one configured. */
export class ModelMismatchError extends Error {
  override name = 'ModelMismatchError';
}

export interface KnowledgeBaseOptions {
  /** Folder for catalog.sqlite and the HNSW file; created when missing. */
  dataDir: string;
  embedder: Embedder;
  chunk?: ChunkOptions;
  hnsw?: HnswOptions;
  lexical?: LexicalOptions;
  fusion?: FusionOptions;
  compose?: ComposeOptions;
  /**
   * Embed the sentences of new passages at ingest (answers then never wait for them; ingest embeds
   * about 1.8× the text). Off: sentences are embedded when an answer first looks at them. Default false.
   */
  sentenceVectorsAtIngest?: boolean;
  /** Candidates taken from each side before fusion. Default 50. */
  candidates?: number;
  /** Longest accepted question, in characters. Default 1,000. */
  maxQuestionChars?: number;
  /** Drop and re-create everything (after changing the embedding model). Default false. */
  rebuild?: boolean;
  /**
   * The catalog was embedded with another model than `embedder`: `'error'` (default) refuses to
   * open with a {@link ModelMismatchError}; `'stale'` opens it and answers from BM25 alone until
   * {@link KnowledgeBase.reindex} has re-embedded every article with `embedder` (writes are refused
   * until then, so the catalog never mixes two models).
   */
  onModelMismatch?: 'error' | 'stale';
  log?: (message: string) => void;
}

export type { Actor, AuditEntry } from './store/audit.js';

/** What the start-up check found and did. */
export interface StartupCheck {
  /** `loaded`: the HNSW file matched the catalog. `rebuilt`: it was missing, stale or inconsistent and was rebuilt from the catalog. */
  vectors: 'loaded' | 'rebuilt' | 'empty';
  /** Why the vectors were rebuilt, when they were. */
  reason?: string;
  /** Live passages in the catalog, in HNSW and in BM25 after the check (all equal). */
  passages: number;
  hnswLive: number;
  lexical: number;
  /** Where BM25 came from: the snapshot of this catalog version (when it holds exactly the catalog's passages), or the catalog. */
  lexicalFrom: 'snapshot' | 'catalog';
}

/** A committed change, as seen by listeners (caches, autocomplete, a log channel). */
export interface ChangeEvent {
  version: number;
  kind: 'ingest' | 'remove' | 'reindex' | 'clear' | 'note';
  /** Audit rows written with the change. */
  audit: AuditEntry[];
}

export interface ReindexProgress {
  phase: 'embedding' | 'indexing' | 'done';
  articles: number;
  passages: number;
  embedded: number;
}

export interface ReindexReport {
  articles: number;
  passages: number;
  embedded: number;
  duplicatesDropped: number;
  /** Model before and after. */
  fromModel?: string;
  model: string;
  seconds: number;
  version: number;
}

export interface IngestProgress {
  articles: number;
  totalArticles: number;
  embedded: number;
  toEmbed: number;
}

export interface IngestOptions {
  /** Recorded on the article ("added by"). */
  addedBy?: string;
  /** Who made the change, for the audit trail. Default `{ id: 'local' }`. */
  actor?: Actor;
  /** Article ids to remove in the same transaction as the first write (replacing an article under a new id). */
  remove?: string[];
  /**
   * Stored article ids that an article from another origin may replace (a confirmed `/kb add`).
   * Otherwise an article whose title gives the id of a stored article from another file gets an
   * id of its own (reported in `renamed`), never silently replacing it.
   */
  replace?: string[];
  onProgress?: (p: IngestProgress) => void;
}

export interface KnowledgeBaseStats {
  articles: number;
  passages: number;
  /** The configured embedder. */
  model: EmbedderInfo;
  /** The model the stored vectors come from (differs from `model` while `needsReindex`). */
  indexModel?: IndexModel;
  needsReindex: boolean;
  version: number;
  lastChange?: string;
  vectorSlots: number;
  deletedSlots: number;
  /** Catalog + WAL + HNSW file, in bytes. */
  diskBytes: number;
}

export interface IngestReport {
  articles: number;
  added: number;
  updated: number;
  unchanged: number;
  passages: number;
  embedded: number;
  duplicatesDropped: number;
  seconds: number;
  embedSeconds: number;
  /** Chunked articles that were written, for callers that report per article. */
  written: ChunkedArticle[];
  /** Audit rows of the change. */
  audit: AuditEntry[];
  /** Articles not stored, and why (an article without any text to index is never stored empty). */
  refused: { id: string; title: string; origin: string; reason: string }[];
  /** Articles stored under an id of their own because their title's id belongs to an article from another origin. */
  renamed: { id: string; title: string; origin: string; clashesWith: { id: string; origin: string } }[];
}

export type { AskOptions } from './ask.js';
export { searchQuery } from './ask.js';
import { outsideWindow } from './ask.js';

const CATALOG_FILE = 'catalog.sqlite';
const vectorFile = (version: number) => `vectors-${version}.hnsw`;
/** Bump when tokenising or stemming changes, so old BM25 snapshots are rebuilt, not loaded. */
const LEXICAL_FORMAT = 1;
const lexicalFile = (version: number) => `lexical-f${LEXICAL_FORMAT}-${version}.json`;

function sameModel(a: EmbedderInfo, b: { model: string; dimension: number; normalized: boolean }): boolean {
  return a.model === b.model && a.dimension === b.dimension && a.normalized === b.normalized;
}

/**
 * The knowledge base: a catalog (source of truth), an HNSW vector index and a BM25 index kept in
 * step with it, and question answering on top. Writes are serialised through one queue; a reader
 * always sees the state before or after a write, never half of it.
 */
export class KnowledgeBase implements KnowledgeReader {
  private writeQueue: Promise<unknown> = Promise.resolve();
  private savedVersion = -1;
  private readonly audit: AuditLog;
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  /** Article titles for autocomplete, answered from memory. */
  private titleList: { id: string; title: string; lower: string }[] = [];
  /** The same titles, normalised (see {@link titleKey}), for shadowing in a layered view. */
  private titleKeys = new Set<string>();
  /** The vectors in HNSW come from another model than the embedder: dense retrieval is off until a reindex. */
  private stale = false;
  /** Vectors of the sentences answers are drawn from, embedded on first use and kept in the catalog. */
  readonly sentenceVectors: SentenceVectorCache;
  /** What the start-up check found. */
  startup: StartupCheck = { vectors: 'empty', passages: 0, hnswLive: 0, lexical: 0, lexicalFrom: 'catalog' };

  private constructor(
    private readonly opts: KnowledgeBaseOptions,
    readonly catalog: Catalog,
    private vectors: HnswIndex,
    private lexical: LexicalIndex,
  ) {
    this.audit = new AuditLog(catalog.db);
    this.sentenceVectors = new SentenceVectorCache(catalog.db, opts.embedder);
  }

  static async open(options: KnowledgeBaseOptions): Promise<KnowledgeBase> {
    mkdirSync(options.dataDir, { recursive: true });
    const catalog = new Catalog(join(options.dataDir, CATALOG_FILE));
    try {
      const problem = catalog.integrityProblem();
      if (problem) {
        throw new Error(
          `The catalog ${join(options.dataDir, CATALOG_FILE)} is damaged (${problem}). Restore it from a backup, or delete DATA_DIR and run \`npm run ingest\` to rebuild it from the knowledge folder.`,
        );
      }
      const info = options.embedder.info;
      const audit = new AuditLog(catalog.db);
      if (options.rebuild) {
        const articles = catalog.articleCount();
        catalog.clear((version, at) => {
          if (articles > 0) audit.record({ id: 'local', name: 'rebuild', via: 'cli' }, version, at, [{ action: 'remove', details: { cleared: articles } }]);
        });
      }
      const recorded = catalog.model;
      let stale = false;
      if (recorded && !sameModel(info, recorded)) {
        if (catalog.passageCount() === 0) catalog.clear();
        else if (options.onModelMismatch === 'stale') stale = true;
        else
          throw new ModelMismatchError(
            `The index in ${options.dataDir} was built with ${recorded.model} (${recorded.dimension} dimensions) but the embedding model now is ${info.model} (${info.dimension} dimensions). ` +
              'Run `npm run ingest -- --rebuild` to re-embed the articles with the new model, or set EMBEDDING_MODEL back.',
          );
      }
      if (!catalog.model) catalog.setModel({ model: info.model, dimension: info.dimension, normalized: info.normalized });
      const dimension = stale ? recorded!.dimension : info.dimension;
      const kb = new KnowledgeBase(options, catalog, HnswIndex.create(dimension, options.hnsw), new LexicalIndex(options.lexical));
      kb.stale = stale;
      if (stale) {
        kb.log(
          `the index was built with ${recorded!.model} but the embedding model now is ${info.model}: answering from BM25 only until a reindex (/kb reindex, or npm run ingest) re-embeds the articles`,
        );
      }
      await kb.loadIndexes();
      return kb;
    } catch (error) {
      catalog.close();
      throw error;
    }
  }

  private log(message: string): void {
    this.opts.log?.(message);
  }

  /** Dimension of the vectors in the catalog and HNSW (the recorded model's, while stale). */
  private get indexDimension(): number {
    return this.stale ? (this.catalog.model?.dimension ?? this.opts.embedder.info.dimension) : this.opts.embedder.info.dimension;
  }

  /**
   * Start-up: loads the HNSW file of the catalog's version and checks it against the catalog
   * (every live catalog label present and live, every other label deleted, a sample of vectors
   * equal to the stored ones). A missing, unreadable, stale or inconsistent file is rebuilt from
   * the vectors stored in the catalog (no re-embedding). BM25 is always rebuilt from the catalog.
   */
  private async loadIndexes(): Promise<void> {
    const dir = this.opts.dataDir;
    // Temporary files of a save that was interrupted.
    for (const name of readdirSync(dir)) if (/^vectors-\d+\.hnsw\.tmp-/.test(name)) rmSync(join(dir, name), { force: true });
    const version = this.catalog.version;
    const live = this.catalog.passageCount();
    const file = join(dir, vectorFile(version));
    let loaded = false;
    let reason: string | undefined;
    if (live > 0) {
      if (!readdirSync(dir).includes(vectorFile(version))) {
        reason = `no vector file for catalog version ${version} (the last write did not finish saving it)`;
      } else {
        try {
          const index = await HnswIndex.load(file, this.indexDimension, live, this.opts.hnsw);
          const problem = this.checkVectors(index);
          if (problem) reason = `${vectorFile(version)} does not match the catalog (${problem})`;
          else {
            this.vectors = index;
            loaded = true;
            this.savedVersion = version;
          }
        } catch (error) {
          reason = `${vectorFile(version)} is unreadable (${(error as Error).message})`;
        }
      }
    }
    if (!loaded) {
      const index = HnswIndex.create(this.indexDimension, { ...this.opts.hnsw, initialCapacity: Math.max(1024, live) });
      for (const { label, vector } of this.catalog.iterateVectors()) index.add(label, vector);
      this.vectors = index;
      if (live > 0) {
        this.log(`vector index ${file}: ${reason}; rebuilding it from the catalog (${live} passages, version ${version})`);
        await this.saveVectors(version);
      }
    }
    const snapshot = this.loadLexical(version);
    this.lexical = snapshot ?? this.buildLexical();
    this.refreshTitles();
    this.startup = {
      vectors: live === 0 ? 'empty' : loaded ? 'loaded' : 'rebuilt',
      ...(loaded || live === 0 ? {} : { reason }),
      passages: live,
      hnswLive: this.vectors.size,
      lexical: this.lexical.size,
      lexicalFrom: snapshot ? 'snapshot' : 'catalog',
    };
    if (this.vectors.size !== live || this.lexical.size !== live) {
      throw new Error(`indexes disagree with the catalog after loading (catalog ${live}, HNSW ${this.vectors.size}, BM25 ${this.lexical.size})`);
    }
  }

  /** Why `index` does not mirror the catalog, or null when it does. */
  private checkVectors(index: HnswIndex): string | null {
    const catalogLabels = this.catalog.labels();
    const inCatalog = new Set(catalogLabels);
    const inIndex = new Set(index.labels());
    let missing = 0;
    for (const label of catalogLabels) if (!inIndex.has(label)) missing++;
    if (missing > 0) return `${missing} catalog passages are missing from it`;
    let extraLive = 0;
    for (const label of inIndex) if (!inCatalog.has(label) && index.vectorOf(label) !== undefined) extraLive++;
    if (extraLive > 0) return `${extraLive} vectors of passages no longer in the catalog are still live`;
    if (index.size !== catalogLabels.length) return `${index.size} live vectors for ${catalogLabels.length} passages`;
    // A sample of labels (spread over the range, ends included): live, and the stored vector.
    const SAMPLE = 32;
    const step = Math.max(1, Math.floor(catalogLabels.length / SAMPLE));
    for (let i = 0; i < catalogLabels.length; i += step) {
      const label = catalogLabels[i];
      const problem = this.checkLabel(index, label);
      if (problem) return problem;
    }
    return catalogLabels.length > 0 ? this.checkLabel(index, catalogLabels[catalogLabels.length - 1]) : null;
  }

  private checkLabel(index: HnswIndex, label: number): string | null {
    const stored = index.vectorOf(label);
    if (!stored) return `passage ${label} is marked deleted`;
    const expected = this.catalog.vectorByLabel(label);
    if (!expected || expected.length !== stored.length) return `passage ${label} has a vector of another dimension`;
    return sameVector(stored, expected) ? null : `passage ${label} holds another vector than the catalog`;
  }

  /** BM25 from the snapshot of this catalog version, when there is a sound one. */
  private loadLexical(version: number): LexicalIndex | undefined {
    const file = join(this.opts.dataDir, lexicalFile(version));
    if (!existsSync(file)) return undefined;
    try {
      const index = new LexicalIndex(this.opts.lexical, readFileSync(file, 'utf8'));
      // Exactly the catalog's passages (same count, every label present), or it is not used.
      const labels = this.catalog.labels();
      if (index.size === labels.length && labels.every((label) => index.has(label))) return index;
      this.log(`BM25 snapshot ${file} does not match the catalog; rebuilding BM25 from the catalog`);
      return undefined;
    } catch (error) {
      this.log(`BM25 snapshot ${file} is unreadable (${(error as Error).message}); rebuilding it from the catalog`);
      return undefined;
    }
  }

  private buildLexical(): LexicalIndex {
    const lexical = new LexicalIndex(this.opts.lexical);
    const docs = [];
    for (const p of this.catalog.iteratePassages()) docs.push({ label: p.label, title: p.title, text: p.text });
    lexical.addAll(docs);
    return lexical;
  }

  /**
   * Writes the BM25 snapshot of the current version (temp file + rename) and drops older ones.
   * Called after bulk ingests and on close, not after every small change: a missing or stale
   * snapshot only means BM25 is rebuilt from the catalog at the next start.
   */
  private saveLexical(): void {
    const dir = this.opts.dataDir;
    const version = this.catalog.version;
    const file = join(dir, lexicalFile(version));
    if (!existsSync(file)) {
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, this.lexical.toJSON());
      renameSync(tmp, file);
    }
    for (const name of readdirSync(dir)) {
      if (/^lexical-f\d+-\d+\.json(\.tmp-\d+)?$/.test(name) && name !== lexicalFile(version)) rmSync(join(dir, name), { force: true });
    }
  }

  private async saveVectors(version: number): Promise<void> {
    await this.vectors.save(join(this.opts.dataDir, vectorFile(version)));
    this.savedVersion = version;
    for (const name of readdirSync(this.opts.dataDir)) {
      if (/^vectors-\d+\.hnsw$/.test(name) && name !== vectorFile(version)) rmSync(join(this.opts.dataDir, name), { force: true });
    }
  }

  private refreshTitles(): void {
    this.titleList = this.catalog.titles().map((t) => ({ ...t, lower: t.title.toLowerCase() }));
    this.titleKeys = new Set(this.titleList.map((t) => titleKey(t.title)));
  }

  /** Calls `listener` after every committed change (synchronously, before the next reader). Returns an unsubscribe function. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ChangeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log(`a change listener failed: ${(error as Error).message}`);
      }
    }
  }

  /** Audit rows for a commit, written inside its transaction. */
  private auditWithin(actor: Actor, out: AuditEntry[], extra: AuditEntryInput[] = []): (info: CommitInfo) => void {
    return (info) => {
      const entries: AuditEntryInput[] = [
        ...info.removed.map((a) => ({ action: 'remove' as const, articleId: a.id, title: a.title, contentHash: a.hash })),
        ...info.written.map((a) => ({
          action: a.replaced ? ('replace' as const) : ('add' as const),
          articleId: a.id,
          title: a.title,
          contentHash: a.hash,
          details: { passages: a.passages },
        })),
        ...extra,
      ];
      out.push(...this.audit.record(actor, info.version, info.at, entries));
    };
  }

  /** Refuses writes while the catalog holds vectors of another model (they would be mixed). */
  private assertWritable(): void {
    if (this.stale) {
      throw new ModelMismatchError(
        `The index was built with ${this.catalog.model?.model} but the embedding model now is ${this.opts.embedder.info.model}. Reindex first (/kb reindex or npm run ingest), then add articles.`,
      );
    }
  }

  /** Runs a write after every earlier write has finished. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writeQueue.then(work, work);
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  /** Mirrors a committed catalog change in the in-memory indexes, synchronously (no reader sees half). */
  private apply(result: CommitResult, titles: Map<string, string>): void {
    for (const label of result.removedLabels) {
      this.vectors.remove(label);
      this.lexical.remove(label);
    }
    for (const p of result.added) {
      const vector = this.pendingVectors.get(p.label);
      if (vector) this.vectors.add(p.label, vector);
      this.lexical.add({ label: p.label, title: titles.get(p.articleId) ?? '', text: p.text });
    }
    this.pendingVectors.clear();
  }

  private readonly pendingVectors = new Map<number, Float32Array>();

  /**
   * Adds or replaces articles. Unchanged articles (same content hash) cost nothing; in a changed
   * article only paragraphs whose text changed are embedded again. Commits in groups so a crash
   * loses at most one group of embedding work.
   */
  ingest(raw: RawArticle[], opts: IngestOptions = {}): Promise<IngestReport> {
    return this.serialized(async () => {
      this.assertWritable();
      const started = performance.now();
      let embedMs = 0;
      const actor = opts.actor ?? LOCAL_ACTOR;
      const audit: AuditEntry[] = [];
      const refused: IngestReport['refused'] = [];
      // Chunked on the parse worker (a 5 MB article never stalls the event loop).
      const all = (await chunkArticles(raw, this.opts.chunk)).map((article, i) => ({ raw: raw[i], article }));
      for (const { article } of all) {
        if (article.passages.length === 0) refused.push({ id: article.id, title: article.title, origin: article.origin, reason: 'no text to index' });
      }
      const usable = all.filter((c) => c.article.passages.length > 0);
      const renamed: IngestReport['renamed'] = [];
      const chunked = assignIds(usable.map((c) => c.article), (id) => this.catalog.getArticle(id), new Set(opts.replace ?? []), renamed);
      const bodies = new Map(chunked.map((c, i) => [c.id, splitParagraphs(usable[i].raw.body).join('\n\n')]));
      // Articles replaced under another id (same URL, new title) go in the same commit as the first write.
      let removals = (opts.remove ?? []).filter((id) => !chunked.some((c) => c.id === id) && this.catalog.getArticle(id));
      const report: IngestReport = {
        articles: chunked.length, added: 0, updated: 0, unchanged: 0, passages: 0, embedded: 0,
        duplicatesDropped: 0, seconds: 0, embedSeconds: 0, written: [], audit: [], refused, renamed,
      };
      type Plan = { article: ChunkedArticle; reuse: Map<string, Float32Array>; isNew: boolean };
      const plans: Plan[] = [];
      for (const article of chunked) {
        report.duplicatesDropped += article.duplicatesDropped;
        report.passages += article.passages.length;
        const existing = this.catalog.getArticle(article.id);
        if (existing && existing.hash === article.hash) {
          report.unchanged++;
          continue;
        }
        plans.push({ article, reuse: existing ? this.catalog.articleVectorsByHash(article.id) : new Map(), isNew: !existing });
      }
      const toEmbed = plans.reduce((n, p) => n + p.article.passages.filter((x) => !p.reuse.has(x.hash)).length, 0);
      const progress = { articles: report.unchanged, totalArticles: chunked.length, embedded: 0, toEmbed };
      opts.onProgress?.({ ...progress });

      const GROUP_PASSAGES = 512;
      let group: ArticleChange[] = [];
      let groupSize = 0;
      const flush = () => {
        if (group.length === 0 && removals.length === 0) return;
        const titles = new Map(group.map((c) => [c.article.id, c.article.title]));
        const auditedBefore = audit.length;
        const result = this.catalog.commit(group, removals, { within: this.auditWithin(actor, audit) });
        removals = [];
        result.added.forEach((p, i) => this.pendingVectors.set(p.label, flatVectors[i]));
        this.apply(result, titles);
        this.refreshTitles();
        this.emit({ version: result.version, kind: 'ingest', audit: audit.slice(auditedBefore) });
        group = [];
        groupSize = 0;
        flatVectors = [];
      };
      let flatVectors: Float32Array[] = [];
      try {
        // Passages of several articles are embedded in one request, so a pool of workers gets
        // slices big enough to keep every core busy (an article alone is a handful of passages).
        const EMBED_WINDOW = 64;
        for (let start = 0; start < plans.length; ) {
          let end = start;
          let windowSize = 0;
          while (end < plans.length && (end === start || windowSize < EMBED_WINDOW)) {
            windowSize += plans[end].article.passages.filter((p) => !plans[end].reuse.has(p.hash)).length;
            end++;
          }
          const window = plans.slice(start, end);
          start = end;
          const missing = window.flatMap((plan) => plan.article.passages.filter((p) => !plan.reuse.has(p.hash)));
          const fresh = new Map<string, Float32Array>();
          if (missing.length > 0) {
            const t0 = performance.now();
            const vectors = await this.opts.embedder.embed(missing.map((p) => p.text));
            embedMs += performance.now() - t0;
            missing.forEach((p, i) => fresh.set(p.hash, vectors[i]));
            if (this.opts.sentenceVectorsAtIngest) embedMs += await this.sentenceVectors.warm(missing.map((p) => p.text), vectors);
            report.embedded += missing.length;
            progress.embedded += missing.length;
          }
          for (const plan of window) {
            const { article, reuse } = plan;
            const passages = article.passages.map((passage) => ({ passage, vector: (reuse.get(passage.hash) ?? fresh.get(passage.hash))! }));
            group.push({ article, passages, addedBy: opts.addedBy, body: bodies.get(article.id) });
            flatVectors.push(...passages.map((p) => p.vector));
            groupSize += passages.length;
            if (plan.isNew) report.added++;
            else report.updated++;
            report.written.push(article);
            progress.articles++;
            opts.onProgress?.({ ...progress });
            if (groupSize >= GROUP_PASSAGES) flush();
          }
        }
        flush();
      } finally {
        // Groups committed before a failure are saved too (start-up would rebuild them otherwise).
        if (this.catalog.version !== this.savedVersion) await this.saveVectors(this.catalog.version);
      }
      report.seconds = (performance.now() - started) / 1000;
      report.embedSeconds = embedMs / 1000;
      report.audit = audit;
      return report;
    });
  }

  /** Removes articles by id; they are never cited again from the moment this resolves. */
  remove(articleIds: string[], opts: { actor?: Actor } = {}): Promise<{ removed: number }> {
    return this.serialized(async () => {
      const present = [...new Set(articleIds)].filter((id) => this.catalog.getArticle(id));
      if (present.length === 0) return { removed: 0 };
      const audit: AuditEntry[] = [];
      const result = this.catalog.commit([], present, { within: this.auditWithin(opts.actor ?? LOCAL_ACTOR, audit) });
      this.apply(result, new Map());
      this.refreshTitles();
      this.emit({ version: result.version, kind: 'remove', audit: [...audit] });
      await this.saveVectors(result.version);
      return { removed: present.length };
    });
  }

  /**
   * Rebuilds every passage and vector from the stored articles with the configured embedder (after
   * changing EMBEDDING_MODEL, or to compact the vector index). The old indexes keep answering while
   * the articles are re-embedded and the new HNSW and BM25 indexes are built beside them; then ONE
   * catalog transaction replaces every passage (and records the model) and the new indexes are
   * swapped in synchronously, so a question sees all-old or all-new. A crash before that
   * transaction leaves the old state; after it, start-up rebuilds HNSW from the catalog.
   */
  reindex(opts: { actor?: Actor; onProgress?: (p: ReindexProgress) => void; batchSize?: number } = {}): Promise<ReindexReport> {
    return this.serialized(async () => {
      const started = performance.now();
      const info = this.opts.embedder.info;
      const fromModel = this.catalog.model?.model;
      const batchSize = Math.max(1, opts.batchSize ?? 32);
      const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

      const records = this.catalog.listArticles();
      const bodies = records.map((a) => this.catalog.articleBody(a.id) ?? bodyFromPassages(this.catalog.articlePassages(a.id)));
      const articles = await chunkArticles(
        records.map((a, i) => ({ title: a.title, body: bodies[i], url: a.url, date: a.date, author: a.author, origin: a.origin })),
        this.opts.chunk,
        records.map((a) => a.id),
      );
      const chunked = records.map((a, i) => ({ record: a, body: bodies[i], article: articles[i] }));
      const all = chunked.flatMap((c) => c.article.passages);
      const progress: ReindexProgress = { phase: 'embedding', articles: records.length, passages: all.length, embedded: 0 };
      opts.onProgress?.({ ...progress });

      // 1. Embed everything (the old indexes keep answering meanwhile).
      const vectors: Float32Array[] = [];
      for (let i = 0; i < all.length; i += batchSize) {
        const batch = await this.opts.embedder.embed(all.slice(i, i + batchSize).map((p) => p.text));
        vectors.push(...batch);
        progress.embedded += batch.length;
        opts.onProgress?.({ ...progress });
      }

      // 2. Build the new HNSW and BM25 indexes beside the old ones, under the labels the passages will get.
      progress.phase = 'indexing';
      opts.onProgress?.({ ...progress });
      const base = this.catalog.nextLabel();
      const index = HnswIndex.create(info.dimension, { ...this.opts.hnsw, initialCapacity: Math.max(1024, all.length) });
      const lexical = new LexicalIndex(this.opts.lexical);
      const titleOf = new Map(chunked.map((c) => [c.article.id, c.article.title]));
      for (let i = 0; i < all.length; i++) {
        index.add(base + i, vectors[i]);
        lexical.add({ label: base + i, title: titleOf.get(all[i].articleId) ?? '', text: all[i].text });
        if (i % 256 === 255) await yieldNow();
      }
      let next = 0;
      const changes: ArticleChange[] = chunked.map((c) => ({
        article: c.article,
        body: c.body,
        passages: c.article.passages.map((passage) => {
          const k = next++;
          return { passage, vector: vectors[k], label: base + k };
        }),
      }));

      // 3. One transaction, then the synchronous swap.
      const audit: AuditEntry[] = [];
      const model: IndexModel = { model: info.model, dimension: info.dimension, normalized: info.normalized };
      const duplicatesDropped = chunked.reduce((n, c) => n + c.article.duplicatesDropped, 0);
      const result = this.catalog.commit(changes, [], {
        model,
        keepTimestamps: true,
        within: (commit) => {
          audit.push(
            ...this.audit.record(opts.actor ?? LOCAL_ACTOR, commit.version, commit.at, [
              { action: 'reindex', details: { articles: records.length, passages: all.length, fromModel, model: info.model } },
            ]),
          );
        },
      });
      const expected = base + all.length - 1;
      if (all.length > 0 && result.added[result.added.length - 1]?.label !== expected) {
        throw new Error(`reindex: passages were stored under unexpected labels (another process writing the catalog?)`);
      }
      this.vectors = index;
      this.lexical = lexical;
      this.stale = false;
      this.refreshTitles();
      this.emit({ version: result.version, kind: 'reindex', audit: [...audit] });
      await this.saveVectors(result.version);
      progress.phase = 'done';
      opts.onProgress?.({ ...progress });
      return {
        articles: records.length,
        passages: all.length,
        embedded: all.length,
        duplicatesDropped,
        fromModel,
        model: info.model,
        seconds: (performance.now() - started) / 1000,
        version: result.version,
      };
    });
  }

  /** True while the stored vectors come from another model (answers use BM25 only until {@link reindex}). */
  get needsReindex(): boolean {
    return this.stale;
  }

  /** The model the stored vectors come from. */
  get indexModel(): IndexModel | undefined {
    return this.catalog.model;
  }

  listArticles(): ArticleRecord[] {
    return this.catalog.listArticles();
  }

  /** Up to `limit` articles whose title starts with (then contains) `query`, from memory (autocomplete). */
  suggest(query: string, limit = 25): { id: string; title: string }[] {
    const q = query.replace(/\s+/g, ' ').trim().toLowerCase();
    const out: { id: string; title: string }[] = [];
    if (!q) return this.titleList.slice(0, limit).map(({ id, title }) => ({ id, title }));
    for (const t of this.titleList) if (t.lower.startsWith(q) || t.id.startsWith(q)) out.push(t);
    for (const t of this.titleList) {
      if (out.length >= limit) break;
      if (!(t.lower.startsWith(q) || t.id.startsWith(q)) && t.lower.includes(q)) out.push(t);
    }
    return out.slice(0, limit).map(({ id, title }) => ({ id, title }));
  }

  /** True when an article with this title (case and spacing aside) is stored. From memory. */
  hasTitle(title: string): boolean {
    return this.titleKeys.has(titleKey(title));
  }

  /**
   * Writes audit rows that go with no catalog change (purging a server's data), at the current
   * catalog version, and tells the listeners (the log channel).
   */
  recordAudit(actor: Actor, entries: AuditEntryInput[]): AuditEntry[] {
    const rows = this.audit.record(actor, this.catalog.version, new Date().toISOString(), entries);
    this.emit({ version: this.catalog.version, kind: 'note', audit: rows });
    return rows;
  }

  /** The article's body as stored (paragraphs separated by blank lines). */
  articleBody(id: string): string | undefined {
    const article = this.catalog.getArticle(id);
    if (!article) return undefined;
    return this.catalog.articleBody(id) ?? bodyFromPassages(this.catalog.articlePassages(id));
  }

  /** A single knowledge base has no layers. */
  layerOf(): Layer | undefined {
    return undefined;
  }

  cacheDbOf(articleId: string): Database.Database | undefined {
    return this.catalog.getArticle(articleId) ? this.catalog.db : undefined;
  }

  /** True when this passage id still holds this text (cached answers must not show removed or edited text). */
  isPassageCurrent(passageId: string, text?: string): boolean {
    const passage = this.catalog.passageById(passageId);
    return passage !== undefined && (text === undefined || passage.text === text);
  }

  /** The audit trail, newest first. */
  auditTrail(options: { limit?: number; articleId?: string } = {}): AuditEntry[] {
    return this.audit.list(options);
  }

  getArticle(id: string): ArticleRecord | undefined {
    return this.catalog.getArticle(id);
  }

  articlePassages(id: string): StoredPassage[] {
    return this.catalog.articlePassages(id);
  }

  get embedderInfo(): EmbedderInfo {
    return this.opts.embedder.info;
  }

  /** Checks a question and returns it trimmed, or throws a {@link UserInputError} that says what is wrong. */
  validateQuestion(question: string): string {
    return validateQuestion(question, this.opts.maxQuestionChars);
  }

  /** Hybrid retrieval: BM25 and HNSW candidates, every candidate scored by both, fused, near-duplicates dropped. */
  async retrieve(query: string, options: RetrieveOptions = {}): Promise<Retrieved> {
    const t0 = performance.now();
    // While stale the stored vectors come from another model: a query vector cannot be compared with them.
    const vector = this.stale ? undefined : (options.queryVector ?? (await this.embedQuery(query)));
    const t1 = performance.now();
    const passages = rankCandidates(this.searchCandidates(query, vector, { exclude: outsideWindow(options.window) }), options.topK ?? 8, options.fusion ?? this.opts.fusion);
    return { passages, queryVector: vector, embedMs: t1 - t0, searchMs: performance.now() - t1 };
  }

  /**
   * The BM25 and HNSW candidates for a query, each scored by both sides (not yet fused), from one
   * consistent snapshot: synchronous, so no write lands half-way. `vector` is ignored while the
   * stored vectors come from another model.
   */
  searchCandidates(query: string, vector: Float32Array | undefined, options: { layer?: Layer; exclude?: (article: ArticleRecord) => boolean } = {}): PassageCandidate[] {
    const depth = this.opts.candidates ?? 50;
    const dense = vector && !this.stale ? vector : undefined;
    const vectors = this.vectors;
    const lexicalHits = this.lexical.search(query, depth);
    const denseHits = dense ? vectors.search(dense, depth) : [];
    const denseBy = new Map(denseHits.map((h) => [h.label, h.similarity]));
    const lexicalBy = new Map(lexicalHits.map((h) => [h.label, h.score]));
    const labels = [...new Set([...lexicalBy.keys(), ...denseBy.keys()])];
    const passages = this.catalog.passagesByLabels(labels);
    const articles = new Map<string, ArticleRecord | undefined>();
    const articleOf = (id: string) => {
      if (!articles.has(id)) articles.set(id, this.catalog.getArticle(id));
      return articles.get(id);
    };
    const out: PassageCandidate[] = [];
    for (const label of labels) {
      const passage = passages.get(label);
      const article = passage && articleOf(passage.articleId);
      if (!passage || !article || options.exclude?.(article)) continue;
      out.push({
        passage,
        articleTitle: article.title,
        ...(article.url ? { articleUrl: article.url } : {}),
        ...(article.date ? { articleDate: article.date } : {}),
        dense: denseBy.get(label) ?? (dense ? vectors.similarity(label, dense) : 0),
        lexical: lexicalBy.get(label) ?? 0,
        ...(options.layer ? { layer: options.layer } : {}),
      });
    }
    return out;
  }

  async embedQuery(query: string): Promise<Float32Array> {
    return (await this.opts.embedder.embed([query]))[0];
  }

  /** Answers a question from the knowledge base, with cited sources, or says it has no answer. */
  ask(question: string, options: AskOptions = {}): Promise<AskResult> {
    return askKnowledge(this, question, { ...options, compose: this.opts.compose });
  }

  /** What the composer reads beside the passages: this knowledge base's sentence caches and size. */
  answerInputs(): AnswerContext {
    return { sentenceVectors: this.sentenceVectors.vectors, sentenceEntities: this.sentenceVectors.entities, corpusPassages: this.catalog.passageCount() };
  }

  stats(): KnowledgeBaseStats {
    return {
      articles: this.catalog.articleCount(),
      passages: this.catalog.passageCount(),
      model: this.opts.embedder.info,
      indexModel: this.catalog.model,
      needsReindex: this.stale,
      version: this.catalog.version,
      lastChange: this.catalog.lastChange,
      vectorSlots: this.vectors.slots,
      deletedSlots: this.vectors.deleted,
      diskBytes: this.diskBytes(),
    };
  }

  /** Bytes on disk of the catalog (with its WAL) and the current HNSW file. */
  private diskBytes(): number {
    let total = 0;
    for (const name of readdirSync(this.opts.dataDir)) {
      if (name.startsWith(CATALOG_FILE) || /^vectors-\d+\.hnsw$/.test(name)) {
        try {
          total += statSync(join(this.opts.dataDir, name)).size;
        } catch {
          // removed meanwhile
        }
      }
    }
    return total;
  }

  /** Waits for pending writes, then closes the catalog. The embedder belongs to the caller. */
  async close(): Promise<void> {
    await this.writeQueue;
    try {
      if (this.catalog.passageCount() > 0 && !this.stale) this.saveLexical();
    } catch (error) {
      this.log(`could not save the BM25 snapshot: ${(error as Error).message}`);
    }
    this.catalog.close();
  }
}

const LOCAL_ACTOR: Actor = { id: 'local', name: 'local', via: 'cli' };

/** A title as compared for "the same article": case and spacing do not matter. */
export function titleKey(title: string): string {
  return title.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** A body from stored passages (catalogs written before bodies were kept): parts of a paragraph joined again. */
function bodyFromPassages(passages: StoredPassage[]): string {
  const paragraphs: string[] = [];
  let last = -1;
  for (const p of [...passages].sort((a, b) => a.label - b.label)) {
    if (p.paragraph === last) paragraphs[paragraphs.length - 1] += ` ${p.text}`;
    else paragraphs.push(p.text);
    last = p.paragraph;
  }
  return paragraphs.join('\n\n');
}

/**
 * Article ids are title slugs. An article whose slug is taken by an article from another origin
 * (earlier in the batch, or stored with other content) gets the id `<slug>-<hash of its origin>`,
 * stable across ingests, and is reported in `renamed`; only ids in `replaceable` (a confirmed
 * replace) go to the newcomer. The same content from another origin is the same article.
 */
function assignIds(
  articles: ChunkedArticle[],
  stored: (id: string) => { origin: string; hash: string } | undefined,
  replaceable: Set<string>,
  renamed: IngestReport['renamed'],
): ChunkedArticle[] {
  const seen = new Map<string, string>();
  return articles.map((a) => {
    let owner = seen.get(a.id);
    if (owner === undefined && !replaceable.has(a.id)) {
      const existing = stored(a.id);
      if (existing && existing.origin !== a.origin && existing.hash !== a.hash) owner = existing.origin;
    }
    if (owner === undefined) {
      seen.set(a.id, a.origin);
      return a;
    }
    if (owner === a.origin) return a;
    const id = originId(a.id, a.origin);
    seen.set(id, a.origin);
    renamed.push({ id, title: a.title, origin: a.origin, clashesWith: { id: a.id, origin: owner } });
    return rekey(a, id);
  });
}

function rekey(article: ChunkedArticle, id: string): ChunkedArticle {
  return {
    ...article,
    id,
    passages: article.passages.map((p) => ({ ...p, id: p.id.replace(article.id, id), articleId: id })),
  };
}
