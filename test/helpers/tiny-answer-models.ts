/**
 * Tiny answer-step models for tests, built like the tiny embedding model (tiny-model.ts: same
 * vocabulary and tokenizer, ONNX written with onnx-proto), so the real Transformers.js code paths
 * run offline:
 *
 * - a cross-encoder (`BertForSequenceClassification`, one label): logits = Σ over the pair's
 *   tokens of a per-token weight, i.e. ReduceSum(Gather(weights, input_ids)); see {@link tinyRerankScore};
 * - a question-answering model (`BertForQuestionAnswering`): start_logits and end_logits are
 *   per-token weights, Gather(start, input_ids) and Gather(end, input_ids).
 */
import onnxPkg from 'onnx-proto';
import { bertInputs, encodeTinyGraph, gatherTokens, TINY_VOCAB, tinyTokenize, valueInfo, writeTinyModelFiles } from './tiny-model.js';

const { onnx } = onnxPkg;
const INT64 = onnx.TensorProto.DataType.INT64;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** The cross-encoder's weight of each word (every other token weighs 0). */
export const TINY_RERANK_WEIGHTS: Record<string, number> = { qatar: 3, ceasefire: 2, deal: 1 };
/** The reader's start and end logits of each word (every other token: 0). */
export const TINY_READER_START: Record<string, number> = { qatar: 8 };
export const TINY_READER_END: Record<string, number> = { qatar: 8 };

/** What the tiny cross-encoder scores a (query, passage) pair: the sum of its tokens' weights. */
export function tinyRerankScore(query: string, passage: string): number {
  let sum = 0;
  for (const tok of [...tinyTokenize(query), ...tinyTokenize(passage)]) sum += TINY_RERANK_WEIGHTS[tok] ?? 0;
  return sum;
}

function table(weights: Record<string, number>, dims: number[]) {
  const data = new Float32Array(TINY_VOCAB.length);
  TINY_VOCAB.forEach((tok, id) => (data[id] = weights[tok] ?? 0));
  return (name: string) => onnx.TensorProto.create({ name, dataType: FLOAT, dims, rawData: new Uint8Array(data.buffer.slice(0)) });
}

/** Writes the tiny cross-encoder under `dir/<id>/` (see tiny-model.ts for the files). */
export async function buildTinyCrossEncoder(dir: string, id: string): Promise<void> {
  const V = TINY_VOCAB.length;
  const graph = onnx.GraphProto.create({
    name: 'tiny-cross-encoder',
    node: [
      gatherTokens('token_weights', 'token_scores'),
      onnx.NodeProto.create({
        opType: 'ReduceSum',
        name: 'pair_score',
        input: ['token_scores', 'sequence_axis'],
        output: ['logits'],
        attribute: [onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 })],
      }),
    ],
    initializer: [
      table(TINY_RERANK_WEIGHTS, [V, 1])('token_weights'),
      onnx.TensorProto.create({ name: 'sequence_axis', dataType: INT64, dims: [1], rawData: new Uint8Array(new BigInt64Array([1n]).buffer) }),
    ],
    input: bertInputs(),
    output: [valueInfo('logits', FLOAT, ['batch_size', 1])],
  });
  await writeTinyModelFiles(dir, id, { architectures: ['BertForSequenceClassification'], id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } }, encodeTinyGraph(graph));
}

/** Writes the tiny question-answering model under `dir/<id>/`. */
export async function buildTinyReader(dir: string, id: string): Promise<void> {
  const V = TINY_VOCAB.length;
  const graph = onnx.GraphProto.create({
    name: 'tiny-reader',
    node: [gatherTokens('start_weights', 'start_logits'), gatherTokens('end_weights', 'end_logits')],
    initializer: [table(TINY_READER_START, [V])('start_weights'), table(TINY_READER_END, [V])('end_weights')],
    input: bertInputs(),
    output: [valueInfo('start_logits', FLOAT, ['batch_size', 'sequence_length']), valueInfo('end_logits', FLOAT, ['batch_size', 'sequence_length'])],
  });
  await writeTinyModelFiles(dir, id, { architectures: ['BertForQuestionAnswering'] }, encodeTinyGraph(graph));
}
