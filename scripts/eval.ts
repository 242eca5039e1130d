/**
 * npm run eval -- --questions FILE.json [--questions FILE2.json] --corpus DIR [--keep DIR] [--dump FILE] [--dates FILE] [--time on|off|both]
 * npm run eval -- --qa FILE.json [--sample N] [--keep DIR] [--llm]
 * npm run eval -- --summaries FILE.csv|DIR [--length short|medium|long] [--folds N]
 *
 * Measures retrieval and answers on a SQuAD v1.1 file, or summaries against reference summaries.
 * Prints a table; the last line is one JSON object with every figure.
 */
import { readFileSync } from 'node:fs';
import { startEmbedder } from '../src/core/embed/worker-pool.js';
import { parseCli } from '../src/cli/args.js';
import { formatQaFigures, runQaEval } from '../src/cli/eval-qa.js';
import { runCli } from '../src/cli/run.js';
import { UserInputError } from '../src/core/knowledge-base.js';
import { createLlmClient } from '../src/core/llm/client.js';

const USAGE = `Usage:
  npm run eval -- --questions FILE.json [--questions FILE2.json] --corpus DIR [--keep DIR] [--dump FILE] [--dates FILE] [--time on|off|both]
      Hand-written questions ({"q","kind","file"?,"answer"?}, e.g. ../shared/eval/bbc-qa/dev.json) asked
      against the whole corpus folder: right article first / in top 3 per retriever, answer accuracy
      (the "answer" regex matches the answer), answered rate, unanswerable questions wrongly answered,
      and a table per question kind
      --keep DIR   the index folder (default: one under the OS temp dir per corpus and model); re-runs
                   embed only new or changed articles
      --dump FILE  write every asked question and its answer as JSON lines
      --dates FILE give the corpus's articles these publication dates first ({"folder/file.txt": "2005-03-14"},
                   e.g. scripts/eval-sets/bbc-dates.json; a changed date costs no embedding)
      --time on|off|both  read time in questions (on, the default), do not (off), or ask every
                   question both ways and print the figures side by side (e.g. scripts/eval-sets/bbc-dated.json)
  npm run eval -- --qa FILE.json [--sample N] [--keep DIR] [--llm]
      SQuAD v1.1 JSON: hit@1, hit@5, MRR@10 for lexical, dense and hybrid retrieval, answer accuracy
      --llm        also answer every question with the language model (LLM_BASE_URL, LLM_MODEL):
                   accuracy and the share of answers with a valid citation beside the extractive figures
      --sample N   ask N questions spread evenly over the file (deterministic)
      --keep DIR   keep the index in DIR so a re-run does not embed again
  npm run eval -- --summaries FILE.csv|DIR [--length short|medium|long] [--folds N]
      ROUGE-1/2/L F1 of the summariser, Lead-3 and TextRank against reference summaries:
      today's table at --length, every system at equal word budgets (short/medium/long), and the
      summariser's out-of-fold figures (model refitted on N−1 folds, default N = 5) with their spread`;

const { values } = parseCli(USAGE, {
  qa: { type: 'string' },
  summaries: { type: 'string' },
  sample: { type: 'string' },
  keep: { type: 'string' },
  length: { type: 'string' },
  folds: { type: 'string' },
  llm: { type: 'boolean' },
  questions: { type: 'string', multiple: true },
  corpus: { type: 'string' },
  dump: { type: 'string' },
  dates: { type: 'string' },
  time: { type: 'string' },
});
if (values.time !== undefined && !['on', 'off', 'both'].includes(values.time)) {
  console.error(`--time is on, off or both, not ${values.time}`);
  process.exit(2);
}
if (values.questions && !values.corpus) {
  console.error('--questions needs --corpus DIR (the folder the questions are about)');
  process.exit(2);
}
if (values.help || (!values.qa && !values.summaries && !values.questions)) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}

await runCli(async (config, logger) => {
  // The bot's embedder set-up: off the main thread, a worker per core for the bundled encoder.
  const embedder = await startEmbedder(
    { model: config.embedding.model, modelsDir: config.embedding.modelsDir, quantized: config.embedding.quantized, loadTimeoutMs: config.embedding.loadTimeoutMs },
    { log: (line) => logger.info(line) },
  );
  try {
    if (values.questions && values.corpus) {
      const { formatQuestionsFigures, runQuestionsEval } = await import('../src/cli/eval-questions.js');
      const articleDates = values.dates ? (JSON.parse(readFileSync(values.dates, 'utf8')) as Record<string, string>) : undefined;
      const time = values.time as 'on' | 'off' | 'both' | undefined;
      const result = await runQuestionsEval(values.corpus, values.questions, { embedder, indexDir: values.keep, dump: values.dump, articleDates, time, log: (l) => console.log(l) });
      for (const line of formatQuestionsFigures(result)) console.log(line);
      console.log(JSON.stringify(result));
    }
    if (values.qa) {
      const sample = values.sample ? Number(values.sample) : undefined;
      if (sample !== undefined && (!Number.isInteger(sample) || sample < 1)) throw new Error(`--sample must be a positive whole number, got ${values.sample}`);
      const llm = values.llm ? createLlmClient(config.llm) : undefined;
      if (values.llm && !llm) throw new UserInputError('--llm needs LLM_BASE_URL and LLM_MODEL (see .env.example)');
      const figures = await runQaEval(values.qa, { embedder, sample, dataDir: values.keep, llm, log: (l) => console.log(l) });
      for (const line of formatQaFigures(figures)) console.log(line);
      console.log(JSON.stringify(figures));
    }
    if (values.summaries) {
      const { runSummaryEval } = await import('../src/cli/eval-summaries.js');
      const length = (values.length ?? 'medium') as 'short' | 'medium' | 'long';
      if (!['short', 'medium', 'long'].includes(length)) throw new Error(`--length must be short, medium or long, got ${values.length}`);
      const folds = values.folds === undefined ? undefined : Number(values.folds);
      if (folds !== undefined && (!Number.isInteger(folds) || folds < 2)) throw new Error(`--folds must be a whole number of at least 2, got ${values.folds}`);
      await runSummaryEval(values.summaries, { embedder, length, folds, log: (l) => console.log(l) });
    }
  } finally {
    await embedder.close();
  }
});
