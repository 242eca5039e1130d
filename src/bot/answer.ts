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
  return result.sources.map(({ n, passageId, articleId, title, paragraph, url, text }) => ({ n, passageId, articleId, title, paragraph, url, text }));
}

/**
 * Answers one question under the concurrency limit and the answer time-out, records it, and
 * returns the final message. Never throws: every failure becomes a payload that says what happened.
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
  const record = (input: Parameters<BotContext['store']['recordQuestion']>[0]): number | undefined => {
    try {
      return ctx.store.recordQuestion(input);
    } catch (error) {
      ctx.logger.warn({ err: error, ...logContext }, 'could not record the question');
      return undefined;
    }
  };

  try {
    const result = await withTimeout(ctx.settings.answerTimeoutMs, (signal) =>
      ctx.limiter.run(() => ctx.kb.ask(req.question, { history: req.history }), signal),
    );
    const ms = performance.now() - started;
    const outcome: QuestionOutcome = result.answered ? 'answered' : 'no-answer';
    const questionId = record({ ...base, outcome, answer: result.answer, sources: storedSources(result), ms });
    ctx.logger.info(
      { ...logContext, outcome, sources: result.sources.length, historyLength: req.history.length, ms: Math.round(ms) },
      `question ${outcome}`,
    );
    const payload = result.answered
      ? renderAnswer(result, { questionId, hint: req.hint })
      : renderNoAnswer(result, { hint: req.hint });
    return { outcome, payload, questionId, result };
  } catch (error) {
    const ms = performance.now() - started;
    if (error instanceof TimeoutError) {
      record({ ...base, outcome: 'timeout', ms });
      ctx.logger.warn({ ...logContext, ms: Math.round(ms), timeoutMs: error.ms, queued: ctx.limiter.waiting }, 'question timed out');
      return { outcome: 'timeout', payload: renderTimeout(error.ms) };
    }
    if (isUserInputError(error)) {
      ctx.logger.info({ ...logContext }, 'question rejected');
      return { outcome: 'rejected', payload: renderNotice(error.message) };
    }
    const errorId = logHandlerError(ctx.logger, error, logContext, newErrorId());
    record({ ...base, outcome: 'error', ms });
    return { outcome: 'error', payload: renderError(errorId), errorId };
  }
}
