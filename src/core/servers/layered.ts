import type { ComposeOptions } from '../answer.js';
import { askKnowledge, outsideWindow, validateQuestion, type AnswerContext, type AskOptions, type Retrieved, type RetrieveOptions } from '../ask.js';
import type { EmbedderInfo } from '../embed/embedder.js';
import type { KnowledgeBase } from '../knowledge-base.js';
import { rankCandidates, type FusionOptions } from '../retrieve.js';
import type { ArticleRecord, StoredPassage, SummaryCache } from '../store/port.js';
import type { AskResult, Layer } from '../types.js';
import type { KnowledgeReader } from './reader.js';

export interface LayeredKnowledgeOptions {
  /** The server's own articles (read and written by its moderators). */
  server: KnowledgeBase;
  /** The operator's articles every server also answers from; absent with `KB_BASE=none`. */
  base?: KnowledgeBase;
  maxQuestionChars?: number;
  compose?: ComposeOptions;
  fusion?: FusionOptions;
}

/**
 * A server's view: its own articles over the base layer. A server article with the same title as
 * a base article shadows it for this server only (the base article is neither retrieved, listed
 * nor suggested here). Retrieval embeds the question once, takes candidates from both layers and
 * ranks them together; every passage and source says which layer it comes from.
 */
export class LayeredKnowledge implements KnowledgeReader {
  private readonly server: KnowledgeBase;
  private readonly base?: KnowledgeBase;

  constructor(private readonly opts: LayeredKnowledgeOptions) {
    this.server = opts.server;
    this.base = opts.base;
  }

  get embedderInfo(): EmbedderInfo {
    return this.server.embedderInfo;
  }

  validateQuestion(question: string): string {
    return validateQuestion(question, this.opts.maxQuestionChars);
  }

  embedQuery(query: string): Promise<Float32Array> {
    return this.server.embedQuery(query);
  }

  /** A base article this server's own article of the same title hides. */
  private shadowed(article: { title: string }): boolean {
    return this.server.hasTitle(article.title);
  }

  async retrieve(query: string, options: RetrieveOptions = {}): Promise<Retrieved> {
    const t0 = performance.now();
    const vector = options.queryVector ?? (await this.embedQuery(query));
    const t1 = performance.now();
    // Both layers searched at once; each search reads one snapshot of its own layer.
    const [own, base] = await Promise.all([
      this.server.searchCandidates(query, vector, { layer: 'server', exclude: outsideWindow(options.window) }),
      this.base?.searchCandidates(query, vector, { layer: 'base', exclude: (a) => this.shadowed(a) || Boolean(outsideWindow(options.window)?.(a)) }) ?? [],
    ]);
    const candidates = [...own, ...base];
    const passages = rankCandidates(candidates, options.topK ?? 8, options.fusion ?? this.opts.fusion);
    return { passages, queryVector: vector, embedMs: t1 - t0, searchMs: performance.now() - t1 };
  }

  /** Sentences are looked up in both layers' caches; what is new is kept in the server's own. */
  answerInputs(): AnswerContext {
    const own = this.server.sentenceVectors;
    const others = this.base ? [this.base.sentenceVectors] : [];
    return {
      sentenceVectors: (texts) => own.vectorsReading(others, texts),
      sentenceEntities: own.entities,
      corpusPassages: this.server.answerInputs().corpusPassages! + (this.base?.answerInputs().corpusPassages ?? 0),
    };
  }

  ask(question: string, options: AskOptions = {}): Promise<AskResult> {
    return askKnowledge(this, question, { ...options, compose: this.opts.compose });
  }

  suggest(query: string, limit = 25): { id: string; title: string }[] {
    const own = this.server.suggest(query, limit);
    if (!this.base || own.length >= limit) return own;
    const ids = new Set(own.map((a) => a.id));
    const base = this.base
      .suggest(query, limit + own.length)
      .filter((a) => !ids.has(a.id) && !this.server.hasTitle(a.title));
    return [...own, ...base].slice(0, limit);
  }

  /** The layer that holds an article as this server sees it: its own first, then an unshadowed base article. */
  private async holder(id: string): Promise<{ kb: KnowledgeBase; layer: Layer; article: ArticleRecord } | undefined> {
    const own = await this.server.getArticle(id);
    if (own) return { kb: this.server, layer: 'server', article: own };
    const article = await this.base?.getArticle(id);
    if (this.base && article && !this.shadowed(article)) return { kb: this.base, layer: 'base', article };
    return undefined;
  }

  async layerOf(articleId: string): Promise<Layer | undefined> {
    return (await this.holder(articleId))?.layer;
  }

  async getArticle(id: string): Promise<ArticleRecord | undefined> {
    return (await this.holder(id))?.article;
  }

  /** The newest publication time among the articles this server sees (its own, and the base articles they do not shadow). */
  newestArticleTime(): number | undefined {
    const times = [this.server.newestArticleTime(), this.base?.newestArticleTime((title) => this.shadowed({ title }))].filter((t): t is number => t !== undefined);
    return times.length > 0 ? Math.max(...times) : undefined;
  }

  async listArticles(): Promise<ArticleRecord[]> {
    const [own, all] = await Promise.all([this.server.listArticles(), this.base?.listArticles() ?? []]);
    const ids = new Set(own.map((a) => a.id));
    const base = all.filter((a) => !ids.has(a.id) && !this.shadowed(a));
    return [...own, ...base];
  }

  async articlePassages(id: string): Promise<StoredPassage[]> {
    return (await (await this.holder(id))?.kb.articlePassages(id)) ?? [];
  }

  async articleBody(id: string): Promise<string | undefined> {
    return (await this.holder(id))?.kb.articleBody(id);
  }

  async isPassageCurrent(passageId: string, text?: string, layer?: Layer): Promise<boolean> {
    const articleId = passageId.split('#')[0];
    const holder = await this.holder(articleId);
    if (!holder || (layer && holder.layer !== layer)) return false;
    return holder.kb.isPassageCurrent(passageId, text);
  }

  async summariesOf(articleId: string): Promise<SummaryCache | undefined> {
    return (await this.holder(articleId))?.kb.summariesOf(articleId);
  }
}
