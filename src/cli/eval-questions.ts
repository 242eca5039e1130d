import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Embedder } from '../core/embed/embedder.js';
import { KnowledgeBase, type KnowledgeBaseOptions } from '../core/knowledge-base.js';
import { loadDirectory } from '../core/load/index.js';
import type { ScoredPassage } from '../core/types.js';

/**
 * One question of a hand-written question file (`../shared/eval/bbc-qa/` format): the gold
 * article's file (relative to the corpus folder) and a regex for the key fact; both absent for a
 * question the corpus cannot answer.
 */
export interface FileQuestion {
  q: string;
  kind: string;
  file?: string;
  answer?: string;
}

export interface ArticleFigures {
  /** The gold article is the first passage's article. */
  first: number;
  /** The gold article is among the first 3 passages' articles. */
  top3: number;
}

export interface KindFigures {
  kind: string;
  questions: number;
  top3: number;
  answered: number;
  accuracy: number;
}

/** Figures of one question file asked against a whole corpus; shares are of that file's questions. */
export interface QuestionFileFigures {
  file: string;
  questions: number;
  answerable: number;
  unanswerable: number;
  lexical?: ArticleFigures;
  dense?: ArticleFigures;
  hybrid?: ArticleFigures;
  /** The final answer (`ask`): the first source is the gold article. */
  answerFirstSource?: number;
  /** The key fact's regex matches the answer text (answerable questions). */
  answerAccuracy?: number;
  /** Share of answerable questions that got an answer. */
  answered?: number;
  /** Mean length of the answers given to answerable questions: longer answers hold the fact more often. */
  answerChars?: number;
  answerSentences?: number;
  /** Share of unanswerable questions that got an answer anyway (lower is better). */
  wronglyAnswered?: number;
  kinds: KindFigures[];
  askMs: { p50: number; p95: number };
}

export interface QuestionsEvalResult {
  corpus: string;
  articles: number;
  passages: number;
  model: string;
  index: string;
  ingestSeconds: number;
  files: QuestionFileFigures[];
  seconds: number;
}

/** One asked question, for fitting and for reading failures (`--dump`). */
export interface AskedQuestion {
  file: string;
  q: string;
  kind: string;
  goldArticle?: string;
  answerable: boolean;
  answered: boolean;
  correct: boolean;
  answer: string;
  hybridArticles: string[];
}

export interface QuestionsEvalOptions {
  embedder: Embedder;
  /** Index folder, reused between runs (only new or changed articles are embedded). Default: a folder under the OS temp dir named after the corpus and model. */
  indexDir?: string;
  kb?: Partial<KnowledgeBaseOptions>;
  /** Write every asked question with its outcome here (JSON lines). */
  dump?: string;
  log: (line: string) => void;
}

export function readQuestionFile(file: string): FileQuestion[] {
  const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(json)) throw new Error(`${file} is not a question file (a JSON array of {"q", "kind", "file"?, "answer"?})`);
  return json.map((item, i) => {
    const x = item as Partial<FileQuestion>;
    if (typeof x.q !== 'string' || !x.q.trim()) throw new Error(`${file}: question ${i + 1} has no "q"`);
    if ((x.file === undefined) !== (x.answer === undefined)) throw new Error(`${file}: question ${i + 1} needs both "file" and "answer", or neither`);
    return { q: x.q, kind: typeof x.kind === 'string' ? x.kind : x.file ? 'other' : 'unanswerable', file: x.file, answer: x.answer };
  });
}

/** The index folder the eval reuses for a corpus and model when none is given. */
export function defaultIndexDir(corpus: string, model: string): string {
  const key = createHash('sha256').update(`${resolve(corpus)}\n${model}`).digest('hex').slice(0, 12);
  return join(tmpdir(), 'article-qa-eval', key);
}

/** The key-fact regex matches the answer text (Python `re.search(a, text, re.I)` semantics). */
export function answerHolds(pattern: string, text: string): boolean {
  return new RegExp(pattern, 'i').test(text);
}

function articleFigures(ranks: number[]): ArticleFigures {
  const n = Math.max(1, ranks.length);
  return { first: round(ranks.filter((r) => r === 1).length / n), top3: round(ranks.filter((r) => r <= 3).length / n) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 10) / 10;
}

/**
 * Indexes a corpus folder once (re-runs embed only new or changed articles) and asks every
 * question of each file against the whole corpus: where each retriever puts the gold article, and
 * what the final answer (`ask`) says.
 */
export async function runQuestionsEval(corpus: string, questionFiles: string[], opts: QuestionsEvalOptions): Promise<QuestionsEvalResult> {
  const started = performance.now();
  if (!existsSync(corpus)) throw new Error(`The corpus folder ${corpus} does not exist`);
  const indexDir = opts.indexDir ?? defaultIndexDir(corpus, opts.embedder.info.model);
  // As the bot ingests, so the ask timings printed include no sentence embedding.
  const kb = await KnowledgeBase.open({ sentenceVectorsAtIngest: true, ...opts.kb, dataDir: indexDir, embedder: opts.embedder });
  const dumped: AskedQuestion[] = [];
  try {
    const { articles } = await loadDirectory(corpus);
    const ingest = await kb.ingest(articles);
    opts.log(`index ${indexDir}: ${ingest.articles} articles (${ingest.unchanged} unchanged), ${ingest.embedded} passages embedded in ${ingest.seconds.toFixed(1)} s`);
    const originOf = new Map((await kb.listArticles()).map((a) => [a.id, a.origin]));
    const origin = (articleId: string) => originOf.get(articleId) ?? '';
    const rankOf = (passages: ScoredPassage[], gold: string) => {
      const i = passages.slice(0, 3).findIndex((p) => origin(p.passage.articleId) === gold);
      return i < 0 ? Infinity : i + 1;
    };
    const files: QuestionFileFigures[] = [];
    for (const file of questionFiles) {
      const questions = readQuestionFile(file);
      const ranks = { lexical: [] as number[], dense: [] as number[], hybrid: [] as number[] };
      const times: number[] = [];
      let answered = 0;
      let correct = 0;
      let firstSource = 0;
      let wrong = 0;
      let chars = 0;
      let sentences = 0;
      const byKind = new Map<string, { questions: number; top3: number; answered: number; accuracy: number }>();
      for (const q of questions) {
        const t0 = performance.now();
        const result = await kb.ask(q.q);
        times.push(performance.now() - t0);
        const kind = byKind.get(q.kind) ?? { questions: 0, top3: 0, answered: 0, accuracy: 0 };
        byKind.set(q.kind, kind);
        kind.questions++;
        if (result.answered) kind.answered++;
        let hybridArticles: string[] = [];
        let isCorrect = false;
        if (q.file && q.answer) {
          const queryVector = await kb.embedQuery(q.q);
          const lexical = await kb.retrieve(q.q, { topK: 10, queryVector, fusion: { denseWeight: 0 } });
          const dense = await kb.retrieve(q.q, { topK: 10, queryVector, fusion: { denseWeight: 1 } });
          const hybrid = await kb.retrieve(q.q, { topK: 10, queryVector });
          ranks.lexical.push(rankOf(lexical.passages, q.file));
          ranks.dense.push(rankOf(dense.passages, q.file));
          const hybridRank = rankOf(hybrid.passages, q.file);
          ranks.hybrid.push(hybridRank);
          hybridArticles = hybrid.passages.slice(0, 3).map((p) => origin(p.passage.articleId));
          if (hybridRank <= 3) kind.top3++;
          if (result.answered) {
            answered++;
            chars += result.answer.length;
            sentences += (result.answer.match(/\[\d+\]/g) ?? []).length;
          }
          isCorrect = result.answered && answerHolds(q.answer, result.answer);
          if (isCorrect) {
            correct++;
            kind.accuracy++;
          }
          if (result.answered && result.sources[0] && origin(result.sources[0].articleId) === q.file) firstSource++;
        } else if (result.answered) {
          wrong++;
        }
        dumped.push({
          file,
          q: q.q,
          kind: q.kind,
          goldArticle: q.file,
          answerable: Boolean(q.file),
          answered: result.answered,
          correct: isCorrect,
          answer: result.answered ? result.answer : '',
          hybridArticles,
        });
      }
      const answerable = questions.filter((q) => q.file).length;
      const unanswerable = questions.length - answerable;
      files.push({
        file,
        questions: questions.length,
        answerable,
        unanswerable,
        ...(answerable > 0
          ? {
              lexical: articleFigures(ranks.lexical),
              dense: articleFigures(ranks.dense),
              hybrid: articleFigures(ranks.hybrid),
              answerFirstSource: round(firstSource / answerable),
              answerAccuracy: round(correct / answerable),
              answered: round(answered / answerable),
              answerChars: Math.round(chars / Math.max(1, answered)),
              answerSentences: round(sentences / Math.max(1, answered)),
            }
          : {}),
        ...(unanswerable > 0 ? { wronglyAnswered: round(wrong / unanswerable) } : {}),
        kinds: [...byKind]
          .map(([kind, k]) => ({
            kind,
            questions: k.questions,
            top3: round(k.top3 / k.questions),
            answered: round(k.answered / k.questions),
            accuracy: round(k.accuracy / k.questions),
          }))
          .sort((a, b) => a.kind.localeCompare(b.kind)),
        askMs: { p50: percentile(times, 0.5), p95: percentile(times, 0.95) },
      });
    }
    if (opts.dump) writeFileSync(opts.dump, `${dumped.map((d) => JSON.stringify(d)).join('\n')}\n`);
    const stats = await kb.stats();
    return {
      corpus,
      articles: stats.articles,
      passages: stats.passages,
      model: stats.model.model,
      index: indexDir,
      ingestSeconds: Math.round(ingest.seconds * 10) / 10,
      files,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await kb.close();
  }
}

export function formatQuestionsFigures(r: QuestionsEvalResult): string[] {
  const lines = [`${r.articles} articles / ${r.passages} passages in ${r.index}, model ${r.model}`];
  const f3 = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(3));
  for (const f of r.files) {
    lines.push('', `${f.file}: ${f.answerable} answerable, ${f.unanswerable} unanswerable questions; ask p50 ${f.askMs.p50} ms, p95 ${f.askMs.p95} ms`);
    if (f.answerable > 0) {
      lines.push('| retriever | right article first | right article in top 3 |', '|---|---|---|');
      for (const name of ['lexical', 'dense', 'hybrid'] as const) lines.push(`| ${name} | ${f3(f[name]?.first)} | ${f3(f[name]?.top3)} |`);
      lines.push(
        '',
        '| final answer | answer accuracy | answered | first source is the right article | mean answer length |',
        '|---|---|---|---|---|',
        `| ask | ${f3(f.answerAccuracy)} | ${f3(f.answered)} | ${f3(f.answerFirstSource)} | ${f.answerChars} characters, ${f.answerSentences?.toFixed(1)} sentences |`,
      );
    }
    if (f.unanswerable > 0) lines.push('', `unanswerable questions wrongly answered: ${f3(f.wronglyAnswered)}`);
    lines.push('', '| kind | questions | right article in top 3 | answered | answer accuracy |', '|---|---|---|---|---|');
    for (const k of f.kinds) {
      const answerable = k.kind !== 'unanswerable';
      lines.push(`| ${k.kind} | ${k.questions} | ${answerable ? f3(k.top3) : '–'} | ${f3(k.answered)} | ${answerable ? f3(k.accuracy) : '–'} |`);
    }
  }
  return lines;
}
