/**
 * `npm run feedback:export [-- --format csv|json] [--out FILE] [--since ISO_DATE]`
 * Writes every 👍 / 👎 the bot received (question, answer, cited passage ids, user id, time) as CSV
 * (default; `--out x.json` implies JSON) or JSON, to stdout or FILE. Reads `<DATA_DIR>/catalog.sqlite`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FeedbackStore, feedbackToCsv, feedbackToJson } from '../src/core/store/feedback.js';

export const USAGE = 'Usage: npm run feedback:export -- [--format csv|json] [--out FILE] [--since 2025-01-31]';

export interface ExportOptions {
  format: 'csv' | 'json';
  out?: string;
  /** ISO timestamp: only votes at or after it. */
  since?: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseExportArgs(args: string[]): ExportOptions | 'help' {
  let format: 'csv' | 'json' | undefined;
  let out: string | undefined;
  let since: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--format') {
      const v = value();
      if (v !== 'csv' && v !== 'json') throw new UsageError('--format must be csv or json');
      format = v;
    } else if (a === '--out') out = value();
    else if (a === '--since') {
      const v = value();
      if (Number.isNaN(Date.parse(v))) throw new UsageError('--since must be a date such as 2025-01-31');
      since = new Date(v).toISOString();
    } else if (a === '-h' || a === '--help') return 'help';
    else throw new UsageError(`Unexpected argument: ${a}`);
  }
  return { format: format ?? (out?.toLowerCase().endsWith('.json') ? 'json' : 'csv'), out, since };
}

/** Exports the votes stored under `dataDir`; returns how many rows were written. */
export function exportFeedback(
  dataDir: string,
  options: ExportOptions,
  io: { stdout: (text: string) => void; stderr: (text: string) => void } = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  },
): number {
  const file = join(dataDir, 'catalog.sqlite');
  if (!existsSync(file)) throw new Error(`No data yet: ${file} does not exist (check DATA_DIR).`);
  const store = FeedbackStore.open(file);
  try {
    const rows = store.listFeedback({ since: options.since });
    const text = options.format === 'json' ? feedbackToJson(rows) : feedbackToCsv(rows);
    if (options.out) {
      writeFileSync(options.out, text);
      io.stderr(`Wrote ${rows.length} feedback row${rows.length === 1 ? '' : 's'} to ${options.out} (${options.format}).\n`);
    } else {
      io.stdout(text);
    }
    return rows.length;
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  await import('dotenv/config');
  let options: ExportOptions | 'help';
  try {
    options = parseExportArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // Only DATA_DIR matters here; the full settings check belongs to npm start.
  const dataDir = resolve(process.env.DATA_DIR || 'data');
  try {
    exportFeedback(dataDir, options);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
