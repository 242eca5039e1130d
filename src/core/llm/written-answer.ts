/**
 * Written answers: a language model rewrites the retrieved passages into a short answer, every
 * sentence citing its passage; the answer is checked ({@link verifyAnswer}) before anyone sees it.
 * The extractive answer stays the fallback: on a time-out, an HTTP or network error, an empty
 * reply or a reply without any valid citation, the extractive result is returned (and the reason
 * logged). A "not in the knowledge base" reply becomes an unanswered result with suggestions.
 */
import type { AskOptions, KnowledgeBase } from '../knowledge-base.js';
import type { AskResult, ScoredPassage } from '../types.js';
import { toSource } from '../answer.js';
import { LlmError, type ChatClient } from './client.js';
import { buildPrompt, type HistoryTurn } from './prompt.js';
import { verifyAnswer } from './verify.js';

/** What the written path adds to an {@link AskResult}, for logs and the evaluation. */
export interface WrittenDetails {
  model: string;
  /** Time spent waiting for the model. */
  ms: number;
  streamed: boolean;
  /** Passages in the prompt, and characters of the whole prompt. */
  passagesShown: number;
  contextChars: number;
  finishReason?: string;
  /** Sentences dropped for lack of a valid citation, and citation numbers removed. */
  droppedSentences: number;
  strippedCitations: number[];
}

export type WrittenResult = AskResult & {
  /** `written`: the model's checked answer (or its "not in the knowledge base"); `extractive`: the fallback. */
  mode: 'written' | 'extractive';
  /** Why the extractive answer is shown instead, when it is. */
  fallbackReason?: string;
  llm?: WrittenDetails;
};

export interface WriteAnswerOptions {
  client: ChatClient;
  /** Earlier turns of the thread, oldest first. */
  history?: HistoryTurn[];
  /**
   * Streams the reply and calls this with the CHECKED text so far — only whole sentences that
   * carry a valid citation, renumbered as in the final answer — whenever it grows. Rate-limit it
   * (see `throttle`) before editing a message with it. Without it the reply is not streamed.
   */
  onToken?: (textSoFar: string) => void;
  /** Why an answer fell back, what was dropped. Never receives the API key. */
  log?: (message: string) => void;
  /** Aborts the model request (the result is then the extractive one). */
  signal?: AbortSignal;
  /** Default: the client's `maxContextChars`, else 6,000. */
  maxContextChars?: number;
  /** Most passages in the prompt. Default 6. */
  maxPassages?: number;
}

/** The core's sentence for "no answer" (the same as `KnowledgeBase.ask`). */
export const NO_ANSWER_TEXT = "I couldn't find an answer to that in the knowledge base.";


function suggestionsFrom(extractive: AskResult, passages: ScoredPassage[]): AskResult['suggestions'] {
  if (extractive.suggestions.length > 0) return extractive.suggestions;
  const out: AskResult['suggestions'] = [];
  for (const p of passages) {
    if (out.length >= 3) break;
    if (!out.some((s) => s.articleId === p.passage.articleId)) out.push({ articleId: p.passage.articleId, title: p.articleTitle, url: p.articleUrl });
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Asks the model for a written answer from `passages` and checks it; falls back to `extractive`.
 * Never throws for a model failure (only for a bug): every failure is a fallback with a reason.
 */
export async function writeAnswer(
  question: string,
  passages: ScoredPassage[],
  extractive: AskResult,
  opts: WriteAnswerOptions,
): Promise<WrittenResult> {
  const { client, log } = opts;
  const fallback = (reason: string, llm?: WrittenDetails): WrittenResult => {
    log?.(`written answer not used (${reason}): showing the extractive answer`);
    return { ...extractive, mode: 'extractive', fallbackReason: reason, ...(llm ? { llm } : {}) };
  };

  const prompt = buildPrompt({
    question,
    passages,
    history: opts.history,
    maxContextChars: opts.maxContextChars ?? client.maxContextChars,
    maxPassages: opts.maxPassages,
  });
  if (prompt.passages.length === 0) return fallback(passages.length === 0 ? 'no passages retrieved' : 'no passage fits the context limit');

  const streamed = opts.onToken !== undefined;
  let shown = '';
  const onDelta = opts.onToken
    ? (_delta: string, soFar: string) => {
        const partial = verifyAnswer(soFar, prompt.excerpts, { partial: true });
        if (partial.kind === 'answer' && partial.text !== shown) {
          shown = partial.text;
          try {
            opts.onToken!(shown);
          } catch (error) {
            // A failing display must not turn into a model failure.
            log?.(`streaming display failed: ${(error as Error)?.message ?? String(error)}`);
          }
        }
      }
    : undefined;

  let reply: string;
  let details: WrittenDetails;
  const started = performance.now();
  try {
    const completion = streamed
      ? await client.stream(prompt.messages, { signal: opts.signal, onDelta })
      : await client.complete(prompt.messages, { signal: opts.signal });
    reply = completion.text;
    details = {
      model: completion.model ?? client.model,
      ms: completion.ms,
      streamed,
      passagesShown: prompt.passages.length,
      contextChars: prompt.chars,
      finishReason: completion.finishReason,
      droppedSentences: 0,
      strippedCitations: [],
    };
  } catch (error) {
    const reason = error instanceof LlmError ? `${error.kind}: ${error.message}` : `error: ${(error as Error)?.message ?? String(error)}`;
    return fallback(reason);
  }
  const ms = performance.now() - started;

  const verdict = verifyAnswer(reply, prompt.excerpts);
  if (verdict.kind === 'not-found') {
    return {
      ...extractive,
      answered: false,
      answer: NO_ANSWER_TEXT,
      sources: [],
      suggestions: suggestionsFrom(extractive, passages),
      timings: { ...extractive.timings, compose: ms, total: extractive.timings.total + ms },
      mode: 'written',
      llm: details,
      passages,
    };
  }
  details.droppedSentences = verdict.droppedSentences.length;
  details.strippedCitations = verdict.strippedCitations;
  if (verdict.kind === 'fallback') {
    const why = verdict.reason === 'empty reply' ? 'empty reply' : `no valid citation${details.droppedSentences ? `, ${plural(details.droppedSentences, 'uncited sentence')}` : ''}`;
    return fallback(why, details);
  }
  if (verdict.droppedSentences.length > 0 || verdict.strippedCitations.length > 0) {
    log?.(
      `written answer checked: dropped ${plural(verdict.droppedSentences.length, 'uncited sentence')}, removed ${plural(verdict.strippedCitations.length, 'invalid citation')}${verdict.strippedCitations.length ? ` (${verdict.strippedCitations.map((n) => `[${n}]`).join('')})` : ''}`,
    );
  }
  return {
    question: extractive.question,
    answered: true,
    answer: verdict.text,
    sources: verdict.cited.map((n, i) => toSource(prompt.passages[n - 1], i + 1)),
    suggestions: [],
    timings: { ...extractive.timings, compose: ms, total: extractive.timings.total + ms },
    mode: 'written',
    llm: details,
    passages,
  };
}

export interface AskWrittenOptions extends Omit<WriteAnswerOptions, 'history'> {
  /** Earlier turns of the thread, oldest first (their questions also steer retrieval, as in `kb.ask`). */
  history?: HistoryTurn[];
  /** Passages retrieved for the prompt. Default 6. */
  topK?: number;
}

/**
 * The whole written path for an adapter: the extractive answer (the fallback, and the "did you
 * mean" suggestions), then {@link writeAnswer} over the passages that same `ask` retrieved (no
 * second search). Throws what `kb.ask` throws (a `UserInputError` for a bad question); model
 * failures fall back instead.
 */
export async function askWritten(kb: Pick<KnowledgeBase, 'ask'>, question: string, opts: AskWrittenOptions): Promise<WrittenResult> {
  const questions = (opts.history ?? []).map((t) => (typeof t === 'string' ? t : t.question));
  const topK = opts.topK ?? opts.maxPassages ?? 6;
  // `ask` retrieves 8 unless told otherwise; a prompt that wants more asks for more.
  const askOptions: AskOptions = { history: questions, ...(topK > 8 ? { topK } : {}) };
  const extractive = await kb.ask(question, askOptions);
  return writeAnswer(extractive.question, extractive.passages.slice(0, topK), extractive, opts);
}
