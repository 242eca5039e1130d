/**
 * Summary evaluation: ROUGE-1/2/L F1 of the product summariser against Lead and TextRank.
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
 * Every article is split and embedded ONCE; three tables follow, all means over documents of
 * F1 × 100:
 *
 * 1. Today's table, unchanged: the product at `--length` (default model) beside Lead-3,
 *    "Lead-3 (no fragments)" (the first three sentences the summariser does not treat as bylines,
 *    stamps or fragments) and TextRank (top 3). These systems differ in length: read 4 and 2.
 * 2. Equal word budgets: every system fills the SAME budget (short/medium/long) from its own
 *    ranking with the same rule (`fillBudget`: best first, skip what does not fit) over the same
 *    candidate sentences (fragments dropped, datelines trimmed): Lead (fair) ranks by position,
 *    TextRank and LexRank by their graph scores, and the product uses its MMR selection.
 * 3. Out of fold: the articles are split into `folds` (default 5) folds in file order; for each
 *    fold the linear model is fitted (`fitLinearModel`) on the other folds only and the held-out
 *    articles are summarised with it. Figures pool every article's out-of-fold score; the spread
 *    is the standard deviation over the folds' means, and "Δ" is the product minus a baseline on
 *    the same articles (mean ± sd over folds). The default model's own rows in (1) and (2) are
 *    in-sample whenever the input is the set it was fitted on (CNN/DailyMail dev): read (3).
 *    One more row per budget shows the same fits without the monotone lead prior (see
 *    `LEAD_PRIOR`): what learning one corpus's lead quirks would add on that corpus. Not shipped.
 *
 * The last logged line is one JSON object with every figure.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Embedder } from '../core/embed/embedder.js';
import { lead3, textRank } from '../core/summarize/baselines.js';
import { FEATURE_NAMES, fitLinearModel, sentenceTargets, type LinearModel } from '../core/summarize/features.js';
import { rouge, type RougeScores } from '../core/summarize/rouge.js';
import {
  DEFAULT_TUNING,
  SUMMARY_LENGTHS,
  fillBudget,
  isFragment,
  prepareArticle,
  selectSentences,
  type PreparedArticle,
  type SummarizerTuning,
  type SummaryLength,
  type SummaryPassage,
} from '../core/summarize/summarizer.js';
import { splitSentences } from '../core/text/sentences.js';

export interface SummaryEvalOptions {
  embedder: Embedder;
  /** Summary length for today's table; default 'short'. The equal-budget and out-of-fold tables cover all three. */
  length?: SummaryLength;
  log: (line: string) => void;
  /** Evaluate only the first N documents. */
  limit?: number;
  /** Experimental scoring overrides (tuning runs). */
  tuning?: Partial<SummarizerTuning>;
  /** Folds for the out-of-fold figures (default 5; at least 2, at most the number of articles). */
  folds?: number;
  /** Ridge penalty of the out-of-fold fits (default {@link DEFAULT_L2}). */
  l2?: number;
}

/** Ridge penalty per training sentence; the product's DEFAULT_MODEL is fitted with it too. */
export const DEFAULT_L2 = 0.05;

/** Mean F1 × 100, rounded to 2 decimals. */
export interface RougeFigures {
  rouge1: number;
  rouge2: number;
  rougeL: number;
}

export interface SystemFigures extends RougeFigures {
  /** Mean summary length in words. */
  words: number;
}

/** Out-of-fold figures of one system at one budget: pooled means, sd over fold means. */
export interface FoldFigures extends SystemFigures {
  sd: RougeFigures;
}

export interface Figures {
  input: string;
  length: SummaryLength;
  articles: number;
  seconds: number;
  /** Mean summary length in words, per system (today's table). */
  words: Record<SystemName, number>;
  ours: RougeFigures;
  lead3: RougeFigures;
  lead3NoFragments: RougeFigures;
  textrank: RougeFigures;
  /** Every system at the same word budget, per length (default model; in-sample on its own dev set). */
  equalBudget: Record<SummaryLength, { budget: number } & Record<BudgetSystem, SystemFigures>>;
  outOfFold: {
    folds: number;
    l2: number;
    byLength: Record<
      SummaryLength,
      { budget: number } & Record<BudgetSystem, FoldFigures> & {
          delta: Record<Exclude<BudgetSystem, 'ours'>, RougeFigures & { sd: RougeFigures }>;
          /** The same fit without the monotone lead prior (what one corpus's lead quirks are worth; not shipped). */
          freeLeadPrior: FoldFigures & { deltaLead: RougeFigures & { sd: RougeFigures } };
        }
    >;
    /** The model fitted on ALL the articles (what DEFAULT_MODEL holds when this input is its dev set). */
    fullFit: LinearModel;
  };
}

type SystemName = 'ours' | 'lead3' | 'lead3NoFragments' | 'textrank';
export type BudgetSystem = 'ours' | 'lead' | 'textrank' | 'lexrank';

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

const BUDGET_SYSTEMS: { key: BudgetSystem; label: string }[] = [
  { key: 'ours', label: 'Ours' },
  { key: 'lead', label: 'Lead (fair)' },
  { key: 'textrank', label: 'TextRank' },
  { key: 'lexrank', label: 'LexRank' },
];

const LENGTHS: SummaryLength[] = ['short', 'medium', 'long'];
const TEXTRANK = FEATURE_NAMES.indexOf('textrank');
const LEXRANK = FEATURE_NAMES.indexOf('lexrank');

interface Scored {
  r1: number;
  r2: number;
  rl: number;
  words: number;
}

function score(reference: string, sentences: string[]): Scored {
  const candidate = sentences.join(' ');
  const s: RougeScores = rouge(reference, candidate);
  return { r1: s.rouge1.f1, r2: s.rouge2.f1, rl: s.rougeL.f1, words: candidate.split(/\s+/).filter(Boolean).length };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

function figuresOf(rows: Scored[]): SystemFigures {
  return {
    rouge1: round2(100 * mean(rows.map((r) => r.r1))),
    rouge2: round2(100 * mean(rows.map((r) => r.r2))),
    rougeL: round2(100 * mean(rows.map((r) => r.rl))),
    words: round2(mean(rows.map((r) => r.words))),
  };
}

/** Indexes ordered by descending value; ties to the earlier sentence. */
function rankBy(values: number[]): number[] {
  return values.map((_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
}

/** The baselines' picks at a word budget, from the prepared candidates (pure). */
export function baselineAtBudget(prepared: PreparedArticle, system: Exclude<BudgetSystem, 'ours'>, maxWords: number): string[] {
  if (prepared.whole) return prepared.whole.map((s) => s.text);
  const n = prepared.texts.length;
  const ranking =
    system === 'lead'
      ? Array.from({ length: n }, (_, i) => i)
      : rankBy(prepared.features.map((row) => row[system === 'textrank' ? TEXTRANK : LEXRANK]));
  return fillBudget(ranking, prepared.words, maxWords).map((k) => prepared.texts[k]);
}

/** Fold of article i when n articles are dealt into k folds in file order (contiguous blocks). */
export function foldOf(i: number, n: number, k: number): number {
  return Math.min(k - 1, Math.floor((i * k) / n));
}

export async function runSummaryEval(input: string, opts: SummaryEvalOptions): Promise<Figures> {
  const length = opts.length ?? 'short';
  const started = performance.now();
  let docs = await loadEvalDocuments(input);
  if (opts.limit !== undefined) docs = docs.slice(0, opts.limit);
  if (docs.length === 0) throw new Error(`No documents found in ${input}`);
  const folds = Math.min(opts.folds ?? 5, docs.length);
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`Out-of-fold figures need at least 2 folds and 2 articles, got ${folds}`);
  const l2 = opts.l2 ?? DEFAULT_L2;
  const tuning: SummarizerTuning = { ...DEFAULT_TUNING, ...opts.tuning };
  opts.log(`Summaries: ${docs.length} documents from ${input} (length: ${length}, embedder: ${opts.embedder.info.model})`);

  const prepared: PreparedArticle[] = [];
  const today: Record<SystemName, Scored[]> = { ours: [], lead3: [], lead3NoFragments: [], textrank: [] };
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d];
    const sentences = doc.passages.flatMap((p) => splitSentences(p.text));
    const p = await prepareArticle(doc.passages, opts.embedder, tuning.minWords);
    prepared.push(p);
    today.ours.push(score(doc.reference, selectSentences(p, tuning, SUMMARY_LENGTHS[length]).sentences.map((s) => s.text)));
    today.lead3.push(score(doc.reference, lead3(sentences)));
    today.lead3NoFragments.push(score(doc.reference, lead3(sentences.filter((s) => !isFragment(s)))));
    today.textrank.push(score(doc.reference, textRank(sentences, 3)));
    if ((d + 1) % 25 === 0 && d + 1 < docs.length) opts.log(`  ${d + 1}/${docs.length}`);
  }
  const n = docs.length;
  const todayFig = Object.fromEntries(SYSTEMS.map(({ key }) => [key, figuresOf(today[key])])) as Record<SystemName, SystemFigures>;

  // (2) Equal budgets, default model.
  const atBudget = (d: number, system: BudgetSystem, maxWords: number, model: LinearModel): Scored => {
    const texts =
      system === 'ours'
        ? selectSentences(prepared[d], { ...tuning, model }, { maxWords }).sentences.map((s) => s.text)
        : baselineAtBudget(prepared[d], system, maxWords);
    return score(docs[d].reference, texts);
  };
  const equalBudget = {} as Figures['equalBudget'];
  for (const len of LENGTHS) {
    const maxWords = SUMMARY_LENGTHS[len].maxWords;
    const row = { budget: maxWords } as Figures['equalBudget'][SummaryLength];
    for (const { key } of BUDGET_SYSTEMS) row[key] = figuresOf(docs.map((_, d) => atBudget(d, key, maxWords, tuning.model)));
    equalBudget[len] = row;
  }

  // (3) Out of fold: fit on k−1 folds, summarise the held-out one.
  const targets = prepared.map((p, d) => (p.whole ? [] : sentenceTargets(docs[d].reference, p.texts)));
  const training = (keep: (d: number) => boolean) =>
    prepared.flatMap((p, d) => (keep(d) && !p.whole ? [{ features: p.features, targets: targets[d] }] : []));
  const foldModels: LinearModel[] = [];
  const freeModels: LinearModel[] = [];
  for (let f = 0; f < folds; f++) {
    foldModels.push(fitLinearModel(training((d) => foldOf(d, n, folds) !== f), l2));
    freeModels.push(fitLinearModel(training((d) => foldOf(d, n, folds) !== f), l2, []));
  }
  const fullFit = fitLinearModel(training(() => true), l2);

  const byLength = {} as Figures['outOfFold']['byLength'];
  for (const len of LENGTHS) {
    const maxWords = SUMMARY_LENGTHS[len].maxWords;
    const rows = {} as Record<BudgetSystem, Scored[]>;
    for (const { key } of BUDGET_SYSTEMS) rows[key] = docs.map((_, d) => atBudget(d, key, maxWords, foldModels[foldOf(d, n, folds)]));
    const free = docs.map((_, d) => atBudget(d, 'ours', maxWords, freeModels[foldOf(d, n, folds)]));
    const foldMeans = (xs: Scored[], pick: (s: Scored) => number): number[] =>
      Array.from({ length: folds }, (_, f) => 100 * mean(xs.filter((_, d) => foldOf(d, n, folds) === f).map(pick)));
    const picks: [keyof RougeFigures, (s: Scored) => number][] = [
      ['rouge1', (s) => s.r1],
      ['rouge2', (s) => s.r2],
      ['rougeL', (s) => s.rl],
    ];
    const entry = { budget: maxWords } as Figures['outOfFold']['byLength'][SummaryLength];
    for (const { key } of BUDGET_SYSTEMS) {
      const spread = {} as RougeFigures;
      for (const [name, pick] of picks) spread[name] = round2(sd(foldMeans(rows[key], pick)));
      entry[key] = { ...figuresOf(rows[key]), sd: spread };
    }
    const delta = (ours: Scored[], base: Scored[]): RougeFigures & { sd: RougeFigures } => {
      const d = { sd: {} } as RougeFigures & { sd: RougeFigures };
      for (const [name, pick] of picks) {
        const diff = foldMeans(ours, pick).map((v, f) => v - foldMeans(base, pick)[f]);
        d[name] = round2(100 * mean(ours.map((r, i) => pick(r) - pick(base[i]))));
        d.sd[name] = round2(sd(diff));
      }
      return d;
    };
    entry.delta = {} as (typeof entry)['delta'];
    for (const base of ['lead', 'textrank', 'lexrank'] as const) entry.delta[base] = delta(rows.ours, rows[base]);
    const freeSpread = {} as RougeFigures;
    for (const [name, pick] of picks) freeSpread[name] = round2(sd(foldMeans(free, pick)));
    entry.freeLeadPrior = { ...figuresOf(free), sd: freeSpread, deltaLead: delta(free, rows.lead) };
    byLength[len] = entry;
  }

  const figures: Figures = {
    input,
    length,
    articles: n,
    seconds: round2((performance.now() - started) / 1000),
    words: Object.fromEntries(SYSTEMS.map(({ key }) => [key, todayFig[key].words])) as Record<SystemName, number>,
    ours: strip(todayFig.ours),
    lead3: strip(todayFig.lead3),
    lead3NoFragments: strip(todayFig.lead3NoFragments),
    textrank: strip(todayFig.textrank),
    equalBudget,
    outOfFold: { folds, l2, byLength, fullFit: roundModel(fullFit) },
  };

  const f2 = (x: number) => x.toFixed(2);
  const sign = (x: number) => (x >= 0 ? `+${f2(x)}` : f2(x));
  opts.log('');
  opts.log(`Today's table (each system at its own length; default model):`);
  opts.log('| System | ROUGE-1 F1 | ROUGE-2 F1 | ROUGE-L F1 | Words |');
  opts.log('|---|---:|---:|---:|---:|');
  for (const { key, label } of SYSTEMS) {
    const f = todayFig[key];
    const name = key === 'ours' ? `${label} (${length})` : label;
    opts.log(`| ${name} | ${f2(f.rouge1)} | ${f2(f.rouge2)} | ${f2(f.rougeL)} | ${f.words.toFixed(1)} |`);
  }
  opts.log('');
  opts.log('Equal word budgets (same candidate sentences, same fill rule; default model):');
  opts.log('| Budget | System | ROUGE-1 F1 | ROUGE-2 F1 | ROUGE-L F1 | Words |');
  opts.log('|---|---|---:|---:|---:|---:|');
  for (const len of LENGTHS) {
    for (const { key, label } of BUDGET_SYSTEMS) {
      const f = equalBudget[len][key];
      opts.log(`| ${len} (${equalBudget[len].budget} words) | ${label} | ${f2(f.rouge1)} | ${f2(f.rouge2)} | ${f2(f.rougeL)} | ${f.words.toFixed(1)} |`);
    }
  }
  opts.log('');
  opts.log(`Out of fold (${folds} folds; mean ± sd over folds; Δ = ours − baseline on the same articles):`);
  opts.log('| Budget | System | ROUGE-1 F1 | ROUGE-2 F1 | ROUGE-L F1 | Words |');
  opts.log('|---|---|---:|---:|---:|---:|');
  for (const len of LENGTHS) {
    const e = byLength[len];
    for (const { key, label } of BUDGET_SYSTEMS) {
      const f = e[key];
      opts.log(`| ${len} (${e.budget} words) | ${label} | ${f2(f.rouge1)} ± ${f2(f.sd.rouge1)} | ${f2(f.rouge2)} ± ${f2(f.sd.rouge2)} | ${f2(f.rougeL)} ± ${f2(f.sd.rougeL)} | ${f.words.toFixed(1)} |`);
    }
    for (const { key, label } of BUDGET_SYSTEMS.filter((s) => s.key !== 'ours')) {
      const d = e.delta[key as Exclude<BudgetSystem, 'ours'>];
      opts.log(`| ${len} | Δ vs ${label} | ${sign(d.rouge1)} ± ${f2(d.sd.rouge1)} | ${sign(d.rouge2)} ± ${f2(d.sd.rouge2)} | ${sign(d.rougeL)} ± ${f2(d.sd.rougeL)} | |`);
    }
    const fl = e.freeLeadPrior;
    opts.log(`| ${len} (${e.budget} words) | Ours, lead prior unconstrained (not shipped) | ${f2(fl.rouge1)} ± ${f2(fl.sd.rouge1)} | ${f2(fl.rouge2)} ± ${f2(fl.sd.rouge2)} | ${f2(fl.rougeL)} ± ${f2(fl.sd.rougeL)} | ${fl.words.toFixed(1)} |`);
    opts.log(`| ${len} | Δ unconstrained vs Lead (fair) | ${sign(fl.deltaLead.rouge1)} ± ${f2(fl.deltaLead.sd.rouge1)} | ${sign(fl.deltaLead.rouge2)} ± ${f2(fl.deltaLead.sd.rouge2)} | ${sign(fl.deltaLead.rougeL)} ± ${f2(fl.deltaLead.sd.rougeL)} | |`);
  }
  opts.log(`Model fitted on all ${n} articles: ${JSON.stringify(figures.outOfFold.fullFit)}`);
  opts.log(`Articles: ${n} · ${figures.seconds.toFixed(2)} s`);
  opts.log(JSON.stringify(figures));
  return figures;
}

function strip(f: SystemFigures): RougeFigures {
  return { rouge1: f.rouge1, rouge2: f.rouge2, rougeL: f.rougeL };
}

function roundModel(m: LinearModel): LinearModel {
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { bias: r(m.bias), weights: Object.fromEntries(Object.entries(m.weights).map(([k, v]) => [k, r(v)])) as LinearModel['weights'] };
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
