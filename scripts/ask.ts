/**
 * npm run ask -- "question" [--json]
 * Answers one question from the knowledge base (building the index from the knowledge folder first
 * if it is empty) and prints the answer with its sources, or the whole result as JSON.
 */
import { ensureIndexed, openApp } from '../src/app.js';
import { parseCli } from '../src/cli/args.js';
import { formatAnswerForTerminal } from '../src/cli/format.js';
import { runCli } from '../src/cli/run.js';

const USAGE = `Usage: npm run ask -- "your question" [--json]
  --json   print the whole result (answer, sources, scores, timings) as JSON`;

const { values, positionals } = parseCli(USAGE, { json: { type: 'boolean' } });
if (values.help || positionals.length === 0) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}

await runCli(async (config, logger) => {
  const app = await openApp(config, logger, { onModelMismatch: 'error' });
  try {
    await ensureIndexed(app);
    const result = await app.kb.ask(positionals.join(' '));
    // The retrieved passages are for composers, not for the printed answer.
    const { passages: _retrieved, ...shown } = result;
    console.log(values.json ? JSON.stringify(shown, null, 2) : formatAnswerForTerminal(result, { ansi: process.stdout.isTTY }));
  } finally {
    await app.close();
  }
});
