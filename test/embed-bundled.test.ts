import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BundledEmbedder, BUNDLED_MODEL_ID } from '../src/core/embed/bundled-embedder.js';
import { createEmbedder } from '../src/core/embed/create-embedder.js';
import type { Embedder } from '../src/core/embed/embedder.js';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

// The model loads once (~0.5 s): through createEmbedder('auto') with an empty MODELS_DIR and a hub
// that refuses connections (as on a machine without internet), which must fall back to bundled.
const UNREACHABLE_HUB = 'http://127.0.0.1:9/';
let dir: string;
let embedder: Embedder;
const log = vi.fn();
let fetchSpy: ReturnType<typeof vi.spyOn>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embed-bundled-'));
  fetchSpy = vi.spyOn(globalThis, 'fetch'); // records calls, still really fetches
  embedder = await createEmbedder(
    { model: 'auto', modelsDir: dir, quantized: true, loadTimeoutMs: 5_000, remoteHost: UNREACHABLE_HUB, batchSize: 4 },
    log,
  );
});

afterAll(async () => {
  await embedder?.close();
  fetchSpy.mockRestore();
  await rm(dir, { recursive: true, force: true });
});

describe("createEmbedder('auto') without a local model and with an unreachable hub", () => {
  it('falls back to the bundled encoder and logs exactly one line saying how to get the better model', () => {
    expect(embedder).toBeInstanceOf(BundledEmbedder);
    expect(log).toHaveBeenCalledTimes(1);
    const line: string = log.mock.calls[0][0];
    expect(line).not.toContain('\n');
    expect(line).toContain(BUNDLED_MODEL_ID);
    expect(line).toContain('Xenova/all-MiniLM-L6-v2');
    expect(line).toContain(join(dir, 'Xenova', 'all-MiniLM-L6-v2'));
    expect(line).toMatch(/MODELS_DIR/);
    expect(line).toMatch(/download/);
    // It did try the hub, and only the (unreachable) hub it was given.
    expect(fetchSpy).toHaveBeenCalled();
    for (const [url] of fetchSpy.mock.calls) expect(String(url)).toMatch(/^http:\/\/127\.0\.0\.1:9\//);
  });
});

describe('BundledEmbedder', () => {
  it('has a stable id, 512 dimensions and unit vectors', async () => {
    expect(embedder.info).toEqual({ model: BUNDLED_MODEL_ID, dimension: 512, normalized: true });
    const [v] = await embedder.embed(['Hamas released two hostages on Friday.']);
    expect(v).toBeInstanceOf(Float32Array);
    expect(v.length).toBe(512);
    expect(norm(v)).toBeCloseTo(1, 5);
  });

  it('gives semantically sensible similarities', async () => {
    const [question, qatar, football] = await embedder.embed([
      'Where were the talks held?',
      'The talks took place in Qatar',
      'The football match ended in a draw',
    ]);
    expect(dot(question, qatar)).toBeGreaterThan(dot(question, football) + 0.1);
  });

  it('returns all vectors in input order when there are more texts than batchSize (4)', async () => {
    // Lengths deliberately unsorted: the embedder batches by length internally.
    const texts = [
      'The central bank raised interest rates again to fight inflation, surprising many economists.',
      'Goal!',
      'Ceasefire talks in Doha',
      'The new phone runs faster software and has a better camera than last year’s model.',
      'Election results',
      'Israel and Hamas agreed to a pause in fighting so that hostages and prisoners could be exchanged.',
      'Music award',
      'The coach praised his team after a difficult season in the league.',
      'Markets fell',
      'Parliament will vote on the budget next week after a long debate among ministers.',
    ];
    const all = await embedder.embed(texts);
    expect(all).toHaveLength(texts.length);
    const singles = await Promise.all(texts.map(async (t) => (await embedder.embed([t]))[0]));
    all.forEach((v, i) => {
      expect(norm(v)).toBeCloseTo(1, 5);
      // Same text, same vector: each came back at its own index.
      expect(dot(v, singles[i])).toBeGreaterThan(0.999);
      for (let j = 0; j < texts.length; j++) if (j !== i) expect(dot(v, singles[j])).toBeLessThan(0.99);
    });
  });

  it('does not let a longer text in the same batch change a short text’s vector', async () => {
    const [alone] = await embedder.embed(['a']);
    const [padded] = await embedder.embed(['a', 'a much longer text']);
    expect(dot(alone, padded)).toBeGreaterThan(0.9999);
  });

  it('handles empty input and empty strings', async () => {
    expect(await embedder.embed([])).toEqual([]);
    const vs = await embedder.embed(['hello world', '']);
    expect(vs).toHaveLength(2);
    for (const v of vs) expect(norm(v)).toBeCloseTo(1, 5);
  });
});
