/**
 * RERANK_MODEL and READER_MODEL from the settings to an answer: openApp loads them (from
 * MODELS_DIR, where the test puts tiny models) on the first worker of the bundled encoder's pool,
 * and the knowledge base it opens, while that model is still loading, uses them once they are
 * there. Its own file: a process may start only one worker that loads onnxruntime-node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureIndexed, openApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { DeferredEmbedder } from '../src/core/embed/deferred-embedder.js';
import { buildTinyCrossEncoder, buildTinyReader } from './helpers/tiny-answer-models.js';

const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';
const dir = mkdtempSync(join(tmpdir(), 'app-answer-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openApp with RERANK_MODEL and READER_MODEL', () => {
  it('answers with the models once loaded, bundled encoder and all; without them nothing changes', async () => {
    const models = join(dir, 'models');
    await buildTinyCrossEncoder(models, 'test/tiny-cross-encoder');
    await buildTinyReader(models, 'test/tiny-reader');
    const base = { DATA_DIR: join(dir, 'data'), KNOWLEDGE_DIR: 'knowledge', EMBEDDING_MODEL: 'bundled', MODELS_DIR: models };
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l).msg) });

    // First start without them (bundled workers never load onnxruntime-node): builds the index.
    let app = await openApp(loadConfig(base), logger);
    await ensureIndexed(app);
    expect(app.answerModels).toBeUndefined();
    const before = await app.kb.ask(QUESTION);
    expect(before.highlight).toBeUndefined();
    expect(before.timings.rerank).toBeUndefined();
    await app.close();

    app = await openApp(loadConfig({ ...base, RERANK_MODEL: 'test/tiny-cross-encoder', READER_MODEL: 'test/tiny-reader' }), logger);
    try {
      expect(app.embedder).toBeInstanceOf(DeferredEmbedder); // the index opened while the models loaded
      const result = await app.kb.ask(QUESTION);
      expect(result.answered).toBe(true);
      expect(result.timings.rerank).toBeGreaterThanOrEqual(0);
      expect(result.answer.slice(result.highlight!.start, result.highlight!.end)).toBe('Qatar');
      expect(lines.filter((l) => l.startsWith('Re-ranking model: test/tiny-cross-encoder'))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('Reader model: test/tiny-reader'))).toHaveLength(1);
      expect(app.answerModels?.reranker?.model).toBe('test/tiny-cross-encoder');
    } finally {
      await app.close();
    }
  });
});
