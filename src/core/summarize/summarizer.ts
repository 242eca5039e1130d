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
 * 4. Embed all candidates in ONE `embedder.embed` call (vectors are re-normalised) and score
 *      wCentral · centrality + wForward · forwardCentrality + wLead · leadPrior
 *        + wSpecific · specificity − wLength · words / 30
 *    - centrality: cosine to the article centroid (mean of the sentence vectors), min-max scaled
 *      within the article — coverage of what the article is about;
 *    - forwardCentrality: mean cosine to the sentences that come AFTER it (PACSUM-style directed
 *      centrality), min-max scaled — a sentence that the rest of the story elaborates on;
 *    - leadPrior: 1 for the first `plateau` (3) candidates, then 1 / (1 + (position − plateau + 1)
 *      / leadScale); position is the 0-based rank among candidates, so bylines and stamps do not
 *      push the lead down. A flat top, because news often opens with a hook and states the facts
 *      in sentences 2–3;
 *    - specificity: share of words (after the first) that are capitalised or contain a digit —
 *      names, places, figures;
 *    - sentences longer than `maxWords` (60) words are multiplied by `longPenalty`, image captions
 *      ("Retread: David Cameron with ...") by `captionPenalty`.
 * 5. Select with MMR: repeatedly take the candidate maximising
 *      λ · score − (1 − λ) · max cosine to the already-selected sentences,
 *    never taking a near-duplicate (cosine ≥ `duplicateCosine` to a selected sentence, or
 *    ≥ `duplicateOverlap` of its content words contained in one), until the length budget is met.
 * 6. Return the selection in article order.
 *
 * Length budgets ({@link SUMMARY_LENGTHS}): a sentence is added while fewer than `maxSentences`
 * are selected and (fewer than `minSentences` are selected or the summary stays within
 * `maxChars`); a sentence that would break the character budget is skipped and the next best
 * one tried. A single sentence longer than the whole budget is only used when nothing else is
 * available.
 *
 * Small articles: an empty article gives no sentences; an article with at most two distinct
 * sentences is returned whole (no embedding call); a short article is never padded.
 */
import type { Embedder } from '../embed/embedder.js';
import { splitSentences } from '../text/sentences.js';
import { contentTokens, wordTokens } from '../text/tokens.js';

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
  minSentences: number;
  maxSentences: number;
  /** Character budget for the joined summary, honoured once `minSentences` are selected. */
  maxChars: number;
}

/**
 * short ≈ 2–3 sentences, medium ≈ 4–5, long ≈ 8. Characters count the sentence texts joined by
 * single spaces.
 */
export const SUMMARY_LENGTHS: Readonly<Record<SummaryLength, LengthBudget>> = {
  short: { minSentences: 2, maxSentences: 3, maxChars: 550 },
  medium: { minSentences: 4, maxSentences: 5, maxChars: 800 },
  long: { minSentences: 6, maxSentences: 8, maxChars: 1400 },
};

/** Scoring knobs; defaults tuned on CNN/DailyMail (see `scripts/eval-summaries.ts`). */
export interface SummarizerTuning {
  /** Weight of the cosine to the centroid of all candidate sentences (min-max scaled). */
  wCentral: number;
  /** Weight of the cosine to the centroid of the lead (first `leadSentences` candidates), min-max scaled. */
  wLeadSim: number;
  leadSentences: number;
  /** Weight of forward centrality (mean cosine to the sentences that FOLLOW; PACSUM-style), min-max scaled. */
  wForward: number;
  /** Weight of the position prior. */
  wLead: number;
  /** prior = 1 for the first `plateau` candidates, then 1 / (1 + (position − plateau + 1) / leadScale). */
  plateau: number;
  leadScale: number;
  /** Weight of specificity: share of capitalised (not sentence-initial) words and numbers. */
  wSpecific: number;
  /** Subtracted per 30 words: favours dense sentences at equal merit. */
  wLength: number;
  /** MMR trade-off: 1 = relevance only, 0 = novelty only. */
  lambda: number;
  duplicateCosine: number;
  duplicateOverlap: number;
  minWords: number;
  maxWords: number;
  /** Score multipliers for very long sentences (> maxWords) and image captions. */
  longPenalty: number;
  captionPenalty: number;
}

export const DEFAULT_TUNING: Readonly<SummarizerTuning> = {
  wCentral: 0.5,
  wLeadSim: 0,
  leadSentences: 3,
  wForward: 0.5,
  wLead: 1,
  plateau: 3,
  leadScale: 1,
  wSpecific: 1.5,
  wLength: 0.1,
  lambda: 0.9,
  duplicateCosine: 0.9,
  duplicateOverlap: 0.7,
  minWords: 6,
  maxWords: 60,
  longPenalty: 0.7,
  captionPenalty: 0.7,
};

export interface SummarizeOptions {
  /** Default 'medium'. */
  length?: SummaryLength;
  /** Override parts of the chosen length's budget (experiments; the product uses `length`). */
  budget?: Partial<LengthBudget>;
  /** Override scoring knobs (for tuning and experiments). */
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
/** "Retread: David Cameron ..." — a Daily Mail style image caption label (1–3 capitalised words). */
const CAPTION_LABEL = /^[A-Z][\w'’-]*(?: [\w'’-]+){0,2}:\s/;

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

function unit(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  const out = new Float32Array(v.length);
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = v[i] / norm;
  return out;
}

function centroidOf(vectors: Float32Array[]): Float32Array {
  const c = new Float32Array(vectors[0]?.length ?? 0);
  for (const v of vectors) for (let i = 0; i < c.length; i++) c[i] += v[i];
  return unit(c);
}

/** Scales values to [0, 1] within the article (all 1 when they are equal). */
function minMax(values: number[]): number[] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo;
  return values.map((v) => (span > 1e-9 ? (v - lo) / span : 1));
}

/** Dot product; the cosine of two unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** What {@link selectByMmr} needs to know about the candidate sentences (indexes 0..n-1). */
export interface MmrInput {
  scores: number[];
  /** Weight of the score against the similarity to what is already chosen. */
  lambda: number;
  /** Characters of each candidate. */
  lengths: number[];
  budget: LengthBudget;
  similarity: (a: number, b: number) => number;
  /** Candidate `k` says nothing new once `chosen` is in: never pick it. */
  isDuplicate: (k: number, chosen: number) => boolean;
  /** Candidates that may not be picked at all. Default none. */
  excluded?: boolean[];
}

/**
 * Maximal marginal relevance under a length budget, shared by article and topic summaries:
 * repeatedly takes the candidate with the best `lambda * score - (1 - lambda) * similarity to the
 * chosen ones`, skips one that would break the character budget once `minSentences` are chosen,
 * and drops near-duplicates of each pick. Returns the chosen indexes in the order picked; ties go
 * to the earlier candidate, so the output is deterministic.
 */
export function selectByMmr(input: MmrInput): number[] {
  const { scores, lambda, lengths, budget, similarity, isDuplicate } = input;
  const n = scores.length;
  const excluded = input.excluded ? [...input.excluded] : new Array<boolean>(n).fill(false);
  const maxSim = new Array<number>(n).fill(0);
  const selected: number[] = [];
  let chars = 0;
  while (selected.length < budget.maxSentences) {
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
    const added = lengths[best] + (selected.length > 0 ? 1 : 0);
    const fits = chars + added <= budget.maxChars;
    if (!fits && (selected.length >= budget.minSentences || lengths[best] > budget.maxChars)) continue;
    selected.push(best);
    chars += added;
    for (let k = 0; k < n; k++) {
      if (excluded[k]) continue;
      const s = similarity(k, best);
      if (s > maxSim[k]) maxSim[k] = s;
      if (isDuplicate(k, best)) excluded[k] = true;
    }
  }
  return selected;
}

/** Share of a's distinct content words that also occur in b. */
export function containment(a: Set<string>, b: Set<string>): number {
  if (a.size === 0) return 0;
  let n = 0;
  for (const w of a) if (b.has(w)) n++;
  return n / a.size;
}

export async function summarizeArticle(
  passages: SummaryPassage[],
  embedder: Embedder,
  options: SummarizeOptions = {},
): Promise<Summary> {
  const tuning: SummarizerTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const budget: LengthBudget = { ...SUMMARY_LENGTHS[options.length ?? 'medium'], ...options.budget };

  const all = distinctSentences(passages);
  if (all.length === 0) return { sentences: [] };
  if (all.length <= 2) {
    return { sentences: all.map((s) => ({ text: s.text, paragraph: s.paragraph, score: 1 })) };
  }

  let candidates = all.filter((s) => !isFragment(s.text, tuning.minWords));
  if (candidates.length === 0) candidates = all;
  const texts = candidates.map((s) => stripDateline(s.text));

  const vectors = (await embedder.embed(texts)).map(unit);
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
  const leadCentroid = centroidOf(vectors.slice(0, Math.max(1, tuning.leadSentences)));
  const central = minMax(vectors.map((v) => dot(v, centroid)));
  const leadSim = minMax(vectors.map((v) => dot(v, leadCentroid)));
  const forward = minMax(
    sim.map((row, k) => {
      let sum = 0;
      for (let j = k + 1; j < n; j++) sum += row[j];
      return sum / Math.max(1, n - 1);
    }),
  );

  const scores = candidates.map((s, k) => {
    const prior = k < tuning.plateau ? 1 : 1 / (1 + (k - tuning.plateau + 1) / tuning.leadScale);
    let score =
      tuning.wCentral * central[k] +
      tuning.wLeadSim * leadSim[k] +
      tuning.wForward * forward[k] +
      tuning.wLead * prior +
      tuning.wSpecific * specificity(texts[k]);
    if (s.words > tuning.maxWords) score *= tuning.longPenalty;
    if (CAPTION_LABEL.test(texts[k])) score *= tuning.captionPenalty;
    return score - (tuning.wLength * s.words) / 30;
  });

  const tokenSets = texts.map((t) => new Set(contentTokens(t)));
  const selected = selectByMmr({
    scores,
    lambda: tuning.lambda,
    lengths: texts.map((t) => t.length),
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
    sentences: selected.map((k) => ({ text: texts[k], paragraph: candidates[k].paragraph, score: scores[k] })),
  };
}
