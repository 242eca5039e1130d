/**
 * `npm run feedback:export [-- --format csv|json] [--out FILE] [--since ISO_DATE]`
 * Writes every 👍 / 👎 the bot received (question, answer, cited passage ids, user id, time) as CSV
 * (default; `--out x.json` implies JSON) or JSON, to stdout or FILE. Reads the store the bot uses
 * (PostgreSQL with DATABASE_URL, else `<DATA_DIR>/catalog.sqlite`): the shared knowledge base's votes,
 * and those given in DMs; `--guild ID` exports one server's votes only: its rows there and, with
 * KB_SCOPE=server, those of its own knowledge base; `--all` adds every server's own knowledge base
 * to the shared one's. Safe beside a running bot: no index is opened.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { feedbackToCsv, feedbackToJson, type FeedbackRow } from '../src/core/store/feedback.js';
import { localCatalogPath, openKnowledgeStore } from '../src/core/store/open.js';

export const USAGE = 'Usage: npm run feedback:export -- [--format csv|json] [--out FILE] [--since 2025-01-31] [--guild SERVER_ID | --all]';

export interface ExportOptions {
  format: 'csv' | 'json';
  out?: string;
  /** ISO timestamp: only votes at or after it. */
  since?: string;
  /** Only this server's votes. */
  guild?: string;
  /** Also every server's own knowledge base (KB_SCOPE=server), not only the shared one. */
  all?: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseExportArgs(args: string[]): ExportOptions | 'help' {
  let format: 'csv' | 'json' | undefined;
  let out: string | undefined;
  let since: string | undefined;
  let guild: string | undefined;
  let all = false;
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
    } else if (a === '--guild') {
      const v = value();
      if (!/^\d{17,20}$/.test(v)) throw new UsageError('--guild must be a Discord server id (17–20 digits)');
      guild = v;
    } else if (a === '--all') all = true;
    else if (a === '-h' || a === '--help') return 'help';
    else throw new UsageError(`Unexpected argument: ${a}`);
  }
  if (all && guild) throw new UsageError('--all and --guild exclude each other: --guild is one server, --all every one');
  return { format: format ?? (out?.toLowerCase().endsWith('.json') ? 'json' : 'csv'), out, since, ...(guild ? { guild } : {}), ...(all ? { all } : {}) };
}

/** Where the votes are: PostgreSQL when `databaseUrl` is set (DATABASE_URL), else the files in `dataDir`. */
export interface ExportSource {
  databaseUrl?: string;
  dataDir: string;
}

/** Exports the votes of the configured store; returns how many rows were written. */
export async function exportFeedback(
  source: ExportSource,
  options: ExportOptions,
  io: { stdout: (text: string) => void; stderr: (text: string) => void } = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  },
): Promise<number> {
  const file = localCatalogPath(source.dataDir, null);
  // Checked before opening: opening a local store creates the catalog.
  if (!source.databaseUrl && !existsSync(file)) throw new Error(`No data yet: ${file} does not exist (check DATA_DIR).`);
  // No log: stderr would carry the migration runner's chatter on every export.
  const store = await openKnowledgeStore({ databaseUrl: source.databaseUrl, dataDir: source.dataDir, listen: false });
  let rows: FeedbackRow[];
  try {
    const filter = { since: options.since, ...(options.guild ? { guildId: options.guild } : {}) };
    const base = await store.feedbackOf(null, filter);
    if (!base) throw new Error('No data yet: the database holds no knowledge base (check DATABASE_URL).');
    const servers = options.guild ? [options.guild] : options.all ? await store.tenants() : [];
    const own: FeedbackRow[] = [];
    for (const server of servers) own.push(...((await store.feedbackOf(server, filter)) ?? []));
    rows = [...base, ...own].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  } finally {
    await store.close();
  }
  const text = options.format === 'json' ? feedbackToJson(rows) : feedbackToCsv(rows);
  if (options.out) {
    writeFileSync(options.out, text);
    io.stderr(`Wrote ${rows.length} feedback row${rows.length === 1 ? '' : 's'} to ${options.out} (${options.format}).\n`);
  } else {
    io.stdout(text);
  }
  return rows.length;
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
  // Only where the data is matters here; the full settings check belongs to npm start.
  const dataDir = resolve(process.env.DATA_DIR || 'data');
  try {
    await exportFeedback({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir }, options);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
