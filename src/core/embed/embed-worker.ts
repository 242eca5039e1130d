/**
 * Worker-thread side of WorkerEmbedder: loads the embedder described by `workerData.spec` (and,
 * when `workerData.answerModels` names them, the re-ranking and reader models on the same thread:
 * onnxruntime-node allows one per process) and answers requests one at a time. Protocol (see
 * worker-embedder.ts):
 *   in:  { type: 'embed', id, texts } | { type: 'rerank', id, query, passages }
 *        | { type: 'read', id, question, context } | { type: 'close' }
 *   out: { type: 'log', message } | { type: 'answer-models-log', message }
 *        | { type: 'ready', info, answerModels } | { type: 'init-error', message }
 *        | { type: 'result', id, vectors } | { type: 'scores', id, scores } | { type: 'span', id, span }
 *        | { type: 'error', id, message } | { type: 'closed' }
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ReaderSpan } from '../answer-models.js';
import { createEmbedder, type EmbedderSpec } from './create-embedder.js';
import type { Embedder } from './embedder.js';
import type { AnswerModelsSpec, TransformersReader, TransformersReranker } from './transformers-answer-models.js';

/** The answer-step models a worker has loaded, by model id. */
export interface LoadedAnswerModels {
  reranker?: string;
  reader?: string;
}

export type ToWorker =
  | { type: 'embed'; id: number; texts: string[] }
  | { type: 'rerank'; id: number; query: string; passages: string[] }
  | { type: 'read'; id: number; question: string; context: string }
  | { type: 'close' };
export type FromWorker =
  | { type: 'log'; message: string }
  | { type: 'answer-models-log'; message: string }
  | { type: 'ready'; info: Embedder['info']; answerModels: LoadedAnswerModels }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; vectors: Float32Array[] }
  | { type: 'scores'; id: number; scores: number[] }
  | { type: 'span'; id: number; span: ReaderSpan | null }
  | { type: 'error'; id: number; message: string }
  | { type: 'closed' };

const port = parentPort;
if (!port) throw new Error('embed-worker.ts must be started as a worker thread (use WorkerEmbedder)');

const send = (msg: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);
const { spec, answerModels } = workerData as { spec: EmbedderSpec; answerModels?: AnswerModelsSpec };

let embedder: Embedder | null = null;
let reranker: TransformersReranker | undefined;
let reader: TransformersReader | undefined;

/** Requests run one after another, in arrival order, after the models have loaded. */
let queue: Promise<void> = (async () => {
  try {
    embedder = await createEmbedder(spec, (message) => send({ type: 'log', message }));
    if (answerModels?.rerank || answerModels?.reader) {
      // Imported only when asked for: a bundled-encoder worker without them never loads onnxruntime-node.
      const { loadAnswerModels } = await import('./transformers-answer-models.js');
      const options = { modelsDir: spec.modelsDir, quantized: spec.quantized, loadTimeoutMs: spec.loadTimeoutMs, allowRemote: spec.allowRemote, remoteHost: spec.remoteHost };
      ({ reranker, reader } = await loadAnswerModels(answerModels, options, (message) => send({ type: 'answer-models-log', message })));
    }
    send({ type: 'ready', info: embedder.info, answerModels: { ...(reranker ? { reranker: reranker.model } : {}), ...(reader ? { reader: reader.model } : {}) } });
  } catch (err) {
    send({ type: 'init-error', message: err instanceof Error ? err.message : String(err) });
    port.close();
  }
})();

/** Runs `work` in turn and answers request `id` with its result, or with its error. */
function serve(id: number, work: () => Promise<FromWorker>, transfer?: (msg: FromWorker) => ArrayBuffer[]): void {
  queue = queue.then(async () => {
    try {
      const msg = await work();
      send(msg, transfer?.(msg));
    } catch (err) {
      send({ type: 'error', id, message: err instanceof Error ? err.message : String(err) });
    }
  });
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'embed') {
    serve(
      msg.id,
      async () => {
        if (!embedder) throw new Error('embedder is closed');
        return { type: 'result', id: msg.id, vectors: await embedder.embed(msg.texts) };
      },
      (out) => (out.type === 'result' ? [...new Set(out.vectors.map((v) => v.buffer as ArrayBuffer))] : []),
    );
  } else if (msg.type === 'rerank') {
    serve(msg.id, async () => {
      if (!reranker) throw new Error('no re-ranking model is loaded in this worker');
      return { type: 'scores', id: msg.id, scores: await reranker.score(msg.query, msg.passages) };
    });
  } else if (msg.type === 'read') {
    serve(msg.id, async () => {
      if (!reader) throw new Error('no reader model is loaded in this worker');
      return { type: 'span', id: msg.id, span: await reader.read(msg.question, msg.context) };
    });
  } else if (msg.type === 'close') {
    queue = queue.then(async () => {
      const e = embedder;
      embedder = null;
      await e?.close().catch(() => {});
      await reranker?.close().catch(() => {});
      await reader?.close().catch(() => {});
      reranker = reader = undefined;
      send({ type: 'closed' });
      port.close();
    });
  }
});
