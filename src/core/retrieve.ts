import { wordTokens } from './text/tokens.js';
import type { Layer, Passage, ScoredPassage } from './types.js';

/** One candidate passage with what each side of retrieval thinks of it. */
export interface Candidate {
  label: number;
  /** Cosine similarity of the passage vector to the question vector (always known). */
  dense: number;
  /** BM25 score, 0 when the lexical side did not return it. */
  lexical: number;
}

export interface FusedCandidate extends Candidate {
  score: number;
}

/** Options of {@link fuse}. Defaults were fitted on SQuADShifts (see README, "Retrieval quality"). */
export interface FusionOptions {
  /** Weight of the dense side; the lexical side gets 1 - denseWeight. Default 0.3. */
  denseWeight?: number;
}

export const DEFAULT_FUSION: Required<FusionOptions> = { denseWeight: 0.3 };

/**
 * Weighted score fusion. Each side is normalised over the candidate set: BM25 divided by the
 * best BM25 (so the lexical top hit is 1), cosine min-max scaled. Unlike reciprocal-rank fusion
 * this keeps how far ahead a clear lexical winner is, so a weak dense side cannot drag it down.
 */
export function fuse(candidates: Candidate[], options: FusionOptions = {}): FusedCandidate[] {
  const { denseWeight } = { ...DEFAULT_FUSION, ...options };
  if (candidates.length === 0) return [];
  let maxLex = 0;
  let minDense = Infinity;
  let maxDense = -Infinity;
  for (const c of candidates) {
    maxLex = Math.max(maxLex, c.lexical);
    minDense = Math.min(minDense, c.dense);
    maxDense = Math.max(maxDense, c.dense);
  }
  const denseRange = maxDense - minDense;
  return candidates
    .map((c) => {
      const lex = maxLex > 0 ? c.lexical / maxLex : 0;
      const dense = denseRange > 1e-9 ? (c.dense - minDense) / denseRange : 1;
      return { ...c, score: (1 - denseWeight) * lex + denseWeight * dense };
    })
    .sort((a, b) => b.score - a.score || a.label - b.label);
}

/** Word-trigram Jaccard similarity; 1 for identical texts. */
export function textSimilarity(a: string, b: string): number {
  return jaccard(trigrams(a), trigrams(b));
}

function trigrams(text: string): Set<string> {
  const w = wordTokens(text);
  const out = new Set<string>();
  if (w.length < 3) out.add(w.join(' '));
  for (let i = 0; i + 3 <= w.length; i++) out.add(`${w[i]} ${w[i + 1]} ${w[i + 2]}`);
  return out;
}

/**
 * Drops results that repeat an earlier (better-ranked) result nearly word for word, e.g. the
 * same wire story filed under two articles. Order is kept; stops once `limit` results are kept.
 */
export function diversify<T>(ranked: T[], textOf: (item: T) => string, threshold = 0.8, limit = Infinity): T[] {
  const kept: T[] = [];
  const keptShingles: Set<string>[] = [];
  for (const item of ranked) {
    if (kept.length >= limit) break;
    const sh = trigrams(textOf(item));
    if (keptShingles.some((k) => jaccard(k, sh) >= threshold)) continue;
    kept.push(item);
    keptShingles.push(sh);
  }
  return kept;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

/**
 * A candidate passage with what each side of retrieval thinks of it, as one knowledge base
 * found it (see `KnowledgeBase.searchCandidates`). Candidates of several knowledge bases (a
 * server's own articles and the base layer) are ranked together by {@link rankCandidates}.
 */
export interface PassageCandidate {
  passage: Passage;
  articleTitle: string;
  articleUrl?: string;
  /** Cosine similarity to the question (0 when the question was not embedded). */
  dense: number;
  /** BM25 score, 0 when the lexical side did not return it. */
  lexical: number;
  layer?: Layer;
  /** The article's publication date (ISO 8601), when known. */
  articleDate?: string;
}

/**
 * Fuses the candidates of one or more knowledge bases in one ranking, drops near-duplicates and
 * keeps `topK`. One fusion over the union (rather than merging per-base rankings) keeps scores
 * comparable: both sides are normalised over everything that is ranked.
 */
export function rankCandidates(candidates: PassageCandidate[], topK: number, fusion?: FusionOptions): ScoredPassage[] {
  const fused = fuse(
    candidates.map((c, label) => ({ label, dense: c.dense, lexical: c.lexical })),
    fusion,
  );
  const ranked: ScoredPassage[] = [];
  for (const f of fused.slice(0, topK * 3)) {
    const c = candidates[f.label];
    ranked.push({
      passage: c.passage,
      articleTitle: c.articleTitle,
      ...(c.articleUrl ? { articleUrl: c.articleUrl } : {}),
      score: f.score,
      dense: c.dense,
      lexical: c.lexical,
      ...(c.layer ? { layer: c.layer } : {}),
      ...(c.articleDate ? { articleDate: c.articleDate } : {}),
    });
  }
  return diversify(ranked, (r) => r.passage.text, 0.8, topK);
}
