/**
 * WorkerEmbedder: runs createEmbedder(spec) on a worker thread so that model inference never
 * blocks the main event loop (Discord heartbeats, other users' questions).
 *
 * Works from compiled JavaScript and from TypeScript sources (tsx, vitest): see ../worker-thread.ts.
 *
 * Limit: a spec other than `"bundled"` loads onnxruntime-node in the worker, and onnxruntime-node
 * 1.21 supports one thread per process (see transformers-embedder.ts). So at most one such worker
 * per process lifetime, and none while the main thread has a TransformersEmbedder open;
 * start() rejects with an explanation instead of letting the process abort. `"bundled"` workers
 * have no such limit.
 */
import type { Worker } from 'node:worker_threads';
import type { ReaderSpan } from '../answer-models.js';
import { startWorker } from '../worker-thread.js';
import type { EmbedderSpec } from './create-embedder.js';
import type { FromWorker, LoadedAnswerModels, ToWorker } from './embed-worker.js';
import type { Embedder, EmbedderInfo } from './embedder.js';
import { ortThreads } from './ort-threads.js';
import type { AnswerModelsSpec } from './transformers-answer-models.js';

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
}

/** Options of {@link WorkerEmbedder.start} beyond the embedding model. */
export interface WorkerAnswerModelsOptions {
  /** Re-ranking and reader models to load on this worker, beside the embedder (RERANK_MODEL, READER_MODEL). */
  answerModels?: AnswerModelsSpec;
  /** Receives their log lines (one per model: loaded, or off and why). */
  logAnswerModels?: (line: string) => void;
}

/** How long close() waits for the worker to release the model before terminating it. */
const CLOSE_GRACE_MS = 2_000;

export class WorkerEmbedder implements Embedder {
  readonly info: EmbedderInfo;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker is gone or closing; later calls reject with it. */
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private onClosed: (() => void) | null = null;
  private readonly failureListeners: ((error: Error) => void)[] = [];

  private constructor(
    worker: Worker,
    info: EmbedderInfo,
    /** The answer-step models this worker loaded (none unless asked for). */
    readonly answerModels: LoadedAnswerModels = {},
  ) {
    this.worker = worker;
    this.info = info;
  }

  /**
   * Starts the worker and resolves once it has loaded the model (or rejects with the worker's
   * load error). `log` receives createEmbedder's log line(s) from the worker.
   */
  static start(spec: EmbedderSpec, log: (msg: string) => void = () => {}, extra: WorkerAnswerModelsOptions = {}): Promise<WorkerEmbedder> {
    const answerModels = extra.answerModels?.rerank || extra.answerModels?.reader ? extra.answerModels : undefined;
    const usesOrt = spec.model.trim() !== 'bundled' || answerModels !== undefined;
    if (usesOrt) {
      const ort = ortThreads();
      const why =
        ort.mainLive > 0
          ? 'the main thread has a TransformersEmbedder open'
          : ort.workerLive > 0
            ? 'another WorkerEmbedder is running a Transformers.js model'
            : ort.workerEver
              ? 'an earlier worker in this process loaded it, and a new thread cannot load it again'
              : null;
      if (why) {
        return Promise.reject(
          new Error(
            `Cannot start an embedding worker for ${spec.model}: onnxruntime-node supports only one thread per process ` +
              `and ${why}. Reuse that embedder, restart the process, or use EMBEDDING_MODEL=bundled.`,
          ),
        );
      }
      ort.workerLive++;
      ort.workerEver = true;
    }
    let worker: Worker;
    try {
      worker = createWorker({ spec, ...(answerModels ? { answerModels } : {}) });
    } catch (err) {
      if (usesOrt) ortThreads().workerLive--;
      return Promise.reject(err);
    }
    if (usesOrt) worker.once('exit', () => ortThreads().workerLive--);
    return new Promise<WorkerEmbedder>((resolve, reject) => {
      let embedder: WorkerEmbedder | null = null;
      const failStart = (err: Error) => {
        if (embedder) return;
        reject(err);
        void worker.terminate();
      };
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'log':
            log(msg.message);
            break;
          case 'answer-models-log':
            (extra.logAnswerModels ?? log)(msg.message);
            break;
          case 'ready':
            embedder = new WorkerEmbedder(worker, msg.info, msg.answerModels);
            worker.unref(); // idle workers must not keep the process alive
            resolve(embedder);
            break;
          case 'init-error':
            failStart(new Error(msg.message));
            break;
          default:
            embedder?.handle(msg);
        }
      });
      worker.on('error', (err) => {
        if (!embedder) failStart(new Error(`Embedding worker failed while loading: ${err.message}`, { cause: err }));
        else embedder.fail(new Error(`Embedding worker crashed: ${err.message}`, { cause: err }));
      });
      worker.on('exit', (code) => {
        if (!embedder) failStart(new Error(`Embedding worker exited (code ${code}) before the model loaded`));
        else embedder.fail(new Error(`Embedding worker exited (code ${code})`));
      });
    });
  }

  /** Set once the worker has crashed, exited or been closed. */
  get failed(): Error | null {
    return this.dead;
  }

  /** Calls `listener` once if the worker crashes or exits on its own (not when closed). */
  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** Terminates the thread at once, without the close handshake (a hung or misbehaving worker); it counts as a crash. */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0 && !this.dead) return Promise.resolve([]);
    return this.request<Float32Array[]>((id) => ({ type: 'embed', id, texts }));
  }

  /** The re-ranking model's score of each passage for `query` (see TransformersReranker.score). */
  rerank(query: string, passages: string[]): Promise<number[]> {
    return this.request<number[]>((id) => ({ type: 'rerank', id, query, passages }));
  }

  /** The reader model's answer span inside `context` (see TransformersReader.read). */
  read(question: string, context: string): Promise<ReaderSpan | null> {
    return this.request<ReaderSpan | null>((id) => ({ type: 'read', id, question, context }));
  }

  /** Sends one request; the worker answers requests in arrival order. */
  private request<T>(message: (id: number) => ToWorker): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage(message(id));
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (!this.dead) {
        this.worker.ref();
        const closed = new Promise<void>((resolve) => {
          this.onClosed = resolve;
          setTimeout(resolve, CLOSE_GRACE_MS).unref();
        });
        const msg: ToWorker = { type: 'close' };
        this.worker.postMessage(msg);
        await closed; // pending requests are answered first (the worker runs them in order)
      }
      this.fail(new Error('WorkerEmbedder is closed'));
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private handle(msg: FromWorker): void {
    if (msg.type === 'closed') {
      this.onClosed?.();
      return;
    }
    if (msg.type !== 'result' && msg.type !== 'scores' && msg.type !== 'span' && msg.type !== 'error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    if (msg.type === 'error') p.reject(new Error(msg.message));
    else p.resolve((msg.type === 'result' ? msg.vectors : msg.type === 'scores' ? msg.scores : msg.span) as never);
  }

  /** Marks the worker unusable and rejects everything still waiting (listeners first, so a pool retries elsewhere). */
  private fail(err: Error): void {
    const first = this.dead === null;
    this.dead ??= err;
    if (first && !this.closing) for (const listener of this.failureListeners.splice(0)) listener(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onClosed?.();
  }
}


function createWorker(workerData: unknown) {
  return startWorker(new URL('./embed-worker', import.meta.url), { workerData });
}
