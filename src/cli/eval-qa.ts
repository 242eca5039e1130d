import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeAnswer } from '../core/answer.js';
import type { Embedder } from '../core/embed/embedder.js';
import { KnowledgeBase, type KnowledgeBaseOptions } from '../core/knowledge-base.js';
import { normalizeWhitespace } from '../core/chunk.js';
import type { AskResult, RawArticle, ScoredPassage } from '../core/types.js';
import type { ChatClient } from '../core/llm/client.js';
import { NO_ANSWER_TEXT, writeAnswer } from '../core/llm/written-answer.js';
import { formatTargets, qaTargets } from './eval-targets.js';

interface SquadFile {
  data: { title: string; paragraphs: { context: string; qas: { id: string; question: string; answers: { text: string }[] }[] }[] }[];
}

export interface QaQuestion {
  question: string;
  answers: string[];
  /** Title of the article and the gold paragraph's text. */
  title: string;
  context: string;
}

export interface RetrieverFigures {
  hit1: number;
  hit5: number;
  mrr10: number;
}

export interface QaFigures {
  file: string;
  questions: number;
  articles: number;
  passages: number;
  lexical: RetrieverFigures;
  dense: RetrieverFigures;
  hybrid: RetrieverFigures;
  answerAccuracy: number;
  answered: number;
  /** The written path (`--llm`), over the same questions and passages. */
  written?: WrittenFigures;
  model: string;
  ingestSeconds: number;
  seconds: number;
}

/** Reads a SQuAD v1.1 file into articles (one per title, its paragraphs as the body) and questions. */
export function readSquad(file: string): { articles: RawArticle[]; questions: QaQuestion[] } {
  const json = JSON.parse(readFileSync(file, 'utf8')) as SquadFile;
  if (!Array.isArray(json?.data)) throw new Error(`${file} is not SQuAD v1.1 JSON (no "data" array)`);
  const articles: RawArticle[] = [];
  const questions: QaQuestion[] = [];
  for (const item of json.data) {
    articles.push({ title: item.title, body: item.paragraphs.map((p) => p.context).join('\n\n'), origin: `${file}#${item.title}` });
    for (const p of item.paragraphs) {
      for (const qa of p.qas) {
        questions.push({ question: qa.question, answers: qa.answers.map((a) => a.text), title: item.title, context: p.context });
      }
    }
  }
  return { articles, questions };
}

/** Every `step`-th question, so the same sample comes back each run. */
export function sampleEvenly<T>(items: T[], n: number | undefined): T[] {
  if (!n || n >= items.length) return items;
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step)]);
}

function isGold(p: ScoredPassage, q: QaQuestion): boolean {
  if (p.articleTitle !== normalizeWhitespace(q.title)) return false;
  const gold = normalizeWhitespace(q.context);
  const text = p.passage.text;
  // A long gold paragraph may be split into several passages, a short one merged with a neighbour.
  return gold.includes(text) || text.includes(gold);
}

function rankOfGold(passages: ScoredPassage[], q: QaQuestion): number {
  const i = passages.findIndex((p) => isGold(p, q));
  return i < 0 ? Infinity : i + 1;
}

class Tally {
  hit1 = 0;
  hit5 = 0;
  rr = 0;
  n = 0;
  add(rank: number) {
    this.n++;
    if (rank <= 1) this.hit1++;
    if (rank <= 5) this.hit5++;
    if (rank <= 10) this.rr += 1 / rank;
  }
  figures(): RetrieverFigures {
    const r = (x: number) => Math.round((x / Math.max(1, this.n)) * 1000) / 1000;
    return { hit1: r(this.hit1), hit5: r(this.hit5), mrr10: r(this.rr) };
  }
}

/** Figures of the written path; shares are of all questions. */
export interface WrittenFigures {
  model: string;
  /** What a user sees with the model switched on (fallbacks to the extractive answer included). */
  answerAccuracy: number;
  answered: number;
  /** The model's own answer was shown and kept at least one valid citation. */
  cited: number;
  /** The model said "not in the knowledge base". */
  notFound: number;
  /** The extractive answer was shown instead (time-out, error, empty reply, no valid citation). */
  fallback: number;
  /** Mean time waiting for the model, in ms. */
  meanMs: number;
}

export interface QaEvalOptions {
  embedder: Embedder;
  sample?: number;
  /** Keep the index here (re-runs skip embedding); default a temp dir removed afterwards. */
  dataDir?: string;
  kb?: Partial<KnowledgeBaseOptions>;
  /** Also run every question through the written path with this model. */
  llm?: ChatClient;
  log: (line: string) => void;
}

/** Indexes a SQuAD file's paragraphs and measures lexical, dense and hybrid retrieval and answers. */
export async function runQaEval(file: string, opts: QaEvalOptions): Promise<QaFigures> {
  const started = performance.now();
  const { articles, questions: all } = readSquad(file);
  const questions = sampleEvenly(all, opts.sample);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'qa-eval-'));
  const kb = await KnowledgeBase.open({ ...opts.kb, dataDir, embedder: opts.embedder });
  try {
    const ingest = await kb.ingest(articles);
    opts.log(`indexed ${ingest.articles} articles, ${ingest.passages} passages (${ingest.embedded} embedded) in ${ingest.seconds.toFixed(1)} s`);
    const tallies = { lexical: new Tally(), dense: new Tally(), hybrid: new Tally() };
    let correct = 0;
    let answered = 0;
    const w = { correct: 0, answered: 0, cited: 0, notFound: 0, fallback: 0, ms: 0 };
    const fallbackReasons = new Map<string, number>();
    let asked = 0;
    for (const q of questions) {
      const queryVector = await kb.embedQuery(q.question);
      const lexical = await kb.retrieve(q.question, { topK: 10, queryVector, fusion: { denseWeight: 0 } });
      const dense = await kb.retrieve(q.question, { topK: 10, queryVector, fusion: { denseWeight: 1 } });
      const hybrid = await kb.retrieve(q.question, { topK: 10, queryVector });
      tallies.lexical.add(rankOfGold(lexical.passages, q));
      tallies.dense.add(rankOfGold(dense.passages, q));
      tallies.hybrid.add(rankOfGold(hybrid.passages, q));
      const composed = await composeAnswer(q.question, hybrid.passages, { questionVector: queryVector, sentenceVectors: kb.sentenceVectors.vectors, corpusPassages: ingest.passages }, opts.kb?.compose);
      if (composed.answered) answered++;
      const text = composed.answer.toLowerCase();
      if (composed.answered && q.answers.some((a) => text.includes(a.toLowerCase()))) correct++;
      if (opts.llm) {
        const extractive: AskResult = {
          question: q.question,
          passages: hybrid.passages,
          answered: composed.answered,
          answer: composed.answered ? composed.answer : NO_ANSWER_TEXT,
          sources: composed.sources,
          suggestions: [],
          timings: { embed: 0, search: 0, compose: 0, total: 0 },
        };
        const written = await writeAnswer(q.question, hybrid.passages, extractive, { client: opts.llm });
        const shown = written.answer.toLowerCase();
        if (written.answered) w.answered++;
        if (written.answered && q.answers.some((a) => shown.includes(a.toLowerCase()))) w.correct++;
        if (written.mode === 'written' && written.answered && written.sources.length > 0) w.cited++;
        if (written.mode === 'written' && !written.answered) w.notFound++;
        if (written.mode === 'extractive') {
          w.fallback++;
          const kind = (written.fallbackReason ?? 'unknown').split(/[:,]/)[0];
          fallbackReasons.set(kind, (fallbackReasons.get(kind) ?? 0) + 1);
        }
        w.ms += written.llm?.ms ?? 0;
        if (++asked % 25 === 0) opts.log(`written answers: ${asked}/${questions.length}`);
      }
    }
    if (fallbackReasons.size > 0) opts.log(`written answers fell back: ${[...fallbackReasons].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    const share = (n: number) => Math.round((n / Math.max(1, questions.length)) * 1000) / 1000;
    const stats = await kb.stats();
    return {
      file,
      questions: questions.length,
      articles: stats.articles,
      passages: stats.passages,
      lexical: tallies.lexical.figures(),
      dense: tallies.dense.figures(),
      hybrid: tallies.hybrid.figures(),
      answerAccuracy: Math.round((correct / Math.max(1, questions.length)) * 1000) / 1000,
      answered: Math.round((answered / Math.max(1, questions.length)) * 1000) / 1000,
      ...(opts.llm
        ? {
            written: {
              model: opts.llm.model,
              answerAccuracy: share(w.correct),
              answered: share(w.answered),
              cited: share(w.cited),
              notFound: share(w.notFound),
              fallback: share(w.fallback),
              meanMs: Math.round(w.ms / Math.max(1, questions.length)),
            },
          }
        : {}),
      model: stats.model.model,
      ingestSeconds: Math.round(ingest.seconds * 10) / 10,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await kb.close();
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

export function formatQaFigures(f: QaFigures): string[] {
  const row = (name: string, r: RetrieverFigures) => `| ${name.padEnd(8)} | ${r.hit1.toFixed(3)} | ${r.hit5.toFixed(3)} | ${r.mrr10.toFixed(3)} |`;
  return [
    `${f.questions} questions over ${f.articles} articles / ${f.passages} passages, model ${f.model}`,
    '| retriever | hit@1 | hit@5 | MRR@10 |',
    '|---|---|---|---|',
    row('lexical', f.lexical),
    row('dense', f.dense),
    row('hybrid', f.hybrid),
    `answer accuracy ${f.answerAccuracy.toFixed(3)} (answered ${(f.answered * 100).toFixed(1)}%), ingest ${f.ingestSeconds} s, total ${f.seconds} s`,
    ...formatTargets(qaTargets(f)),
    ...(f.written ? formatWrittenFigures(f) : []),
  ];
}

/** Extractive and written answers side by side (every extractive answer cites, by construction). */
function formatWrittenFigures(f: QaFigures): string[] {
  const w = f.written!;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    '',
    `| answers | accuracy | answered | ≥1 valid citation | "not in the KB" | fell back to extractive | mean model ms |`,
    '|---|---|---|---|---|---|---|',
    `| extractive | ${f.answerAccuracy.toFixed(3)} | ${pct(f.answered)} | ${pct(f.answered)} | – | – | – |`,
    `| written (${w.model}) | ${w.answerAccuracy.toFixed(3)} | ${pct(w.answered)} | ${pct(w.cited)} | ${pct(w.notFound)} | ${pct(w.fallback)} | ${w.meanMs} |`,
  ];
}
