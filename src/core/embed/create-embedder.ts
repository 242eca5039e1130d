/**
 * createEmbedder: turns configuration (EMBEDDING_MODEL, MODELS_DIR, …) into a loaded Embedder.
 *
 * - `"auto"`: the Transformers.js default model (Xenova/all-MiniLM-L6-v2) from MODELS_DIR or, if
 *   allowed and reachable, downloaded once from the hub (bounded by `loadTimeoutMs`); otherwise the
 *   bundled Universal Sentence Encoder. Logs exactly one line naming the model in use.
 * - `"bundled"`: the bundled Universal Sentence Encoder (never downloads).
 * - anything else: that Hugging Face model id via Transformers.js; failure is an error.
 *
 * Both implementations are imported lazily: `"bundled"` never loads onnxruntime-node (see the
 * one-thread limit in transformers-embedder.ts) and Transformers.js models never start TF.js.
 */
import { join } from 'node:path';
import type { Embedder } from './embedder.js';

import { AUTO_MODEL, BUNDLED_MODEL_ID } from './model-ids.js';

export { AUTO_MODEL };


export interface EmbedderSpec {
  /** `"auto"` | `"bundled"` | a Hugging Face model id such as `"Xenova/all-MiniLM-L6-v2"`. */
  model: string;
  /** Where Hugging Face models live / are cached: `<modelsDir>/<model id>/…`. */
  modelsDir: string;
  /** Use 8-bit quantised ONNX weights (Transformers.js models only). */
  quantized: boolean;
  /** Give up loading a Transformers.js model (incl. download) after this many ms. */
  loadTimeoutMs: number;
  /** Texts per forward pass; each embedder has its own measured default. */
  batchSize?: number;
  /** Allow downloading missing model files from the hub. Default true. */
  allowRemote?: boolean;
  /** Hub URL override (a mirror; tests point it at an unreachable port). Default Hugging Face. */
  remoteHost?: string;
  /**
   * The model the existing index was built with. With `"auto"`, an index built with the bundled
   * encoder keeps using it (instead of refusing to open once MiniLM becomes loadable); the log
   * line says how to switch with `npm run ingest -- --rebuild`.
   */
  indexModel?: string;
}

/** True when the spec may load onnxruntime-node (anything but `"bundled"`). */
export function specUsesTransformers(spec: Pick<EmbedderSpec, 'model'>): boolean {
  return spec.model.trim() !== 'bundled';
}

export async function createEmbedder(spec: EmbedderSpec, log: (msg: string) => void = () => {}): Promise<Embedder> {
  const model = spec.model.trim();
  if (model === 'bundled') {
    const bundled = await loadBundled(spec);
    log(`Embedding model: ${bundled.info.model} (bundled, ${bundled.info.dimension}-d, EMBEDDING_MODEL=bundled).`);
    return bundled;
  }

  const isAuto = model === 'auto' || model === '';
  const hfModel = isAuto ? AUTO_MODEL : model;
  if (isAuto && spec.indexModel === BUNDLED_MODEL_ID) {
    const bundled = await loadBundled(spec);
    log(keptBundledMessage(spec));
    return bundled;
  }
  const options = {
    model: hfModel,
    modelsDir: spec.modelsDir,
    quantized: spec.quantized,
    allowRemote: spec.allowRemote ?? true,
    loadTimeoutMs: spec.loadTimeoutMs,
    batchSize: spec.batchSize,
    remoteHost: spec.remoteHost,
  };

  if (!isAuto) {
    // An explicitly named model must load; its error already says what to do.
    const { TransformersEmbedder } = await import('./transformers-embedder.js');
    const embedder = await TransformersEmbedder.load(options);
    log(`Embedding model: ${hfModel} (Transformers.js, ${embedder.info.dimension}-d).`);
    return embedder;
  }

  try {
    const { TransformersEmbedder } = await import('./transformers-embedder.js');
    const embedder = await TransformersEmbedder.load(options);
    log(`Embedding model: ${hfModel} (Transformers.js, ${embedder.info.dimension}-d, EMBEDDING_MODEL=auto).`);
    return embedder;
  } catch (err) {
    const bundled = await loadBundled(spec);
    const where = join(spec.modelsDir, ...hfModel.split('/'));
    const file = spec.quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
    log(
      `Embedding model: ${bundled.info.model} (bundled fallback, ${bundled.info.dimension}-d) because ${hfModel} ` +
        `could not be loaded (${shortReason(err)}). For better answers put its files in MODELS_DIR (${where}/: config.json, ` +
        `tokenizer.json, tokenizer_config.json, ${file}) or allow the one-time download from the hub, then rebuild the index.`,
    );
    return bundled;
  }
}

/** The log line when `auto` keeps the bundled encoder an existing index was built with. */
export function keptBundledMessage(spec: Pick<EmbedderSpec, 'modelsDir'>): string {
  return (
    `Embedding model: ${BUNDLED_MODEL_ID} (bundled, 512-d), the model this index was built with. ` +
    `To switch to ${AUTO_MODEL}, put its files in MODELS_DIR (${join(spec.modelsDir, ...AUTO_MODEL.split('/'))}/) or allow the download, then run npm run ingest -- --rebuild.`
  );
}

async function loadBundled(spec: EmbedderSpec): Promise<Embedder> {
  const { BundledEmbedder } = await import('./bundled-embedder.js');
  return BundledEmbedder.load({ batchSize: spec.batchSize });
}

/** Why the Transformers.js model failed, without its "what to do" advice, kept to one short line. */
function shortReason(err: unknown): string {
  const reason = err instanceof Error && 'reason' in err && typeof err.reason === 'string' ? err.reason : undefined;
  const msg = (reason ?? (err instanceof Error ? err.message : String(err))).replace(/\s+/g, ' ').trim();
  return msg.length > 240 ? `${msg.slice(0, 237)}...` : msg;
}
