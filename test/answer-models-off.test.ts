/**
 * RERANK_MODEL and READER_MODEL set to models that are neither in MODELS_DIR nor reachable on the
 * hub (a local port that refuses connections stands in for it): each feature is off with one log
 * line saying why and how to turn it on, and questions are answered exactly as without them.
 * Its own file because onnxruntime-node allows one worker thread per process.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { askKnowledge } from '../src/core/ask.js';
import type { WorkerPoolEmbedder } from '../src/core/embed/worker-pool.js';
import type { KnowledgeBase } from '../src/core/knowledge-base.js';
import { shareSeedKbWithAnswerModels } from './helpers/answer-models-kb.js';

const QUESTIONS = ['Where did the talks between the U.S. and Hamas take place?', 'Who pushed for an agreement?', 'What is the football score?'];

let dir: string;
let pool: WorkerPoolEmbedder;
let kb: KnowledgeBase;
const log = vi.fn<(line: string) => void>();

shareSeedKbWithAnswerModels(
  {
    tempPrefix: 'answer-models-off-',
    allowRemote: true,
    answerModels: { rerank: 'test/missing-cross-encoder', reader: 'test/missing-reader' },
    log,
  },
  (setup) => ({ dir, pool, kb } = setup),
);

describe('answer-step models that cannot be loaded', () => {
  it('turns each feature off with one log line that says why and what to do; the embedder still runs', () => {
    const lines = log.mock.calls.map(([line]) => line);
    const rerankLines = lines.filter((l) => l.includes('RERANK_MODEL'));
    const readerLines = lines.filter((l) => l.includes('READER_MODEL'));
    expect(rerankLines).toHaveLength(1);
    expect(readerLines).toHaveLength(1);
    expect(rerankLines[0]).toMatch(/^Re-ranking off: RERANK_MODEL=test\/missing-cross-encoder could not be loaded \(it is not in MODELS_DIR and the hub is unreachable or does not have it: .+\)\. Answers are composed without it\./);
    expect(rerankLines[0]).toContain(join(dir, 'models', 'test', 'missing-cross-encoder'));
    expect(rerankLines[0]).toContain('or let the bot reach the hub once to download them, then restart.');
    expect(readerLines[0]).toMatch(/^Answer spans off: READER_MODEL=test\/missing-reader could not be loaded/);
    expect(lines.filter((l) => l.startsWith('Embedding model: test/tiny-bert'))).toHaveLength(1);
    expect(pool.reranker).toBeUndefined();
    expect(pool.reader).toBeUndefined();
  });

  it('answers every question exactly as without them', async () => {
    for (const question of QUESTIONS) {
      const withOff = await kb.ask(question);
      const without = await askKnowledge(kb, question);
      expect({ ...withOff, timings: undefined }).toEqual({ ...without, timings: undefined });
      expect(withOff.highlight).toBeUndefined();
      expect(withOff.timings.rerank).toBeUndefined();
    }
    expect((await kb.ask(QUESTIONS[0])).answered).toBe(true);
  });
});
