/**
 * Summary evaluation: ROUGE-1/2/L F1 of the product summariser against Lead-3 and TextRank.
 *
 * Inputs:
 * - a CSV file with `article` and `highlights` columns (CNN/DailyMail layout; other columns are
 *   ignored). Highlights are newline-separated reference sentences. CSV articles are one long
 *   string, so every sentence (from `splitSentences`) becomes its own paragraph, numbered 1..n;
 *   the summariser scores by sentence position, so this choice does not change its output.
 * - a directory holding two folders of plain-text files with the same relative paths:
 *   `articles/` + `summaries/` (any letter case), or the BBC News Summary layout
 *   `News Articles/` + `Summaries/` (category sub-folders allowed). Article files are split into
 *   paragraphs at blank lines (or at single newlines when there are no blank lines). In the BBC
 *   layout the first line of an article file is its title and is left out of the article body.
 *
 * Every system sees the same sentences (`splitSentences`): Lead-3 takes the first three,
 * "Lead-3 (no fragments)" the first three that the summariser does not treat as fragments
 * (bylines, publication stamps, < 6 words), TextRank the top three by PageRank.
 * Scores are means over documents of F1 × 100. The last logged line is one JSON object.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Embedder } from '../core/embed/embedder.js';
import { lead3, textRank } from '../core/summarize/baselines.js';
import { rouge, type RougeScores } from '../core/summarize/rouge.js';
import {
  isFragment,
  summarizeArticle,
  type SummarizerTuning,
  type SummaryLength,
  type SummaryPassage,
} from '../core/summarize/summarizer.js';
import { splitSentences } from '../core/text/sentences.js';

export interface SummaryEvalOptions {
  embedder: Embedder;
  /** Summary length for the product summariser; default 'short' (2–3 sentences, like Lead-3). */
  length?: SummaryLength;
  log: (line: string) => void;
  /** Evaluate only the first N documents. */
  limit?: number;
  /** Experimental scoring overrides (tuning runs). */
  tuning?: Partial<SummarizerTuning>;
}

/** Mean F1 × 100, rounded to 2 decimals. */
export interface RougeFigures {
  rouge1: number;
  rouge2: number;
  rougeL: number;
}

export interface Figures {
  input: string;
  length: SummaryLength;
  articles: number;
  seconds: number;
  /** Mean summary length in words, per system. */
  words: Record<SystemName, number>;
  ours: RougeFigures;
  lead3: RougeFigures;
  lead3NoFragments: RougeFigures;
  textrank: RougeFigures;
}

type SystemName = 'ours' | 'lead3' | 'lead3NoFragments' | 'textrank';

export interface EvalDocument {
  id: string;
  passages: SummaryPassage[];
  reference: string;
}

const SYSTEMS: { key: SystemName; label: string }[] = [
  { key: 'ours', label: 'Ours' },
  { key: 'lead3', label: 'Lead-3' },
  { key: 'lead3NoFragments', label: 'Lead-3 (no fragments)' },
  { key: 'textrank', label: 'TextRank (top 3)' },
];

export async function runSummaryEval(input: string, opts: SummaryEvalOptions): Promise<Figures> {
  const length = opts.length ?? 'short';
  const started = performance.now();
  let docs = await loadEvalDocuments(input);
  if (opts.limit !== undefined) docs = docs.slice(0, opts.limit);
  if (docs.length === 0) throw new Error(`No documents found in ${input}`);
  opts.log(`Summaries: ${docs.length} documents from ${input} (length: ${length}, embedder: ${opts.embedder.info.model})`);

  const sums: Record<SystemName, { r1: number; r2: number; rl: number; words: number }> = {
    ours: { r1: 0, r2: 0, rl: 0, words: 0 },
    lead3: { r1: 0, r2: 0, rl: 0, words: 0 },
    lead3NoFragments: { r1: 0, r2: 0, rl: 0, words: 0 },
    textrank: { r1: 0, r2: 0, rl: 0, words: 0 },
  };
  const add = (key: SystemName, reference: string, sentences: string[]): void => {
    const candidate = sentences.join(' ');
    const s: RougeScores = rouge(reference, candidate);
    sums[key].r1 += s.rouge1.f1;
    sums[key].r2 += s.rouge2.f1;
    sums[key].rl += s.rougeL.f1;
    sums[key].words += candidate.split(/\s+/).filter(Boolean).length;
  };

  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d];
    const sentences = doc.passages.flatMap((p) => splitSentences(p.text));
    const summary = await summarizeArticle(doc.passages, opts.embedder, { length, tuning: opts.tuning });
    add('ours', doc.reference, summary.sentences.map((s) => s.text));
    add('lead3', doc.reference, lead3(sentences));
    add('lead3NoFragments', doc.reference, lead3(sentences.filter((s) => !isFragment(s))));
    add('textrank', doc.reference, textRank(sentences, 3));
    if ((d + 1) % 25 === 0 && d + 1 < docs.length) opts.log(`  ${d + 1}/${docs.length}`);
  }

  const n = docs.length;
  const fig = (key: SystemName): RougeFigures => ({
    rouge1: round2((100 * sums[key].r1) / n),
    rouge2: round2((100 * sums[key].r2) / n),
    rougeL: round2((100 * sums[key].rl) / n),
  });
  const figures: Figures = {
    input,
    length,
    articles: n,
    seconds: round2((performance.now() - started) / 1000),
    words: {
      ours: round2(sums.ours.words / n),
      lead3: round2(sums.lead3.words / n),
      lead3NoFragments: round2(sums.lead3NoFragments.words / n),
      textrank: round2(sums.textrank.words / n),
    },
    ours: fig('ours'),
    lead3: fig('lead3'),
    lead3NoFragments: fig('lead3NoFragments'),
    textrank: fig('textrank'),
  };

  opts.log('');
  opts.log('| System | ROUGE-1 F1 | ROUGE-2 F1 | ROUGE-L F1 | Words |');
  opts.log('|---|---:|---:|---:|---:|');
  for (const { key, label } of SYSTEMS) {
    const f = figures[key];
    const name = key === 'ours' ? `${label} (${length})` : label;
    opts.log(`| ${name} | ${f.rouge1.toFixed(2)} | ${f.rouge2.toFixed(2)} | ${f.rougeL.toFixed(2)} | ${figures.words[key].toFixed(1)} |`);
  }
  opts.log(`Articles: ${n} · ${figures.seconds.toFixed(2)} s`);
  opts.log(JSON.stringify(figures));
  return figures;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Loads a CSV (article/highlights) or a directory of articles + reference summaries. */
export async function loadEvalDocuments(input: string): Promise<EvalDocument[]> {
  const info = await stat(input);
  return info.isDirectory() ? loadDirectory(input) : loadCsv(input);
}

async function loadCsv(file: string): Promise<EvalDocument[]> {
  const rows = parse(await readFile(file), {
    columns: true,
    skip_empty_lines: true,
    relax_column_count: true,
    bom: true,
  }) as Record<string, string>[];
  if (rows.length > 0 && (!('article' in rows[0]) || !('highlights' in rows[0]))) {
    throw new Error(`${file}: expected "article" and "highlights" columns, got ${Object.keys(rows[0]).join(', ')}`);
  }
  return rows.map((row, i) => ({
    id: row.id || String(i + 1),
    passages: splitSentences(row.article ?? '').map((text, k) => ({ paragraph: k + 1, text })),
    reference: (row.highlights ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join('\n'),
  }));
}

const LAYOUTS: { articles: string; summaries: string; titleLine: boolean }[] = [
  { articles: 'articles', summaries: 'summaries', titleLine: false },
  { articles: 'news articles', summaries: 'summaries', titleLine: true },
];

async function loadDirectory(dir: string): Promise<EvalDocument[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = new Map(entries.filter((e) => e.isDirectory()).map((e) => [e.name.toLowerCase(), e.name]));
  const layout = LAYOUTS.find((l) => folders.has(l.articles) && folders.has(l.summaries));
  if (!layout) {
    throw new Error(`${dir}: expected folders "articles/" + "summaries/" (or "News Articles/" + "Summaries/")`);
  }
  const articleDir = path.join(dir, folders.get(layout.articles)!);
  const summaryDir = path.join(dir, folders.get(layout.summaries)!);
  const files = (await listFiles(articleDir)).sort();
  const docs: EvalDocument[] = [];
  for (const rel of files) {
    let reference: string;
    try {
      reference = await readFile(path.join(summaryDir, rel), 'utf8');
    } catch {
      continue; // no reference summary for this article
    }
    let text = (await readFile(path.join(articleDir, rel), 'utf8')).replace(/\r\n?/g, '\n');
    if (layout.titleLine) text = text.replace(/^[^\n]*\n?/, '');
    docs.push({ id: rel, passages: paragraphs(text), reference: reference.trim() });
  }
  return docs;
}

async function listFiles(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? path.join(prefix, e.name) : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, rel)));
    else if (e.isFile() && !e.name.startsWith('.')) out.push(rel);
  }
  return out;
}

function paragraphs(text: string): SummaryPassage[] {
  const blocks = /\n\s*\n/.test(text) ? text.split(/\n\s*\n/) : text.split('\n');
  return blocks
    .map((b) => b.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .map((t, i) => ({ paragraph: i + 1, text: t }));
}
