import type { QuestionOutcome, StoredSource } from '../../core/store/feedback.js';
import { newestTime, periodFromOptions, summarizeLatest } from '../../core/dates/latest.js';
import type { SummaryLength, SummaryResult } from '../../core/summarize/service.js';
import { isUserInputError, type AnswerOutcome } from '../answer.js';
import { logHandlerError, newErrorId } from '../errors.js';
import { TimeoutError, withTimeout } from '../limits.js';
import { renderError, renderNotice, renderSummary } from '../render.js';
import type { BotContext } from '../types.js';

export type SummaryKind = 'article' | 'topic' | 'latest';

export interface SummaryRequest {
  /** Recorded with the summary: 'slash'. */
  via: string;
  /** For logs: '/summary article', '/summary topic'. */
  command: string;
  kind: SummaryKind;
  /** The article (id or title, as the member gave it) or the topic. */
  ref: string;
  length: SummaryLength;
  /** A period, as the member wrote it (`/summary topic|latest since: until:`). */
  since?: string;
  until?: string;
  userId: string;
  guildId: string | null;
  channelId: string | null;
}

export interface SummaryOutcome extends Omit<AnswerOutcome, 'result'> {
  result?: SummaryResult;
}

const LENGTH_LABEL: Record<SummaryLength, string> = { short: 'Short', medium: 'Medium', long: 'Long' };

/**
 * What a summary is stored as in the questions table, so "Show passages", 👍 / 👎 and the usage
 * counts treat it like an answer: `summary: <article title>` or `summary topic: <topic>`.
 */
export function summaryQuestionText(kind: SummaryKind, title: string): string {
  return kind === 'article' ? `summary: ${title}` : kind === 'latest' ? `summary latest: ${title}` : `summary topic: ${title}`;
}

/** The footer line under a summary: which length, and that the sentences are quoted. */
export function summaryHint(result: Pick<SummaryResult, 'kind' | 'length' | 'sources'>): string {
  const label = LENGTH_LABEL[result.length] ?? 'A';
  if (result.kind === 'article') return `${label} summary · sentences quoted from the article`;
  const articles = new Set(result.sources.map((s) => s.articleId)).size;
  return `${label} summary of what ${articles} article${articles === 1 ? '' : 's'} say${articles === 1 ? 's' : ''} · sentences quoted`;
}

function storedSources(result: SummaryResult): StoredSource[] {
  return result.sources.map(({ n, passageId, articleId, title, paragraph, url, text }) => ({ n, passageId, articleId, title, paragraph, url, text }));
}

/**
 * Summarises under the concurrency limit and the answer time-out, records the summary like a
 * question (so the buttons under it work), and returns the final message. Never throws: an
 * unknown or ambiguous title (the core's UserInputError) becomes a notice with outcome
 * 'rejected'; a time-out or failure becomes a payload that says what happened.
 */
export async function runSummary(ctx: BotContext, req: SummaryRequest): Promise<SummaryOutcome> {
  const started = performance.now();
  const base = { via: req.via, userId: req.userId, guildId: req.guildId, channelId: req.channelId, conversationId: null };
  const logContext = { command: req.command, guildId: req.guildId, userId: req.userId, questionChars: req.ref.length };
  const record = async (input: Omit<Parameters<BotContext['store']['recordQuestion']>[0], keyof typeof base>): Promise<number | undefined> => {
    try {
      return await ctx.store.recordQuestion({ ...base, ...input });
    } catch (error) {
      ctx.logger.warn({ err: error, ...logContext }, 'could not record the summary');
      return undefined;
    }
  };

  try {
    const service = ctx.summaries;
    if (!service) throw new Error('no SummaryService in the bot context');
    const result = await withTimeout(ctx.settings.answerTimeoutMs, (signal) =>
      ctx.limiter.run(
        async () => {
          if (req.kind === 'article') return service.summarizeArticle(req.ref, req.length);
          if (req.kind === 'latest') return summarizeLatest(ctx.kb, service, { since: req.since, until: req.until, length: req.length });
          const window = req.since || req.until ? periodFromOptions(req.since, req.until, newestTime(await ctx.kb.listArticles())) : undefined;
          return service.summarizeTopic(req.ref, req.length, window ? { window } : {});
        },
        signal,
      ),
    );
    const ms = performance.now() - started;
    const outcome: QuestionOutcome = result.found ? 'answered' : 'no-answer';
    const questionId = result.found
      ? await record({ question: summaryQuestionText(req.kind, result.title), outcome, answer: result.text, sources: storedSources(result), ms })
      : await record({ question: summaryQuestionText(req.kind, result.title), outcome, ms });
    ctx.logger.info(
      { ...logContext, kind: req.kind, length: req.length, outcome, sentences: result.sentences.length, sources: result.sources.length, cached: result.cached, ms: Math.round(ms) },
      `summary ${outcome}`,
    );
    const payload = renderSummary(result, { questionId: result.found ? questionId : undefined, hint: result.found ? summaryHint(result) : undefined });
    return { outcome, payload, questionId, result };
  } catch (error) {
    const ms = performance.now() - started;
    const question = summaryQuestionText(req.kind, req.ref.trim());
    if (error instanceof TimeoutError) {
      await record({ question, outcome: 'timeout', ms });
      ctx.logger.warn({ ...logContext, ms: Math.round(ms), timeoutMs: error.ms, queued: ctx.limiter.waiting }, 'summary timed out');
      const seconds = Math.round(error.ms / 1000);
      return {
        outcome: 'timeout',
        payload: renderNotice(`Sorry, that summary took too long (more than ${seconds} s), so I stopped. Please try again in a moment, or ask for a shorter one.`),
      };
    }
    if (isUserInputError(error)) {
      ctx.logger.info({ ...logContext, kind: req.kind }, 'summary rejected');
      return { outcome: 'rejected', payload: renderNotice(error.message) };
    }
    const errorId = logHandlerError(ctx.logger, error, logContext, newErrorId());
    await record({ question, outcome: 'error', ms });
    return { outcome: 'error', payload: renderError(errorId), errorId };
  }
}
