/**
 * Reading and chunking off the main thread. One parse worker per process (started on first use,
 * idle workers do not keep the process alive) runs the jobs one at a time; each job has a time
 * limit, and the worker a heap limit. A job that runs over either is refused with a LoadError that
 * says which limit, and the worker is terminated and replaced for the next job: a hostile PDF or a
 * huge upload can cost its own job, never the bot's event loop or memory.
 */
import type { Worker } from 'node:worker_threads';
import { chunkArticle, type ChunkOptions } from '../chunk.js';
import { LoadError } from '../load/decode.js';
import { parseLimits, type LoadOptions } from '../load/parse.js';
import type { ChunkedArticle, RawArticle } from '../types.js';
import { startWorker } from '../worker-thread.js';
import type { FromParseWorker, ToParseWorker } from './worker.js';

/** Heap of the parse worker (old generation), in MB. */
export const PARSE_HEAP_MB = 1024;
/** Time limit of one chunking job (chunking is near-linear: this only stops a runaway). */
const CHUNK_TIMEOUT_MS = 120_000;
/** Articles with less text than this are chunked on the calling thread (cheaper than a message). */
const INLINE_CHUNK_CHARS = 64 * 1024;

type Failure = 'timeout' | 'memory' | 'crash';
type Request = ToParseWorker extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export class ParseThread {
  private worker?: Worker;
  private chain: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  /** Workers started so far (a replaced one counts again). */
  started = 0;

  constructor(private readonly heapMb = PARSE_HEAP_MB) {}

  /** Runs one job after the ones before it; `fail` words the error when a limit stops it. */
  run<T>(request: Request, timeoutMs: number, fail: (why: Failure, detail: string) => Error): Promise<T> {
    const job = this.chain.then(() => this.exec<T>(request, timeoutMs, fail));
    this.chain = job.catch(() => undefined);
    return job;
  }

  /** Terminates the worker (a new one starts on the next job). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private spawn(): Worker {
    this.started++;
    return startWorker(new URL('./worker', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
  }

  private exec<T>(request: Request, timeoutMs: number, fail: (why: Failure, detail: string) => Error): Promise<T> {
    const worker = (this.worker ??= this.spawn());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.unref();
      };
      const discard = () => {
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
      };
      const timer = setTimeout(() => {
        done();
        discard();
        reject(fail('timeout', `${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (msg: FromParseWorker) => {
        if (msg.id !== id) return;
        done();
        if (msg.ok) resolve(msg.value as T);
        else reject(revive(msg.error));
      };
      const onError = (err: Error & { code?: string }) => {
        done();
        discard();
        reject(fail(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crash', err.message));
      };
      const onExit = (code: number) => {
        done();
        if (this.worker === worker) this.worker = undefined;
        reject(fail('crash', `the parse worker exited (code ${code})`));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.ref();
      worker.postMessage({ ...request, id } as ToParseWorker);
    });
  }
}

function revive(error: { name: string; message: string; file?: string; reason?: string }): Error {
  if (error.name === 'LoadError' && error.file !== undefined && error.reason !== undefined) return new LoadError(error.file, error.reason);
  const e = new Error(error.message);
  e.name = error.name;
  return e;
}

let shared: ParseThread | undefined;

/** The process's parse worker. */
export function parseThread(): ParseThread {
  return (shared ??= new ParseThread());
}

/** Reads one file on the parse worker, within `opts.limits` (see ParseLimits). */
export function parseInWorker(name: string, bytes: Uint8Array, opts: LoadOptions = {}, thread = parseThread()): Promise<RawArticle> {
  const limits = parseLimits(opts.limits);
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  return thread.run<RawArticle>({ type: 'parse', name, bytes, opts: { ...opts, limits } }, limits.timeoutMs, (why) =>
    why === 'timeout'
      ? new LoadError(name, `reading it took longer than the limit of ${seconds(limits.timeoutMs)}`)
      : why === 'memory'
        ? new LoadError(name, `reading it needs more memory than the limit of ${PARSE_HEAP_MB} MB`)
        : new LoadError(name, 'could not be read (the reader stopped unexpectedly)'),
  );
}

/**
 * Chunks articles (paragraphs, de-duplication, merging, splitting) on the parse worker, or on the
 * calling thread when they are small. `ids[i]` overrides the slug of `articles[i]` (reindex).
 */
export async function chunkArticles(
  articles: RawArticle[],
  options: ChunkOptions = {},
  ids: (string | undefined)[] = [],
  thread = parseThread(),
): Promise<ChunkedArticle[]> {
  const chars = articles.reduce((n, a) => n + a.body.length + a.title.length, 0);
  if (chars <= INLINE_CHUNK_CHARS) return articles.map((a, i) => chunkArticle(a, options, ids[i]));
  return thread.run<ChunkedArticle[]>({ type: 'chunk', articles, options, ids: articles.map((_, i) => ids[i]) }, CHUNK_TIMEOUT_MS, (why, detail) =>
    new Error(`chunking ${articles.length} article(s) ${why === 'timeout' ? `took longer than ${CHUNK_TIMEOUT_MS / 1000} s` : `failed (${detail})`}`),
  );
}
