/**
 * npm run kb:export [-- --dir DIR] [--all]
 * Writes the articles of the catalog (DATA_DIR) into the knowledge folder as Markdown with front
 * matter, so the files on disk and the bot agree. By default only articles that have no file there
 * yet (added from Discord with KB_SYNC_KNOWLEDGE_DIR=false, or whose file was deleted); `--all`
 * writes every article. Each file reads back to the same article id and content hash, so a later
 * `npm run ingest` finds them unchanged. No embedding model is loaded.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import type { Embedder } from '../src/core/embed/embedder.js';
import { KnowledgeBase, UserInputError } from '../src/core/knowledge-base.js';
import { Catalog } from '../src/core/store/catalog.js';
import { parseCli } from '../src/cli/args.js';
import { runCli } from '../src/cli/run.js';

const USAGE = `Usage: npm run kb:export [-- --dir DIR] [--all]
  --dir DIR    folder to write to (default KNOWLEDGE_DIR, "knowledge")
  --all        write every article, not only those without a file in the folder`;

const { values } = parseCli(USAGE, { dir: { type: 'string' }, all: { type: 'boolean' } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

await runCli(async (config) => {
  const dir = resolve(values.dir ?? config.knowledgeDir);
  const file = join(config.dataDir, 'catalog.sqlite');
  if (!existsSync(file)) throw new UserInputError(`No catalog at ${file}: nothing to export (set DATA_DIR, or run npm run ingest first).`);
  // The catalog is read as it is: an embedder that only names the recorded model (never called).
  const catalog = new Catalog(file);
  const model = catalog.model;
  catalog.close();
  const embedder: Embedder = {
    info: model ?? { model: 'none', dimension: 1, normalized: true },
    embed: async () => {
      throw new Error('kb:export does not embed');
    },
    close: async () => undefined,
  };
  const kb = await KnowledgeBase.open({ dataDir: config.dataDir, embedder, onModelMismatch: 'stale' });
  try {
    const admin = new KnowledgeAdmin({ kb, knowledgeDir: dir });
    const { written, skipped } = await admin.exportArticles(dir, { all: values.all });
    console.log(`Exported to ${dir}`);
    console.log(`  written: ${written.length}`);
    for (const f of written) console.log(`    - ${f}`);
    console.log(`  already there: ${skipped}`);
  } finally {
    await kb.close();
  }
});
