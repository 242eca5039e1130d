/**
 * The product's extractive summariser for ONE article.
 *
 * Pipeline (all deterministic; ties always go to the earlier sentence):
 *
 * 1. Split every passage with `splitSentences` (the one splitter of the codebase) and number the
 *    sentences in article order.
 * 2. De-duplicate: sentences whose word tokens are identical (case, punctuation and spacing
 *    ignored) are kept once, at their first occurrence — before anything is scored or embedded.
 * 3. Drop fragments that never belong in a summary: fewer than {@link SummarizerTuning.minWords}
 *    words with letters ("By .", "Daily Mail Reporter .", "14:11 EST, 25 October 2013 ."),
 *    publication stamps ("PUBLISHED: .", "Last updated at 3:31 PM on 19th July 2011 .") and
 *    page furniture ("Scroll down for video ."). If nothing survives, every sentence is a candidate.
 *    A leading news-agency dateline ("Beirut (CNN) -- ") is trimmed from the returned text.
 *    These are generic page-furniture rules, not a model of one agency's lead.
 * 4. Embed all candidates in ONE `embedder.embed` call (vectors re-normalised), compute the
 *    features of `features.ts` — embedding centroid, forward centrality, TextRank, LexRank, lead
 *    position, specificity, length, quote, caption — and score each sentence with a linear model
 *    ({@link DEFAULT_MODEL}) whose weights, the strength of the lead prior included, are fitted
 *    by ridge regression (`fitLinearModel`); the eval reports them out of fold only.
 * 5. Select with MMR: repeatedly take the candidate maximising
 *      λ · score − (1 − λ) · max cosine to the already-selected sentences
 *    (scores min-max scaled within the article, so λ means the same on any article), never taking
 *    a near-duplicate (cosine ≥ `duplicateCosine` to a selected sentence, or ≥ `duplicateOverlap`
 *    of its content words contained in one), while the summary stays within the word budget.
 * 6. Return the selection in article order.
 *
 * Length ({@link SUMMARY_LENGTHS}) is a word budget, not a sentence count: a sentence is added
 * while the summary stays within `maxWords`; one that would break the budget is skipped and the
 * next best tried. Sentence counts would make "short" mean 40 words on one corpus and 120 on
 * another. A single sentence longer than the whole budget is only used when nothing else fits.
 *
 * Small articles: an empty article gives no sentences; an article with at most two distinct
 * sentences is returned whole (no embedding call); a short article is never padded.
 */
import type { Embedder } from '../embed/embedder.js';
import { splitSentences } from '../text/sentences.js';
import { contentTokens, wordTokens } from '../text/tokens.js';
import { dot, minMax, scoreFeatures, sentenceFeatures, type LinearModel } from './features.js';
import { unitVector } from '../vectors.js';

export { dot, specificity } from './features.js';

export type SummaryLength = 'short' | 'medium' | 'long';

export interface SummaryPassage {
  paragraph: number;
  text: string;
}

export interface SummarySentence {
  text: string;
  paragraph: number;
  /** Relevance score before redundancy removal (higher is better); 1 for articles returned whole. */
  score: number;
}

export interface Summary {
  sentences: SummarySentence[];
}

export interface LengthBudget {
  /** Words in the joined summary ({@link countWords}). */
  maxWords: number;
}

/**
 * short ≈ a headline paragraph (a CNN/DailyMail highlight set is ~55 words), medium ≈ 100 words,
 * long ≈ 160 words — on every corpus, whatever its sentence length.
 */
export const SUMMARY_LENGTHS: Readonly<Record<SummaryLength, LengthBudget>> = {
  short: { maxWords: 60 },
  medium: { maxWords: 100 },
  long: { maxWords: 160 },
};

/** Words as a reader counts them: whitespace-separated pieces with a letter or digit. */
export function countWords(text: string): number {
  let n = 0;
  for (const w of text.split(/\s+/)) if (/[\p{L}\p{N}]/u.test(w)) n++;
  return n;
}

/**
 * Fitted by `fitLinearModel` on all 100 CNN/DailyMail development articles (`npm run eval --
 * --summaries ../shared/eval/cnndm/train_sample.csv` prints the fit and its out-of-fold figures).
 * The product uses the all-data fit; the README reports only out-of-fold figures. Read the
 * weights with the features' scales in mind (graph and centroid features span [0, 1] per article,
 * `words` is words / 30): the largest are TextRank, specificity and the lead plateau (`top3`),
 * the embedding centroid and LexRank add little once TextRank is in.
 */
export const DEFAULT_MODEL: Readonly<LinearModel> = {
  bias: 0,
  weights: {
    centroid: 0.0132,
    forward: 0.0469,
    textrank: 0.1296,
    lexrank: 0.0111,
    lead: 0,
    leadSlow: 0,
    early: 0.0639,
    top1: 0,
    top2: 0,
    top3: 0.0788,
    top4: 0,
    top5: 0.0173,
    specific: 0.1264,
    words: -0.0698,
    long: -0.1473,
    quote: -0.0178,
    caption: 0.0076,
  },
};

export interface SummarizerTuning {
  model: LinearModel;
  /**
   * MMR trade-off: 1 = score only, 0 = novelty only. The default is 1: out of fold a novelty term
   * cost ROUGE at every length, and near-duplicates are excluded outright by the two thresholds.
   */
  lambda: number;
  duplicateCosine: number;
  duplicateOverlap: number;
  minWords: number;
}

export const DEFAULT_TUNING: Readonly<SummarizerTuning> = {
  model: DEFAULT_MODEL,
  lambda: 1,
  duplicateCosine: 0.9,
  duplicateOverlap: 0.7,
  minWords: 6,
};

export interface SummarizeOptions {
  /** Default 'medium'. */
  length?: SummaryLength;
  /** Override the chosen length's budget (experiments and equal-budget evaluation). */
  budget?: Partial<LengthBudget>;
  /** Override scoring knobs (fitting and experiments). */
  tuning?: Partial<SummarizerTuning>;
}

interface Sentence {
  text: string;
  paragraph: number;
  /** 0-based position among the article's distinct sentences. */
  index: number;
  words: number;
}

const PUBLICATION_STAMP = /^(?:last\s+)?(?:published|updated|posted|modified)\b/i;
const PAGE_FURNITURE = /^(?:scroll down|click here|read more|see more|watch the video|video:)/i;
const AGENCY_DATELINE = /^(?:[A-Z][\w.'’-]*(?:[ ,]+[A-Z][\w.'’-]*){0,5}\s*)?\((?:CNN|AP|Reuters|AFP|EW\.com|CNN Money)\)\s*(?:--|—|–|-)?\s*/;


/** Number of words that contain a letter (numbers and times do not count). */
function letterWords(text: string): number {
  let n = 0;
  for (const t of wordTokens(text)) if (/\p{L}/u.test(t)) n++;
  return n;
}

/** True for bylines, datelines, publication stamps and other non-sentences. */
export function isFragment(text: string, minWords = DEFAULT_TUNING.minWords): boolean {
  const t = text.trim();
  if (PUBLICATION_STAMP.test(t) || PAGE_FURNITURE.test(t)) return true;
  return letterWords(t) < minWords;
}

/** Trims a leading news-agency dateline: "Beirut (CNN) -- Syria ..." → "Syria ...". */
export function stripDateline(text: string): string {
  const m = AGENCY_DATELINE.exec(text);
  if (!m) return text;
  const rest = text.slice(m[0].length);
  return rest.length > 0 ? rest : text;
}

/** The article's distinct sentences in order; identical texts (ignoring case/punctuation) kept once. */
export function distinctSentences(passages: SummaryPassage[]): Sentence[] {
  const seen = new Set<string>();
  const out: Sentence[] = [];
  for (const p of passages) {
    for (const s of splitSentences(p.text)) {
      const tokens = wordTokens(s);
      const key = tokens.length > 0 ? tokens.join(' ') : s;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ text: s, paragraph: p.paragraph, index: out.length, words: tokens.length });
    }
  }
  return out;
}

function centroidOf(vectors: Float32Array[]): Float32Array {
  const c = new Float32Array(vectors[0]?.length ?? 0);
  for (const v of vectors) for (let i = 0; i < c.length; i++) c[i] += v[i];
  return unitVector(c);
}

/** What {@link selectByMmr} needs to know about the candidate sentences (indexes 0..n-1). */
export interface MmrInput {
  scores: number[];
  /** Weight of the score against the similarity to what is already chosen. */
  lambda: number;
  /** Words of each candidate ({@link countWords}). */
  words: number[];
  budget: LengthBudget;
  similarity: (a: number, b: number) => number;
  /** Candidate `k` says nothing new once `chosen` is in: never pick it. */
  isDuplicate: (k: number, chosen: number) => boolean;
  /** Candidates that may not be picked at all. Default none. */
  excluded?: boolean[];
}

/**
 * Maximal marginal relevance under a word budget, shared by article and topic summaries:
 * repeatedly takes the candidate with the best `lambda * score - (1 - lambda) * similarity to the
 * chosen ones`, skips one that would break the budget, and drops near-duplicates of each pick.
 * Returns the chosen indexes in the order picked (possibly none, when nothing fits); ties go to
 * the earlier candidate, so the output is deterministic.
 */
export function selectByMmr(input: MmrInput): number[] {
  const { scores, lambda, words, budget, similarity, isDuplicate } = input;
  const n = scores.length;
  const excluded = input.excluded ? [...input.excluded] : new Array<boolean>(n).fill(false);
  const maxSim = new Array<number>(n).fill(0);
  const selected: number[] = [];
  let used = 0;
  for (;;) {
    let best = -1;
    let bestValue = -Infinity;
    for (let k = 0; k < n; k++) {
      if (excluded[k]) continue;
      const value = lambda * scores[k] - (1 - lambda) * maxSim[k];
      if (value > bestValue) {
        bestValue = value; // strict ">" keeps the earlier sentence on ties
        best = k;
      }
    }
    if (best < 0) break;
    excluded[best] = true;
    if (used + words[best] > budget.maxWords) continue;
    selected.push(best);
    used += words[best];
    for (let k = 0; k < n; k++) {
      if (excluded[k]) continue;
      if (used + words[k] > budget.maxWords) excluded[k] = true; // can never fit any more
      else if (isDuplicate(k, best)) excluded[k] = true;
      else {
        const s = similarity(k, best);
        if (s > maxSim[k]) maxSim[k] = s;
      }
    }
  }
  return selected;
}

/**
 * Fills a word budget from a ranking, best first, skipping what does not fit; returns indexes in
 * article order. The equal-budget rule the eval applies to every system (Lead, TextRank, ours).
 */
export function fillBudget(ranking: number[], words: number[], maxWords: number): number[] {
  const chosen: number[] = [];
  let used = 0;
  for (const k of ranking) {
    if (used + words[k] > maxWords) continue;
    chosen.push(k);
    used += words[k];
  }
  if (chosen.length === 0 && ranking.length > 0) chosen.push(ranking[0]); // one over-long sentence beats nothing
  return chosen.sort((a, b) => a - b);
}

/** Share of a's distinct content words that also occur in b. */
export function containment(a: Set<string>, b: Set<string>): number {
  if (a.size === 0) return 0;
  let n = 0;
  for (const w of a) if (b.has(w)) n++;
  return n / a.size;
}

/** An article split, filtered, embedded and featurised: everything selection needs, no model yet. */
export interface PreparedArticle {
  /** Returned as is (nothing to choose): empty, or at most two distinct sentences. */
  whole: SummarySentence[] | null;
  /** Candidate sentences in article order (datelines trimmed). */
  texts: string[];
  paragraphs: number[];
  words: number[];
  /** Pairwise cosines, n × n. */
  sim: Float64Array[];
  /** Feature rows ({@link FEATURE_NAMES} order). */
  features: number[][];
}

/** Steps 1–4 without the scoring: the part that costs an embedding call. */
export async function prepareArticle(passages: SummaryPassage[], embedder: Embedder, minWords = DEFAULT_TUNING.minWords): Promise<PreparedArticle> {
  const empty = { texts: [], paragraphs: [], words: [], sim: [], features: [] };
  const all = distinctSentences(passages);
  if (all.length <= 2) {
    return { ...empty, whole: all.map((s) => ({ text: s.text, paragraph: s.paragraph, score: 1 })) };
  }
  let candidates = all.filter((s) => !isFragment(s.text, minWords));
  if (candidates.length === 0) candidates = all;
  const texts = candidates.map((s) => stripDateline(s.text));

  const vectors = (await embedder.embed(texts)).map((v) => unitVector(v));
  if (vectors.length !== texts.length) {
    throw new Error(`summarizeArticle: embedder returned ${vectors.length} vectors for ${texts.length} sentences`);
  }
  const n = vectors.length;
  const sim: Float64Array[] = vectors.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    sim[i][i] = 1;
    for (let j = i + 1; j < n; j++) sim[i][j] = sim[j][i] = dot(vectors[i], vectors[j]);
  }
  const centroid = centroidOf(vectors);
  const words = texts.map(countWords);
  const features = sentenceFeatures({ texts, words, sim, centroidCosine: vectors.map((v) => dot(v, centroid)) });
  return { whole: null, texts, paragraphs: candidates.map((s) => s.paragraph), words, sim, features };
}

/** Steps 5–6: pure; the same prepared article can be summarised under any model and budget. */
export function selectSentences(prepared: PreparedArticle, tuning: SummarizerTuning, budget: LengthBudget): Summary {
  if (prepared.whole) return { sentences: prepared.whole };
  const { texts, sim, words } = prepared;
  const n = texts.length;
  const scores = scoreFeatures(prepared.features, tuning.model);
  const scaled = minMax(scores);
  const tokenSets = texts.map((t) => new Set(contentTokens(t)));
  const selected = selectByMmr({
    scores: scaled,
    lambda: tuning.lambda,
    words,
    budget,
    similarity: (a, b) => sim[a][b],
    isDuplicate: (k, best) => sim[k][best] >= tuning.duplicateCosine || containment(tokenSets[k], tokenSets[best]) >= tuning.duplicateOverlap,
  });
  // Every candidate was longer than the budget: the best one alone is still a summary.
  if (selected.length === 0) {
    let best = 0;
    for (let k = 1; k < n; k++) if (scores[k] > scores[best]) best = k;
    selected.push(best);
  }
  selected.sort((a, b) => a - b);
  return {
    sentences: selected.map((k) => ({ text: texts[k], paragraph: prepared.paragraphs[k], score: scores[k] })),
  };
}

export async function summarizeArticle(
  passages: SummaryPassage[],
  embedder: Embedder,
  options: SummarizeOptions = {},
): Promise<Summary> {
  const tuning: SummarizerTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const budget: LengthBudget = { ...SUMMARY_LENGTHS[options.length ?? 'medium'], ...options.budget };
  const prepared = await prepareArticle(passages, embedder, tuning.minWords);
  return selectSentences(prepared, tuning, budget);
}
