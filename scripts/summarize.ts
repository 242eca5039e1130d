/**
 * npm run summarize -- --article "Title" | --topic "text" | --latest [--since D] [--until D] [--length short|medium|long] [--json]
 * Summarises one article (by id, title, or a unique part of the title) or what the knowledge base
 * says about a topic, with numbered sources; builds the index from the knowledge folder first if
 * it is empty.
 */
import { ensureIndexed, openApp } from '../src/app.js';
import { parseCli } from '../src/cli/args.js';
import { formatSummaryForTerminal } from '../src/cli/format.js';
import { runCli } from '../src/cli/run.js';
import { newestTime, periodFromOptions, summarizeLatest } from '../src/core/dates/latest.js';
import { SUMMARY_LENGTH_NAMES, SummaryService, type SummaryLength } from '../src/core/summarize/service.js';
import { SUMMARY_LENGTHS } from '../src/core/summarize/summarizer.js';

const USAGE = `Usage: npm run summarize -- --article "Title" | --topic "text" | --latest [--since D] [--until D] [--length short|medium|long] [--json]
  --article TITLE   summarise one article (its id, its title, or a unique part of the title)
  --topic TEXT      summarise what the knowledge base says about a topic, across articles
  --latest          what's new: the articles of a period (default: the 7 days up to the newest)
  --since D, --until D   (--topic, --latest) only articles published in that period, e.g.
                    "1 March 2005", "March 2005", 2004, "last Monday" (relative to the newest article)
  --length L        short (up to ${SUMMARY_LENGTHS.short.maxWords} words), medium (${SUMMARY_LENGTHS.medium.maxWords}, the default) or long (${SUMMARY_LENGTHS.long.maxWords})
  --json            print the whole result (sentences, sources, markers) as JSON`;

const { values, positionals } = parseCli(USAGE, {
  article: { type: 'string', short: 'a' },
  topic: { type: 'string', short: 't' },
  latest: { type: 'boolean' },
  since: { type: 'string' },
  until: { type: 'string' },
  length: { type: 'string', short: 'l' },
  json: { type: 'boolean' },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const usageError = (message: string): never => {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
};
if ([values.article !== undefined, values.topic !== undefined, Boolean(values.latest)].filter(Boolean).length !== 1) usageError('Give exactly one of --article, --topic and --latest.');
if (values.article !== undefined && (values.since || values.until)) usageError('--since and --until go with --topic or --latest.');
if (positionals.length > 0) usageError(`Unexpected argument ${JSON.stringify(positionals[0])} (quote a title or topic that has spaces).`);
const length = (values.length ?? 'medium').toLowerCase() as SummaryLength;
if (!SUMMARY_LENGTH_NAMES.includes(length)) usageError(`Unknown --length ${values.length}; use short, medium or long.`);

await runCli(async (config, logger) => {
  const app = await openApp(config, logger);
  try {
    await ensureIndexed(app);
    const service = new SummaryService({ kb: app.kb, embedder: app.embedder });
    const period = { since: values.since, until: values.until };
    const result =
      values.article !== undefined
        ? await service.summarizeArticle(values.article, length)
        : values.latest
          ? await summarizeLatest(app.kb, service, { ...period, length })
          : await service.summarizeTopic(values.topic!, length, values.since || values.until ? { window: periodFromOptions(values.since, values.until, newestTime(await app.kb.listArticles())) } : {});
    console.log(values.json ? JSON.stringify(result, null, 2) : formatSummaryForTerminal(result));
  } finally {
    await app.close();
  }
});
