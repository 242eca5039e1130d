import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEmbedder } from '../src/core/embed/create-embedder.js';
import { TransformersEmbedder } from '../src/core/embed/transformers-embedder.js';
import { buildTinyModel, TINY_HIDDEN_SIZE, tinyExpectedEmbedding } from './helpers/tiny-model.js';

const MODEL = 'test/tiny-bert';
let dir: string;
let fetchSpy: ReturnType<typeof vi.spyOn>;

function expectClose(actual: Float32Array, expected: Float32Array, eps = 1e-5) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(eps);
}
const norm = (v: Float32Array) => Math.hypot(...v);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embed-tf-'));
  await buildTinyModel(dir, MODEL);
  // Nothing in this file may touch the network: any fetch fails loudly and is counted.
  fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    throw new Error(`network access in test: ${String(input)}`);
  });
  env.remoteHost = 'http://127.0.0.1:9/';
});

afterAll(async () => {
  fetchSpy.mockRestore();
  await rm(dir, { recursive: true, force: true });
});

describe('TransformersEmbedder (tiny local BERT)', () => {
  let embedder: TransformersEmbedder;

  beforeAll(async () => {
    embedder = await TransformersEmbedder.load({ model: MODEL, modelsDir: dir, quantized: false, allowRemote: false, batchSize: 3 });
  });
  afterAll(() => embedder.close());

  it('reports model id, probed dimension and normalisation', () => {
    expect(embedder.info).toEqual({ model: MODEL, dimension: TINY_HIDDEN_SIZE, normalized: true });
  });

  it('returns one unit-length Float32Array per text, equal to the mean-pooled token vectors', async () => {
    const texts = ['The talks took place in Qatar', 'Where were the talks held?', 'football match ended in a draw'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    vectors.forEach((v, i) => {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(TINY_HIDDEN_SIZE);
      expect(norm(v)).toBeCloseTo(1, 5);
      expectClose(v, tinyExpectedEmbedding(texts[i]));
    });
  });

  it('pools over real tokens only: padding in a batch does not change a vector', async () => {
    const [alone] = await embedder.embed(['a']);
    const [padded, longer] = await embedder.embed(['a', 'a much longer text']);
    expectClose(padded, alone, 1e-6);
    expectClose(alone, tinyExpectedEmbedding('a'));
    expectClose(longer, tinyExpectedEmbedding('a much longer text'));
  });

  it('embeds more texts than batchSize, in order', async () => {
    const texts = ['talks', 'qatar', 'hamas', 'hostages', 'march', 'economy and growth', 'football', 'the team won', 'bank', 'a'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    vectors.forEach((v, i) => expectClose(v, tinyExpectedEmbedding(texts[i])));
    expect(await embedder.embed([])).toEqual([]);
  });

  it('loads the quantized file by default (q8 → onnx/model_quantized.onnx)', async () => {
    const q = await TransformersEmbedder.load({ model: MODEL, modelsDir: dir, allowRemote: false });
    try {
      expectClose((await q.embed(['hostages']))[0], tinyExpectedEmbedding('hostages'));
    } finally {
      await q.close();
    }
  });

  it('fails on a missing model with remote disabled, saying what to do, without touching the network', async () => {
    fetchSpy.mockClear();
    const err = await TransformersEmbedder.load({ model: 'test/missing-model', modelsDir: dir, allowRemote: false }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain('Could not load embedding model test/missing-model');
    expect(err.message).toContain(`MODELS_DIR=${dir}`);
    expect(err.message).toContain(`Put the model files under ${join(dir, 'test', 'missing-model')}/`);
    expect(err.message).toContain('onnx/model_quantized.onnx');
    expect(err.message).toContain('EMBEDDING_MODEL=bundled');
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('createEmbedder with Hugging Face ids', () => {
  it('loads a named model through Transformers.js and logs it', async () => {
    const log = vi.fn();
    const e = await createEmbedder({ model: MODEL, modelsDir: dir, quantized: false, loadTimeoutMs: 5_000, allowRemote: false }, log);
    try {
      expect(e).toBeInstanceOf(TransformersEmbedder);
      expect(e.info.model).toBe(MODEL);
      expect(log).toHaveBeenCalledTimes(1);
      expect(log.mock.calls[0][0]).toContain(MODEL);
    } finally {
      await e.close();
    }
  });

  it('does not silently fall back when a named model is missing', async () => {
    const log = vi.fn();
    await expect(
      createEmbedder({ model: 'test/not-there', modelsDir: dir, quantized: true, loadTimeoutMs: 5_000, allowRemote: false }, log),
    ).rejects.toThrow(/Could not load embedding model test\/not-there.*EMBEDDING_MODEL=bundled/s);
    expect(log).not.toHaveBeenCalled();
  });
});

describe('load timeout', () => {
  let server: Server;
  let host: string;

  beforeAll(async () => {
    fetchSpy.mockRestore(); // this block uses a local hub that accepts connections and never answers
    server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('rejects a load that takes longer than loadTimeoutMs with a clear error', async () => {
    const started = Date.now();
    const err = await TransformersEmbedder.load({
      model: 'test/slow-model',
      modelsDir: dir,
      allowRemote: true,
      remoteHost: host,
      loadTimeoutMs: 300,
    }).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err.message).toMatch(/took longer than 300 ms/);
    expect(err.message).toContain('EMBEDDING_MODEL=bundled');
  });
});
