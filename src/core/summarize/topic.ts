/**
 * Topic summaries: what the knowledge base says about a topic, across articles.
 *
 * Pipeline (deterministic; ties go to the better-ranked passage, then the earlier sentence):
 *
 * 1. Relevance cut on the retrieved passages ({@link relevantPassages}). A passage is kept when
 *    - it speaks to the topic: at least `minPassageCoverage` (0.5) of the topic's distinct content
 *      (stemmed, non-stop) words occur in the passage itself — 1 of 1, 1 of 2, 2 of 3, 2 of 4;
 *      the article title does not count, or an article titled "Qatar hosts hostage talks" would
 *      make its paragraph about a museum in Qatar relevant to "hostage talks in Qatar" — or its
 *      cosine to the topic is at least `minPassageDense` (0.6: a paraphrase with other words); and
 *    - its fused retrieval score is at least `minRelativeScore` (0.35) of the best kept passage's.
 *    Nothing kept → the knowledge base has nothing on the topic (no text is produced).
 * 2. Candidate sentences: every sentence of the kept passages (the one splitter of the codebase),
 *    identical sentences kept once, bylines/stamps dropped (`isFragment`), datelines trimmed.
 * 3. ONE `embedder.embed` call for the candidates. Each sentence is scored
 *      wRelevance · cos(sentence, topic) + wCoverage · topicCoverage
 *        + wCentral · cos(sentence, centroid of candidates) + wRank · passageScore / bestScore
 *    (topicCoverage: share of the topic's content words in the sentence, title-only words at half)
 *        − wLength · words / 30        (× longPenalty above `maxWords` words)
 *    where the cosines are min-max scaled over the candidates. Only sentences that contain a
 *    topic word themselves, or whose cosine to the topic is within 80 % of the best one, are
 *    eligible: a relevant paragraph's aside is not a summary of the topic.
 * 4. MMR selection within the length's word budget ({@link SUMMARY_LENGTHS}); a candidate that repeats
 *    a selected sentence is never taken — cosine ≥ `duplicateCosine`, or word-trigram Jaccard ≥
 *    `duplicateTrigram`, or either sentence's non-topic content words contained in the other's
 *    at ≥ `duplicateOverlap`. Topic words are left out of that overlap: every candidate shares them.
 *    This is what keeps the same fact reported by two articles from appearing twice.
 * 5. Reading order: articles in the order of their best passage, sentences in article order.
 */
import type { Embedder } from '../embed/embedder.js';
import { textSimilarity } from '../retrieve.js';
import { splitSentences } from '../text/sentences.js';
import { contentTokens, wordTokens } from '../text/tokens.js';
import type { ScoredPassage } from '../types.js';
import { SUMMARY_LENGTHS, containment, countWords, dot, isFragment, selectByMmr, stripDateline, type SummaryLength } from './summarizer.js';
import { unitVector } from '../vectors.js';
import { minMax } from './features.js';

export interface TopicTuning {
  minPassageCoverage: number;
  minPassageDense: number;
  minRelativeScore: number;
  /** A sentence whose raw cosine to the topic is at least this share of the best one is eligible. */
  minSentenceRelativeDense: number;
  wRelevance: number;
  wCoverage: number;
  wCentral: number;
  wRank: number;
  wLength: number;
  maxWords: number;
  longPenalty: number;
  minWords: number;
  /** MMR trade-off: 1 = relevance only, 0 = novelty only. */
  lambda: number;
  duplicateCosine: number;
  duplicateTrigram: number;
  duplicateOverlap: number;
  /** Containment is only judged when the smaller sentence has at least this many non-topic content words. */
  duplicateMinWords: number;
}

export const DEFAULT_TOPIC_TUNING: Readonly<TopicTuning> = {
  minPassageCoverage: 0.5,
  minPassageDense: 0.6,
  minRelativeScore: 0.35,
  minSentenceRelativeDense: 0.8,
  wRelevance: 0.4,
  wCoverage: 0.3,
  wCentral: 0.2,
  wRank: 0.1,
  wLength: 0.05,
  maxWords: 60,
  longPenalty: 0.7,
  minWords: 6,
  lambda: 0.75,
  duplicateCosine: 0.9,
  duplicateTrigram: 0.5,
  duplicateOverlap: 0.6,
  duplicateMinWords: 3,
};

/** Share of `terms` found in `own`; terms found only in `title` count half. */
export function topicCoverage(terms: Set<string>, own: Set<string>, title: Set<string> = new Set()): number {
  if (terms.size === 0) return 0;
  let hit = 0;
  for (const t of terms) {
    if (own.has(t)) hit += 1;
    else if (title.has(t)) hit += 0.5;
  }
  return hit / terms.size;
}

/** The retrieved passages that actually speak to the topic (see step 1 above), in rank order. */
export function relevantPassages(topic: string, ranked: ScoredPassage[], tuning: Partial<TopicTuning> = {}): ScoredPassage[] {
  const t = { ...DEFAULT_TOPIC_TUNING, ...tuning };
  const terms = new Set(contentTokens(topic));
  const speaks = ranked.filter((p) => {
    const own = topicCoverage(terms, new Set(contentTokens(p.passage.text)));
    return own >= t.minPassageCoverage || (p.dense ?? 0) >= t.minPassageDense;
  });
  if (speaks.length === 0) return [];
  const best = Math.max(...speaks.map((p) => p.score));
  return speaks.filter((p) => p.score >= t.minRelativeScore * best);
}

export interface TopicSentence {
  text: string;
  /** Index into the `passages` given to {@link summarizeTopicPassages}. */
  passageIndex: number;
  score: number;
}

export interface TopicOptions {
  length?: SummaryLength;
  tuning?: Partial<TopicTuning>;
  /** The topic's vector when the caller already has it (saves an embedding). */
  topicVector?: Float32Array;
}

interface Candidate {
  text: string;
  passageIndex: number;
  position: number;
  words: number;
  own: Set<string>;
  coverage: number;
  hasTopicWord: boolean;
}

/**
 * Summarises already-relevant passages (use {@link relevantPassages} first) with respect to the
 * topic. Returns the chosen sentences in reading order; empty when there is nothing to say.
 */
export async function summarizeTopicPassages(
  topic: string,
  passages: ScoredPassage[],
  embedder: Embedder,
  options: TopicOptions = {},
): Promise<TopicSentence[]> {
  const t = { ...DEFAULT_TOPIC_TUNING, ...options.tuning };
  const budget = SUMMARY_LENGTHS[options.length ?? 'medium'];
  if (passages.length === 0) return [];
  const terms = new Set(contentTokens(topic));

  const seen = new Set<string>();
  let candidates: Candidate[] = [];
  passages.forEach((p, passageIndex) => {
    const title = new Set(contentTokens(p.articleTitle));
    splitSentences(p.passage.text).forEach((raw, position) => {
      const tokens = wordTokens(raw);
      const key = tokens.join(' ') || raw;
      if (seen.has(key)) return;
      seen.add(key);
      const text = stripDateline(raw);
      const own = new Set(contentTokens(text));
      candidates.push({
        text,
        passageIndex,
        position,
        words: tokens.length,
        own,
        coverage: topicCoverage(terms, own, title),
        hasTopicWord: [...terms].some((w) => own.has(w)),
      });
    });
  });
  const substantial = candidates.filter((c) => !isFragment(c.text, t.minWords));
  if (substantial.length > 0) candidates = substantial;
  if (candidates.length === 0) return [];

  const embedded = await embedder.embed(options.topicVector ? candidates.map((c) => c.text) : [topic, ...candidates.map((c) => c.text)]);
  const topicVector = unitVector(options.topicVector ?? embedded[0]);
  const vectors = (options.topicVector ? embedded : embedded.slice(1)).map((v) => unitVector(v));
  if (vectors.length !== candidates.length) {
    throw new Error(`summarizeTopic: embedder returned ${vectors.length} vectors for ${candidates.length} sentences`);
  }
  const n = candidates.length;
  const centroid = new Float32Array(topicVector.length);
  for (const v of vectors) for (let i = 0; i < centroid.length; i++) centroid[i] += v[i];
  const centroidUnit = unitVector(centroid);
  const rawRelevance = vectors.map((v) => dot(v, topicVector));
  const relevance = minMax(rawRelevance);
  const central = minMax(vectors.map((v) => dot(v, centroidUnit)));
  const bestPassage = Math.max(...passages.map((p) => p.score)) || 1;
  const bestRelevance = Math.max(...rawRelevance);

  const scores = candidates.map((c, k) => {
    const rank = Math.max(0, passages[c.passageIndex].score) / bestPassage;
    let score = t.wRelevance * relevance[k] + t.wCoverage * c.coverage + t.wCentral * central[k] + t.wRank * rank;
    if (c.words > t.maxWords) score *= t.longPenalty;
    return score - (t.wLength * c.words) / 30;
  });
  const eligible = candidates.map(
    (c, k) => c.hasTopicWord || (bestRelevance > 0 && rawRelevance[k] >= t.minSentenceRelativeDense * bestRelevance),
  );
  // Redundancy is judged on what a sentence says beyond the topic words that all of them share.
  const extra = candidates.map((c) => new Set([...c.own].filter((w) => !terms.has(w))));

  const isDuplicate = (a: number, b: number): boolean => {
    if (dot(vectors[a], vectors[b]) >= t.duplicateCosine) return true;
    if (textSimilarity(candidates[a].text, candidates[b].text) >= t.duplicateTrigram) return true;
    const small = extra[a].size <= extra[b].size ? a : b;
    const large = small === a ? b : a;
    if (extra[small].size < t.duplicateMinWords) return false;
    return containment(extra[small], extra[large]) >= t.duplicateOverlap;
  };

  const selected = selectByMmr({
    scores,
    lambda: t.lambda,
    words: candidates.map((c) => countWords(c.text)),
    budget,
    similarity: (a, b) => dot(vectors[a], vectors[b]),
    isDuplicate,
    excluded: eligible.map((e) => !e),
  });

  // Every eligible sentence was longer than the budget: the best one alone is still a summary.
  if (selected.length === 0) {
    let best = -1;
    for (let k = 0; k < n; k++) if (eligible[k] && (best < 0 || scores[k] > scores[best])) best = k;
    if (best >= 0) selected.push(best);
  }

  // Reading order: articles by their best passage's rank, then article order within each article.
  const articleRank = new Map<string, number>();
  passages.forEach((p, i) => {
    if (!articleRank.has(p.passage.articleId)) articleRank.set(p.passage.articleId, i);
  });
  const order = (k: number) => {
    const c = candidates[k];
    const p = passages[c.passageIndex].passage;
    return [articleRank.get(p.articleId)!, p.paragraph, c.passageIndex, c.position];
  };
  selected.sort((a, b) => {
    const oa = order(a);
    const ob = order(b);
    for (let i = 0; i < oa.length; i++) if (oa[i] !== ob[i]) return oa[i] - ob[i];
    return a - b;
  });
  return selected.map((k) => ({ text: candidates[k].text, passageIndex: candidates[k].passageIndex, score: scores[k] }));
}
