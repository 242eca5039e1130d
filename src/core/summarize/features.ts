/**
 * Sentence features for the article summariser, and the linear model that turns them into a score.
 *
 * Every feature is computed within one article and, where its raw scale depends on the article
 * (graph scores sum to 1, cosines depend on the embedder), min-max scaled to [0, 1] within it, so
 * a weight fitted on one corpus means the same on another: a long BBC article and a short wire
 * story put their most central sentence at 1 alike.
 *
 * Features (one row per candidate sentence, in this order — {@link FEATURE_NAMES}):
 * - `centroid`: cosine to the article centroid (mean of the sentence vectors) — coverage;
 * - `forward`: mean cosine to the sentences AFTER it (PACSUM-style directed centrality) —
 *   a sentence the rest of the story elaborates on;
 * - `textrank`: lexical TextRank (the baseline's graph: shared stemmed content words over
 *   log lengths, PageRank);
 * - `lexrank`: continuous LexRank — PageRank over the embedding cosines (negatives dropped);
 * - the lead prior ({@link LEAD_PRIOR}), as a basis over the position among the candidates:
 *   `lead` 1 / (1 + position), `leadSlow` 1 / (1 + position / 4), `early` 1 − position / (n − 1),
 *   and the steps `top1`…`top5` (1 for the first J candidates). Its shape and strength are what
 *   the fit learns (on CNN/DailyMail: a plateau over the first three, a smaller one to five, a
 *   slow decay), not hand-set; the fit only keeps it monotone (weights ≥ 0);
 * - `specific`: share of (non-initial) capitalised words and figures — names, places, numbers;
 * - `words`: length in words / 30 (the budget is in words, so density matters);
 * - `long`: 1 above {@link LONG_SENTENCE_WORDS} words (run-ons, lists, split failures);
 * - `quote`: 1 when the sentence holds a quotation mark (quotes colour a story, rarely sum it up);
 * - `caption`: 1 for a "Label: ..." line (image captions, "Watch: ..." furniture).
 *
 * Pure functions; no I/O.
 */
import { pageRank, textRankScores } from './baselines.js';
import { rougeNTokens, rougeTokens } from './rouge.js';

export const FEATURE_NAMES = ['centroid', 'forward', 'textrank', 'lexrank', 'lead', 'leadSlow', 'early', 'top1', 'top2', 'top3', 'top4', 'top5', 'specific', 'words', 'long', 'quote', 'caption'] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export const LONG_SENTENCE_WORDS = 60;

/** Step features `topJ` = 1 for the first J candidates: let the fit find where the lead ends. */
const TOP_STEPS = [1, 2, 3, 4, 5];

/**
 * The position features. Each is non-increasing in the position and the fit keeps their weights
 * ≥ 0, so the learned lead prior never ranks a sentence higher for coming later: one corpus's
 * quirk (CNN/DailyMail's first sentence is often a teaser hook) cannot become a rule.
 */
export const LEAD_PRIOR: readonly FeatureName[] = ['lead', 'leadSlow', 'early', 'top1', 'top2', 'top3', 'top4', 'top5'];

/** "Retread: David Cameron with ..." — a caption-style label (1–3 words, then a colon). */
const CAPTION_LABEL = /^[A-Z][\w'’-]*(?: [\w'’-]+){0,2}:\s/;
const QUOTE_MARK = /["“”]|(?:^|\s)['‘]|['’](?:\s|$)/;

/** Share of words after the first that are capitalised or contain a digit: names, places, figures. */
export function specificity(text: string): number {
  const words = text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w));
  if (words.length < 2) return 0;
  let n = 0;
  for (let i = 1; i < words.length; i++) {
    const w = words[i].replace(/^[("'‘“]+/, '');
    if (/^\p{Lu}/u.test(w) || /\d/.test(w)) n++;
  }
  return n / (words.length - 1);
}

/** Scales values to [0, 1] within the article (all 1 when they are equal). */
export function minMax(values: number[]): number[] {
  if (values.length === 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  return values.map((v) => (span > 1e-9 ? (v - lo) / span : 1));
}

/** Dot product; the cosine of two unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Continuous LexRank (Erkan & Radev, 2004) on a cosine matrix: PageRank over max(0, cos), no self-loops. */
export function lexRankScores(sim: ArrayLike<number>[]): number[] {
  const n = sim.length;
  const weights = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Math.max(0, sim[i][j]))));
  return pageRank(weights);
}

export interface FeatureInput {
  /** Candidate sentences in article order (fragments already dropped, datelines trimmed). */
  texts: string[];
  /** Word count of each. */
  words: number[];
  /** Pairwise cosines of the sentence vectors (unit vectors), n × n. */
  sim: ArrayLike<number>[];
  /** Cosine of each sentence to the article centroid. */
  centroidCosine: number[];
}

/** One feature row per candidate, columns in {@link FEATURE_NAMES} order. */
export function sentenceFeatures(input: FeatureInput): number[][] {
  const { texts, words, sim, centroidCosine } = input;
  const n = texts.length;
  if (n === 0) return [];
  const centroid = minMax(centroidCosine);
  const forward = minMax(
    texts.map((_, k) => {
      let sum = 0;
      for (let j = k + 1; j < n; j++) sum += sim[k][j];
      return sum / Math.max(1, n - 1);
    }),
  );
  const textrank = minMax(textRankScores(texts));
  const lexrank = minMax(lexRankScores(sim));
  return texts.map((text, k) => [
    centroid[k],
    forward[k],
    textrank[k],
    lexrank[k],
    1 / (1 + k),
    1 / (1 + k / 4),
    n > 1 ? 1 - k / (n - 1) : 1,
    ...TOP_STEPS.map((j) => (k < j ? 1 : 0)),
    specificity(text),
    words[k] / 30,
    words[k] > LONG_SENTENCE_WORDS ? 1 : 0,
    QUOTE_MARK.test(text) ? 1 : 0,
    CAPTION_LABEL.test(text) ? 1 : 0,
  ]);
}

/** A linear scorer: score = bias + Σ weights[f] · feature[f]. */
export interface LinearModel {
  bias: number;
  weights: Record<FeatureName, number>;
}

export function scoreFeatures(rows: number[][], model: LinearModel): number[] {
  return rows.map((row) => {
    let s = model.bias;
    FEATURE_NAMES.forEach((name, f) => {
      s += model.weights[name] * row[f];
    });
    return s;
  });
}

export interface TrainingArticle {
  features: number[][];
  /** What each sentence is worth to a summary of this article (see {@link sentenceTargets}). */
  targets: number[];
}

/**
 * Ridge regression of the sentence targets on the features, within articles (both centred per
 * article, so the bias is 0: only differences between sentences of one article are learned),
 * closed form on columns standardised over the training sentences, returned in the raw feature
 * scale. `l2` is per training sentence, so the same value regularises a small and a large set
 * alike. Weights of the `nonNegative` features (default the lead prior) are kept ≥ 0.
 * Deterministic; throws on an empty training set.
 */
export function fitLinearModel(articles: TrainingArticle[], l2 = 0.05, nonNegative: readonly FeatureName[] = LEAD_PRIOR): LinearModel {
  // Within-article (fixed-effects) fit: features and targets are centred per article. Selection
  // only compares sentences of one article (scores are min-max scaled within it), so what differs
  // between articles — how long, how summarisable — is noise to the fit, not signal.
  const rows = articles.flatMap((a) => centred(a.features));
  const ys = articles.flatMap((a) => centred(a.targets.map((t) => [t])).map((r) => r[0]));
  const m = rows.length;
  if (m === 0) throw new Error('fitLinearModel: no training sentences');
  const d = FEATURE_NAMES.length;
  const mean = new Array<number>(d).fill(0);
  for (const r of rows) for (let f = 0; f < d; f++) mean[f] += r[f] / m;
  const sd = new Array<number>(d).fill(0);
  for (const r of rows) for (let f = 0; f < d; f++) sd[f] += (r[f] - mean[f]) ** 2 / m;
  for (let f = 0; f < d; f++) sd[f] = Math.sqrt(sd[f]) || 1;
  const yMean = ys.reduce((a, b) => a + b, 0) / m;

  // Normal equations (XᵀX + λ·m·I) w = Xᵀy on standardised, centred columns.
  const A = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const b = new Array<number>(d).fill(0);
  for (let i = 0; i < m; i++) {
    const z = rows[i].map((v, f) => (v - mean[f]) / sd[f]);
    const y = ys[i] - yMean;
    for (let p = 0; p < d; p++) {
      b[p] += z[p] * y;
      for (let q = p; q < d; q++) A[p][q] += z[p] * z[q];
    }
  }
  for (let p = 0; p < d; p++) {
    for (let q = 0; q < p; q++) A[p][q] = A[q][p];
    A[p][p] += l2 * m;
  }
  // Sign constraints by an active set: a constrained weight that comes out negative is pinned
  // to 0 and the rest refitted, until none is negative (at most d rounds).
  const constrained = new Set(nonNegative.map((name) => FEATURE_NAMES.indexOf(name)));
  const free = FEATURE_NAMES.map(() => true);
  let w = new Array<number>(d).fill(0);
  for (let round = 0; round <= d; round++) {
    const idx = free.flatMap((ok, f) => (ok ? [f] : []));
    const sub = solve(
      idx.map((p) => idx.map((q) => A[p][q])),
      idx.map((p) => b[p]),
    );
    w = new Array<number>(d).fill(0);
    idx.forEach((f, i) => (w[f] = sub[i]));
    const negative = idx.filter((f) => constrained.has(f) && w[f] < 0);
    if (negative.length === 0) break;
    for (const f of negative) free[f] = false;
  }
  const weights = {} as Record<FeatureName, number>;
  let bias = yMean;
  FEATURE_NAMES.forEach((name, f) => {
    weights[name] = w[f] / sd[f];
    bias -= (w[f] * mean[f]) / sd[f];
  });
  return { bias, weights };
}

/** Each column minus its mean over the rows. */
function centred(rows: number[][]): number[][] {
  const d = rows[0]?.length ?? 0;
  const mu = new Array<number>(d).fill(0);
  for (const r of rows) for (let f = 0; f < d; f++) mu[f] += r[f] / rows.length;
  return rows.map((r) => r.map((v, f) => v - mu[f]));
}

/** Gaussian elimination with partial pivoting; A is symmetric positive definite here. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[pivot][c])) pivot = r;
    [M[c], M[pivot]] = [M[pivot], M[c]];
    const p = M[c][c];
    if (Math.abs(p) < 1e-12) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const factor = M[r][c] / p;
      if (factor === 0) continue;
      for (let k = c; k <= n; k++) M[r][k] -= factor * M[c][k];
    }
  }
  return M.map((row, i) => (Math.abs(row[i]) < 1e-12 ? 0 : row[n] / row[i]));
}

/**
 * Training targets: the greedy extractive oracle (Nallapati et al., 2017) — sentences added one at
 * a time, each time the one that most raises ROUGE-1 F1 + ROUGE-2 F1 of the set against the
 * reference, until none raises it; 1 for the oracle's sentences, 0 for the others. Chosen over
 * each sentence's own ROUGE (which favours sentences that repeat each other) and over ranks:
 * out of fold on CNN/DailyMail it gave the best budgeted ROUGE of the three.
 */
export function sentenceTargets(reference: string, texts: string[]): number[] {
  const ref = rougeTokens(reference);
  const tokens = texts.map(rougeTokens);
  const chosen = new Set<number>();
  let best = 0;
  for (;;) {
    let pick = -1;
    let pickValue = best;
    for (let k = 0; k < texts.length; k++) {
      if (chosen.has(k)) continue;
      // Order does not matter to ROUGE-1; for ROUGE-2 the summary is read in article order.
      const candidate = [...chosen, k].sort((a, b) => a - b).flatMap((i) => tokens[i]);
      const value = rougeNTokens(ref, candidate, 1).f1 + rougeNTokens(ref, candidate, 2).f1;
      if (value > pickValue + 1e-12) {
        pickValue = value;
        pick = k;
      }
    }
    if (pick < 0) break;
    chosen.add(pick);
    best = pickValue;
  }
  return texts.map((_, k) => (chosen.has(k) ? 1 : 0));
}
