/**
 * Worker-thread side of WorkerEmbedder: loads the embedder described by `workerData.spec` and
 * answers embed requests one at a time. Protocol (see worker-embedder.ts):
 *   in:  { type: 'embed', id, texts } | { type: 'close' }
 *   out: { type: 'log', message } | { type: 'ready', info } | { type: 'init-error', message }
 *        | { type: 'result', id, vectors } | { type: 'error', id, message } | { type: 'closed' }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEmbedder, type EmbedderSpec } from './create-embedder.js';
import type { Embedder } from './embedder.js';

export type ToWorker = { type: 'embed'; id: number; texts: string[] } | { type: 'close' };
export type FromWorker =
  | { type: 'log'; message: string }
  | { type: 'ready'; info: Embedder['info'] }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; vectors: Float32Array[] }
  | { type: 'error'; id: number; message: string }
  | { type: 'closed' };

const port = parentPort;
if (!port) throw new Error('embed-worker.ts must be started as a worker thread (use WorkerEmbedder)');

const send = (msg: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);
const spec = (workerData as { spec: EmbedderSpec }).spec;

let embedder: Embedder | null = null;

/** Requests run one after another, in arrival order, after the model has loaded. */
let queue: Promise<void> = (async () => {
  try {
    embedder = await createEmbedder(spec, (message) => send({ type: 'log', message }));
    send({ type: 'ready', info: embedder.info });
  } catch (err) {
    send({ type: 'init-error', message: err instanceof Error ? err.message : String(err) });
    port.close();
  }
})();

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'embed') {
    queue = queue.then(async () => {
      try {
        if (!embedder) throw new Error('embedder is closed');
        const vectors = await embedder.embed(msg.texts);
        const buffers = new Set<ArrayBuffer>();
        for (const v of vectors) buffers.add(v.buffer as ArrayBuffer);
        send({ type: 'result', id: msg.id, vectors }, [...buffers]);
      } catch (err) {
        send({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
      }
    });
  } else if (msg.type === 'close') {
    queue = queue.then(async () => {
      const e = embedder;
      embedder = null;
      await e?.close().catch(() => {});
      send({ type: 'closed' });
      port.close();
    });
  }
});
