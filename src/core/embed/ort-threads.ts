/**
 * Process-wide bookkeeping of which threads use onnxruntime-node: version 1.21 (the one
 * Transformers.js 3 pins) aborts the process when two threads use it. Kept on globalThis so every
 * copy of this module in one process (tsx and vitest may load two) shares it.
 */
export interface OrtThreads {
  /** Open TransformersEmbedders on the main thread. */
  mainLive: number;
  /** Live WorkerEmbedders that may load onnxruntime-node. */
  workerLive: number;
  /** Whether such a worker was ever started in this process. */
  workerEver: boolean;
}

export function ortThreads(): OrtThreads {
  const key = Symbol.for('article-qa-bot.onnxruntime-threads');
  const g = globalThis as unknown as Record<symbol, OrtThreads | undefined>;
  return (g[key] ??= { mainLive: 0, workerLive: 0, workerEver: false });
}
