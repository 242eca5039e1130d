/**
 * The parse worker: reads files (loaders, Readability, pdf.js) and chunks articles off the main
 * thread. Started and supervised by thread.ts, which enforces the time and memory limits.
 *   in:  { id, type: 'parse', name, bytes, opts } | { id, type: 'chunk', articles, options, ids }
 *   out: { id, ok: true, value } | { id, ok: false, error: { name, message, file?, reason? } }
 */
import { parentPort } from 'node:worker_threads';
import { chunkArticle, type ChunkOptions } from '../chunk.js';
import { LoadError } from '../load/decode.js';
import { parseBuffer, type LoadOptions } from '../load/parse.js';
import type { RawArticle } from '../types.js';

export type ToParseWorker =
  | { id: number; type: 'parse'; name: string; bytes: Uint8Array; opts: LoadOptions }
  | { id: number; type: 'chunk'; articles: RawArticle[]; options: ChunkOptions; ids: (string | undefined)[] };
export type FromParseWorker =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; file?: string; reason?: string } };

const port = parentPort;
if (!port) throw new Error('offload/worker.ts must be started as a worker thread (see offload/thread.ts)');

port.on('message', async (msg: ToParseWorker) => {
  try {
    const value =
      msg.type === 'parse'
        ? await parseBuffer(msg.name, msg.bytes, msg.opts)
        : msg.articles.map((a, i) => chunkArticle(a, msg.options, msg.ids[i]));
    port.postMessage({ id: msg.id, ok: true, value } satisfies FromParseWorker);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const error = e instanceof LoadError ? { name: e.name, message: e.message, file: e.file, reason: e.reason } : { name: e.name, message: e.message };
    port.postMessage({ id: msg.id, ok: false, error } satisfies FromParseWorker);
  }
});
