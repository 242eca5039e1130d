/**
 * ROUGE-1, ROUGE-2 and ROUGE-L F1, computed like Google's `rouge-score` package with
 * `use_stemmer=True`:
 *
 * - text is lower-cased and split into letter/digit runs (`wordTokens`);
 * - tokens longer than 3 characters are Porter-stemmed (`stem`), as rouge-score does;
 * - ROUGE-N: clipped n-gram overlap; precision = overlap / candidate n-grams,
 *   recall = overlap / reference n-grams, F1 = 2PR / (P + R) (0 when P + R = 0);
 * - ROUGE-L: longest common subsequence over the WHOLE token sequence (rouge-score's `rougeL`,
 *   not the newline-aware `rougeLsum`).
 *
 * Pure functions; no state. All scores are in [0, 1].
 */
import { stem, wordTokens } from '../text/tokens.js';

export interface RougeScore {
  precision: number;
  recall: number;
  f1: number;
}

export interface RougeScores {
  rouge1: RougeScore;
  rouge2: RougeScore;
  rougeL: RougeScore;
}

/** Tokens as ROUGE sees them: lower-cased word tokens, stemmed when longer than 3 characters. */
export function rougeTokens(text: string): string[] {
  return wordTokens(text).map((t) => (t.length > 3 ? stem(t) : t));
}

function fromCounts(overlap: number, candidateTotal: number, referenceTotal: number): RougeScore {
  const precision = overlap / Math.max(candidateTotal, 1);
  const recall = overlap / Math.max(referenceTotal, 1);
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

function ngramCounts(tokens: string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** ROUGE-N on already tokenised text. */
export function rougeNTokens(reference: string[], candidate: string[], n: number): RougeScore {
  const ref = ngramCounts(reference, n);
  const cand = ngramCounts(candidate, n);
  let overlap = 0;
  for (const [gram, c] of cand) overlap += Math.min(c, ref.get(gram) ?? 0);
  const candTotal = Math.max(candidate.length - n + 1, 0);
  const refTotal = Math.max(reference.length - n + 1, 0);
  return fromCounts(overlap, candTotal, refTotal);
}

/** Length of the longest common subsequence (O(n·m) time, O(m) memory). */
export function lcsLength(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** ROUGE-L (summary-level LCS over the whole text) on already tokenised text. */
export function rougeLTokens(reference: string[], candidate: string[]): RougeScore {
  return fromCounts(lcsLength(reference, candidate), candidate.length, reference.length);
}

export function rougeN(reference: string, candidate: string, n: number): RougeScore {
  return rougeNTokens(rougeTokens(reference), rougeTokens(candidate), n);
}

export function rougeL(reference: string, candidate: string): RougeScore {
  return rougeLTokens(rougeTokens(reference), rougeTokens(candidate));
}

/** All three scores at once (tokenises each text once). Argument order: reference, then candidate. */
export function rouge(reference: string, candidate: string): RougeScores {
  const ref = rougeTokens(reference);
  const cand = rougeTokens(candidate);
  return {
    rouge1: rougeNTokens(ref, cand, 1),
    rouge2: rougeNTokens(ref, cand, 2),
    rougeL: rougeLTokens(ref, cand),
  };
}
