/**
 * npm run kb:export [-- --dir DIR] [--all] [--guild SERVER_ID]
 * Writes the articles of the catalog (DATA_DIR) into the knowledge folder as Markdown with front
 * matter, so the files on disk and the bot agree. By default only articles that have no file there
 * yet (added from Discord with KB_SYNC_KNOWLEDGE_DIR=false, or whose file was deleted); `--all`
 * writes every article. Each file reads back to the same article id and content hash, so a later
 * `npm run ingest` finds them unchanged. `--guild ID` writes one server's own articles
 * (KB_SCOPE=server) instead, all of them, to `--dir` (required then). No embedding model is loaded.
 */
import { resolve } from 'node:path';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { UserInputError } from '../src/core/knowledge-base.js';
import { parseCli } from '../src/cli/args.js';
import { runCli } from '../src/cli/run.js';
import { openStoredKnowledgeBase } from '../src/cli/stored-kb.js';

const USAGE = `Usage: npm run kb:export [-- --dir DIR] [--all] [--guild SERVER_ID]
  --dir DIR          folder to write to (default KNOWLEDGE_DIR, "knowledge")
  --all              write every article, not only those without a file in the folder
  --guild SERVER_ID  write the articles of one server's own knowledge base (KB_SCOPE=server); needs --dir`;

const { values } = parseCli(USAGE, { dir: { type: 'string' }, all: { type: 'boolean' }, guild: { type: 'string' } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

await runCli(async (config) => {
  const guild = values.guild;
  if (guild !== undefined && !/^\d{17,20}$/.test(guild)) throw new UserInputError('--guild must be a Discord server id (17–20 digits).');
  if (guild !== undefined && !values.dir) throw new UserInputError("--guild needs --dir: a server's articles do not belong in KNOWLEDGE_DIR (the base layer).");
  const dir = resolve(values.dir ?? config.knowledgeDir);
  const { kb, close } = await openStoredKnowledgeBase(config, guild ? `export server ${guild}` : 'export', guild ?? null);
  try {
    const admin = new KnowledgeAdmin({ kb, knowledgeDir: dir });
    const { written, skipped } = await admin.exportArticles(dir, { all: values.all || guild !== undefined });
    console.log(`Exported${guild ? ` server ${guild}'s articles` : ''} to ${dir}`);
    console.log(`  written: ${written.length}`);
    for (const f of written) console.log(`    - ${f}`);
    console.log(`  already there: ${skipped}`);
  } finally {
    await close();
  }
});
