import MiniSearch from 'minisearch';
import { STOP_WORDS, stem, wordTokens } from '../text/tokens.js';

export interface LexicalHit {
  label: number;
  /** BM25 score (unbounded, higher is better). */
  score: number;
}

export interface LexicalDocument {
  label: number;
  title: string;
  text: string;
}

/** Options of {@link LexicalIndex}. */
export interface LexicalOptions {
  /** Weight of a title match relative to a passage-text match. Default 0.5. */
  titleBoost?: number;
  /** BM25 term-frequency saturation. Default 1.2. */
  k1?: number;
  /** BM25 length normalisation. Default 0.75. */
  b?: number;
}

/**
 * Stemming dominates indexing time, and a corpus has a few tens of thousands of distinct words
 * among millions of tokens, so stems are memoised (bounded, for a long-running bot).
 */
const stems = new Map<string, string>();
/** A token as BM25 indexes it: null for a stop word, else its Porter stem (shared with the Postgres backend's tsvectors). */
export function processTerm(term: string): string | null {
  if (STOP_WORDS.has(term)) return null;
  let stemmed = stems.get(term);
  if (stemmed === undefined) {
    stemmed = stem(term);
    if (stems.size > 200_000) stems.clear();
    stems.set(term, stemmed);
  }
  return stemmed;
}

/**
 * BM25 over passage text and article title (MiniSearch), with the same tokens as the rest of
 * the core: lower-cased, accents folded, stop words dropped, Porter-stemmed.
 */
export class LexicalIndex {
  private readonly search_: MiniSearch<LexicalDocument>;
  private readonly titleBoost: number;

  constructor(options: LexicalOptions = {}, snapshot?: string) {
    const { titleBoost = 0.5, k1 = 1.2, b = 0.75 } = options;
    this.titleBoost = titleBoost;
    const miniOptions = {
      idField: 'label',
      fields: ['title', 'text'],
      tokenize: (text: string) => wordTokens(text),
      processTerm,
      searchOptions: { bm25: { k: k1, b, d: 0.5 } },
    };
    this.search_ = snapshot ? MiniSearch.loadJSON<LexicalDocument>(snapshot, miniOptions) : new MiniSearch<LexicalDocument>(miniOptions);
  }

  /**
   * The index as JSON. Loading it (`new LexicalIndex(options, json)`) is about three times faster
   * than indexing the passages again, which is most of a cold start.
   */
  toJSON(): string {
    return JSON.stringify(this.search_);
  }

  get size(): number {
    return this.search_.documentCount;
  }

  has(label: number): boolean {
    return this.search_.has(label);
  }

  add(doc: LexicalDocument): void {
    this.search_.add(doc);
  }

  addAll(docs: LexicalDocument[]): void {
    this.search_.addAll(docs);
  }

  remove(label: number): void {
    if (this.search_.has(label)) this.search_.discard(label);
  }

  search(query: string, k: number): LexicalHit[] {
    const results = this.search_.search(query, { combineWith: 'OR', boost: { title: this.titleBoost, text: 1 } });
    return results.slice(0, k).map((r) => ({ label: r.id as number, score: r.score }));
  }
}
