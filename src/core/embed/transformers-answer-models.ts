/**
 * The optional answer-step models on Transformers.js: a cross-encoder that re-ranks passages
 * (RERANK_MODEL, e.g. Xenova/ms-marco-MiniLM-L-6-v2) and an extractive question-answering model
 * that finds the answer span (READER_MODEL, e.g. Xenova/distilbert-base-cased-distilled-squad).
 *
 * They load like the embedding model (MODELS_DIR, then the hub when allowed, bounded by the load
 * time-out) and run on the embedding worker: onnxruntime-node allows one thread per process (see
 * transformers-embedder.ts), so they share the thread that may already hold the embedding model.
 * Unlike an explicitly named embedding model, a model that cannot be loaded is not an error: the
 * feature is off and one log line says why and how to turn it on.
 */
import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  pipeline,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type QuestionAnsweringPipeline,
  type Tensor,
} from '@huggingface/transformers';
import type { Reader, ReaderSpan, Reranker } from '../answer-models.js';
import { TimeoutError, useModelsDir, withTimeout } from './transformers-embedder.js';

/** Which answer-step models to load (absent: that feature is off). */
export interface AnswerModelsSpec {
  /** RERANK_MODEL: a Hugging Face cross-encoder (sequence classification) id. */
  rerank?: string;
  /** READER_MODEL: a Hugging Face extractive question-answering id. */
  reader?: string;
}

/** Where and how to load them: the embedding model's settings. */
export interface AnswerModelsLoadOptions {
  modelsDir: string;
  quantized: boolean;
  loadTimeoutMs: number;
  allowRemote?: boolean;
  remoteHost?: string;
}

/** `pipeline` narrowed to the one task used here (its generic signature is too complex for tsc). */
const questionAnswering = pipeline as unknown as (
  task: 'question-answering',
  model: string,
  options: { dtype: 'q8' | 'fp32' },
) => Promise<QuestionAnsweringPipeline>;

export class TransformersReranker implements Reranker {
  private constructor(
    readonly model: string,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly classifier: PreTrainedModel,
  ) {}

  static async load(model: string, options: AnswerModelsLoadOptions): Promise<TransformersReranker> {
    const dtype = options.quantized ? 'q8' : 'fp32';
    prepare(options);
    const loading = Promise.all([AutoTokenizer.from_pretrained(model), AutoModelForSequenceClassification.from_pretrained(model, { dtype })]);
    const [tokenizer, classifier] = await withTimeout(loading, options.loadTimeoutMs, () => {
      loading.then(([, m]) => m.dispose()).catch(() => {});
    });
    const reranker = new TransformersReranker(model, tokenizer, classifier);
    try {
      await reranker.score('probe', ['probe']); // fails now, not on the first question, when the model is no cross-encoder
    } catch (err) {
      await reranker.close();
      throw err;
    }
    return reranker;
  }

  /**
   * One forward pass over (query, passage) pairs. A one-label model's logit is the score; a
   * two-label one (not relevant / relevant) scores by how far "relevant" is ahead.
   */
  async score(query: string, passages: string[]): Promise<number[]> {
    if (passages.length === 0) return [];
    const inputs = this.tokenizer(passages.map(() => query), { text_pair: passages, padding: true, truncation: true });
    const { logits } = (await this.classifier(inputs)) as { logits: Tensor };
    const [rows, labels] = logits.dims;
    if (logits.dims.length !== 2 || rows !== passages.length) throw new Error(`unexpected re-ranker output shape [${logits.dims.join(', ')}] for ${passages.length} passages`);
    const data = logits.data as Float32Array;
    const scores: number[] = [];
    for (let i = 0; i < rows; i++) scores.push(labels === 1 ? data[i] : data[i * labels + labels - 1] - data[i * labels]);
    return scores;
  }

  async close(): Promise<void> {
    await this.classifier.dispose();
  }
}

export class TransformersReader implements Reader {
  private constructor(
    readonly model: string,
    private readonly answerer: QuestionAnsweringPipeline,
  ) {}

  static async load(model: string, options: AnswerModelsLoadOptions): Promise<TransformersReader> {
    prepare(options);
    const loading = questionAnswering('question-answering', model, { dtype: options.quantized ? 'q8' : 'fp32' });
    const answerer = await withTimeout(loading, options.loadTimeoutMs, () => {
      loading.then((p) => p.dispose()).catch(() => {});
    });
    const reader = new TransformersReader(model, answerer);
    try {
      await reader.read('probe?', 'probe');
    } catch (err) {
      await reader.close();
      throw err;
    }
    return reader;
  }

  async read(question: string, context: string): Promise<ReaderSpan | null> {
    if (!context.trim()) return null;
    const out = (await this.answerer(question, context)) as { answer: string; score: number } | { answer: string; score: number }[];
    const best = Array.isArray(out) ? out[0] : out;
    if (!best || !best.answer) return null;
    const at = locateAnswer(context, best.answer);
    return at ? { ...at, score: best.score } : null;
  }

  async close(): Promise<void> {
    await this.answerer.dispose();
  }
}

/**
 * Where the pipeline's answer lies in the context. Transformers.js returns the answer as decoded
 * text, not offsets: an uncased model lowercases it, and decoding may space punctuation
 * differently ("U. S." for "U.S."). So the answer's characters are matched in order, ignoring
 * case and whitespace; the first match wins (a repeated answer is the same words either way).
 */
export function locateAnswer(context: string, answer: string): { start: number; end: number } | null {
  const chars = [...answer.replace(/\s+/g, '')];
  if (chars.length === 0) return null;
  const pattern = chars.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s*');
  const match = new RegExp(pattern, 'iu').exec(context);
  return match ? { start: match.index, end: match.index + match[0].length } : null;
}

function prepare(options: AnswerModelsLoadOptions): void {
  useModelsDir(resolvePath(options.modelsDir), options.allowRemote ?? true, options.remoteHost);
}

/** The models that loaded; each that did not is off, with one log line saying why and what to do. */
export async function loadAnswerModels(
  spec: AnswerModelsSpec,
  options: AnswerModelsLoadOptions,
  log: (line: string) => void,
): Promise<{ reranker?: TransformersReranker; reader?: TransformersReader }> {
  const loaded: { reranker?: TransformersReranker; reader?: TransformersReader } = {};
  if (spec.rerank) {
    try {
      loaded.reranker = await TransformersReranker.load(spec.rerank, options);
      log(`Re-ranking model: ${spec.rerank} (Transformers.js cross-encoder, RERANK_MODEL): the retrieved passages are put in its order.`);
    } catch (err) {
      log(offLine('Re-ranking', 'RERANK_MODEL', spec.rerank, options, err));
    }
  }
  if (spec.reader) {
    try {
      loaded.reader = await TransformersReader.load(spec.reader, options);
      log(`Reader model: ${spec.reader} (Transformers.js question answering, READER_MODEL): the answer's words are shown in bold.`);
    } catch (err) {
      log(offLine('Answer spans', 'READER_MODEL', spec.reader, options, err));
    }
  }
  return loaded;
}

function offLine(feature: string, setting: string, model: string, options: AnswerModelsLoadOptions, err: unknown): string {
  const where = join(resolvePath(options.modelsDir), ...model.split('/'));
  const file = options.quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
  const allowRemote = options.allowRemote ?? true;
  const cause = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').replace(/\.\s*$/, '').trim().slice(0, 240);
  const reason =
    err instanceof TimeoutError
      ? `loading took longer than ${options.loadTimeoutMs} ms`
      : existsSync(join(where, 'config.json'))
        ? `the files under ${where} could not be loaded: ${cause}`
        : allowRemote
          ? `it is not in MODELS_DIR and the hub is unreachable or does not have it: ${cause}`
          : `it is not in MODELS_DIR and downloads are disabled: ${cause}`;
  return (
    `${feature} off: ${setting}=${model} could not be loaded (${reason}). Answers are composed without it. ` +
    `To turn it on, put its files under ${where}/ (config.json, tokenizer.json, tokenizer_config.json, ${file})` +
    `${allowRemote ? ' or let the bot reach the hub once to download them' : ''}, then restart.`
  );
}
