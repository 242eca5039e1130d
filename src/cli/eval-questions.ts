import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_COMPOSE } from '../core/answer.js';
import type { Embedder } from '../core/embed/embedder.js';
import { timeWindowOf } from '../core/ask.js';
import { withoutTime } from '../core/dates/time-query.js';
import { KnowledgeBase, type KnowledgeBaseOptions } from '../core/knowledge-base.js';
import { loadDirectory } from '../core/load/index.js';
import type { ScoredPassage } from '../core/types.js';
import { formatTargets, questionTargets, type TargetCheck } from './eval-targets.js';

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
  /** The key fact is in the text of the first 5 hybrid passages: what the answer step can reach. */
  factInPassages: number;
  answered: number;
  accuracy: number;
}

/** Figures of one question file asked against a whole corpus; shares are of that file's questions. */
export interface QuestionFileFigures {
  file: string;
  /** Whether time in the questions was read (`--time on|off|both`); absent when not asked for. */
  time?: 'on' | 'off';
  /** With time read: questions in which a period was read. */
  periodsRead?: number;
  questions: number;
  answerable: number;
  unanswerable: number;
  lexical?: ArticleFigures;
  dense?: ArticleFigures;
  hybrid?: ArticleFigures;
  /** The figures above held against {@link QUESTION_TARGETS}. */
  targets: TargetCheck[];
  /**
   * The key fact's regex matches the text of one of the first hybrid passages the answer's sentences
   * are drawn from (5): the ceiling for answer accuracy, so the gap between the two
   * is what the answer step loses.
   */
  factInPassages?: number;
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
  time?: 'on' | 'off';
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
  /**
   * Publication dates to give the corpus's articles, by file (relative to the corpus folder),
   * before indexing: a corpus without dates of its own (the BBC one) can then be asked about time.
   * A changed date re-commits the article without embedding anything.
   */
  articleDates?: Record<string, string>;
  /** Ask every file with time in questions read ('on', the default), not read ('off'), or both. */
  time?: 'on' | 'off' | 'both';
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
    const loaded = (await loadDirectory(corpus)).articles;
    const dates = opts.articleDates;
    const articles = dates ? loaded.map((a) => (dates[a.origin] ? { ...a, date: dates[a.origin] } : a)) : loaded;
    const ingest = await kb.ingest(articles);
    opts.log(`index ${indexDir}: ${ingest.articles} articles (${ingest.unchanged} unchanged), ${ingest.embedded} passages embedded in ${ingest.seconds.toFixed(1)} s`);
    const originOf = new Map((await kb.listArticles()).map((a) => [a.id, a.origin]));
    const origin = (articleId: string) => originOf.get(articleId) ?? '';
    const rankOf = (passages: ScoredPassage[], gold: string) => {
      const i = passages.slice(0, 3).findIndex((p) => origin(p.passage.articleId) === gold);
      return i < 0 ? Infinity : i + 1;
    };
    const files: QuestionFileFigures[] = [];
    const modes: ('on' | 'off' | undefined)[] = opts.time === 'both' ? ['on', 'off'] : [opts.time];
    for (const [file, mode] of questionFiles.flatMap((f) => modes.map((m) => [f, m] as const))) {
      const readTime = mode !== 'off';
      let periodsRead = 0;
      const questions = readQuestionFile(file);
      const ranks = { lexical: [] as number[], dense: [] as number[], hybrid: [] as number[] };
      const times: number[] = [];
      let answered = 0;
      let correct = 0;
      let firstSource = 0;
      let wrong = 0;
      let chars = 0;
      let sentences = 0;
      let factReachable = 0;
      const byKind = new Map<string, { questions: number; top3: number; factInPassages: number; answered: number; accuracy: number }>();
      for (const q of questions) {
        const t0 = performance.now();
        const result = await kb.ask(q.q, { readTime });
        times.push(performance.now() - t0);
        // Retrieval as `ask` does it: with time read, the question's period selects the articles and its time words are not searched.
        const period = readTime ? timeWindowOf(q.q, () => kb.newestArticleTime()) : undefined;
        if (period) periodsRead++;
        const query = period ? withoutTime(q.q, period) : q.q;
        // When nothing of that period answered, `ask` searched every article (`time.widened`): so does the eval.
        const within = period && !result.time?.widened ? { window: period } : {};
        const kind = byKind.get(q.kind) ?? { questions: 0, top3: 0, factInPassages: 0, answered: 0, accuracy: 0 };
        byKind.set(q.kind, kind);
        kind.questions++;
        if (result.answered) kind.answered++;
        let hybridArticles: string[] = [];
        let isCorrect = false;
        if (q.file && q.answer) {
          const queryVector = await kb.embedQuery(query);
          const lexical = await kb.retrieve(query, { topK: 10, queryVector, fusion: { denseWeight: 0 }, ...within });
          const dense = await kb.retrieve(query, { topK: 10, queryVector, fusion: { denseWeight: 1 }, ...within });
          const hybrid = await kb.retrieve(query, { topK: 10, queryVector, ...within });
          ranks.lexical.push(rankOf(lexical.passages, q.file));
          ranks.dense.push(rankOf(dense.passages, q.file));
          const hybridRank = rankOf(hybrid.passages, q.file);
          ranks.hybrid.push(hybridRank);
          hybridArticles = hybrid.passages.slice(0, 3).map((p) => origin(p.passage.articleId));
          if (hybridRank <= 3) kind.top3++;
          if (hybrid.passages.slice(0, DEFAULT_COMPOSE.sentencePassages).some((p) => answerHolds(q.answer!, p.passage.text))) {
            factReachable++;
            kind.factInPassages++;
          }
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
          ...(mode ? { time: mode } : {}),
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
      const figures: Omit<QuestionFileFigures, 'targets'> = {
        file,
        ...(mode ? { time: mode } : {}),
        ...(mode === 'on' ? { periodsRead } : {}),
        questions: questions.length,
        answerable,
        unanswerable,
        ...(answerable > 0
          ? {
              lexical: articleFigures(ranks.lexical),
              dense: articleFigures(ranks.dense),
              hybrid: articleFigures(ranks.hybrid),
              factInPassages: round(factReachable / answerable),
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
            factInPassages: round(k.factInPassages / k.questions),
            answered: round(k.answered / k.questions),
            accuracy: round(k.accuracy / k.questions),
          }))
          .sort((a, b) => a.kind.localeCompare(b.kind)),
        askMs: { p50: percentile(times, 0.5), p95: percentile(times, 0.95) },
      };
      files.push({ ...figures, targets: questionTargets(figures) });
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
    const time = f.time === 'on' ? `, time in questions read (a period in ${f.periodsRead})` : f.time === 'off' ? ', time in questions NOT read' : '';
    lines.push('', `${f.file}${time}: ${f.answerable} answerable, ${f.unanswerable} unanswerable questions; ask p50 ${f.askMs.p50} ms, p95 ${f.askMs.p95} ms`);
    if (f.answerable > 0) {
      lines.push('| retriever | right article first | right article in top 3 |', '|---|---|---|');
      for (const name of ['lexical', 'dense', 'hybrid'] as const) lines.push(`| ${name} | ${f3(f[name]?.first)} | ${f3(f[name]?.top3)} |`);
      lines.push(
        '',
        '| final answer | fact in the first 5 passages | answer accuracy | answered | first source is the right article | mean answer length |',
        '|---|---|---|---|---|---|',
        `| ask | ${f3(f.factInPassages)} | ${f3(f.answerAccuracy)} | ${f3(f.answered)} | ${f3(f.answerFirstSource)} | ${f.answerChars} characters, ${f.answerSentences?.toFixed(1)} sentences |`,
      );
    }
    if (f.unanswerable > 0) lines.push('', `unanswerable questions wrongly answered: ${f3(f.wronglyAnswered)}`);
    lines.push('', ...formatTargets(f.targets));
    lines.push('', '| kind | questions | right article in top 3 | fact in the first 5 passages | answered | answer accuracy |', '|---|---|---|---|---|---|');
    for (const k of f.kinds) {
      const answerable = k.kind !== 'unanswerable';
      lines.push(`| ${k.kind} | ${k.questions} | ${answerable ? f3(k.top3) : '–'} | ${answerable ? f3(k.factInPassages) : '–'} | ${f3(k.answered)} | ${answerable ? f3(k.accuracy) : '–'} |`);
    }
  }
  return lines;
}
