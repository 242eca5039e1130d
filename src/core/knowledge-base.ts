import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { composeAnswer, type ComposeOptions } from './answer.js';
import { chunkArticle, hashText, type ChunkOptions } from './chunk.js';
import type { Embedder, EmbedderInfo } from './embed/embedder.js';
import { diversify, fuse, type FusionOptions } from './retrieve.js';
import { Catalog, type ArticleChange, type ArticleRecord, type CommitResult, type StoredPassage } from './store/catalog.js';
import { LexicalIndex, type LexicalOptions } from './store/lexical-index.js';
import { HnswIndex, type HnswOptions } from './store/vector-index.js';
import type { AskResult, ChunkedArticle, RawArticle, ScoredPassage } from './types.js';

/** A problem with what the user asked or supplied; `message` is meant to be shown to them. */
export class UserInputError extends Error {
  override name = 'UserInputError';
}

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
  /** Candidates taken from each side before fusion. Default 50. */
  candidates?: number;
  /** Longest accepted question, in characters. Default 1,000. */
  maxQuestionChars?: number;
  /** Drop and re-create everything (after changing the embedding model). Default false. */
  rebuild?: boolean;
  log?: (message: string) => void;
}

export interface IngestProgress {
  articles: number;
  totalArticles: number;
  embedded: number;
  toEmbed: number;
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
}

export interface AskOptions {
  /** Earlier questions of the same conversation, oldest first: "and who led them?" is read with them. */
  history?: string[];
  /** How many passages to consider. Default 8. */
  topK?: number;
}

const CATALOG_FILE = 'catalog.sqlite';
const vectorFile = (version: number) => `vectors-${version}.hnsw`;

function sameModel(a: EmbedderInfo, b: { model: string; dimension: number; normalized: boolean }): boolean {
  return a.model === b.model && a.dimension === b.dimension && a.normalized === b.normalized;
}

/**
 * The knowledge base: a catalog (source of truth), an HNSW vector index and a BM25 index kept in
 * step with it, and question answering on top. Writes are serialised through one queue; a reader
 * always sees the state before or after a write, never half of it.
 */
export class KnowledgeBase {
  private writeQueue: Promise<unknown> = Promise.resolve();
  private savedVersion = -1;

  private constructor(
    private readonly opts: KnowledgeBaseOptions,
    readonly catalog: Catalog,
    private vectors: HnswIndex,
    private lexical: LexicalIndex,
  ) {}

  static async open(options: KnowledgeBaseOptions): Promise<KnowledgeBase> {
    mkdirSync(options.dataDir, { recursive: true });
    const catalog = new Catalog(join(options.dataDir, CATALOG_FILE));
    try {
      const info = options.embedder.info;
      if (options.rebuild) catalog.clear();
      const recorded = catalog.model;
      if (recorded && !sameModel(info, recorded)) {
        if (catalog.passageCount() === 0) catalog.clear();
        else
          throw new ModelMismatchError(
            `The index in ${options.dataDir} was built with ${recorded.model} (${recorded.dimension} dimensions) but the embedding model now is ${info.model} (${info.dimension} dimensions). ` +
              'Run `npm run ingest -- --rebuild` to re-embed the articles with the new model, or set EMBEDDING_MODEL back.',
          );
      }
      if (!catalog.model) catalog.setModel({ model: info.model, dimension: info.dimension, normalized: info.normalized });
      const kb = new KnowledgeBase(options, catalog, HnswIndex.create(info.dimension, options.hnsw), new LexicalIndex(options.lexical));
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

  /** Loads the HNSW file of the catalog's version, or rebuilds it from the catalog's vectors. */
  private async loadIndexes(): Promise<void> {
    const version = this.catalog.version;
    const live = this.catalog.passageCount();
    const file = join(this.opts.dataDir, vectorFile(version));
    let loaded = false;
    if (live > 0 && readdirSync(this.opts.dataDir).includes(vectorFile(version))) {
      try {
        this.vectors = await HnswIndex.load(file, this.opts.embedder.info.dimension, live, this.opts.hnsw);
        loaded = true;
        this.savedVersion = version;
      } catch (error) {
        this.log(`vector index ${file} is unreadable (${(error as Error).message}); rebuilding it from the catalog`);
      }
    }
    if (!loaded) {
      const index = HnswIndex.create(this.opts.embedder.info.dimension, { ...this.opts.hnsw, initialCapacity: Math.max(1024, live) });
      for (const { label, vector } of this.catalog.iterateVectors()) index.add(label, vector);
      this.vectors = index;
      if (live > 0) {
        this.log(`vector index rebuilt from the catalog (${live} passages, version ${version})`);
        await this.saveVectors(version);
      }
    }
    const lexical = new LexicalIndex(this.opts.lexical);
    const docs = [];
    for (const p of this.catalog.iteratePassages()) docs.push({ label: p.label, title: p.title, text: p.text });
    lexical.addAll(docs);
    this.lexical = lexical;
  }

  private async saveVectors(version: number): Promise<void> {
    await this.vectors.save(join(this.opts.dataDir, vectorFile(version)));
    this.savedVersion = version;
    for (const name of readdirSync(this.opts.dataDir)) {
      if (/^vectors-\d+\.hnsw$/.test(name) && name !== vectorFile(version)) rmSync(join(this.opts.dataDir, name), { force: true });
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
  ingest(raw: RawArticle[], opts: { addedBy?: string; onProgress?: (p: IngestProgress) => void } = {}): Promise<IngestReport> {
    return this.serialized(async () => {
      const started = performance.now();
      let embedMs = 0;
      const chunked = assignIds(raw.map((a) => chunkArticle(a, this.opts.chunk)));
      const report: IngestReport = {
        articles: chunked.length, added: 0, updated: 0, unchanged: 0, passages: 0, embedded: 0,
        duplicatesDropped: 0, seconds: 0, embedSeconds: 0, written: [],
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
        if (group.length === 0) return;
        const titles = new Map(group.map((c) => [c.article.id, c.article.title]));
        const result = this.catalog.commit(group);
        result.added.forEach((p, i) => this.pendingVectors.set(p.label, flatVectors[i]));
        this.apply(result, titles);
        group = [];
        groupSize = 0;
        flatVectors = [];
      };
      let flatVectors: Float32Array[] = [];
      for (const plan of plans) {
        const { article, reuse } = plan;
        const missing = article.passages.filter((p) => !reuse.has(p.hash));
        const fresh = new Map<string, Float32Array>();
        if (missing.length > 0) {
          const t0 = performance.now();
          const vectors = await this.opts.embedder.embed(missing.map((p) => p.text));
          embedMs += performance.now() - t0;
          missing.forEach((p, i) => fresh.set(p.hash, vectors[i]));
          report.embedded += missing.length;
          progress.embedded += missing.length;
        }
        const passages = article.passages.map((passage) => ({ passage, vector: (reuse.get(passage.hash) ?? fresh.get(passage.hash))! }));
        group.push({ article, passages, addedBy: opts.addedBy });
        flatVectors.push(...passages.map((p) => p.vector));
        groupSize += passages.length;
        if (plan.isNew) report.added++;
        else report.updated++;
        report.written.push(article);
        progress.articles++;
        opts.onProgress?.({ ...progress });
        if (groupSize >= GROUP_PASSAGES) flush();
      }
      flush();
      if (this.catalog.version !== this.savedVersion) await this.saveVectors(this.catalog.version);
      report.seconds = (performance.now() - started) / 1000;
      report.embedSeconds = embedMs / 1000;
      return report;
    });
  }

  /** Removes articles by id; they are never cited again from the moment this resolves. */
  remove(articleIds: string[]): Promise<{ removed: number }> {
    return this.serialized(async () => {
      const present = articleIds.filter((id) => this.catalog.getArticle(id));
      if (present.length === 0) return { removed: 0 };
      const result = this.catalog.commit([], present);
      this.apply(result, new Map());
      await this.saveVectors(result.version);
      return { removed: present.length };
    });
  }

  listArticles(): ArticleRecord[] {
    return this.catalog.listArticles();
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
    const max = this.opts.maxQuestionChars ?? 1000;
    const trimmed = (question ?? '').replace(/\s+/g, ' ').trim();
    if (!trimmed) throw new UserInputError('Please type a question, for example: "Where did the talks take place?"');
    if (trimmed.length > max) throw new UserInputError(`That question is ${trimmed.length} characters long; please keep it under ${max}.`);
    return trimmed;
  }

  /** Hybrid retrieval: BM25 and HNSW candidates, every candidate scored by both, fused, near-duplicates dropped. */
  async retrieve(
    query: string,
    options: { topK?: number; queryVector?: Float32Array; fusion?: FusionOptions } = {},
  ): Promise<{ passages: ScoredPassage[]; embedMs: number; searchMs: number }> {
    const topK = options.topK ?? 8;
    const t0 = performance.now();
    const vector = options.queryVector ?? (await this.embedQuery(query));
    const t1 = performance.now();
    const depth = this.opts.candidates ?? 50;
    const lexicalHits = this.lexical.search(query, depth);
    const denseHits = this.vectors.search(vector, depth);
    const dense = new Map(denseHits.map((h) => [h.label, h.similarity]));
    const lexical = new Map(lexicalHits.map((h) => [h.label, h.score]));
    const labels = [...new Set([...lexical.keys(), ...dense.keys()])];
    const passages = this.catalog.passagesByLabels(labels);
    const candidates = labels
      .filter((label) => passages.has(label))
      .map((label) => ({
        label,
        dense: dense.get(label) ?? this.vectors.similarity(label, vector),
        lexical: lexical.get(label) ?? 0,
      }));
    const fused = fuse(candidates, options.fusion ?? this.opts.fusion);
    const titles = new Map<string, ArticleRecord | undefined>();
    const articleOf = (id: string) => {
      if (!titles.has(id)) titles.set(id, this.catalog.getArticle(id));
      return titles.get(id);
    };
    const ranked: ScoredPassage[] = [];
    for (const c of fused) {
      const passage = passages.get(c.label)!;
      const article = articleOf(passage.articleId);
      if (!article) continue;
      ranked.push({ passage, articleTitle: article.title, articleUrl: article.url, score: c.score, dense: c.dense, lexical: c.lexical });
      if (ranked.length >= topK * 3) break;
    }
    const result = diversify(ranked, (r) => r.passage.text).slice(0, topK);
    return { passages: result, embedMs: t1 - t0, searchMs: performance.now() - t1 };
  }

  async embedQuery(query: string): Promise<Float32Array> {
    return (await this.opts.embedder.embed([query]))[0];
  }

  /** Answers a question from the knowledge base, with cited sources, or says it has no answer. */
  async ask(question: string, options: AskOptions = {}): Promise<AskResult> {
    const started = performance.now();
    const q = this.validateQuestion(question);
    const history = (options.history ?? []).map((h) => h.trim()).filter(Boolean).slice(-2);
    // A follow-up ("and who led them?") is searched together with the questions before it.
    const query = history.length > 0 ? `${history.join(' ')} ${q}` : q;
    const { passages, embedMs, searchMs } = await this.retrieve(query, { topK: options.topK });
    const t0 = performance.now();
    let composed = composeAnswer(q, passages, this.opts.compose);
    if (!composed.answered && history.length > 0) composed = composeAnswer(query, passages, this.opts.compose);
    const composeMs = performance.now() - t0;
    const suggestions: AskResult['suggestions'] = [];
    if (!composed.answered) {
      for (const p of passages) {
        if (suggestions.length >= 3) break;
        if (!suggestions.some((s) => s.articleId === p.passage.articleId)) {
          suggestions.push({ articleId: p.passage.articleId, title: p.articleTitle, url: p.articleUrl });
        }
      }
    }
    return {
      question: q,
      answered: composed.answered,
      answer: composed.answered ? composed.answer : "I couldn't find an answer to that in the knowledge base.",
      sources: composed.sources,
      suggestions,
      timings: { embed: embedMs, search: searchMs, compose: composeMs, total: performance.now() - started },
    };
  }

  stats(): { articles: number; passages: number; model: EmbedderInfo; version: number; lastChange?: string; vectorSlots: number } {
    return {
      articles: this.catalog.articleCount(),
      passages: this.catalog.passageCount(),
      model: this.opts.embedder.info,
      version: this.catalog.version,
      lastChange: this.catalog.lastChange,
      vectorSlots: this.vectors.slots,
    };
  }

  /** Waits for pending writes, then closes the catalog. The embedder belongs to the caller. */
  async close(): Promise<void> {
    await this.writeQueue;
    this.catalog.close();
  }
}

/**
 * Article ids are title slugs. Two different files with the same title in one batch would
 * overwrite each other, so later ones get a suffix from their origin.
 */
function assignIds(articles: ChunkedArticle[]): ChunkedArticle[] {
  const seen = new Map<string, string>();
  return articles.map((a) => {
    const owner = seen.get(a.id);
    if (owner === undefined) {
      seen.set(a.id, a.origin);
      return a;
    }
    if (owner === a.origin) return a;
    const id = `${a.id}-${hashText(a.origin).slice(0, 6)}`;
    seen.set(id, a.origin);
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
