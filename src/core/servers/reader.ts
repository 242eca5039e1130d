import type Database from 'better-sqlite3';
import type { AnswerContext, AskOptions, Retrieved, RetrieveOptions } from '../ask.js';
import type { EmbedderInfo } from '../embed/embedder.js';
import type { ArticleRecord, StoredPassage } from '../store/catalog.js';
import type { AskResult, Layer } from '../types.js';

/**
 * What answering, summaries, "Show passages" and autocomplete read: one knowledge base, or a
 * server's layered view of its own articles over the base layer ({@link LayeredKnowledge}).
 * Adapters only ever read through this, so what a member sees is decided in one place.
 */
export interface KnowledgeReader {
  validateQuestion(question: string): string;
  retrieve(query: string, options?: RetrieveOptions): Promise<Retrieved>;
  ask(question: string, options?: AskOptions): Promise<AskResult>;
  answerInputs(): AnswerContext;
  embedQuery(query: string): Promise<Float32Array>;
  readonly embedderInfo: EmbedderInfo;
  /** Up to `limit` articles whose title starts with (then contains) `query`. */
  suggest(query: string, limit?: number): { id: string; title: string }[];
  getArticle(id: string): ArticleRecord | undefined;
  listArticles(): ArticleRecord[];
  articlePassages(id: string): StoredPassage[];
  articleBody(id: string): string | undefined;
  /** True when this passage id still holds this text (in `layer`, when given). */
  isPassageCurrent(passageId: string, text?: string, layer?: Layer): boolean;
  /** The layer an article is read from, in a layered view. */
  layerOf(articleId: string): Layer | undefined;
  /** The SQLite database that holds the article, for caches tied to it (summaries). */
  cacheDbOf(articleId: string): Database.Database | undefined;
}
