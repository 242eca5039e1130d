// Light modules (no knowledge base, no embedder): the written path and the draft throttle.
import { throttle, type Throttled } from '../core/llm/throttle.js';
import { askWritten, type WrittenResult } from '../core/llm/written-answer.js';
import type { QuestionOutcome, StoredSource } from '../core/store/feedback.js';
import type { AskResult } from '../core/types.js';
import { logHandlerError, newErrorId } from './errors.js';
import { TimeoutError, withTimeout } from './limits.js';
import { renderAnswer, renderError, renderNoAnswer, renderNotice, renderTimeout, type MessagePayload } from './render.js';
import type { BotContext } from './types.js';

export interface QuestionRequest {
  /** Recorded with the question: 'slash', 'context-menu', 'mention', 'thread'. */
  via: string;
  /** For logs: '/ask', 'Ask the knowledge base', 'mention', 'thread follow-up'. */
  command: string;
  /** Already validated (trimmed) question. */
  question: string;
  userId: string;
  guildId: string | null;
  channelId: string | null;
  /** Thread whose later questions will see this one as history (null: none). */
  conversationId: string | null;
  /** Earlier questions of the conversation, oldest first. */
  history: string[];
  /** Footer line under the answer (how to follow up). */
  hint?: string;
  /**
   * Shows a written answer while it streams in (only with a language model): called with a draft
   * (the checked text so far, no sources, no buttons, "Writing…" in the footer) at most once per
   * {@link DRAFT_INTERVAL_MS}, never after {@link answerQuestion} has returned, so the caller's
   * final message always replaces the last draft. Failures are logged and do not stop the answer.
   */
  onDraft?: (payload: MessagePayload) => Promise<unknown>;
}

/** Drafts are edited in at most once per second (Discord rate-limits message edits). */
export const DRAFT_INTERVAL_MS = 1000;
/** Footer of a draft. */
export const DRAFT_HINT = 'Writing…';

/**
 * How long before the answer deadline the model request is cancelled, so a slow model ends in the
 * extractive answer rather than in "that took too long": 1 s, or a quarter of a short time-out.
 */
export function modelReserveMs(answerTimeoutMs: number): number {
  return Math.min(1000, Math.round(answerTimeoutMs / 4));
}

export interface AnswerOutcome {
  outcome: QuestionOutcome;
  /** The final message: an answer, "no answer", a time-out note or an apology with an error id. */
  payload: MessagePayload;
  questionId?: number;
  errorId?: string;
  result?: AskResult;
}

/** The core's UserInputError (checked by name so this module does not load the core at import time). */
export function isUserInputError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'UserInputError';
}

function storedSources(result: AskResult): StoredSource[] {
  return result.sources.map(({ n, passageId, articleId, title, paragraph, url, text, layer }) => ({ n, passageId, articleId, title, paragraph, url, text, ...(layer ? { layer } : {}) }));
}

/** Fallback reasons that mean the model failed (rather than answered without a usable citation). */
const MODEL_FAILURE = /^(timeout|aborted|network|http|bad-response|error)\b/;

function isWritten(result: AskResult | WrittenResult): result is WrittenResult {
  return 'mode' in result && (result.mode === 'written' || result.mode === 'extractive');
}

/** What the logs say about a written answer: never the question or answer text. */
function writtenLog(result: WrittenResult): Record<string, unknown> {
  return {
    mode: result.mode,
    ...(result.fallbackReason ? { fallbackReason: result.fallbackReason } : {}),
    ...(result.llm
      ? {
          model: result.llm.model,
          modelMs: Math.round(result.llm.ms),
          streamed: result.llm.streamed,
          droppedSentences: result.llm.droppedSentences,
          strippedCitations: result.llm.strippedCitations.length,
        }
      : {}),
  };
}

/** A signal that aborts when `parent` does or after `ms` (at once when `ms` <= 0); `dispose` clears the timer. */
function deadlineSignal(parent: AbortSignal, ms: number): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = setTimeout(abort, Math.max(0, ms));
  if (parent.aborted) abort();
  else parent.addEventListener('abort', abort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', abort);
    },
  };
}

/**
 * Answers one question under the concurrency limit and the answer time-out, records it, and
 * returns the final message. Never throws: every failure becomes a payload that says what happened.
 *
 * With a language model (`ctx.llm`) the answer is written by the model and checked (see
 * `askWritten`), streamed through `req.onDraft` when given; the model request is cancelled
 * {@link modelReserveMs} before the deadline, so a slow or failing model ends in the extractive
 * answer. Drafts are stopped (and an edit in progress awaited) before this returns.
 */
export async function answerQuestion(ctx: BotContext, req: QuestionRequest): Promise<AnswerOutcome> {
  const started = performance.now();
  const base = {
    via: req.via,
    userId: req.userId,
    guildId: req.guildId,
    channelId: req.channelId,
    conversationId: req.conversationId,
    question: req.question,
  };
  const logContext = { command: req.command, guildId: req.guildId, userId: req.userId, questionChars: req.question.length };
  const record = async (input: Parameters<BotContext['store']['recordQuestion']>[0]): Promise<number | undefined> => {
    try {
      return await ctx.store.recordQuestion(input);
    } catch (error) {
      ctx.logger.warn({ err: error, ...logContext }, 'could not record the question');
      return undefined;
    }
  };

  // Drafts of a streaming written answer. `closed` stops them for good once the answer is settled
  // (or timed out): a draft arriving late must never overwrite the final message.
  let closed = false;
  const onDraft = req.onDraft;
  const draft: Throttled<string> | undefined =
    ctx.llm && onDraft
      ? throttle(
          (text: string) => (closed ? undefined : onDraft(renderAnswer({ question: req.question, answer: text, sources: [] }, { hint: DRAFT_HINT }))),
          DRAFT_INTERVAL_MS,
          { onError: (error) => ctx.logger.warn({ err: error, ...logContext }, 'could not show the draft answer') },
        )
      : undefined;
  const closeDrafts = async () => {
    closed = true;
    await draft?.cancel();
  };

  try {
    const timeoutMs = ctx.settings.answerTimeoutMs;
    const modelDeadline = started + timeoutMs - modelReserveMs(timeoutMs);
    // kb.ask gives an AskResult, askWritten a WrittenResult (with `mode`).
    let result: AskResult | WrittenResult;
    try {
      result = await withTimeout(timeoutMs, (signal) =>
        ctx.limiter.run(async () => {
          if (!ctx.llm) return ctx.kb.ask(req.question, { history: req.history });
          const model = deadlineSignal(signal, modelDeadline - performance.now());
          try {
            return await askWritten(ctx.kb, req.question, {
              client: ctx.llm,
              history: req.history,
              signal: model.signal,
              onToken: draft
                ? (text) => {
                    if (!closed) draft(text);
                  }
                : undefined,
              log: (line) => ctx.logger.debug(logContext, line),
            });
          } finally {
            model.dispose();
            await closeDrafts();
          }
        }, signal),
      );
    } finally {
      // Also on a time-out, when the task above may still be running.
      await closeDrafts();
    }
    const ms = performance.now() - started;
    const outcome: QuestionOutcome = result.answered ? 'answered' : 'no-answer';
    ctx.metrics?.observeQuestion(outcome, ms);
    const questionId = await record({ ...base, outcome, answer: result.answer, sources: storedSources(result), ms });
    const written = isWritten(result) ? writtenLog(result) : {};
    const level = isWritten(result) && result.fallbackReason && MODEL_FAILURE.test(result.fallbackReason) ? 'warn' : 'info';
    ctx.logger[level](
      { ...logContext, outcome, sources: result.sources.length, historyLength: req.history.length, ...written, ms: Math.round(ms) },
      `question ${outcome}`,
    );
    const payload = result.answered
      ? renderAnswer(result, { questionId, hint: req.hint })
      : renderNoAnswer(result, { hint: req.hint });
    return { outcome, payload, questionId, result };
  } catch (error) {
    const ms = performance.now() - started;
    ctx.metrics?.observeQuestion(error instanceof TimeoutError ? 'timeout' : isUserInputError(error) ? 'rejected' : 'error', ms);
    if (error instanceof TimeoutError) {
      await record({ ...base, outcome: 'timeout', ms });
      ctx.logger.warn({ ...logContext, ms: Math.round(ms), timeoutMs: error.ms, queued: ctx.limiter.waiting }, 'question timed out');
      return { outcome: 'timeout', payload: renderTimeout(error.ms) };
    }
    if (isUserInputError(error)) {
      ctx.logger.info({ ...logContext }, 'question rejected');
      return { outcome: 'rejected', payload: renderNotice(error.message) };
    }
    const errorId = logHandlerError(ctx.logger, error, logContext, newErrorId());
    await record({ ...base, outcome: 'error', ms });
    return { outcome: 'error', payload: renderError(errorId), errorId };
  }
}
