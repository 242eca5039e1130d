import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

export type { Logger };

/** Structured logs: readable lines in a terminal, one JSON object per line in production. */
export function createLogger(config: Config['log']): Logger {
  // Logs go to stderr so that stdout carries only what a command prints (answers, --json output).
  if (config.format === 'json') return pino({ level: config.level }, pino.destination(2));
  return pino(
    { level: config.level },
    pretty({ colorize: process.stderr.isTTY, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', destination: 2, sync: true }),
  );
}
