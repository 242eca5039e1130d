/**
 * npm run ingest [-- --dir DIR] [--rebuild]
 * Embeds every article of the knowledge folder into the index. Unchanged articles cost nothing.
 */
import cliProgress from 'cli-progress';
import { resolve } from 'node:path';
import { ingestDirectory, openApp } from '../src/app.js';
import { parseCli } from '../src/cli/args.js';
import { runCli } from '../src/cli/run.js';

const USAGE = `Usage: npm run ingest [-- --dir DIR] [--rebuild]
  --dir DIR    folder of .md/.txt/.html/.pdf articles (default KNOWLEDGE_DIR, "knowledge")
  --rebuild    drop the index and re-embed everything (after changing EMBEDDING_MODEL)`;

const { values } = parseCli(USAGE, { dir: { type: 'string' }, rebuild: { type: 'boolean' } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

await runCli(async (config, logger) => {
  const dir = resolve(values.dir ?? config.knowledgeDir);
  const app = await openApp(config, logger, { rebuild: values.rebuild });
  try {
    const bar = new cliProgress.SingleBar(
      { format: 'Embedding |{bar}| {percentage}% | {value}/{total} passages | {articles} articles | {eta_formatted} left', hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    const report = await ingestDirectory(app.kb, dir, (p) => {
      if (!started && p.toEmbed > 0 && process.stderr.isTTY) {
        bar.start(p.toEmbed, 0, { articles: `${p.articles}/${p.totalArticles}` });
        started = true;
      }
      if (started) bar.update(p.embedded, { articles: `${p.articles}/${p.totalArticles}` });
    });
    if (started) bar.stop();
    const rate = report.embedSeconds > 0 ? report.embedded / report.seconds : 0;
    console.log(`Ingested ${dir}`);
    console.log(`  articles:           ${report.articles} (${report.added} added, ${report.updated} updated, ${report.unchanged} unchanged)`);
    console.log(`  passages:           ${report.passages} (${report.embedded} embedded with ${app.embedder.info.model})`);
    console.log(`  duplicates dropped: ${report.duplicatesDropped}`);
    for (const r of report.renamed) {
      console.log(`  "${r.title}" from ${r.origin} is stored as ${r.id}: ${r.clashesWith.id} is the article of ${r.clashesWith.origin}`);
    }
    console.log(`  files skipped:      ${report.skipped.length}`);
    for (const s of report.skipped) console.log(`    - ${s.file}: ${s.reason}`);
    for (const n of report.notes) console.log(`  note: ${n.file}: ${n.note}`);
    console.log(`  seconds:            ${report.seconds.toFixed(1)} (embedding ${report.embedSeconds.toFixed(1)})`);
    console.log(`  passages/second:    ${report.embedded > 0 ? rate.toFixed(1) : 'n/a (nothing to embed)'}`);
  } finally {
    await app.close();
  }
});
