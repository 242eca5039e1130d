import type { ComposeOptions } from './answer.js';
import { askKnowledge, outsideWindow, validateQuestion, type AnswerContext, type AskOptions, type Retrieved, type RetrieveOptions } from './ask.js';
import type { ChunkOptions } from './chunk.js';
import type { Embedder, EmbedderInfo } from './embed/embedder.js';
import {
  applyModelPolicy,
  bodyFromPassages,
  Indexer,
  type ChangeEvent,
  type IngestOptions,
  type IngestReport,
  type ReindexOptions,
  type ReindexReport,
} from './indexer.js';
import { rankCandidates, type FusionOptions, type PassageCandidate } from './retrieve.js';
import type { LexicalOptions } from './store/lexical-index.js';
import { LocalStore, LocalTenant } from './store/local/index.js';
import { tenantName, type Actor, type AuditEntry, type AuditEntryInput, type ArticleRecord, type IndexModel, type KnowledgeStore, type StoredPassage, type StoreChange, type SummaryCache, type TenantKey, type TenantStore } from './store/port.js';
import type { LocalStartup } from './store/local/tenant.js';
import { SentenceVectorCache } from './store/sentence-vectors.js';
import type { HnswOptions } from './store/vector-index.js';
import type { KnowledgeReader } from './servers/reader.js';
import type { AskResult, Layer, RawArticle } from './types.js';

export { UserInputError } from './errors.js';
export { ModelMismatchError, ReindexRunningError } from './indexer.js';
export type { ChangeEvent, IngestOptions, IngestProgress, IngestReport, ReindexMarkerTiming, ReindexOptions, ReindexProgress, ReindexReport, RunningReindex } from './indexer.js';
export type { Actor, AuditEntry } from './store/audit.js';
export type { AskOptions } from './ask.js';
export { searchQuery } from './ask.js';

export interface KnowledgeBaseOptions {
  /** Where the knowledge base is stored. Without it, a local store in `dataDir` is opened and owned (closed with the knowledge base). */
  store?: KnowledgeStore;
  /** Which knowledge base of the store: `null` (default) the operator's, else a server id. */
  tenant?: TenantKey;
  /** Folder of the local store opened when no `store` is given; created when missing. */
  dataDir?: string;
  embedder: Embedder;
  chunk?: ChunkOptions;
  /** HNSW and BM25 options of the local store opened from `dataDir`. */
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
   * The store holds vectors of another model than `embedder`: `'error'` (default) refuses to
   * open with a {@link ModelMismatchError}; `'stale'` opens it and answers from BM25 alone until
   * {@link KnowledgeBase.reindex} has re-embedded every article with `embedder` (writes are refused
   * until then, so the store never mixes two models).
   */
  onModelMismatch?: 'error' | 'stale';
  log?: (message: string) => void;
}

/** What the start-up check of the local store found and did (PostgreSQL keeps no derived files to check). */
export type StartupCheck = LocalStartup;

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
  /** Bytes the knowledge base takes in its store (locally: catalog with its WAL, HNSW file and BM25 snapshot). */
  diskBytes: number;
}

/**
 * One knowledge base: a facade over a tenant of the storage port (catalog, both search sides,
 * commits), the {@link Indexer} that changes it, hybrid retrieval and question answering. Keeps
 * in memory only what must answer without a round trip: the titles for autocomplete, the
 * articles' dates for questions about time, the passage count and whether the stored vectors
 * wait for a reindex, all refreshed from the store's change feed (this process's commits and, on
 * a shared store, other processes').
 */
export class KnowledgeBase implements KnowledgeReader {
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  /** Article titles for autocomplete, answered from memory. */
  private titleList: { id: string; title: string; lower: string }[] = [];
  /** Titles of the dated articles with their publication time, newest first (questions about time read the first). */
  private datedNewestFirst: { title: string; time: number }[] = [];
  /** The same titles, normalised (see {@link titleKey}), for shadowing in a layered view. */
  private titleKeys = new Set<string>();
  private passageCount = 0;
  private recordedModel?: IndexModel;
  /** The stored vectors come from another model than the embedder: dense retrieval is off until a reindex. */
  private stale = false;
  private refreshing: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;
  private readonly indexer: Indexer;
  /** Vectors of the sentences answers are drawn from, embedded on first use and kept in the store. */
  readonly sentenceVectors: SentenceVectorCache;

  private constructor(
    private readonly opts: KnowledgeBaseOptions,
    /** The store this knowledge base lives in. */
    readonly store: KnowledgeStore,
    /** Its tenant in the store. */
    readonly tenant: TenantStore,
    private readonly ownsStore: boolean,
  ) {
    this.sentenceVectors = new SentenceVectorCache(tenant.sentences, opts.embedder, undefined, opts.log);
    this.indexer = new Indexer({
      tenant,
      embedder: opts.embedder,
      chunk: opts.chunk,
      sentenceVectorsAtIngest: opts.sentenceVectorsAtIngest,
      sentenceVectors: this.sentenceVectors,
      isStale: () => this.stale,
      committed: async (event) => {
        await this.refresh();
        this.emit(event);
      },
      log: (line) => this.log(line),
    });
    const name = tenantName(tenant.tenant);
    this.unsubscribe = store.subscribe((change: StoreChange) => {
      // Our own commits are refreshed before they resolve; this is for other holders and processes.
      if (change.kind === 'resync' || (change.tenant !== undefined && tenantName(change.tenant) === name)) void this.refresh().catch((error) => this.log(`could not refresh after a change: ${(error as Error).message}`));
    });
  }

  static async open(options: KnowledgeBaseOptions): Promise<KnowledgeBase> {
    let store = options.store;
    const ownsStore = !store;
    if (!store) {
      if (!options.dataDir) throw new Error('KnowledgeBase.open needs a store or a dataDir');
      store = new LocalStore({ dataDir: options.dataDir, hnsw: options.hnsw, lexical: options.lexical, log: options.log });
    }
    let tenant: TenantStore | undefined;
    try {
      tenant = await store.open(options.tenant ?? null);
      const where = options.dataDir ?? `${store.kind} store, knowledge base ${tenantName(tenant.tenant)}`;
      const stale = await applyModelPolicy(tenant, options.embedder.info, { rebuild: options.rebuild, onModelMismatch: options.onModelMismatch, where });
      const kb = new KnowledgeBase(options, store, tenant, ownsStore);
      kb.stale = stale;
      if (stale) {
        kb.log(
          `the index was built with ${(await tenant.state()).model?.model} but the embedding model now is ${options.embedder.info.model}: answering from BM25 only until a reindex (/kb reindex, or npm run ingest) re-embeds the articles`,
        );
      }
      await kb.refresh();
      return kb;
    } catch (error) {
      await tenant?.close();
      if (ownsStore) await store.close();
      throw error;
    }
  }

  private log(message: string): void {
    this.opts.log?.(message);
  }

  /** Re-reads what is kept in memory (titles, passage count, the recorded model). One refresh at a time, in order. */
  private refresh(): Promise<void> {
    const run = this.refreshing.then(async () => {
      const [titles, state] = await Promise.all([this.tenant.titles(), this.tenant.state()]);
      this.titleList = titles.map((t) => ({ id: t.id, title: t.title, lower: t.title.toLowerCase() }));
      this.datedNewestFirst = titles
        .map((t) => ({ title: t.title, time: t.date ? Date.parse(t.date) : Number.NaN }))
        .filter((t) => Number.isFinite(t.time))
        .sort((x, y) => y.time - x.time);
      this.titleKeys = new Set(this.titleList.map((t) => titleKey(t.title)));
      this.passageCount = state.passages;
      this.recordedModel = state.model;
      const info = this.opts.embedder.info;
      this.stale = Boolean(state.model && (state.model.model !== info.model || state.model.dimension !== info.dimension || state.model.normalized !== info.normalized));
    });
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  /** What the local store's start-up check found (undefined on PostgreSQL, which keeps no derived files). */
  get startup(): StartupCheck | undefined {
    return this.tenant instanceof LocalTenant ? this.tenant.startup : undefined;
  }

  /** Calls `listener` after every change this knowledge base commits. Returns an unsubscribe function. */
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

  // -------------------------------------------------------------------------------------------
  // Changes (see Indexer)
  // -------------------------------------------------------------------------------------------

  /** Adds or replaces articles; only changed paragraphs are embedded again. */
  ingest(raw: RawArticle[], opts: IngestOptions = {}): Promise<IngestReport> {
    return this.indexer.ingest(raw, opts);
  }

  /** Removes articles by id; they are never cited again from the moment this resolves. */
  async remove(articleIds: string[], opts: { actor?: Actor } = {}): Promise<{ removed: number }> {
    const { removed } = await this.indexer.remove(articleIds, opts);
    return { removed };
  }

  /**
   * Re-embeds every stored article with the configured embedder; the old indexes answer until one
   * commit swaps them. Refused with {@link ReindexRunningError} while another reindex of this
   * knowledge base runs, in this process or another.
   */
  reindex(opts: ReindexOptions = {}): Promise<ReindexReport> {
    return this.indexer.reindex(opts);
  }

  /**
   * Writes audit rows that go with no catalog change (purging a server's data), at the current
   * version, and tells the listeners (the log channel).
   */
  async recordAudit(actor: Actor, entries: AuditEntryInput[]): Promise<AuditEntry[]> {
    const rows = await this.tenant.recordAudit(actor, entries);
    this.emit({ version: (await this.tenant.state()).version, kind: 'note', audit: rows });
    return rows;
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  /** True while the stored vectors come from another model (answers use BM25 only until {@link reindex}). */
  get needsReindex(): boolean {
    return this.stale;
  }

  /** The model the stored vectors come from. */
  get indexModel(): IndexModel | undefined {
    return this.recordedModel;
  }

  listArticles(): Promise<ArticleRecord[]> {
    return this.tenant.listArticles();
  }

  /** The newest publication time among the dated articles `skip` does not leave out, from memory (refreshed on every change). */
  newestArticleTime(skip?: (title: string) => boolean): number | undefined {
    return this.datedNewestFirst.find((a) => !skip?.(a.title))?.time;
  }

  getArticle(id: string): Promise<ArticleRecord | undefined> {
    return this.tenant.getArticle(id);
  }

  articlePassages(id: string): Promise<StoredPassage[]> {
    return this.tenant.articlePassages(id);
  }

  /** The article's body as stored (paragraphs separated by blank lines). */
  async articleBody(id: string): Promise<string | undefined> {
    const body = await this.tenant.articleBody(id);
    if (body === undefined) return undefined;
    return body ?? bodyFromPassages(await this.tenant.articlePassages(id));
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

  /** A single knowledge base has no layers. */
  layerOf(): Promise<Layer | undefined> {
    return Promise.resolve(undefined);
  }

  /** The summaries cache of the knowledge base holding the article (this one, when it does). */
  async summariesOf(articleId: string): Promise<SummaryCache | undefined> {
    return (await this.tenant.getArticle(articleId)) ? this.tenant.summaries : undefined;
  }

  /** True when this passage id still holds this text (cached answers must not show removed or edited text). */
  async isPassageCurrent(passageId: string, text?: string): Promise<boolean> {
    const passage = await this.tenant.passageById(passageId);
    return passage !== undefined && (text === undefined || passage.text === text);
  }

  /** The audit trail, newest first. */
  auditTrail(options: { limit?: number; articleId?: string } = {}): Promise<AuditEntry[]> {
    return this.tenant.auditTrail(options);
  }

  get embedderInfo(): EmbedderInfo {
    return this.opts.embedder.info;
  }

  // -------------------------------------------------------------------------------------------
  // Questions
  // -------------------------------------------------------------------------------------------

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
    const candidates = await this.searchCandidates(query, vector, { exclude: outsideWindow(options.window) });
    const passages = rankCandidates(candidates, options.topK ?? 8, options.fusion ?? this.opts.fusion);
    return { passages, queryVector: vector, embedMs: t1 - t0, searchMs: performance.now() - t1 };
  }

  /**
   * The BM25 and HNSW candidates for a query, each scored by both sides (not yet fused), read by
   * the store from one snapshot. `vector` is ignored while the stored vectors come from another model.
   */
  async searchCandidates(
    query: string,
    vector: Float32Array | undefined,
    options: { layer?: Layer; exclude?: (article: { id: string; title: string; date?: string }) => boolean } = {},
  ): Promise<PassageCandidate[]> {
    const dense = vector && !this.stale ? vector : undefined;
    const found = await this.tenant.search({ text: query, ...(dense ? { vector: dense } : {}), k: this.opts.candidates ?? 50 });
    const out: PassageCandidate[] = [];
    for (const c of found) {
      if (options.exclude?.({ id: c.passage.articleId, title: c.articleTitle, ...(c.articleDate ? { date: c.articleDate } : {}) })) continue;
      out.push({ ...c, ...(options.layer ? { layer: options.layer } : {}) });
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
    return { sentenceVectors: this.sentenceVectors.vectors, sentenceEntities: this.sentenceVectors.entities, corpusPassages: this.passageCount };
  }

  async stats(): Promise<KnowledgeBaseStats> {
    const s = await this.tenant.stats();
    return {
      articles: s.articles,
      passages: s.passages,
      model: this.opts.embedder.info,
      indexModel: s.model,
      needsReindex: this.stale,
      version: s.version,
      lastChange: s.lastChange,
      vectorSlots: s.vectorSlots ?? s.passages,
      deletedSlots: s.deletedSlots ?? 0,
      diskBytes: s.storageBytes,
    };
  }

  /** Waits for pending writes, then closes its tenant (and the store, when it opened it). The embedder belongs to the caller. */
  async close(): Promise<void> {
    this.unsubscribe();
    await this.sentenceVectors.flushEntities();
    await this.refreshing;
    await this.tenant.close();
    if (this.ownsStore) await this.store.close();
  }
}

/** A title as compared for "the same article": case and spacing do not matter. */
export function titleKey(title: string): string {
  return title.replace(/\s+/g, ' ').trim().toLowerCase();
}
