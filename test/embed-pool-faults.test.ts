/**
 * Issue 12, item 8: a crashed embedding worker is replaced (with back-off), requests go to live
 * workers only, and when no worker can start the pool fails readiness loudly.
 */
import { describe, expect, it, vi } from 'vitest';
import { EmbedderUnavailableError, startEmbedder, WorkerPoolEmbedder } from '../src/core/embed/worker-pool.js';
import { WorkerEmbedder } from '../src/core/embed/worker-embedder.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

/** A HashEmbedder that can crash like a worker thread: it then rejects everything and tells its listeners. */
class CrashableEmbedder extends HashEmbedder {
  failed: Error | null = null;
  private readonly listeners: ((error: Error) => void)[] = [];

  onFailure(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }

  crash(): void {
    this.failed = new Error('Embedding worker exited (code 1)');
    for (const l of this.listeners) l(this.failed);
  }

  override async embed(texts: string[]): Promise<Float32Array[]> {
    if (this.failed) throw this.failed;
    return super.embed(texts);
  }
}

const BACKOFF = { initialMs: 1, maxMs: 4, attempts: 3 };

describe('WorkerPoolEmbedder with a crashed worker', () => {
  it('replaces it, and questions go to live workers only', async () => {
    const [a, b] = [new CrashableEmbedder(), new CrashableEmbedder()];
    const replacements: CrashableEmbedder[] = [];
    const pool = new WorkerPoolEmbedder([a, b], {
      restart: async () => {
        const w = new CrashableEmbedder();
        replacements.push(w);
        return w;
      },
      backoff: BACKOFF,
    });
    a.crash();
    for (let i = 0; i < 6; i++) expect(await pool.embed([`question ${i}`])).toHaveLength(1);
    expect(a.calls).toBe(0);
    await pool.whenSettled();
    expect(replacements).toHaveLength(1);
    expect(pool.size).toBe(2);
    expect(pool.ready).toBe(true);
  });

  it('retries a request whose worker died under it', async () => {
    const a = new CrashableEmbedder();
    const b = new CrashableEmbedder();
    const original = a.embed.bind(a);
    a.embed = async (texts) => {
      a.crash();
      return original(texts);
    };
    const pool = new WorkerPoolEmbedder([a, b], { restart: async () => new CrashableEmbedder(), backoff: BACKOFF });
    const vectors = await pool.embed(['where were the talks held?']);
    expect(vectors[0]).toEqual(new HashEmbedder().vector('where were the talks held?'));
  });

  it('backs off between failed restarts, and fails readiness loudly when none can start', async () => {
    const a = new CrashableEmbedder();
    const onUnavailable = vi.fn();
    let attempts = 0;
    const pool = new WorkerPoolEmbedder([a], {
      restart: async () => {
        attempts++;
        throw new Error('the model could not be loaded');
      },
      backoff: BACKOFF,
      onUnavailable,
    });
    a.crash();
    const error = await pool.embed(['a question']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbedderUnavailableError);
    expect((error as Error).message).toMatch(/no embedding worker could be started after 3 attempts.*the model could not be loaded/);
    expect(attempts).toBe(3);
    expect(onUnavailable).toHaveBeenCalledTimes(1);
    expect(pool.ready).toBe(false);
    // Later questions fail at once with the same clear error, and no more restarts are tried.
    await expect(pool.embed(['another'])).rejects.toBeInstanceOf(EmbedderUnavailableError);
    expect(attempts).toBe(3);
  });
});

describe('a real embedding worker thread that dies', () => {
  it('is replaced by startEmbedder’s pool, which keeps answering', async () => {
    const spec = { model: 'bundled', modelsDir: 'models', quantized: true, loadTimeoutMs: 5000 };
    const pool = (await startEmbedder(spec, { workers: 1 })) as WorkerPoolEmbedder;
    try {
      expect(pool).toBeInstanceOf(WorkerPoolEmbedder);
      const before = await pool.embed(['The talks took place in Qatar.']);
      const [worker] = pool.members as WorkerEmbedder[];
      await worker.kill(); // as if the thread crashed
      const after = await pool.embed(['The talks took place in Qatar.']);
      let dot = 0;
      for (let d = 0; d < before[0].length; d++) dot += before[0][d] * after[0][d];
      expect(dot).toBeGreaterThan(0.999);
      expect(pool.members[0]).not.toBe(worker);
    } finally {
      await pool.close();
    }
  });
});
