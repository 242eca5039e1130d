/**
 * npm run bench -- --dedupe: paragraph de-duplication on 8,000 distinct paragraphs (about 700 KB,
 * the size the review measured) plus 10 % near-repeats, on the main thread. Prints the time and the
 * number of paragraph pairs compared.
 */
import { dedupeParagraphs } from '../../src/core/chunk.js';
import { rng } from './stats.js';

export function benchParagraphs(count = 8000, seed = 7): string[] {
  const random = rng(seed);
  const vocabulary = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}${'abcdefgh'[i % 8]}`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const words = Array.from({ length: 14 }, () => vocabulary[Math.floor(random() * vocabulary.length)]);
    out.push(`${words.join(' ')}.`);
  }
  // Near-repeats: a copy of an earlier paragraph with one word changed at the end.
  for (let i = 0; i < count / 10; i++) {
    const original = out[Math.floor(random() * out.length)];
    out.push(`${original.slice(0, -1)} again.`);
  }
  return out;
}

export function runDedupeBench(): void {
  const paragraphs = benchParagraphs();
  const chars = paragraphs.reduce((n, p) => n + p.length + 2, 0);
  dedupeParagraphs(paragraphs.slice(0, 200), 'Title'); // warm-up
  const t0 = performance.now();
  const result = dedupeParagraphs(paragraphs, 'Title');
  const ms = performance.now() - t0;
  console.log(
    `dedupe: ${paragraphs.length} paragraphs (${Math.round(chars / 1024)} KB): ${ms.toFixed(0)} ms, ` +
      `${result.kept.length} kept, ${result.dropped} dropped, ${result.comparisons} pairs compared`,
  );
}
