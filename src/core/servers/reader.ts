import type { AnswerContext, AskOptions, Retrieved, RetrieveOptions } from '../ask.js';
import type { EmbedderInfo } from '../embed/embedder.js';
import type { ArticleRecord, StoredPassage, SummaryCache } from '../store/port.js';
import type { AskResult, Layer } from '../types.js';

/**
 * What answering, summaries, "Show passages" and autocomplete read: one knowledge base, or a
 * server's layered view of its own articles over the base layer ({@link LayeredKnowledge}).
 * Adapters only ever read through this, so what a member sees is decided in one place. Reads go
 * to the store (async); autocomplete is answered from memory, so it stays synchronous.
 */
export interface KnowledgeReader {
  validateQuestion(question: string): string;
  retrieve(query: string, options?: RetrieveOptions): Promise<Retrieved>;
  ask(question: string, options?: AskOptions): Promise<AskResult>;
  answerInputs(): AnswerContext;
  embedQuery(query: string): Promise<Float32Array>;
  readonly embedderInfo: EmbedderInfo;
  /** Up to `limit` articles whose title starts with (then contains) `query`. From memory. */
  suggest(query: string, limit?: number): { id: string; title: string }[];
  getArticle(id: string): Promise<ArticleRecord | undefined>;
  listArticles(): Promise<ArticleRecord[]>;
  articlePassages(id: string): Promise<StoredPassage[]>;
  articleBody(id: string): Promise<string | undefined>;
  /** True when this passage id still holds this text (in `layer`, when given). */
  isPassageCurrent(passageId: string, text?: string, layer?: Layer): Promise<boolean>;
  /** The layer an article is read from, in a layered view. */
  layerOf(articleId: string): Promise<Layer | undefined>;
  /** The summaries cache of the knowledge base that holds the article (summaries are tied to its content hash). */
  summariesOf(articleId: string): Promise<SummaryCache | undefined>;
}
