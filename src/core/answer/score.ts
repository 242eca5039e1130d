import { contentTokens } from '../text/tokens.js';
import type { ScoredPassage } from '../types.js';

/**
 * Pure scoring of candidate sentences and of the answer/refuse decision. Everything here takes
 * plain numbers and strings, so it can be fitted and tested without an index or a model.
 */

/** idf-like weights of the question's terms, estimated over the candidate passages. */
export function termWeights(questionTerms: string[], passages: ScoredPassage[], words: (text: string) => string[] = contentTokens): Map<string, number> {
  const docs = passages.map((p) => new Set(words(`${p.articleTitle} ${p.passage.text}`)));
  const weights = new Map<string, number>();
  for (const t of new Set(questionTerms)) {
    const df = docs.filter((d) => d.has(t)).length;
    weights.set(t, Math.log(1 + (docs.length + 1) / (df + 0.5)));
  }
  return weights;
}

/** Share of the question's (weighted) terms that `terms` contains. */
export function coverage(terms: Set<string>, weights: Map<string, number>): number {
  let total = 0;
  let hit = 0;
  for (const [t, w] of weights) {
    total += w;
    if (terms.has(t)) hit += w;
  }
  return total > 0 ? hit / total : 0;
}

export { cosine } from '../vectors.js';

/** What is known about one candidate sentence. */
export interface SentenceFeatures {
  /** Weighted share of the question's words in the sentence (0.8) and its article title (0.2). */
  coverage: number;
  /** Cosine similarity of the sentence to the question (0 when no vectors). */
  dense: number;
  /** The sentence holds the expected kind of answer (0–1), see answerTypeMatch. */
  type: number;
  /** The passage's fused score relative to the first passage's (0–1). */
  rank: number;
  /** 0 for a passage's first sentence, 1 for the next, … */
  position: number;
}

/** Weights of the sentence score (chosen with scripts/fit-answer.ts on the even-numbered bbc-qa questions; README, Quality). */
export interface SentenceWeights {
  coverage: number;
  dense: number;
  type: number;
  rank: number;
  position: number;
}

export const SENTENCE_WEIGHTS: SentenceWeights = { coverage: 0.45, dense: 0.3, type: 0.35, rank: 0.4, position: 0.01 };

export function sentenceScore(f: SentenceFeatures, w: SentenceWeights = SENTENCE_WEIGHTS): number {
  return w.coverage * f.coverage + w.dense * f.dense + w.type * f.type + w.rank * f.rank - w.position * f.position;
}

/** The signals the answer/refuse decision reads; all are scale-free, so one fit serves any corpus size. */
export interface AnswerSignals {
  /** Cosine similarity of the first passage to the question. */
  passageDense: number;
  /** Cosine of the best sentence to the question (0 without vectors). */
  sentenceDense: number;
  /** Word coverage of the best sentence (own words only). */
  sentenceCoverage: number;
  /** Word coverage of the first passage with its title. */
  passageCoverage: number;
  /** Word coverage of the first 3 passages and their titles together: words found nowhere mean the knowledge base does not speak of it. */
  contextCoverage: number;
  /**
   * Weight of the heaviest question word found in none of the first 3 passages and titles,
   * relative to the heaviest word overall: 1 when the rarest thing asked about ("iPhone") is absent.
   */
  missingTerm: number;
  /** The best sentence holds the expected kind of answer (0–1); 0 also when the question expects none. */
  type: number;
  /** The question expects a specific kind of answer (who/where/when/how many/why/which X). */
  typed: number;
  /** (first − second passage score) / first. */
  margin: number;
  /**
   * log10(passages searched) / 4, at most 1. The best of 11,000 passages is similar to almost any
   * question; the best of six is not, so in a small knowledge base the same similarity means more.
   */
  corpusSize: number;
}

/** The {@link AnswerSignals.corpusSize} of a knowledge base (or several searched together) of `passages` passages. */
export function corpusSizeSignal(passages: number | undefined): number {
  // Unknown: as a large corpus, the cautious side.
  if (passages === undefined) return 1;
  return Math.min(1, Math.log10(Math.max(1, passages)) / 4);
}

/**
 * Logistic model of "the knowledge base holds the answer", fitted on answerable and unanswerable
 * questions together (scripts/fit-answer.ts): intercept, then one weight per signal.
 */
export interface RefusalModel {
  intercept: number;
  weights: Record<keyof AnswerSignals, number>;
  /** Answer when the probability reaches this. */
  threshold: number;
}

export const SIGNAL_NAMES: (keyof AnswerSignals)[] = [
  'passageDense',
  'sentenceDense',
  'sentenceCoverage',
  'passageCoverage',
  'contextCoverage',
  'missingTerm',
  'type',
  'typed',
  'margin',
  'corpusSize',
];

// Fitted by scripts/fit-answer.ts on 120 bbc-qa questions (each also with its own article hidden,
// asked of a knowledge base holding only its article, and of one holding only another story), the
// 40 unanswerable bbc-qa questions and 800 SQuADShifts questions (each also with its own article
// hidden), every set weighted equally. The threshold maximises, on the 5-fold cross-validated
// predictions, the share of answerable questions answered minus the share of unanswerable ones
// answered, summed over BBC, SQuADShifts and one-article knowledge bases (README, Quality: the curve).
export const REFUSAL_MODEL: RefusalModel = {
  intercept: -5.876,
  weights: {
    passageDense: 2.721,
    sentenceDense: 2.354,
    sentenceCoverage: 1.792,
    passageCoverage: 3.218,
    contextCoverage: 3.077,
    missingTerm: 1.731,
    type: -0.078,
    typed: 0.251,
    margin: 0.598,
    corpusSize: -3.087,
  },
  threshold: 0.4,
};

export function answerProbability(s: AnswerSignals, model: RefusalModel = REFUSAL_MODEL): number {
  let z = model.intercept;
  for (const name of SIGNAL_NAMES) z += model.weights[name] * s[name];
  return 1 / (1 + Math.exp(-z));
}
