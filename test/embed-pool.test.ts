import { describe, expect, it } from 'vitest';
import { createEmbedder } from '../src/core/embed/create-embedder.js';
import { startEmbedder, WorkerPoolEmbedder } from '../src/core/embed/worker-pool.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

describe('WorkerPoolEmbedder', () => {
  it('splits a large request over its workers and returns the vectors in order', async () => {
    const a = new HashEmbedder();
    const b = new HashEmbedder();
    const pool = new WorkerPoolEmbedder([a, b]);
    const texts = Array.from({ length: 9 }, (_, i) => `text number ${i} about talks ${i * 7}`);
    const vectors = await pool.embed(texts);
    const reference = new HashEmbedder();
    expect(vectors).toEqual(texts.map((t) => reference.vector(t)));
    expect(a.textsEmbedded).toBeGreaterThan(0);
    expect(b.textsEmbedded).toBeGreaterThan(0);
    expect(a.textsEmbedded + b.textsEmbedded).toBe(9);
  });

  it('sends a single question to one worker', async () => {
    const a = new HashEmbedder();
    const b = new HashEmbedder();
    const pool = new WorkerPoolEmbedder([a, b]);
    await pool.embed(['where were the talks held?']);
    expect(a.calls + b.calls).toBe(1);
  });

  it('runs the bundled encoder on two worker threads with the same vectors as one', async () => {
    const spec = { model: 'bundled', modelsDir: 'models', quantized: true, loadTimeoutMs: 2000 };
    const pool = await startEmbedder(spec, { workers: 2 });
    const single = await createEmbedder(spec);
    try {
      expect(pool).toBeInstanceOf(WorkerPoolEmbedder);
      // Ready with one worker; the second joins once loaded.
      await (pool as WorkerPoolEmbedder).whenComplete();
      expect((pool as WorkerPoolEmbedder).size).toBe(2);
      const texts = ['The talks took place in Qatar.', 'Rovers won the cup final.', 'Markets fell on Monday.', 'Hamas rejected the offer.'];
      const [fromPool, fromOne] = [await pool.embed(texts), await single.embed(texts)];
      fromPool.forEach((v, i) => {
        let dot = 0;
        for (let d = 0; d < v.length; d++) dot += v[d] * fromOne[i][d];
        expect(dot).toBeGreaterThan(0.999);
      });
    } finally {
      await pool.close();
      await single.close();
    }
  });
});

describe('createEmbedder("auto") with an existing index', () => {
  it('keeps the bundled encoder the index was built with and says how to switch', async () => {
    const lines: string[] = [];
    const embedder = await createEmbedder(
      { model: 'auto', modelsDir: 'models', quantized: true, loadTimeoutMs: 2000, indexModel: 'universal-sentence-encoder-lite', remoteHost: 'http://127.0.0.1:9/' },
      (l) => lines.push(l),
    );
    try {
      expect(embedder.info.model).toBe('universal-sentence-encoder-lite');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/the model this index was built with.*npm run ingest -- --rebuild/);
    } finally {
      await embedder.close();
    }
  });
});
