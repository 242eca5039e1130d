import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, type Actor, type AuditEntry, type AuditEntryInput } from '../audit.js';
import { Catalog, type ArticleChange, type ArticleRecord, type ArticleTitle, type CommitInfo, type IndexModel, type StoredPassage } from '../catalog.js';
import { FeedbackStore } from '../feedback.js';
import { LexicalIndex, type LexicalOptions } from '../lexical-index.js';
import {
  checkVectors,
  ModelPolicyError,
  type ArticleDump,
  type CommitOutcome,
  type CommitRequest,
  type DenseHit,
  type LexicalHit,
  type QuestionStore,
  type ReindexMarkerStore,
  type SearchCandidate,
  type SearchRequest,
  type StorageStats,
  type StoreChange,
  type StoreState,
  type TenantKey,
  type TenantStore,
} from '../port.js';
import { HnswIndex, type HnswOptions } from '../vector-index.js';
import { blobToVector, SqliteConfirmations, SqliteSentenceCache, SqliteSummaryCache } from './tables.js';
import { LocalFeedStore } from './feeds.js';
import { feedStoreOf } from '../feeds.js';
import { cosine, sameVector } from '../../vectors.js';

/** File names shared with the knowledge base's own loader, so existing data folders open unchanged. */
export const CATALOG_FILE = 'catalog.sqlite';
const vectorFile = (version: number) => `vectors-${version}.hnsw`;
/** Bump when tokenising or stemming changes, so old BM25 snapshots are rebuilt, not loaded. */
const LEXICAL_FORMAT = 1;
const lexicalFile = (version: number) => `lexical-f${LEXICAL_FORMAT}-${version}.json`;

export interface LocalTenantOptions {
  dir: string;
  tenant: TenantKey;
  hnsw?: HnswOptions;
  lexical?: LexicalOptions;
  log?: (line: string) => void;
  emit: (change: Omit<StoreChange, 'remote'>) => void;
  /** Called as the last holder starts closing it, with the promise of the close (a re-open waits for it). */
  onClosing: (done: Promise<void>) => void;
  /** The tenant's reindex marker, kept by the store (it outlives a handle). */
  reindexMarker: ReindexMarkerStore;
}

/** What the start-up check found and did (the knowledge base reports it; the app logs a rebuild). */
export interface LocalStartup {
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

/**
 * One knowledge base in a folder: the SQLite catalog (source of truth, with audit, questions,
 * feedback, summaries and confirmations in the same file), an HNSW file and a BM25 snapshot
 * derived from it. Commits are synchronous SQLite transactions mirrored into the in-memory
 * indexes in the same tick, so no reader (all reads are synchronous inside) sees half a commit.
 */
export class LocalTenant implements TenantStore {
  readonly tenant: TenantKey;
  readonly questions: QuestionStore;
  readonly summaries: SqliteSummaryCache;
  readonly confirmations: SqliteConfirmations;
  readonly feeds: LocalFeedStore;
  readonly sentences: SqliteSentenceCache;
  readonly reindexMarker: ReindexMarkerStore;
  startup: LocalStartup = { vectors: 'empty', passages: 0, hnswLive: 0, lexical: 0, lexicalFrom: 'catalog' };
  private readonly audit: AuditLog;
  private readonly feedback: FeedbackStore;
  /** Undefined until a model is recorded (its dimension sizes the index). */
  private vectors?: HnswIndex;
  private lexical: LexicalIndex;
  private savedVersion = -1;
  private commitChain: Promise<unknown> = Promise.resolve();
  private writerChain: Promise<unknown> = Promise.resolve();
  refs = 1;
  private closed = false;

  private constructor(
    private readonly opts: LocalTenantOptions,
    private readonly catalog: Catalog,
  ) {
    this.tenant = opts.tenant;
    this.audit = new AuditLog(catalog.db);
    this.feedback = new FeedbackStore(catalog.db);
    this.summaries = new SqliteSummaryCache(catalog.db);
    this.confirmations = new SqliteConfirmations(catalog.db);
    this.feeds = new LocalFeedStore(feedStoreOf(catalog.db));
    this.sentences = new SqliteSentenceCache(catalog.db);
    this.reindexMarker = opts.reindexMarker;
    this.lexical = new LexicalIndex(opts.lexical);
    this.questions = asyncQuestions(this.feedback);
  }

  static async open(opts: Omit<LocalTenantOptions, never>): Promise<LocalTenant> {
    mkdirSync(opts.dir, { recursive: true });
    const file = join(opts.dir, CATALOG_FILE);
    const catalog = new Catalog(file);
    try {
      const problem = catalog.integrityProblem();
      if (problem) {
        throw new Error(
          `The catalog ${file} is damaged (${problem}). Restore it from a backup, or delete the folder and run \`npm run ingest\` to rebuild it from the knowledge folder.`,
        );
      }
      const tenant = new LocalTenant(opts, catalog);
      await tenant.loadIndexes();
      return tenant;
    } catch (error) {
      catalog.close();
      throw error;
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`the knowledge base in ${this.opts.dir} is closed; open it again from the store`);
  }

  // -------------------------------------------------------------------------------------------
  // Start-up: the derived indexes checked against the catalog, rebuilt from stored vectors when needed
  // -------------------------------------------------------------------------------------------

  private async loadIndexes(): Promise<void> {
    const dir = this.opts.dir;
    for (const name of readdirSync(dir)) if (/^vectors-\d+\.hnsw\.tmp-/.test(name)) rmSync(join(dir, name), { force: true });
    const model = this.catalog.model;
    const version = this.catalog.version;
    const live = this.catalog.passageCount();
    if (!model) {
      if (live > 0) throw new Error(`${join(dir, CATALOG_FILE)} holds ${live} passages but no embedding model; it was not written by this program`);
      this.startup = { vectors: 'empty', passages: 0, hnswLive: 0, lexical: 0, lexicalFrom: 'catalog' };
      return;
    }
    let reason: string | undefined;
    let loaded = false;
    if (live > 0) {
      if (!existsSync(join(dir, vectorFile(version)))) reason = `no vector file for catalog version ${version} (the last write did not finish saving it)`;
      else {
        try {
          const index = await HnswIndex.load(join(dir, vectorFile(version)), model.dimension, live, this.opts.hnsw);
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
      const index = HnswIndex.create(model.dimension, { ...this.opts.hnsw, initialCapacity: Math.max(this.opts.hnsw?.initialCapacity ?? 1024, live) });
      for (const { label, vector } of this.catalog.iterateVectors()) index.add(label, vector);
      this.vectors = index;
      if (live > 0) {
        this.log(`vector index ${join(dir, vectorFile(version))}: ${reason}; rebuilding it from the catalog (${live} passages, version ${version})`);
        await this.saveVectors(version);
      }
    }
    const snapshot = this.loadLexical(version);
    this.lexical = snapshot ?? this.buildLexical();
    this.startup = {
      vectors: live === 0 ? 'empty' : loaded ? 'loaded' : 'rebuilt',
      ...(reason && !loaded ? { reason } : {}),
      passages: live,
      hnswLive: this.vectors!.size,
      lexical: this.lexical.size,
      lexicalFrom: snapshot ? 'snapshot' : 'catalog',
    };
    if (this.vectors!.size !== live || this.lexical.size !== live) {
      throw new Error(`indexes disagree with the catalog after loading (catalog ${live}, HNSW ${this.vectors!.size}, BM25 ${this.lexical.size})`);
    }
  }

  /** Why `index` does not mirror the catalog, or null when it does. */
  private checkVectors(index: HnswIndex): string | null {
    const labels = this.catalog.labels();
    const inCatalog = new Set(labels);
    const inIndex = new Set(index.labels());
    const missing = labels.filter((l) => !inIndex.has(l)).length;
    if (missing > 0) return `${missing} catalog passages are missing from it`;
    let extraLive = 0;
    for (const label of inIndex) if (!inCatalog.has(label) && index.vectorOf(label) !== undefined) extraLive++;
    if (extraLive > 0) return `${extraLive} vectors of passages no longer in the catalog are still live`;
    if (index.size !== labels.length) return `${index.size} live vectors for ${labels.length} passages`;
    // A sample spread over the range, the last label included: live, and holding the stored vector.
    const step = Math.max(1, Math.floor(labels.length / 32));
    const sample = labels.filter((_, i) => i % step === 0);
    if (labels.length > 0) sample.push(labels[labels.length - 1]);
    for (const label of sample) {
      const stored = index.vectorOf(label);
      if (!stored) return `passage ${label} is marked deleted`;
      const expected = this.catalog.vectorByLabel(label);
      if (!expected || expected.length !== stored.length) return `passage ${label} has a vector of another dimension`;
      if (!sameVector(stored, expected)) return `passage ${label} holds another vector than the catalog`;
    }
    return null;
  }

  private loadLexical(version: number): LexicalIndex | undefined {
    const file = join(this.opts.dir, lexicalFile(version));
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

  private async saveVectors(version: number): Promise<void> {
    if (!this.vectors) return;
    await this.vectors.save(join(this.opts.dir, vectorFile(version)));
    this.savedVersion = version;
    for (const name of readdirSync(this.opts.dir)) {
      if (/^vectors-\d+\.hnsw$/.test(name) && name !== vectorFile(version)) rmSync(join(this.opts.dir, name), { force: true });
    }
  }

  /** A BM25 snapshot makes the next start faster; a missing or stale one is only rebuilt. */
  private saveLexical(): void {
    const dir = this.opts.dir;
    const file = join(dir, lexicalFile(this.catalog.version));
    if (!existsSync(file)) {
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, this.lexical.toJSON());
      renameSync(tmp, file);
    }
    for (const name of readdirSync(dir)) {
      if (/^lexical-f\d+-\d+\.json(\.tmp-\d+)?$/.test(name) && name !== lexicalFile(this.catalog.version)) rmSync(join(dir, name), { force: true });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------

  async state(): Promise<StoreState> {
    this.assertOpen();
    return {
      version: this.catalog.version,
      ...(this.catalog.lastChange ? { lastChange: this.catalog.lastChange } : {}),
      ...(this.catalog.model ? { model: this.catalog.model } : {}),
      articles: this.catalog.articleCount(),
      passages: this.catalog.passageCount(),
    };
  }

  async setModel(model: IndexModel): Promise<void> {
    this.assertOpen();
    const recorded = this.catalog.model;
    if (recorded && sameModel(recorded, model)) return;
    if (this.catalog.passageCount() > 0) {
      throw new ModelPolicyError(`this knowledge base holds vectors of ${recorded?.model}; re-embed every article (a commit with replaceAll and model) instead of relabelling them`);
    }
    this.catalog.setModel(model);
    this.vectors = HnswIndex.create(model.dimension, this.opts.hnsw);
  }

  async listArticles(): Promise<ArticleRecord[]> {
    this.assertOpen();
    return this.catalog.listArticles();
  }

  async getArticle(id: string): Promise<ArticleRecord | undefined> {
    this.assertOpen();
    return this.catalog.getArticle(id);
  }

  async findArticleByUrl(url: string): Promise<ArticleRecord | undefined> {
    this.assertOpen();
    return this.catalog.findArticleByUrl(url);
  }

  async titles(): Promise<ArticleTitle[]> {
    this.assertOpen();
    return this.catalog.titles();
  }

  async articleBody(id: string): Promise<string | null | undefined> {
    this.assertOpen();
    return this.catalog.articleBody(id);
  }

  async articlePassages(articleId: string): Promise<StoredPassage[]> {
    this.assertOpen();
    return this.catalog.articlePassages(articleId);
  }

  async articleVectorsByHash(articleId: string): Promise<Map<string, Float32Array>> {
    this.assertOpen();
    return this.catalog.articleVectorsByHash(articleId);
  }

  async passageById(id: string): Promise<StoredPassage | undefined> {
    this.assertOpen();
    return this.catalog.passageById(id);
  }

  async passagesByLabels(labels: number[]): Promise<Map<number, StoredPassage>> {
    this.assertOpen();
    return this.catalog.passagesByLabels(labels);
  }

  async *dumpArticles(): AsyncIterable<ArticleDump> {
    this.assertOpen();
    const ids = this.catalog.listArticles().map((a) => a.id).sort();
    for (const id of ids) {
      const record = this.catalog.getArticle(id);
      if (!record) continue;
      const vectors = this.catalog.db.prepare('SELECT label, vector FROM passages WHERE article_id = ?').all(id) as { label: number; vector: Buffer }[];
      const byLabel = new Map(vectors.map((v) => [v.label, blobToVector(v.vector)]));
      yield {
        record,
        body: this.catalog.articleBody(id) ?? null,
        passages: this.catalog.articlePassages(id).map((p) => ({ ...p, vector: byLabel.get(p.label)! })),
      };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Search: synchronous inside, so one call reads one state of the indexes
  // -------------------------------------------------------------------------------------------

  private denseIndex(vector: Float32Array): HnswIndex | undefined {
    if (!this.vectors) return undefined;
    if (vector.length !== this.vectors.dimension) {
      throw new ModelPolicyError(`the query vector has ${vector.length} dimensions; the stored vectors (${this.catalog.model?.model}) have ${this.vectors.dimension}`);
    }
    return this.vectors;
  }

  async search(request: SearchRequest): Promise<SearchCandidate[]> {
    this.assertOpen();
    const vectors = request.vector ? this.denseIndex(request.vector) : undefined;
    const lexicalHits = this.lexical.search(request.text, request.k);
    const denseHits = vectors && request.vector ? vectors.search(request.vector, request.k) : [];
    const denseBy = new Map(denseHits.map((h) => [h.label, h.similarity]));
    const lexicalBy = new Map(lexicalHits.map((h) => [h.label, h.score]));
    const labels = [...new Set([...lexicalBy.keys(), ...denseBy.keys()])];
    const passages = this.catalog.passagesByLabels(labels);
    const articles = this.catalog.articleHeadings([...new Set([...passages.values()].map((p) => p.articleId))]);
    // The lexical side's passages that the dense side did not return are scored by their stored
    // vectors: one catalog read instead of an HNSW point lookup each (about 3× faster).
    const unscored = vectors && request.vector ? this.catalog.vectorsByLabels(labels.filter((l) => !denseBy.has(l))) : undefined;
    const out: SearchCandidate[] = [];
    for (const label of labels) {
      const passage = passages.get(label);
      if (!passage) continue;
      const article = articles.get(passage.articleId);
      if (!article) continue;
      const stored = unscored?.get(label);
      out.push({
        passage,
        articleTitle: article.title,
        ...(article.url ? { articleUrl: article.url } : {}),
        ...(article.date ? { articleDate: article.date } : {}),
        dense: denseBy.get(label) ?? (stored && request.vector ? cosine(stored, request.vector) : 0),
        lexical: lexicalBy.get(label) ?? 0,
      });
    }
    return out;
  }

  async searchDense(vector: Float32Array, k: number): Promise<DenseHit[]> {
    this.assertOpen();
    return this.denseIndex(vector)?.search(vector, k) ?? [];
  }

  async searchLexical(text: string, k: number): Promise<LexicalHit[]> {
    this.assertOpen();
    return this.lexical.search(text, k);
  }

  async similarities(labels: number[], vector: Float32Array): Promise<Map<number, number>> {
    this.assertOpen();
    const index = this.denseIndex(vector);
    return new Map(labels.map((l) => [l, index ? index.similarity(l, vector) : 0]));
  }

  // -------------------------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------------------------

  /** One commit at a time; a commit's catalog transaction and index mirroring happen in one tick. */
  private serialized<T>(chain: 'commit' | 'writer', work: () => Promise<T>): Promise<T> {
    const prev = chain === 'commit' ? this.commitChain : this.writerChain;
    const run = prev.then(work, work);
    if (chain === 'commit') this.commitChain = run.catch(() => undefined);
    else this.writerChain = run.catch(() => undefined);
    return run;
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.serialized('writer', work);
  }

  commit(request: CommitRequest): Promise<CommitOutcome> {
    return this.serialized('commit', async () => {
      this.assertOpen();
      const recorded = this.catalog.model;
      const model = checkVectors(request, recorded);
      const writes = request.write ?? [];
      const keep = new Set(writes.map((w) => w.article.id));
      const removals = request.replaceAll
        ? this.catalog.listArticles().map((a) => a.id).filter((id) => !keep.has(id))
        : [...new Set(request.remove ?? [])].filter((id) => !keep.has(id));
      const audit: AuditEntry[] = [];
      const within = (info: CommitInfo) => {
        if (!request.audit) return;
        const entries: AuditEntryInput[] = [
          ...(request.audit.perArticle === false ? [] : perArticleAudit(info)),
          ...(request.audit.extra ?? []),
        ];
        audit.push(...this.audit.record(request.audit.actor, info.version, info.at, entries));
      };
      let info: CommitInfo | undefined;
      const capture = (i: CommitInfo) => {
        info = i;
        within(i);
      };
      const options = { ...(request.model ? { model: request.model } : {}), keepTimestamps: request.keepTimestamps, within: capture };
      const titles = new Map(writes.map((w) => [w.article.id, w.article.title]));
      const vectors = writes.flatMap((w) => w.passages.map((p) => p.vector));

      if (request.replaceAll) {
        // New indexes are built beside the old ones (which keep answering), under the labels the
        // passages will get, then swapped in right after the one transaction.
        const base = this.catalog.nextLabel();
        const total = vectors.length;
        const index = HnswIndex.create(model.dimension, { ...this.opts.hnsw, initialCapacity: Math.max(this.opts.hnsw?.initialCapacity ?? 1024, total) });
        const lexical = new LexicalIndex(this.opts.lexical);
        let k = 0;
        const changes: ArticleChange[] = writes.map((w) => ({
          article: w.article,
          addedBy: w.addedBy,
          body: w.body,
          addedAt: w.addedAt,
          updatedAt: w.updatedAt,
          passages: w.passages.map(({ passage, vector }) => ({ passage, vector, label: base + k++ })),
        }));
        for (const change of changes) {
          for (const p of change.passages) {
            index.add(p.label!, p.vector);
            lexical.add({ label: p.label!, title: change.article.title, text: p.passage.text });
            if (p.label! % 256 === 255) await new Promise<void>((resolve) => setImmediate(resolve));
          }
        }
        const result = this.catalog.commit(changes, removals, options);
        if (total > 0 && result.added[result.added.length - 1]?.label !== base + total - 1) {
          throw new Error('a full rewrite stored its passages under unexpected labels (another process writing the same catalog?)');
        }
        this.vectors = index;
        this.lexical = lexical;
        this.emitCommit(result.version, info!);
        await this.saveVectors(result.version);
        this.saveLexical();
        return { version: result.version, at: info!.at, written: info!.written, removed: info!.removed, added: result.added, audit };
      }

      const changes: ArticleChange[] = writes.map((w) => ({ article: w.article, addedBy: w.addedBy, body: w.body, addedAt: w.addedAt, updatedAt: w.updatedAt, passages: w.passages }));
      const result = this.catalog.commit(changes, removals, options);
      // Mirrored synchronously right after the transaction: no reader runs in between.
      if (!this.vectors && model.dimension > 0) this.vectors = HnswIndex.create(model.dimension, this.opts.hnsw);
      for (const label of result.removedLabels) {
        this.vectors?.remove(label);
        this.lexical.remove(label);
      }
      result.added.forEach((p, i) => {
        this.vectors!.add(p.label, vectors[i]);
        this.lexical.add({ label: p.label, title: titles.get(p.articleId) ?? '', text: p.text });
      });
      this.emitCommit(result.version, info!);
      await this.saveVectors(result.version);
      return { version: result.version, at: info!.at, written: info!.written, removed: info!.removed, added: result.added, audit };
    });
  }

  private emitCommit(version: number, info: CommitInfo): void {
    const articles = [...info.written.map((a) => a.id), ...info.removed.map((a) => a.id)];
    this.opts.emit({ tenant: this.tenant, kind: 'commit', version, articles });
  }

  clear(audit?: { actor: Actor; entries: AuditEntryInput[] }): Promise<{ version: number; at: string; audit: AuditEntry[] }> {
    return this.serialized('commit', async () => {
      this.assertOpen();
      const rows: AuditEntry[] = [];
      let at = '';
      const version = this.catalog.clear((v, when) => {
        at = when;
        if (audit) rows.push(...this.audit.record(audit.actor, v, when, audit.entries));
      });
      this.vectors = undefined;
      this.lexical = new LexicalIndex(this.opts.lexical);
      for (const name of readdirSync(this.opts.dir)) if (/^vectors-\d+\.hnsw$/.test(name)) rmSync(join(this.opts.dir, name), { force: true });
      this.opts.emit({ tenant: this.tenant, kind: 'clear', version, articles: [] });
      return { version, at, audit: rows };
    });
  }

  async recordAudit(actor: Actor, entries: AuditEntryInput[]): Promise<AuditEntry[]> {
    this.assertOpen();
    const rows = this.audit.record(actor, this.catalog.version, new Date().toISOString(), entries);
    this.opts.emit({ tenant: this.tenant, kind: 'note', version: this.catalog.version, articles: [] });
    return rows;
  }

  async auditTrail(options: { limit?: number; articleId?: string; beforeId?: number } = {}): Promise<AuditEntry[]> {
    this.assertOpen();
    return this.audit.list(options);
  }

  async importAudit(entries: AuditEntry[]): Promise<void> {
    this.assertOpen();
    this.audit.importRows(entries);
  }

  async stats(): Promise<StorageStats> {
    const state = await this.state();
    let bytes = 0;
    for (const name of readdirSync(this.opts.dir)) {
      if (name.startsWith(CATALOG_FILE) || /^vectors-\d+\.hnsw$/.test(name) || /^lexical-f\d+-\d+\.json$/.test(name)) {
        try {
          bytes += statSync(join(this.opts.dir, name)).size;
        } catch {
          // removed meanwhile
        }
      }
    }
    return { ...state, storageBytes: bytes, vectorSlots: this.vectors?.slots ?? 0, deletedSlots: this.vectors?.deleted ?? 0 };
  }

  /** Releases one holder; the last one waits for pending writes, saves the index snapshots and closes the file. */
  async close(): Promise<void> {
    if (this.closed || this.refs <= 0) return;
    if (--this.refs > 0) return;
    const done = this.shutdown();
    this.opts.onClosing(done);
    await done;
  }

  private async shutdown(): Promise<void> {
    await this.commitChain;
    await this.writerChain;
    this.closed = true;
    try {
      if (this.catalog.passageCount() > 0) {
        if (this.savedVersion !== this.catalog.version) await this.saveVectors(this.catalog.version);
        this.saveLexical();
      }
    } catch (error) {
      this.log(`could not save the index snapshots: ${(error as Error).message}`);
    }
    this.catalog.close();
  }
}

function perArticleAudit(info: CommitInfo): AuditEntryInput[] {
  return [
    ...info.removed.map((a) => ({ action: 'remove' as const, articleId: a.id, title: a.title, contentHash: a.hash })),
    ...info.written.map((a) => ({
      action: a.replaced ? ('replace' as const) : ('add' as const),
      articleId: a.id,
      title: a.title,
      contentHash: a.hash,
      details: { passages: a.passages },
    })),
  ];
}

function sameModel(a: IndexModel, b: IndexModel): boolean {
  return a.model === b.model && a.dimension === b.dimension && a.normalized === b.normalized;
}


/** The synchronous SQLite store behind the async port shape. */
function asyncQuestions(store: FeedbackStore): QuestionStore {
  return {
    recordQuestion: async (input) => store.recordQuestion(input),
    getQuestion: async (id, guildId) => store.getQuestion(id, guildId),
    recentQuestions: async (conversationId, limit) => store.recentQuestions(conversationId, limit),
    recordFeedback: async (input) => store.recordFeedback(input),
    listFeedback: async (options) => store.listFeedback(options),
    forgetServer: async (guildId) => store.forgetServer(guildId),
    stats: async (guildId) => store.stats(guildId),
    forgetOlderThan: async (days, now) => store.forgetOlderThan(days, now),
    listQuestions: async () => store.listQuestions(),
    importRows: async (questions, feedback) => store.importRows(questions, feedback),
  };
}
