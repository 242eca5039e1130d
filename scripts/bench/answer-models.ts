/**
 * `npm run bench -- --answer-models [--corpus DIR] [--rerank ID] [--reader ID] [--models-dir DIR]
 * [--tiny] [--questions N]`: what RERANK_MODEL and READER_MODEL cost a question. Ingests the corpus
 * into a temporary knowledge base (embedder and answer models on one worker, as the bot runs them)
 * and asks every question with and without the models, alternating, after a warm-up; prints
 * `ask` p50/p95 both ways and the re-ranking step alone. `--tiny` uses the tiny test models
 * (test/helpers/tiny-answer-models.ts), for a machine without the real ones: that measures the
 * plumbing (worker messages, tokenising, the pipelines), not a real model's inference.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { askKnowledge } from '../../src/core/ask.js';
import { startEmbedder } from '../../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { loadDirectory } from '../../src/core/load/index.js';
import { questionsFromCorpus } from './questions.js';
import { latency, type Latency } from './stats.js';

export interface AnswerModelsBenchOptions {
  corpus: string;
  model: string;
  modelsDir: string;
  rerank?: string;
  reader?: string;
  tiny: boolean;
  questions: number;
  out: string;
  log: (line: string) => void;
}

export async function runAnswerModelsBench(opts: AnswerModelsBenchOptions): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-answer-models-'));
  try {
    let { modelsDir, rerank, reader } = opts;
    if (opts.tiny) {
      const { buildTinyCrossEncoder, buildTinyReader } = await import('../../test/helpers/tiny-answer-models.js');
      modelsDir = join(work, 'models');
      rerank = 'test/tiny-cross-encoder';
      reader = 'test/tiny-reader';
      await buildTinyCrossEncoder(modelsDir, rerank);
      await buildTinyReader(modelsDir, reader);
    }
    if (!rerank && !reader) throw new Error('Give --rerank ID and/or --reader ID (models in --models-dir), or --tiny.');
    const pool = await startEmbedder(
      { model: opts.model, modelsDir, quantized: true, loadTimeoutMs: 60_000 },
      { log: opts.log, answerModels: { rerank, reader } },
    );
    const kb = await KnowledgeBase.open({ dataDir: join(work, 'data'), embedder: pool, sentenceVectorsAtIngest: true, compose: { models: pool } });
    try {
      const { articles } = await loadDirectory(opts.corpus);
      await kb.ingest(articles);
      // A one-article corpus (the seed) repeats its few questions; the latency is what is measured.
      const questions = questionsFromCorpus(articles, opts.questions).map((q) => q.question);
      for (const q of questions.slice(0, 10)) await Promise.all([kb.ask(q), askKnowledge(kb, q)]); // warm-up (caches, JIT)
      const plain: number[] = [];
      const withModels: number[] = [];
      const rerankStep: number[] = [];
      let highlighted = 0;
      for (const [i, q] of questions.entries()) {
        // Alternate which goes first, so neither always meets a cold cache.
        const runPlain = async () => plain.push((await askKnowledge(kb, q)).timings.total);
        const runModels = async () => {
          const r = await kb.ask(q);
          withModels.push(r.timings.total);
          if (r.timings.rerank !== undefined) rerankStep.push(r.timings.rerank);
          if (r.highlight) highlighted++;
        };
        if (i % 2 === 0) await runPlain().then(runModels);
        else await runModels().then(runPlain);
      }
      const figures = {
        corpus: opts.corpus,
        embedding: pool.info.model,
        rerank: pool.reranker?.model ?? null,
        reader: pool.reader?.model ?? null,
        tiny: opts.tiny,
        questions: questions.length,
        passages: (await kb.stats()).passages,
        askWithout: latency(plain),
        askWith: latency(withModels),
        rerankStep: latency(rerankStep),
        highlighted,
      };
      const row = (name: string, l: Latency) => `| ${name} | ${l.p50} | ${l.p95} | ${l.max} |`;
      console.log(
        [
          `${questions.length} questions on ${opts.corpus} (${figures.passages} passages), embedding ${figures.embedding}, re-ranker ${figures.rerank ?? 'none'}, reader ${figures.reader ?? 'none'}${opts.tiny ? ' (tiny test models)' : ''}`,
          '',
          '| ms | p50 | p95 | max |',
          '|---|---|---|---|',
          row('ask without the models', figures.askWithout),
          row('ask with the models', figures.askWith),
          row('re-ranking step alone', figures.rerankStep),
          '',
          `answers with a bold span: ${highlighted} of ${questions.length}`,
        ].join('\n'),
      );
      mkdirSync(dirname(opts.out), { recursive: true });
      writeFileSync(opts.out, JSON.stringify(figures, null, 2));
      console.log(JSON.stringify(figures));
    } finally {
      await kb.close();
      await pool.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
