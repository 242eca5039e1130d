/**
 * npm run kb:migrate -- --to postgres://USER:PASSWORD@HOST:PORT/DB
 * npm run kb:migrate -- --to local [--from postgres://…]
 * Copies every knowledge base (the operator's and each server's: articles, passages with their
 * stored vectors, audit trail, questions and votes, followed feeds, the sentence cache, and the server directory) from DATA_DIR into
 * a PostgreSQL database, or back into an empty DATA_DIR (from --from, else DATABASE_URL). Nothing
 * is embedded again and no model is loaded. Stop the bot first: a copy is a snapshot.
 */
import { existsSync, readdirSync } from 'node:fs';
import { UserInputError } from '../src/core/errors.js';
import { copyKnowledge } from '../src/core/store/copy.js';
import { LocalStore } from '../src/core/store/local/index.js';
import { isDatabaseUrl, openKnowledgeStore } from '../src/core/store/open.js';
import { parseCli } from '../src/cli/args.js';
import { runCli } from '../src/cli/run.js';

const USAGE = `Usage: npm run kb:migrate -- --to postgres://USER:PASSWORD@HOST:PORT/DB
       npm run kb:migrate -- --to local [--from postgres://…]
  --to URL      copy DATA_DIR's knowledge bases into this PostgreSQL database (pgvector needed)
  --to local    copy a PostgreSQL database (--from, else DATABASE_URL) into DATA_DIR, which must be empty
  --from URL    the database to copy from with --to local`;

const { values } = parseCli(USAGE, { to: { type: 'string' }, from: { type: 'string' } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

await runCli(async (config) => {
  const to = values.to;
  const log = (line: string) => console.log(`  ${line}`);
  let source;
  let target;
  if (to === 'local') {
    const from = values.from ?? process.env.DATABASE_URL;
    if (!isDatabaseUrl(from)) throw new UserInputError(`--to local copies from a database: give --from postgres://… or set DATABASE_URL.\n${USAGE}`);
    if (existsSync(config.dataDir) && readdirSync(config.dataDir).length > 0) {
      throw new UserInputError(`DATA_DIR (${config.dataDir}) is not empty; point DATA_DIR at an empty folder to copy the database into.`);
    }
    source = await openKnowledgeStore({ databaseUrl: from, dataDir: config.dataDir, listen: false });
    target = new LocalStore({ dataDir: config.dataDir });
    console.log(`Copying the database into ${config.dataDir}:`);
  } else if (isDatabaseUrl(to)) {
    if (!existsSync(config.dataDir)) throw new UserInputError(`DATA_DIR (${config.dataDir}) does not exist: nothing to copy.`);
    source = new LocalStore({ dataDir: config.dataDir });
    target = await openKnowledgeStore({ databaseUrl: to, dataDir: config.dataDir, listen: false });
    console.log(`Copying ${config.dataDir} into the database:`);
  } else {
    throw new UserInputError(`--to must be a postgres:// URL or "local".\n${USAGE}`);
  }
  try {
    const started = performance.now();
    const report = await copyKnowledge(source, target, { log });
    const articles = report.tenants.reduce((n, t) => n + t.articles, 0);
    const passages = report.tenants.reduce((n, t) => n + t.passages, 0);
    console.log(
      `Copied ${report.tenants.length} knowledge base${report.tenants.length === 1 ? '' : 's'} (${articles} articles, ${passages} passages, no re-embedding) and ${report.servers} server rows in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
    );
  } finally {
    await source.close();
    await target.close();
  }
});
