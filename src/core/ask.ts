/**
 * A question's way through the core: validate → retrieve once → compose → a plain result.
 * Works over anything that retrieves (one knowledge base, or a server's layered view of its own
 * articles and the base layer), so the same rules hold whichever answers.
 */
import type { Reranker } from './answer-models.js';
import { composeAnswer, type AnswerInputs, type ComposeOptions } from './answer.js';
import { inWindow, parseTimeQuery, withoutTime, type DateWindow } from './dates/time-query.js';
import { UserInputError } from './errors.js';
import type { FusionOptions } from './retrieve.js';
import type { AskResult, ScoredPassage } from './types.js';

export interface AskOptions {
  /** Earlier questions of the same conversation, oldest first: "and who led them?" is read with them. */
  history?: string[];
  /** How many passages to consider. Default 8. */
  topK?: number;
  /**
   * false: time in the question is not read (its words are searched like any others, no period
   * applies). Only the eval turns it off, to measure what reading it is worth.
   */
  readTime?: boolean;
}

export interface RetrieveOptions {
  topK?: number;
  /** A vector already computed for this query (skips embedding it again). */
  queryVector?: Float32Array;
  fusion?: FusionOptions;
  /** Only articles published in this window (an undated article is outside any window). */
  window?: Pick<DateWindow, 'from' | 'to'>;
}

/** The `exclude` test of `searchCandidates` for a date window (undefined: nothing excluded). */
export function outsideWindow(window: RetrieveOptions['window']): ((article: { date?: string }) => boolean) | undefined {
  return window ? (article) => !inWindow(article.date, window) : undefined;
}

/**
 * The date window a question names, read relative to the newest article's date (see
 * `parseTimeQuery` for why not the clock), or undefined without a time expression or dated articles.
 */
export function timeWindowOf(question: string, newestArticleTime: () => number | undefined): DateWindow | undefined {
  // Cheap test first: most questions have no digits and no time words.
  if (!/\d|\b(yesterday|today|week|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|latest|newest|recent|recently|lately|new|since|ago)\b/i.test(question)) return undefined;
  const newest = newestArticleTime();
  return newest === undefined ? undefined : parseTimeQuery(question, new Date(newest));
}

export interface Retrieved {
  passages: ScoredPassage[];
  /** The query's vector, when it was embedded (absent while the index waits for a reindex). */
  queryVector?: Float32Array;
  embedMs: number;
  searchMs: number;
}

/** What the composer reads beside the passages and the question's vector. */
export type AnswerContext = Omit<AnswerInputs, 'questionVector'>;

/** What `ask` needs of a knowledge base. */
export interface Retriever {
  validateQuestion(question: string): string;
  retrieve(query: string, options?: RetrieveOptions): Promise<Retrieved>;
  /** Sentence vectors and entities (cached), and how many passages were searched. */
  answerInputs(): AnswerContext;
  /**
   * The newest article's publication time (epoch ms; undefined without dated articles), for
   * questions about time (without it, time in a question changes nothing). Read on every such
   * question, so answered from memory, not from the store.
   */
  newestArticleTime?(): number | undefined;
}

/** Default longest question, in characters (MAX_QUESTION_CHARS). */
export const DEFAULT_MAX_QUESTION_CHARS = 1000;

/** Checks a question and returns it trimmed, or throws a {@link UserInputError} that says what is wrong. */
export function validateQuestion(question: string, maxChars = DEFAULT_MAX_QUESTION_CHARS): string {
  const trimmed = (question ?? '').replace(/\s+/g, ' ').trim();
  if (!trimmed) throw new UserInputError('Please type a question, for example: "Where did the talks take place?"');
  if (trimmed.length > maxChars) throw new UserInputError(`That question is ${trimmed.length} characters long; please keep it under ${maxChars}.`);
  return trimmed;
}

/** The last two non-empty earlier questions of a conversation. */
function recentHistory(history: string[] | undefined): string[] {
  return (history ?? []).map((h) => h.trim()).filter(Boolean).slice(-2);
}

/**
 * What is searched for a question: a follow-up ("and who led them?") is searched together with
 * the two questions before it. Exported so the written-answer path retrieves exactly what `ask` did.
 */
export function searchQuery(question: string, history?: string[]): string {
  const recent = recentHistory(history);
  return recent.length > 0 ? `${recent.join(' ')} ${question}` : question;
}

/**
 * The passages in the re-ranker's order (best first; ties keep the fused order), each with its
 * re-ranker score beside the fused one. When the re-ranker fails, the fused order stands: the
 * question is still answered, and the re-ranker's implementation reports the failure.
 */
export async function rerankPassages(reranker: Reranker, query: string, passages: ScoredPassage[]): Promise<ScoredPassage[]> {
  let scores: number[];
  try {
    scores = await reranker.score(query, passages.map((p) => p.passage.text));
  } catch {
    return passages;
  }
  if (scores.length !== passages.length || scores.some((s) => !Number.isFinite(s))) return passages;
  return passages
    .map((p, i) => ({ p: { ...p, rerank: scores[i] }, i }))
    .sort((a, b) => b.p.rerank - a.p.rerank || a.i - b.i)
    .map(({ p }) => p);
}

export const NO_ANSWER = "I couldn't find an answer to that in the knowledge base.";

/** Answers a question from what `retriever` finds, with cited sources, or says it has no answer. */
export async function askKnowledge(
  retriever: Retriever,
  question: string,
  options: AskOptions & { compose?: ComposeOptions } = {},
): Promise<AskResult> {
  const started = performance.now();
  const q = retriever.validateQuestion(question);
  const history = recentHistory(options.history);
  const window = retriever.newestArticleTime && options.readTime !== false ? timeWindowOf(q, () => retriever.newestArticleTime!()) : undefined;
  // The time words select articles by date; searched for, they would only match stray "week"s, and
  // read by the composer they count as question words the chosen passages do not hold.
  const asked = window ? withoutTime(q, window) : q;
  const query = searchQuery(asked, options.history);
  const context = retriever.answerInputs();
  let rerankMs: number | undefined;
  const rerank = async (found: Retrieved): Promise<Retrieved> => {
    // Read after retrieval: a model that loads beside the embedder is there once the question is embedded.
    const reranker = options.compose?.models?.reranker;
    if (!reranker || found.passages.length < 2) return found;
    const t = performance.now();
    const passages = await rerankPassages(reranker, query, found.passages);
    rerankMs = (rerankMs ?? 0) + performance.now() - t;
    return { ...found, passages };
  };
  // Retrieved once per period; the question's vector (absent while the index waits for a reindex) also scores sentences.
  let composeMs = 0;
  const compose = async (found: Retrieved) => {
    const t = performance.now();
    const inputs: AnswerInputs = { ...context, questionVector: found.queryVector, sentenceVectors: found.queryVector ? context.sentenceVectors : undefined };
    let answer = await composeAnswer(asked, found.passages, inputs, options.compose);
    if (!answer.answered && history.length > 0) answer = await composeAnswer(query, found.passages, inputs, options.compose);
    composeMs += performance.now() - t;
    return answer;
  };
  const first = await rerank(await retriever.retrieve(query, { topK: options.topK, ...(window ? { window } : {}) }));
  let { passages, embedMs, searchMs } = first;
  let composed = await compose(first);
  let widened = false;
  if (window && !composed.answered) {
    // Nothing from that period answers: answer from every article, and say so.
    const all = await rerank(await retriever.retrieve(query, { topK: options.topK, ...(first.queryVector ? { queryVector: first.queryVector } : {}) }));
    passages = all.passages;
    embedMs += all.embedMs;
    searchMs += all.searchMs;
    composed = await compose(all);
    widened = true;
  }
  const suggestions: AskResult['suggestions'] = [];
  if (!composed.answered) {
    for (const p of passages) {
      if (suggestions.length >= 3) break;
      if (!suggestions.some((s) => s.articleId === p.passage.articleId)) {
        suggestions.push({ articleId: p.passage.articleId, title: p.articleTitle, url: p.articleUrl });
      }
    }
  }
  return {
    question: q,
    answered: composed.answered,
    answer: composed.answered ? composed.answer : NO_ANSWER,
    sources: composed.sources,
    ...(composed.answered && composed.highlight ? { highlight: composed.highlight } : {}),
    suggestions,
    timings: { embed: embedMs, search: searchMs, compose: composeMs, total: performance.now() - started, ...(rerankMs !== undefined ? { rerank: rerankMs } : {}) },
    ...(window ? { time: { text: window.text, ...(window.from ? { from: window.from } : {}), ...(window.to ? { to: window.to } : {}), ...(widened ? { widened } : {}) } } : {}),
    passages,
  };
}
