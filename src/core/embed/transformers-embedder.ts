/**
 * TransformersEmbedder: any Hugging Face ONNX sentence-embedding model through Transformers.js v3
 * (`feature-extraction` pipeline, mean pooling over real tokens, L2 normalisation).
 *
 * One thread per process: Transformers.js runs on onnxruntime-node 1.21, whose native binding
 * keeps process-global state. Two threads using it at once abort the process ("HandleScope ...
 * without proper locking"), and a second worker thread loading it after the first one exited
 * fails ("Module did not self-register") or corrupts memory. So use it either in the main thread
 * or in one WorkerEmbedder per process; {@link TransformersEmbedder.load} (main thread) and
 * WorkerEmbedder.start refuse the combinations that would crash.
 *
 * Note: Transformers.js keeps its settings (`env.localModelPath`, `env.cacheDir`,
 * `env.allowRemoteModels`) in one process-wide object; {@link TransformersEmbedder.load} sets them
 * for the duration of the load. Run differently configured embedders on separate worker threads
 * (WorkerEmbedder) if they must not share settings.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { env, pipeline, type FeatureExtractionPipeline, type Tensor } from '@huggingface/transformers';
import type { Embedder, EmbedderInfo } from './embedder.js';
import { ortThreads } from './ort-threads.js';

export const DEFAULT_TRANSFORMERS_MODEL = 'Xenova/all-MiniLM-L6-v2';

/**
 * Options for {@link TransformersEmbedder.load}.
 */
export interface TransformersEmbedderOptions {
  /** Hugging Face model id. @defaultValue `"Xenova/all-MiniLM-L6-v2"` */
  model?: string;
  /**
   * Directory holding models as `<modelsDir>/<model id>/…` (config.json, tokenizer.json,
   * onnx/model_quantized.onnx or onnx/model.onnx). Sets both `env.localModelPath` and
   * `env.cacheDir`: files present there are used as they are; missing ones are downloaded once
   * from the hub (when allowed) and cached there.
   * @defaultValue `"./models"` (resolved against the current directory)
   */
  modelsDir?: string;
  /** Use the 8-bit quantised weights (dtype `q8`, onnx/model_quantized.onnx); false = `fp32` (onnx/model.onnx). @defaultValue `true` */
  quantized?: boolean;
  /** Allow downloading missing files from the hub (sets `env.allowRemoteModels`). @defaultValue `true` */
  allowRemote?: boolean;
  /** Texts per forward pass. @defaultValue `32` */
  batchSize?: number;
  /**
   * A load (including any download) that takes longer than this rejects with an error saying
   * what to do. 0 or undefined = no limit. @defaultValue no limit
   */
  loadTimeoutMs?: number;
  /** Override the hub URL (`env.remoteHost`), e.g. a mirror. @defaultValue `"https://huggingface.co/"` */
  remoteHost?: string;
}

const DEFAULT_BATCH_SIZE = 32;


/** `pipeline` narrowed to the one task we use (its generic signature is too complex for tsc here). */
const featureExtraction = pipeline as unknown as (
  task: 'feature-extraction',
  model: string,
  options: { dtype: 'q8' | 'fp32' },
) => Promise<FeatureExtractionPipeline>;
const PROBE_TEXT = 'dimension probe';

export class TransformersEmbedder implements Embedder {
  readonly info: EmbedderInfo;
  private extractor: FeatureExtractionPipeline | null;
  private readonly batchSize: number;

  private constructor(extractor: FeatureExtractionPipeline, info: EmbedderInfo, batchSize: number) {
    this.extractor = extractor;
    this.info = info;
    this.batchSize = batchSize;
  }

  /**
   * Loads the model (from `modelsDir`, else from the hub if allowed) and embeds a probe string to
   * learn the dimension. Rejects with an actionable message when the model cannot be loaded.
   */
  static async load(options: TransformersEmbedderOptions = {}): Promise<TransformersEmbedder> {
    const model = options.model ?? DEFAULT_TRANSFORMERS_MODEL;
    const modelsDir = resolvePath(options.modelsDir ?? 'models');
    const quantized = options.quantized ?? true;
    const allowRemote = options.allowRemote ?? true;
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const loadTimeoutMs = options.loadTimeoutMs ?? 0;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`TransformersEmbedder: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (isMainThread && ortThreads().workerEver) {
      throw new Error(
        `Cannot load ${model} on the main thread: a WorkerEmbedder in this process already uses onnxruntime-node, ` +
          `which supports only one thread per process (two crash the process). Use that WorkerEmbedder instead.`,
      );
    }
    const dtype = quantized ? 'q8' : 'fp32';
    const onnxFile = quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';

    useModelsDir(modelsDir, allowRemote, options.remoteHost);

    const where = join(modelsDir, ...model.split('/'));
    const howToFix =
      `Put the model files under ${where}/ (config.json, tokenizer.json, tokenizer_config.json, ${onnxFile})` +
      `${allowRemote ? '' : ', allow downloads'} or set EMBEDDING_MODEL=bundled.`;

    const loading = (async () => {
      const extractor = await featureExtraction('feature-extraction', model, { dtype });
      try {
        const probe = await runPipeline(extractor, [PROBE_TEXT]);
        return { extractor, dimension: probe[0].length };
      } catch (err) {
        await extractor.dispose().catch(() => {});
        throw err;
      }
    })();

    let loaded: { extractor: FeatureExtractionPipeline; dimension: number };
    try {
      loaded = await withTimeout(loading, loadTimeoutMs, () => {
        // The load keeps running in the background; release it if it ever finishes.
        loading.then((l) => l.extractor.dispose()).catch(() => {});
      });
    } catch (err) {
      let reason: string;
      if (err instanceof TimeoutError) {
        reason = `loading took longer than ${loadTimeoutMs} ms (${allowRemote ? 'the hub is unreachable or slow' : 'slow disk?'})`;
      } else {
        const cause = errorMessage(err).replace(/\s+/g, ' ').replace(/\.\s*$/, '');
        if (existsSync(join(where, 'config.json'))) reason = `the files under ${where} could not be loaded: ${cause}`;
        else if (allowRemote) reason = `it is not in MODELS_DIR and the hub is unreachable or does not have it: ${cause}`;
        else reason = `it is not in MODELS_DIR and downloads are disabled: ${cause}`;
      }
      throw new ModelLoadError(model, reason, `Could not load embedding model ${model} from MODELS_DIR=${modelsDir}: ${reason}. ${howToFix}`, err);
    }

    if (isMainThread) ortThreads().mainLive++;
    return new TransformersEmbedder(loaded.extractor, { model, dimension: loaded.dimension, normalized: true }, batchSize);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const extractor = this.extractor;
    if (!extractor) throw new Error('TransformersEmbedder: embed() called after close()');
    assertStrings(texts);
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const rows = await runPipeline(extractor, texts.slice(start, start + this.batchSize));
      for (const row of rows) out.push(row);
    }
    return out;
  }

  async close(): Promise<void> {
    const extractor = this.extractor;
    if (!extractor) return;
    this.extractor = null;
    if (isMainThread) ortThreads().mainLive--;
    await extractor.dispose();
  }
}

/**
 * Points Transformers.js at MODELS_DIR (files there are used as they are; missing ones are
 * downloaded once when `allowRemote` and cached there). Every Transformers.js model this bot
 * loads goes through it, so they all follow the same policy.
 */
export function useModelsDir(modelsDir: string, allowRemote: boolean, remoteHost?: string): void {
  env.allowLocalModels = true;
  env.localModelPath = modelsDir;
  env.cacheDir = modelsDir;
  env.useFSCache = true;
  env.allowRemoteModels = allowRemote;
  if (remoteHost) env.remoteHost = remoteHost;
}

/** One forward pass; returns one vector (own buffer) per text. */
async function runPipeline(extractor: FeatureExtractionPipeline, texts: string[]): Promise<Float32Array[]> {
  if (texts.length === 0) return [];
  const tensor: Tensor = await extractor(texts, { pooling: 'mean', normalize: true });
  try {
    const [n, dim] = tensor.dims;
    if (tensor.dims.length !== 2 || n !== texts.length) {
      throw new Error(`unexpected output shape [${tensor.dims.join(', ')}] for ${texts.length} texts`);
    }
    const data = tensor.data as Float32Array;
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) rows.push(Float32Array.from(data.subarray(i * dim, (i + 1) * dim)));
    return rows;
  } finally {
    tensor.dispose();
  }
}

/** A Transformers.js model could not be loaded; `message` says what to do, `reason` says why. */
export class ModelLoadError extends Error {
  constructor(
    readonly model: string,
    readonly reason: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'ModelLoadError';
  }
}

export class TimeoutError extends Error {}

export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  if (!ms || ms <= 0) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new TimeoutError(`timed out after ${ms} ms`));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function assertStrings(texts: unknown[]): void {
  const bad = texts.findIndex((t) => typeof t !== 'string');
  if (bad >= 0) throw new TypeError(`embed() expects strings; item ${bad} is ${texts[bad] === null ? 'null' : typeof texts[bad]}`);
}
