import type { AnswerModels, Reader, Reranker } from '../answer-models.js';
import { BUNDLED_MODEL_ID } from './model-ids.js';
import { keptBundledMessage, type EmbedderSpec } from './create-embedder.js';
import type { Embedder, EmbedderInfo } from './embedder.js';
import type { AnswerModelsSpec } from './transformers-answer-models.js';
import { WorkerEmbedder } from './worker-embedder.js';

/** No embedding worker is running and none could be started: the pool is not ready. */
export class EmbedderUnavailableError extends Error {
  override name = 'EmbedderUnavailableError';
}

/** What the pool needs from a worker to notice that it died (WorkerEmbedder has both). */
interface Watchable {
  /** Set once the worker is gone. */
  readonly failed?: Error | null;
  /** Called once when the worker dies unexpectedly (not on close). */
  onFailure?(listener: (error: Error) => void): void;
}

export interface WorkerPoolOptions {
  /** Starts a replacement for a worker that died. Without it, dead workers are only dropped. */
  restart?: () => Promise<Embedder>;
  /** Delays between failed restarts: initialMs, doubling up to maxMs; `attempts` in a row before giving up. Default 500 ms, 30 s, 6. */
  backoff?: { initialMs?: number; maxMs?: number; attempts?: number };
  /**
   * Called once when no worker is left and none could be started: the pool is not ready and every
   * embed() rejects with an {@link EmbedderUnavailableError} from then on.
   */
  onUnavailable?: (error: EmbedderUnavailableError) => void;
  log?: (line: string) => void;
}

/**
 * Several embedding workers behind one Embedder. The bundled encoder (TF.js WASM) is single-
 * threaded, so one worker per core multiplies ingest speed; a large request is split into
 * contiguous slices, one per worker, and a small one (a question) goes to the least busy worker.
 *
 * A worker that dies is taken out at once (it never gets another request), a request it was
 * running is retried on the others, and a replacement is started (`restart`), after a back-off
 * when starting fails. While no worker is running but a replacement is starting, requests wait
 * for it; when none can be started, the pool reports itself unavailable (`ready` false,
 * `onUnavailable`) and refuses requests with that reason instead of failing each one obscurely.
 */
export class WorkerPoolEmbedder implements Embedder, AnswerModels {
  private readonly live: Embedder[] = [];
  private readonly pending = new Map<Embedder, number>();
  private readonly joining = new Set<Promise<unknown>>();
  private readonly restarts = new Set<Promise<unknown>>();
  private readonly waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private readonly firstInfo: EmbedderInfo;
  private unavailable: EmbedderUnavailableError | null = null;
  private closed = false;

  constructor(
    workers: Embedder[],
    private readonly options: WorkerPoolOptions = {},
  ) {
    if (workers.length === 0) throw new Error('WorkerPoolEmbedder needs at least one worker');
    this.firstInfo = workers[0].info;
    for (const w of workers) this.admit(w);
  }

  /**
   * Adds a worker once it has loaded, so start-up need not wait for every worker: the first one
   * answers questions while the others load. A worker that fails to load is reported and left out.
   */
  join(loading: Promise<Embedder>, onError?: (error: Error) => void): void {
    const joined = loading.then(
      async (worker) => {
        if (this.closed) return worker.close();
        this.admit(worker);
      },
      (error: Error) => onError?.(error),
    );
    this.joining.add(joined);
    void joined.finally(() => this.joining.delete(joined));
  }

  get info(): EmbedderInfo {
    return this.firstInfo;
  }

  /** Workers running now. */
  get size(): number {
    return this.live.length;
  }

  /** The workers running now. */
  get members(): readonly Embedder[] {
    return this.live;
  }

  /** False once no worker runs and none could be started. */
  get ready(): boolean {
    return this.unavailable === null;
  }

  /**
   * The re-ranking model of the running worker that loaded it (RERANK_MODEL); undefined when none
   * was asked for, it could not be loaded, or its worker has stopped (a replacement thread cannot
   * load onnxruntime-node again, so it stays off until the bot restarts).
   */
  get reranker(): Reranker | undefined {
    const worker = this.withAnswerModel('reranker');
    if (!worker) return undefined;
    const model = worker.answerModels.reranker!;
    return { model, score: (query, passages) => this.reported(model, worker.rerank(query, passages)) };
  }

  /** The reader model (READER_MODEL) of the running worker that loaded it; see {@link reranker}. */
  get reader(): Reader | undefined {
    const worker = this.withAnswerModel('reader');
    if (!worker) return undefined;
    const model = worker.answerModels.reader!;
    return { model, read: (question, context) => this.reported(model, worker.read(question, context)) };
  }

  private withAnswerModel(kind: 'reranker' | 'reader'): WorkerEmbedder | undefined {
    return this.live.find((w): w is WorkerEmbedder => w instanceof WorkerEmbedder && !w.failed && w.answerModels[kind] !== undefined);
  }

  /** A failed run is logged here (the answer goes on without it, see askKnowledge and composeAnswer). */
  private async reported<T>(model: string, running: Promise<T>): Promise<T> {
    try {
      return await running;
    } catch (error) {
      this.options.log?.(`${model} failed on a question (${error instanceof Error ? error.message : String(error)}); answered without it`);
      throw error;
    }
  }

  get queuedTexts(): number {
    let n = 0;
    for (const texts of this.pending.values()) n += texts;
    return n;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      await this.someWorker();
      const used = [...this.live];
      try {
        return await this.dispatch(texts);
      } catch (error) {
        // A worker died under the request: it has been taken out; try the others (or its replacement).
        const died = used.some((w) => !this.live.includes(w) || isDead(w));
        if (!died || attempt >= 2) throw error;
      }
    }
  }

  private async dispatch(texts: string[]): Promise<Float32Array[]> {
    const workers = [...this.live];
    if (texts.length < 2 * workers.length) return this.run(this.leastBusy(), texts);
    const slice = Math.ceil(texts.length / workers.length);
    const parts = await Promise.all(workers.map((w, i) => this.run(w, texts.slice(i * slice, (i + 1) * slice))));
    return parts.flat();
  }

  private leastBusy(): Embedder {
    let best = this.live[0];
    for (const w of this.live) if ((this.pending.get(w) ?? 0) < (this.pending.get(best) ?? 0)) best = w;
    return best;
  }

  private async run(worker: Embedder, texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    this.pending.set(worker, (this.pending.get(worker) ?? 0) + texts.length);
    try {
      return await worker.embed(texts);
    } finally {
      if (this.pending.has(worker)) this.pending.set(worker, (this.pending.get(worker) ?? 0) - texts.length);
    }
  }

  /** Resolves when a worker is running; waits for a replacement that is starting; rejects when none can. */
  private someWorker(): Promise<void> {
    if (this.live.length > 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('WorkerPoolEmbedder is closed'));
    if (this.unavailable) return Promise.reject(this.unavailable);
    if (this.restarts.size === 0 && this.joining.size === 0) return Promise.reject(this.giveUp(new Error('every embedding worker has stopped')));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private admit(worker: Embedder): void {
    if (isDead(worker)) return;
    this.live.push(worker);
    this.pending.set(worker, 0);
    (worker as Watchable).onFailure?.((error) => this.retire(worker, error));
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  /** Takes a dead worker out and starts its replacement. */
  private retire(worker: Embedder, error: Error): void {
    const i = this.live.indexOf(worker);
    if (i === -1 || this.closed) return;
    this.live.splice(i, 1);
    this.pending.delete(worker);
    void worker.close().catch(() => undefined);
    this.options.log?.(`an embedding worker stopped (${error.message}); ${this.options.restart ? 'starting a replacement' : `continuing with ${this.live.length}`}`);
    const lost = worker instanceof WorkerEmbedder ? Object.values(worker.answerModels) : [];
    if (lost.length > 0) {
      this.options.log?.(`${lost.join(' and ')} ran on that worker and ${lost.length === 1 ? 'is' : 'are'} off until the bot restarts (a new thread cannot load onnxruntime-node again); answers go on without ${lost.length === 1 ? 'it' : 'them'}`);
    }
    if (this.options.restart) this.replace(0);
    else if (this.live.length === 0) this.giveUp(error);
  }

  private replace(attempt: number): void {
    const { initialMs = 500, maxMs = 30_000, attempts = 6 } = this.options.backoff ?? {};
    const delay = attempt === 0 ? 0 : Math.min(maxMs, initialMs * 2 ** (attempt - 1));
    const task = (async () => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.closed) return;
      try {
        const worker = await this.options.restart!();
        if (this.closed) return void (await worker.close());
        this.admit(worker);
        this.options.log?.(`a replacement embedding worker is running (${this.live.length} in all)`);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (attempt + 1 < attempts) {
          this.options.log?.(`a replacement embedding worker did not start (${reason}); trying again`);
          this.replace(attempt + 1);
        } else if (this.live.length === 0) {
          this.giveUp(new Error(`no embedding worker could be started after ${attempts} attempts (last: ${reason})`));
        } else {
          this.options.log?.(`a replacement embedding worker did not start after ${attempts} attempts (${reason}); continuing with ${this.live.length}`);
        }
      }
    })();
    this.restarts.add(task);
    void task.finally(() => {
      this.restarts.delete(task);
      // The last restart gave up without a worker: wake the waiters with the reason.
      if (this.live.length === 0 && this.restarts.size === 0 && this.joining.size === 0 && this.waiting.length > 0) {
        const error = this.unavailable ?? this.giveUp(new Error('every embedding worker has stopped'));
        for (const w of this.waiting.splice(0)) w.reject(error);
      }
    });
  }

  private giveUp(cause: Error): EmbedderUnavailableError {
    if (this.unavailable) return this.unavailable;
    this.unavailable = new EmbedderUnavailableError(`The embedding model is not available: ${cause.message}.`, { cause });
    for (const w of this.waiting.splice(0)) w.reject(this.unavailable);
    this.options.onUnavailable?.(this.unavailable);
    return this.unavailable;
  }

  /** Resolves once every worker passed to {@link join} has joined or failed. */
  async whenComplete(): Promise<void> {
    await Promise.all(this.joining);
  }

  /** Resolves once joins and replacements in progress have finished (tests, shutdown). */
  async whenSettled(): Promise<void> {
    while (this.joining.size > 0 || this.restarts.size > 0) await Promise.all([...this.joining, ...this.restarts]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error('WorkerPoolEmbedder is closed'));
    await Promise.all([...this.joining, ...this.restarts]);
    await Promise.all(this.live.map((w) => w.close()));
  }
}

function isDead(worker: Embedder): boolean {
  return ((worker as Watchable).failed ?? null) !== null;
}

/** Options of {@link startEmbedder}. */
export interface StartEmbedderOptions {
  /** Workers for a single-threaded embedder (the bundled encoder). Default 2 (one per core here). */
  workers?: number;
  log?: (line: string) => void;
  /** Called once if no embedding worker runs and none can be started (see WorkerPoolOptions). */
  onUnavailable?: (error: EmbedderUnavailableError) => void;
  /** Back-off of worker restarts (see WorkerPoolOptions). */
  backoff?: WorkerPoolOptions['backoff'];
  /**
   * Re-ranking and reader models (RERANK_MODEL, READER_MODEL), loaded on the first worker beside
   * the embedder; the pool exposes them as `reranker` and `reader`. One that cannot be loaded is
   * off, with one log line.
   */
  answerModels?: AnswerModelsSpec;
}

/**
 * Starts the configured embedder off the main thread, as a pool that replaces a worker that dies.
 * Transformers.js models run in one worker (ONNX Runtime already uses every core, and allows one
 * thread per process, so such a worker cannot be replaced: its death makes the pool unavailable);
 * the bundled encoder gets a pool of `workers`.
 */
export async function startEmbedder(spec: EmbedderSpec, options: StartEmbedderOptions = {}): Promise<WorkerPoolEmbedder> {
  const count = Math.max(1, options.workers ?? 2);
  // Only the first worker loads them: onnxruntime-node allows one thread per process.
  const withModels = { answerModels: options.answerModels, logAnswerModels: options.log };
  const model = spec.model.trim();
  const poolOptions = (restartSpec: EmbedderSpec): WorkerPoolOptions => ({
    restart: () => WorkerEmbedder.start(restartSpec),
    backoff: options.backoff,
    onUnavailable: options.onUnavailable,
    log: options.log,
  });
  if (count > 1 && (model === 'bundled' || ((model === 'auto' || model === '') && spec.indexModel === BUNDLED_MODEL_ID))) {
    // Known to be the bundled encoder: ready as soon as one worker has loaded; the rest join later.
    const bundled = { ...spec, model: 'bundled' };
    const pool = new WorkerPoolEmbedder([await WorkerEmbedder.start(bundled, undefined, withModels)], poolOptions(bundled));
    for (let i = 1; i < count; i++) {
      pool.join(WorkerEmbedder.start(bundled), (error) => options.log?.(`an extra embedding worker did not start (${error.message}); continuing with fewer`));
    }
    options.log?.(model === 'bundled' ? `Embedding model: ${BUNDLED_MODEL_ID} (bundled, 512-d, EMBEDDING_MODEL=bundled).` : keptBundledMessage(spec));
    return pool;
  }
  const first = await WorkerEmbedder.start(spec, options.log, withModels);
  if (first.info.model !== BUNDLED_MODEL_ID) return new WorkerPoolEmbedder([first], poolOptions(spec));
  const bundled = { ...spec, model: 'bundled' };
  try {
    const more = await Promise.all(Array.from({ length: count - 1 }, () => WorkerEmbedder.start(bundled)));
    return new WorkerPoolEmbedder([first, ...more], poolOptions(bundled));
  } catch (error) {
    await first.close();
    throw error;
  }
}
