/**
 * The summary eval (`npm run eval -- --summaries`): loaders, the three tables, the JSON last line,
 * and — on the shared data when it is there — that word budgets mean the same length on two
 * corpora with very different sentence and article lengths.
 */
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEvalDocuments, runSummaryEval, type Figures } from '../src/cli/eval-summaries.js';
import { SUMMARY_LENGTHS, countWords, summarizeArticle, type SummaryLength } from '../src/core/summarize/summarizer.js';
import { HashingEmbedder } from './fixtures/hashing-embedder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cnndm = path.resolve(here, '../../shared/eval/cnndm/train_sample.csv');
const bbc = path.resolve(here, '../../shared/corpora/bbc');
const LENGTHS: SummaryLength[] = ['short', 'medium', 'long'];

const SENTENCES = [
  'The river flooded the old town after three days of heavy rain.',
  'Hundreds of residents were moved to the sports hall on the hill.',
  'The mayor said the emergency services had worked through the night.',
  'Insurance companies expect claims to exceed ten million pounds.',
  'Forecasters warn that more rain is due at the weekend.',
  'Volunteers handed out blankets, hot food and drinking water.',
  'The railway line to the coast will stay closed until Friday.',
  'Engineers are checking the stone bridge for damage to its piers.',
];

const tmp = mkdtempSync(path.join(tmpdir(), 'eval-summaries-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeCorpus(dir: string, n: number): void {
  mkdirSync(path.join(dir, 'News Articles', 'local'), { recursive: true });
  mkdirSync(path.join(dir, 'Summaries', 'local'), { recursive: true });
  for (let i = 0; i < n; i++) {
    const sentences = SENTENCES.map((s, k) => SENTENCES[(k + i) % SENTENCES.length].replace('.', ` (report ${i + 1}).`));
    const paragraphs = [sentences.slice(0, 3).join(' '), sentences.slice(3, 6).join(' '), sentences.slice(6).join(' ')];
    writeFileSync(path.join(dir, 'News Articles', 'local', `${i + 1}.txt`), `Title ${i + 1}\n\n${paragraphs.join('\n\n')}\n`);
    writeFileSync(path.join(dir, 'Summaries', 'local', `${i + 1}.txt`), `${sentences[0]} ${sentences[3]}`);
  }
}

describe('summary eval', () => {
  it('loads the BBC News Summary layout: title line dropped, paragraphs at blank lines', async () => {
    const dir = path.join(tmp, 'layout');
    writeCorpus(dir, 2);
    const docs = await loadEvalDocuments(dir);
    expect(docs.map((d) => d.id)).toEqual([path.join('local', '1.txt'), path.join('local', '2.txt')]);
    expect(docs[0].passages).toHaveLength(3);
    expect(docs[0].passages[0].text.startsWith('Title')).toBe(false);
  });

  it('prints today’s table, equal budgets and out-of-fold figures; the last line is the JSON of the figures', async () => {
    const dir = path.join(tmp, 'run');
    writeCorpus(dir, 6);
    const lines: string[] = [];
    const figures = await runSummaryEval(dir, { embedder: new HashingEmbedder(), length: 'short', folds: 3, log: (l) => lines.push(l) });
    expect(JSON.parse(lines[lines.length - 1])).toEqual(JSON.parse(JSON.stringify(figures)));
    expect(lines.some((l) => l.startsWith('| Ours (short) |'))).toBe(true);
    expect(lines.some((l) => /^\| medium \(100 words\) \| Lead \(fair\) \|/.test(l))).toBe(true);
    expect(lines.some((l) => /^\| long \| Δ vs TextRank \|/.test(l))).toBe(true);
    expect(figures.outOfFold.folds).toBe(3);
    for (const len of LENGTHS) {
      const budget = SUMMARY_LENGTHS[len].maxWords;
      for (const system of ['ours', 'lead', 'textrank', 'lexrank'] as const) {
        expect(figures.equalBudget[len][system].words).toBeLessThanOrEqual(budget);
        expect(figures.outOfFold.byLength[len][system].words).toBeLessThanOrEqual(budget);
      }
      // The reference is two of the article's own sentences: every system overlaps it.
      expect(figures.outOfFold.byLength[len].ours.rouge1).toBeGreaterThan(0);
    }
    await expect(runSummaryEval(dir, { embedder: new HashingEmbedder(), folds: 1, log: () => {} })).rejects.toThrow(/at least 2 folds/);
  });
});

describe.skipIf(!existsSync(cnndm))('summary eval on CNN/DailyMail (shared data)', () => {
  it('out-of-fold figures come from models that never saw the held-out articles', async () => {
    const figures: Figures = await runSummaryEval(cnndm, { embedder: new HashingEmbedder(), limit: 12, folds: 3, log: () => {} });
    expect(figures.articles).toBe(12);
    const fit = figures.outOfFold.fullFit.weights;
    expect(Object.values(fit).every(Number.isFinite)).toBe(true);
    for (const len of LENGTHS) {
      const oof = figures.outOfFold.byLength[len];
      // Baselines need no fit: their out-of-fold and equal-budget figures are the same runs.
      expect(oof.lead.rouge1).toBe(figures.equalBudget[len].lead.rouge1);
      expect(oof.textrank.rouge2).toBe(figures.equalBudget[len].textrank.rouge2);
      expect(oof.ours.sd.rouge1).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);
});

describe.skipIf(!existsSync(cnndm) || !existsSync(bbc))('word budgets across corpora (shared data)', () => {
  it('short, medium and long mean about the same number of words on CNN/DailyMail and on BBC articles', async () => {
    const cnn = (await loadEvalDocuments(cnndm)).slice(0, 15).map((d) => d.passages);
    const bbcArticles = ['business', 'sport', 'tech'].flatMap((folder) =>
      readdirSync(path.join(bbc, folder))
        .filter((f) => f.endsWith('.txt'))
        .sort()
        .slice(0, 5)
        .map((f) => {
          const body = readFileSync(path.join(bbc, folder, f), 'latin1').replace(/^[^\n]*\n/, '');
          return body
            .split(/\n\s*\n/)
            .map((t) => t.replace(/\s+/g, ' ').trim())
            .filter(Boolean)
            .map((text, i) => ({ paragraph: i + 1, text }));
        }),
    );
    const e = new HashingEmbedder();
    for (const length of LENGTHS) {
      const meanWords = async (articles: typeof cnn) => {
        let total = 0;
        for (const a of articles) total += countWords((await summarizeArticle(a, e, { length })).sentences.map((s) => s.text).join(' '));
        return total / articles.length;
      };
      const [onCnn, onBbc] = [await meanWords(cnn), await meanWords(bbcArticles)];
      const budget = SUMMARY_LENGTHS[length].maxWords;
      for (const w of [onCnn, onBbc]) {
        expect(w).toBeLessThanOrEqual(budget);
        expect(w).toBeGreaterThan(0.75 * budget);
      }
    }
  }, 60_000);
});
