import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BundledEmbedder, BUNDLED_MODEL_ID } from '../src/core/embed/bundled-embedder.js';
import { AUTO_MODEL } from '../src/core/embed/create-embedder.js';
import { WorkerEmbedder } from '../src/core/embed/worker-embedder.js';
import { buildTinyModel, TINY_HIDDEN_SIZE, tinyExpectedEmbedding } from './helpers/tiny-model.js';

// onnxruntime-node (under Transformers.js) allows one thread per process, so this file starts
// exactly one Transformers.js worker. Its reference vectors are tinyExpectedEmbedding(), which
// embed-transformers.test.ts checks against the in-process TransformersEmbedder. The bundled
// encoder has no such limit and is compared with its in-process twin directly.

/** A hub that refuses connections at once: nothing here may wait on the real network. */
const UNREACHABLE_HUB = 'http://127.0.0.1:9/';
let dir: string;

function expectClose(actual: Float32Array, expected: Float32Array, eps = 1e-5) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(eps);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embed-worker-'));
  // The tiny model stands in for the default model, so 'auto' finds it locally.
  await buildTinyModel(dir, AUTO_MODEL);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("WorkerEmbedder running createEmbedder('auto') with the model in MODELS_DIR", () => {
  let worker: WorkerEmbedder;
  const log = vi.fn();

  beforeAll(async () => {
    worker = await WorkerEmbedder.start(
      { model: 'auto', modelsDir: dir, quantized: true, loadTimeoutMs: 10_000, remoteHost: UNREACHABLE_HUB, batchSize: 2 },
      log,
    );
  });
  afterAll(() => worker?.close());

  it('resolves once the model is loaded, with its info, and forwards the log line', () => {
    expect(worker.info).toEqual({ model: AUTO_MODEL, dimension: TINY_HIDDEN_SIZE, normalized: true });
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toMatch(/^Embedding model: Xenova\/all-MiniLM-L6-v2 \(Transformers\.js/);
  });

  it('returns the in-process vectors, in order, for concurrent requests', async () => {
    const a = ['The talks took place in Qatar', 'a', 'a much longer text', 'hostages', 'economy'];
    const b = ['Where were the talks held?', 'football match'];
    const [fromA, fromB] = await Promise.all([worker.embed(a), worker.embed(b)]);
    expect(fromA).toHaveLength(a.length);
    expect(fromB).toHaveLength(b.length);
    fromA.forEach((v, i) => {
      expect(v).toBeInstanceOf(Float32Array);
      expectClose(v, tinyExpectedEmbedding(a[i]));
    });
    fromB.forEach((v, i) => expectClose(v, tinyExpectedEmbedding(b[i])));
    expect(await worker.embed([])).toEqual([]);
  });

  it('rejects a failing request with the worker’s error message and keeps serving', async () => {
    await expect(worker.embed(['talks', 42 as unknown as string])).rejects.toThrow('embed() expects strings; item 1 is number');
    expectClose((await worker.embed(['talks']))[0], tinyExpectedEmbedding('talks'));
  });

  it('refuses a second Transformers.js worker in the same process instead of crashing it', async () => {
    await expect(
      WorkerEmbedder.start({ model: AUTO_MODEL, modelsDir: dir, quantized: true, loadTimeoutMs: 5_000, allowRemote: false }),
    ).rejects.toThrow(/onnxruntime-node supports only one thread per process and another WorkerEmbedder is running/);
  });

  it('answers requests sent before close(), then rejects new ones', async () => {
    const pending = worker.embed(['talks', 'qatar']);
    await worker.close();
    expect(await pending).toHaveLength(2);
    await expect(worker.embed(['talks'])).rejects.toThrow(/closed/);
    await worker.close(); // idempotent
  });
});

describe('WorkerEmbedder with the bundled encoder', () => {
  let worker: WorkerEmbedder;
  const log = vi.fn();

  beforeAll(async () => {
    worker = await WorkerEmbedder.start({ model: 'bundled', modelsDir: dir, quantized: true, loadTimeoutMs: 5_000, batchSize: 16 }, log);
  });
  afterAll(() => worker?.close());

  it('loads in the worker and logs one line in the main thread', () => {
    expect(worker.info).toEqual({ model: BUNDLED_MODEL_ID, dimension: 512, normalized: true });
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toContain(BUNDLED_MODEL_ID);
  });

  it('returns the same vectors as the in-process embedder', async () => {
    const texts = ['The talks took place in Qatar', 'Where were the talks held?', 'The football match ended in a draw'];
    const local = await BundledEmbedder.load();
    try {
      const [remote, here] = [await worker.embed(texts), await local.embed(texts)];
      remote.forEach((v, i) => expectClose(v, here[i], 1e-5));
    } finally {
      await local.close();
    }
  });

  it('keeps the main event loop free while a large batch embeds', async () => {
    const words =
      'the government said talks with qatar on the release of hostages would continue next week while markets and the economy slowed'.split(' ');
    // 8 paragraphs of 100 words: one model call of about half a second, which in-process would block.
    const paragraphs = Array.from({ length: 8 }, (_, p) =>
      Array.from({ length: 100 }, (_, i) => words[(i * 7 + p * 3) % words.length]).join(' '),
    );
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 10);
    const started = performance.now();
    const vectors = await worker.embed(paragraphs);
    const ended = performance.now();
    clearInterval(timer);

    expect(vectors).toHaveLength(paragraphs.length);
    for (const v of vectors) expect(v.length).toBe(512);
    const points = [started, ...ticks, ended];
    const maxGap = Math.max(...points.slice(1).map((t, i) => t - points[i]));
    const elapsed = ended - started;
    expect(elapsed).toBeGreaterThan(200); // the batch really was work
    expect(ticks.length).toBeGreaterThan(elapsed / 50);
    expect(maxGap).toBeLessThan(Math.max(150, elapsed / 4));
  });

  it('rejects start() with the worker’s load error', async () => {
    await expect(
      WorkerEmbedder.start({ model: 'bundled', modelsDir: dir, quantized: true, loadTimeoutMs: 5_000, batchSize: 0 }),
    ).rejects.toThrow(/batchSize must be a positive integer/);
  });
});
