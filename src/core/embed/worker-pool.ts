import { BUNDLED_MODEL_ID } from './model-ids.js';
import { keptBundledMessage, type EmbedderSpec } from './create-embedder.js';
import type { Embedder, EmbedderInfo } from './embedder.js';
import { WorkerEmbedder } from './worker-embedder.js';

/**
 * Several embedding workers behind one Embedder. The bundled encoder (TF.js WASM) is single-
 * threaded, so one worker per core multiplies ingest speed; a large request is split into
 * contiguous slices, one per worker, and a small one (a question) goes to the least busy worker.
 */
export class WorkerPoolEmbedder implements Embedder {
  private readonly pending: number[];
  private readonly joining = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly workers: Embedder[]) {
    if (workers.length === 0) throw new Error('WorkerPoolEmbedder needs at least one worker');
    this.pending = workers.map(() => 0);
  }

  /**
   * Adds a worker once it has loaded, so start-up need not wait for every worker: the first one
   * answers questions while the others load. A worker that fails to load is reported and left out.
   */
  join(loading: Promise<Embedder>, onError?: (error: Error) => void): void {
    const joined = loading.then(
      async (worker) => {
        if (this.closed) return worker.close();
        this.workers.push(worker);
        this.pending.push(0);
      },
      (error: Error) => onError?.(error),
    );
    this.joining.add(joined);
    void joined.finally(() => this.joining.delete(joined));
  }

  get info(): EmbedderInfo {
    return this.workers[0].info;
  }

  get size(): number {
    return this.workers.length;
  }

  get queuedTexts(): number {
    return this.pending.reduce((a, b) => a + b, 0);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length < 2 * this.workers.length) return this.run(this.leastBusy(), texts);
    const slice = Math.ceil(texts.length / this.workers.length);
    const parts = await Promise.all(this.workers.map((_, i) => this.run(i, texts.slice(i * slice, (i + 1) * slice))));
    return parts.flat();
  }

  private leastBusy(): number {
    let best = 0;
    for (let i = 1; i < this.pending.length; i++) if (this.pending[i] < this.pending[best]) best = i;
    return best;
  }

  private async run(worker: number, texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    this.pending[worker] += texts.length;
    try {
      return await this.workers[worker].embed(texts);
    } finally {
      this.pending[worker] -= texts.length;
    }
  }

  /** Resolves once every worker passed to {@link join} has joined or failed. */
  async whenComplete(): Promise<void> {
    await Promise.all(this.joining);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.joining);
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

/** Options of {@link startEmbedder}. */
export interface StartEmbedderOptions {
  /** Workers for a single-threaded embedder (the bundled encoder). Default 2 (one per core here). */
  workers?: number;
  log?: (line: string) => void;
}

/**
 * Starts the configured embedder off the main thread. Transformers.js models run in one worker
 * (ONNX Runtime already uses every core, and allows one thread per process); the bundled encoder
 * gets a pool of `workers`.
 */
export async function startEmbedder(spec: EmbedderSpec, options: StartEmbedderOptions = {}): Promise<Embedder> {
  const count = Math.max(1, options.workers ?? 2);
  const model = spec.model.trim();
  if (count > 1 && (model === 'bundled' || ((model === 'auto' || model === '') && spec.indexModel === BUNDLED_MODEL_ID))) {
    // Known to be the bundled encoder: ready as soon as one worker has loaded; the rest join later.
    const bundled = { ...spec, model: 'bundled' };
    const pool = new WorkerPoolEmbedder([await WorkerEmbedder.start(bundled)]);
    for (let i = 1; i < count; i++) {
      pool.join(WorkerEmbedder.start(bundled), (error) => options.log?.(`an extra embedding worker did not start (${error.message}); continuing with fewer`));
    }
    options.log?.(model === 'bundled' ? `Embedding model: ${BUNDLED_MODEL_ID} (bundled, 512-d, EMBEDDING_MODEL=bundled).` : keptBundledMessage(spec));
    return pool;
  }
  const first = await WorkerEmbedder.start(spec, options.log);
  if (first.info.model !== BUNDLED_MODEL_ID || count === 1) return first;
  try {
    const more = await Promise.all(Array.from({ length: count - 1 }, () => WorkerEmbedder.start({ ...spec, model: 'bundled' })));
    return new WorkerPoolEmbedder([first, ...more]);
  } catch (error) {
    await first.close();
    throw error;
  }
}
