/**
 * Standalone summary eval: `npx tsx scripts/eval-summaries.ts FILE_OR_DIR [--length short|medium|long] [--limit N]`
 * Uses the bundled Universal Sentence Encoder (no downloads). See src/cli/eval-summaries.ts for
 * the accepted inputs and the printed figures.
 */
import { BundledEmbedder } from '../src/core/embed/bundled-embedder.js';
import { runSummaryEval } from '../src/cli/eval-summaries.js';
import type { SummaryLength } from '../src/core/summarize/summarizer.js';

const LENGTHS: SummaryLength[] = ['short', 'medium', 'long'];

function usage(message?: string): never {
  if (message) console.error(message);
  console.error('Usage: npx tsx scripts/eval-summaries.ts FILE_OR_DIR [--length short|medium|long] [--limit N]');
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let input: string | undefined;
  let length: SummaryLength | undefined;
  let limit: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--length') {
      const v = args[++i] as SummaryLength;
      if (!LENGTHS.includes(v)) usage(`--length must be one of ${LENGTHS.join(', ')}`);
      length = v;
    } else if (a === '--limit') {
      limit = Number(args[++i]);
      if (!Number.isInteger(limit) || limit < 1) usage('--limit must be a positive integer');
    } else if (a === '-h' || a === '--help') {
      usage();
    } else if (!input) {
      input = a;
    } else {
      usage(`Unexpected argument: ${a}`);
    }
  }
  if (!input) usage();
  const embedder = await BundledEmbedder.load();
  try {
    await runSummaryEval(input, { embedder, length, limit, log: (line) => console.log(line) });
  } finally {
    await embedder.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
