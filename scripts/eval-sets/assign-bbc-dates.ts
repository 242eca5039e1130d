/**
 * npx tsx scripts/eval-sets/assign-bbc-dates.ts [CORPUS_DIR] > scripts/eval-sets/bbc-dates.json
 *
 * The BBC corpus carries no publication dates (not in the files, not in the folder names; 138 of
 * 2,225 texts mention a full date somewhere, mostly of what they report). To measure date handling
 * over it, every article is given a date here, by a fixed rule anyone can re-run: a day between
 * 1 Jan 2004 and 31 Mar 2005 (the span the dataset covers) picked by the sha256 of its file name.
 * The dates are ours, not the BBC's: the dated questions (bbc-dated.json) measure whether naming
 * a period finds the article of that period, not whether a date is read correctly from a text.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const FIRST = Date.UTC(2004, 0, 1);
const DAYS = 456; // 1 Jan 2004 … 31 Mar 2005 (2004 is a leap year)

export function assignedDate(file: string): string {
  const n = createHash('sha256').update(`bbc-dates:${file}`).digest().readUInt32BE(0);
  return new Date(FIRST + (n % DAYS) * 86_400_000).toISOString().slice(0, 10);
}

const corpus = process.argv[2] ?? '../shared/corpora/bbc';
const dates: Record<string, string> = {};
for (const category of readdirSync(corpus, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
  for (const name of readdirSync(join(corpus, category)).filter((f) => f.endsWith('.txt')).sort()) dates[`${category}/${name}`] = assignedDate(`${category}/${name}`);
}
process.stdout.write(`${JSON.stringify(dates, null, 0).replace(/,"/g, ',\n"')}\n`);
