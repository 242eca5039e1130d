/**
 * Plain data shapes shared by the core. Nothing here imports Discord, readline or process.env:
 * adapters (terminal, Discord) turn these objects into what their users see.
 */

/** An article as a loader produced it, before chunking. */
export interface RawArticle {
  /** Human title, e.g. "Hamas and U.S. Efforts Toward Hostage Negotiations". */
  title: string;
  /** Body text; paragraphs separated by blank lines. */
  body: string;
  /** Source URL when known. */
  url?: string;
  /** Publication date (ISO 8601 string) when known. */
  date?: string;
  /** Who wrote it (front matter, the page's metadata, the feed entry), when known. */
  author?: string;
  /** Where it came from (a file path, "discord:<user>", a URL). */
  origin: string;
  /** What the loader changed and the moderator should know (a title that was cut). */
  notes?: string[];
}

/** One retrievable unit: a paragraph (or part of a long one) of an article. */
export interface Passage {
  /** Stable id: `${articleSlug}#${paragraph}` (plus `.${part}` when a long paragraph was split). */
  id: string;
  articleId: string;
  /** 1-based paragraph number as a reader counts the article's kept paragraphs. */
  paragraph: number;
  text: string;
  /** sha256 (hex, first 16 chars) of the normalised text: unchanged text is never re-embedded. */
  hash: string;
}

/** An article after chunking: ready for the catalog. */
export interface ChunkedArticle {
  /** Slug derived from the title; the article's stable id. */
  id: string;
  title: string;
  url?: string;
  date?: string;
  author?: string;
  origin: string;
  /** sha256 of the title, URL, passages and, when known, date and author: any of them changing is a new version. */
  hash: string;
  passages: Passage[];
  /** How many duplicate or near-duplicate paragraphs were dropped. */
  duplicatesDropped: number;
}

/** A passage returned by retrieval, with the scores that ranked it. */
export interface ScoredPassage {
  passage: Passage;
  articleTitle: string;
  articleUrl?: string;
  /** Fused score used for ranking (higher is better). */
  score: number;
  /** Cosine similarity to the question, when the dense side saw it. */
  dense?: number;
  /** BM25 score, when the lexical side saw it. */
  lexical?: number;
  /** Which knowledge base of a layered view it came from (absent with a single knowledge base). */
  layer?: Layer;
  /** The article's publication date (ISO 8601), when known. */
  articleDate?: string;
  /** The re-ranker's score (RERANK_MODEL), when one put the passages in its order; `score` stays the fused one. */
  rerank?: number;
}

/**
 * With a knowledge base per server (`KB_SCOPE=server`): `server` is the server's own articles,
 * `base` the operator's articles every server also answers from.
 */
export type Layer = 'server' | 'base';

/** How a citation names its layer (adapters append it to "Title ¶ n"). */
export const LAYER_LABELS: Record<Layer, string> = { server: 'this server', base: 'shared library' };

/** A numbered source under an answer; `n` matches the [n] markers in the text. */
export interface Source {
  n: number;
  passageId: string;
  articleId: string;
  title: string;
  paragraph: number;
  url?: string;
  /** The full passage text, for "Show passages". */
  text: string;
  score: number;
  /** The layer the article comes from, in a layered view (citations say so). */
  layer?: Layer;
  /** The article's publication date (ISO 8601), when known: citations show it. */
  date?: string;
}

export interface AskResult {
  question: string;
  /** True when the knowledge base had an answer; false means `answer` says it does not know. */
  answered: boolean;
  /** Answer text with [n] markers that point into `sources`. */
  answer: string;
  sources: Source[];
  /** When not answered: the closest articles, for "did you mean". */
  suggestions: { articleId: string; title: string; url?: string }[];
  /**
   * The reader's answer span (READER_MODEL) inside the leading quoted sentence: offsets into
   * `answer`, shown in bold. Absent without a reader, or when it found no span it was sure of.
   */
  highlight?: { start: number; end: number };
  /** Timings in ms, for logs and benchmarks (`rerank` when a re-ranker ran). */
  timings: { embed: number; search: number; compose: number; total: number; rerank?: number };
  /**
   * The question named a time ("last week", "in 2004", "latest"): the publication dates answered
   * from. `widened`: no article of that period answered, so the answer comes from all of them.
   */
  time?: { text: string; from?: string; to?: string; widened?: boolean };
  /**
   * The passages `ask` retrieved once and composed from, best first (after re-ranking; from every
   * article when the period widened): a written composer rewrites these instead of searching again.
   */
  passages: ScoredPassage[];
}
