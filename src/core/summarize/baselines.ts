/**
 * Reference baselines for extractive summarisation, used by the summary eval:
 *
 * - Lead-k: the first k sentences.
 * - TextRank (Mihalcea & Tarau, 2004): an undirected sentence graph weighted by the original
 *   TextRank similarity — shared content words (stop words dropped, Porter-stemmed) divided by
 *   log|Si| + log|Sj| — ranked with weighted PageRank (damping 0.85, iterated until the L1 change
 *   is below 1e-8 or 500 rounds). The top k are returned in article order; ties go to the earlier
 *   sentence.
 *
 * Both work on sentences as `splitSentences` produces them (callers split; see `articleSentences`).
 */
import { splitSentences } from '../text/sentences.js';
import { contentTokens } from '../text/tokens.js';

/** The article's sentences, from the one splitter of the codebase. */
export function articleSentences(text: string): string[] {
  return splitSentences(text);
}

/** The first k sentences, in order. */
export function lead(sentences: string[], k = 3): string[] {
  return sentences.slice(0, Math.max(0, k));
}

/** Lead-3: the first three sentences. */
export function lead3(sentences: string[]): string[] {
  return lead(sentences, 3);
}

/** Original TextRank similarity: overlap of (stemmed, stop-word-free) tokens over log lengths. */
export function textRankSimilarity(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const setB = new Set(b);
  let overlap = 0;
  for (const w of new Set(a)) if (setB.has(w)) overlap++;
  if (overlap === 0) return 0;
  const denom = Math.log(a.length) + Math.log(b.length);
  // Two one-word sentences that share their word: log 1 + log 1 = 0; treat as a full match.
  return denom > 0 ? overlap / denom : overlap;
}

/**
 * Weighted PageRank over a symmetric (or not) weight matrix. Rows with no out-weight spread their
 * rank uniformly (the usual dangling-node fix). Returns one score per node; scores sum to 1.
 */
export function pageRank(weights: number[][], damping = 0.85, tolerance = 1e-8, maxIterations = 500): number[] {
  const n = weights.length;
  if (n === 0) return [];
  const outSum = weights.map((row) => row.reduce((s, w) => s + w, 0));
  let rank = new Array<number>(n).fill(1 / n);
  for (let iter = 0; iter < maxIterations; iter++) {
    let dangling = 0;
    for (let j = 0; j < n; j++) if (outSum[j] <= 0) dangling += rank[j];
    const next = new Array<number>(n).fill((1 - damping) / n + (damping * dangling) / n);
    for (let j = 0; j < n; j++) {
      if (outSum[j] <= 0) continue;
      const share = (damping * rank[j]) / outSum[j];
      const row = weights[j];
      for (let i = 0; i < n; i++) if (row[i] > 0) next[i] += share * row[i];
    }
    let delta = 0;
    for (let i = 0; i < n; i++) delta += Math.abs(next[i] - rank[i]);
    rank = next;
    if (delta < tolerance) break;
  }
  return rank;
}

/** TextRank scores, one per sentence. */
export function textRankScores(sentences: string[]): number[] {
  const tokens = sentences.map((s) => contentTokens(s));
  const n = sentences.length;
  const weights: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = textRankSimilarity(tokens[i], tokens[j]);
      weights[i][j] = w;
      weights[j][i] = w;
    }
  }
  return pageRank(weights);
}

/** TextRank: the k highest-ranked sentences, returned in article order. */
export function textRank(sentences: string[], k = 3): string[] {
  if (sentences.length <= k) return sentences.slice();
  const scores = textRankScores(sentences);
  const order = sentences.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return order
    .slice(0, Math.max(0, k))
    .sort((a, b) => a - b)
    .map((i) => sentences[i]);
}
