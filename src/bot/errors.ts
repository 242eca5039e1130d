import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';

/** Short id shown to the user in an apology and logged with the error, to find one in the other. */
export function newErrorId(): string {
  return randomBytes(4).toString('hex');
}

export interface HandlerErrorContext {
  /** `/ask`, `Ask the knowledge base`, `mention`, `button passages`, ... */
  command: string;
  guildId: string | null;
  userId: string;
  /** Length of the question (never the text itself: logs are not the place for what members asked). */
  questionChars?: number;
}

/** Logs a handler failure with its context and returns the error id for the apology. */
export function logHandlerError(logger: Logger, error: unknown, context: HandlerErrorContext, errorId = newErrorId()): string {
  logger.error({ err: error, errorId, ...context }, `handler failed: ${context.command}`);
  return errorId;
}
