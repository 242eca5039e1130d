import { splitSentences } from './text/sentences.js';
import { contentTokens } from './text/tokens.js';
import { textSimilarity } from './retrieve.js';
import { answerTypeMatch, type SentenceEntities } from './answer/entities.js';
import { expectedAnswer, type ExpectedAnswer } from './answer/question-type.js';
import {
  REFUSAL_MODEL,
  SENTENCE_WEIGHTS,
  answerProbability,
  corpusSizeSignal,
  cosine,
  coverage,
  sentenceScore,
  termWeights,
  type AnswerSignals,
  type RefusalModel,
  type SentenceFeatures,
  type SentenceWeights,
} from './answer/score.js';
import type { AnswerModels, TextSpan } from './answer-models.js';
import type { ScoredPassage, Source } from './types.js';

/** Options of {@link composeAnswer}. */
export interface ComposeOptions {
  /** Longest answer in characters (markers included). Default 600. */
  maxChars?: number;
  /** Most sentences in an answer. Default 3. */
  maxSentences?: number;
  /** How many of the top passages the answer/refuse signals read (the refusal model was fitted on 3). Default 3. */
  passagesConsidered?: number;
  /**
   * How many of the top passages sentences are drawn from. Default 5, beyond the 3 the signals
   * read: fusion favours passages that share the question's words ("meet" in "meetings"), so the
   * sentence that holds the asked-for kind of answer ("in Qatar") may sit in the fourth.
   */
  sentencePassages?: number;
  /** Weights of the sentence score (default: the fitted ones). */
  sentenceWeights?: SentenceWeights;
  /** The answer/refuse decision (default: the fitted model). */
  refusal?: RefusalModel;
  /** Further sentences (up to maxSentences) join the answer when they score at least this share of the best. Default 0.5. */
  extraSentenceShare?: number;
  /**
   * Optional neural models (RERANK_MODEL, READER_MODEL): `askKnowledge` re-ranks the retrieved
   * passages with the re-ranker before composing, and the composer asks the reader for the answer
   * span of the leading quoted sentence. Default none.
   */
  models?: AnswerModels;
  /** The reader's span is marked only when the model gives it at least this probability (start × end). Default 0.1. */
  minSpanScore?: number;
}

export const DEFAULT_COMPOSE: Required<ComposeOptions> = {
  maxChars: 600,
  maxSentences: 3,
  passagesConsidered: 3,
  sentencePassages: 5,
  sentenceWeights: SENTENCE_WEIGHTS,
  refusal: REFUSAL_MODEL,
  extraSentenceShare: 0.5,
  models: {},
  minSpanScore: 0.1,
};

/**
 * What the composer may use besides the passages. Both are optional: without them sentences are
 * scored by words, answer type and passage rank only.
 */
export interface AnswerInputs {
  /** The question's vector, from the embedder that made `sentenceVectors`. */
  questionVector?: Float32Array;
  /** Vectors of sentences, one per text in order (the caller caches them; see SentenceVectorCache). */
  sentenceVectors?: (texts: string[]) => Promise<Float32Array[]>;
  /** Entities of a sentence, e.g. read from a cache filled at ingest; default: tagged now (about a millisecond a sentence). */
  sentenceEntities?: (sentence: string) => SentenceEntities;
  /** How many passages the question was searched among (all knowledge bases together); unknown counts as large. */
  corpusPassages?: number;
}

export interface ComposedAnswer {
  answered: boolean;
  /** Text with [n] markers; empty when not answered. */
  answer: string;
  sources: Source[];
  /** Probability (0–1) that the knowledge base holds the answer, from the refusal model. */
  confidence: number;
  /** The reader's answer span inside the leading quoted sentence (offsets into `answer`), when a reader found one. */
  highlight?: TextSpan;
  /** What the decision read, for evaluation and fitting. */
  signals?: AnswerSignals;
  expected?: ExpectedAnswer;
}

/** Sentences scored by words alone are ranked first; only this many go on to the NLP tagger. */
const TYPE_CHECKED = 8;

/** A candidate sentence of the top passages, with the features and score that ranked it. */
export interface RankedSentence extends SentenceFeatures {
  text: string;
  /** Index into the passages the sentences were drawn from. */
  passageIndex: number;
  score: number;
}

/** The question as the word side reads it: "U.S." and "US" are one word. */
function wordsOf(text: string): string[] {
  return contentTokens(text.replace(/\b([A-Za-z])\.([A-Za-z])\.(?:([A-Za-z])\.)?/g, '$1$2$3 '));
}

/**
 * Every sentence of the first `passagesConsidered` passages, best first (see {@link composeAnswer}).
 * Exported for evaluation and for tests of the ranking alone.
 */
export async function rankSentences(
  question: string,
  ranked: ScoredPassage[],
  inputs: AnswerInputs = {},
  options: ComposeOptions = {},
): Promise<{ sentences: RankedSentence[]; weights: Map<string, number>; expected: ExpectedAnswer }> {
  const opts = { ...DEFAULT_COMPOSE, ...options };
  const passages = ranked.slice(0, opts.sentencePassages);
  const questionTerms = wordsOf(question);
  const questionSet = new Set(questionTerms);
  const weights = termWeights(questionTerms, ranked.slice(0, 10), wordsOf);
  const expected = expectedAnswer(question);
  // The highest fused score, not the first passage's: a re-ranker may have put another passage first.
  const best = (passages.length > 0 ? Math.max(...passages.map((p) => p.score)) : 0) || 1;
  const candidates: RankedSentence[] = [];
  passages.forEach((p, passageIndex) => {
    const titleTerms = new Set(wordsOf(p.articleTitle));
    splitSentences(p.passage.text).forEach((text, position) => {
      const terms = new Set(wordsOf(text));
      // The title is context for every sentence of its article ("the talks" of "Hamas talks"),
      // but counts for less than the sentence's own words.
      const own = coverage(terms, weights);
      const withTitle = coverage(new Set([...terms, ...titleTerms]), weights);
      candidates.push({
        text,
        passageIndex,
        position,
        coverage: 0.8 * own + 0.2 * withTitle,
        dense: 0,
        type: 0,
        rank: Math.max(0, p.score) / best,
        score: 0,
      });
    });
  });
  if (candidates.length > 0 && inputs.questionVector && inputs.sentenceVectors) {
    const vectors = await inputs.sentenceVectors(candidates.map((c) => c.text));
    candidates.forEach((c, i) => (c.dense = vectors[i] ? Math.max(0, cosine(inputs.questionVector!, vectors[i])) : 0));
  }
  const w = opts.sentenceWeights;
  for (const c of candidates) c.score = sentenceScore(c, w);
  if (expected.type !== 'other') {
    candidates.sort((a, b) => b.score - a.score);
    for (const c of candidates.slice(0, TYPE_CHECKED)) {
      c.type = answerTypeMatch(expected, c.text, questionSet, inputs.sentenceEntities);
      c.score = sentenceScore(c, w);
    }
  }
  candidates.sort((a, b) => b.score - a.score || a.passageIndex - b.passageIndex || a.position - b.position);
  return { sentences: candidates, weights, expected };
}

/**
 * Picks the sentences of the top passages that best answer the question and cites each.
 * A sentence's score mixes its embedding similarity to the question, how much of the question's
 * words (stemmed, idf-weighted) it holds, whether it holds the kind of answer the question expects
 * (a person for "who", a date for "when", …) and how well its passage ranked. Whether to answer at
 * all is a fitted logistic decision over the same signals. Never writes text of its own: every
 * sentence is quoted from a passage, and every [n] points at a returned source.
 */
export async function composeAnswer(
  question: string,
  ranked: ScoredPassage[],
  inputs: AnswerInputs = {},
  options: ComposeOptions = {},
): Promise<ComposedAnswer> {
  const opts = { ...DEFAULT_COMPOSE, ...options };
  const passages = ranked.slice(0, opts.passagesConsidered);
  const { sentences: candidates, weights, expected } = await rankSentences(question, ranked, inputs, opts);
  if (candidates.length === 0) return { answered: false, answer: '', sources: [], confidence: 0 };

  const top = candidates[0];
  const ownCoverage = (text: string) => coverage(new Set(wordsOf(text)), weights);
  const context = new Set(passages.flatMap((p) => wordsOf(`${p.articleTitle} ${p.passage.text}`)));
  const heaviest = Math.max(0, ...weights.values());
  const signals: AnswerSignals = {
    passageDense: passages[0].dense ?? 0,
    sentenceDense: top.dense,
    sentenceCoverage: ownCoverage(top.text),
    passageCoverage: coverage(new Set(wordsOf(`${passages[0].articleTitle} ${passages[0].passage.text}`)), weights),
    contextCoverage: coverage(context, weights),
    missingTerm: heaviest > 0 ? Math.max(0, ...[...weights].filter(([t]) => !context.has(t)).map(([, w]) => w)) / heaviest : 0,
    type: top.type,
    typed: expected.type === 'other' ? 0 : 1,
    corpusSize: corpusSizeSignal(inputs.corpusPassages),
    margin: fusedMargin(passages),
  };
  const confidence = answerProbability(signals, opts.refusal);
  if (confidence < opts.refusal.threshold) {
    return { answered: false, answer: '', sources: [], confidence, signals, expected };
  }

  const chosen: RankedSentence[] = [top];
  let length = top.text.length + 5;
  for (const s of candidates.slice(1)) {
    if (chosen.length >= opts.maxSentences) break;
    if (s.score < opts.extraSentenceShare * top.score || s.coverage + s.dense === 0) continue;
    if (length + s.text.length + 5 > opts.maxChars) continue;
    if (chosen.some((c) => textSimilarity(c.text, s.text) >= 0.5)) continue;
    chosen.push(s);
    length += s.text.length + 5;
  }
  // The best sentence leads (it is the one that holds the answer most often); the others follow
  // in reading order.
  const rest = chosen.slice(1).sort((a, b) => a.passageIndex - b.passageIndex || a.position - b.position);
  chosen.splice(1, rest.length, ...rest);

  const sources: Source[] = [];
  const numberOf = new Map<number, number>();
  const parts: string[] = [];
  for (const s of chosen) {
    let n = numberOf.get(s.passageIndex);
    if (n === undefined) {
      const p = ranked[s.passageIndex];
      n = sources.length + 1;
      numberOf.set(s.passageIndex, n);
      sources.push(toSource(p, n));
    }
    parts.push(`${truncate(s.text, opts.maxChars - 5)} [${n}]`);
  }
  const answer = parts.join(' ');
  const highlight = await readerSpan(question, top.text, answer, opts);
  return { answered: true, answer, sources, confidence, signals, expected, ...(highlight ? { highlight } : {}) };
}

/**
 * How far the best fused score is ahead of the second among the passages the decision reads. The
 * refusal model was fitted on fused scores in fused order; taking the two highest keeps this signal
 * what it was fitted on when a re-ranker has put the passages in another order.
 */
function fusedMargin(passages: ScoredPassage[]): number {
  if (passages.length < 2) return 1;
  const [first, second] = passages.map((p) => p.score).sort((a, b) => b - a);
  return Math.max(0, (first - second) / (Math.abs(first) || 1));
}

/**
 * The reader's answer inside the leading sentence, as offsets into `answer` (which starts with
 * that sentence), widened to whole words. None without a reader, when it is unsure, when its span
 * would be (nearly) the whole sentence, or when it fails: the answer itself never depends on it.
 */
async function readerSpan(question: string, sentence: string, answer: string, opts: Required<ComposeOptions>): Promise<TextSpan | undefined> {
  const reader = opts.models.reader;
  if (!reader) return undefined;
  let found;
  try {
    found = await reader.read(question, sentence);
  } catch {
    return undefined; // the reader's implementation reports its own failures
  }
  if (!found || found.score < opts.minSpanScore) return undefined;
  const span = wholeWords(sentence, found);
  if (!span || span.end - span.start >= 0.9 * sentence.trim().length) return undefined;
  // The sentence may have been cut to fit the answer: mark only what is shown.
  if (answer.slice(span.start, span.end) !== sentence.slice(span.start, span.end)) return undefined;
  return span;
}

/**
 * `span` widened to the whole words it touches, without the punctuation around them ("Qatar." →
 * "Qatar"), so markup never splits a word (nor a mention such as `@everyone`). Null when nothing is left.
 */
export function wholeWords(text: string, span: TextSpan): TextSpan | null {
  let start = Math.max(0, Math.min(span.start, text.length));
  let end = Math.max(start, Math.min(span.end, text.length));
  while (start > 0 && /\S/.test(text[start - 1])) start--;
  while (end < text.length && /\S/.test(text[end])) end++;
  while (start < end && /[\s"'“‘([{]/.test(text[start])) start++;
  while (end > start && /[\s"'”’)\]},.;:!?]/.test(text[end - 1])) end--;
  return end > start ? { start, end } : null;
}

/** The numbered source under an answer or summary for a retrieved passage. */
export function toSource(p: ScoredPassage, n: number): Source {
  return {
    n,
    passageId: p.passage.id,
    articleId: p.passage.articleId,
    title: p.articleTitle,
    paragraph: p.passage.paragraph,
    url: p.articleUrl,
    text: p.passage.text,
    score: p.score,
    ...(p.layer ? { layer: p.layer } : {}),
    ...(p.articleDate ? { date: p.articleDate } : {}),
  };
}

/** Cuts at a word boundary and marks the cut; a quoted sentence is never silently shortened. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
