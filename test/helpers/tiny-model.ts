/**
 * A tiny BERT-like feature-extraction model for tests: no hub, no download, loads in milliseconds.
 *
 * Graph: last_hidden_state = Gather(embedding_table, input_ids), i.e. every token's hidden state
 * is just its row of the embedding table. Rows are chosen so results are checkable:
 * - [CLS] and [SEP] are zero rows, so after mean pooling + normalisation a text's vector is
 *   normalize(sum of its word rows) — see {@link tinyExpectedEmbedding};
 * - [PAD] is a huge row (all 100): if padding ever leaked into the mean pooling, vectors would be
 *   dragged towards (1,1,…,1) and tests would notice;
 * - every word has a distinct, deterministic row ({@link tinyTokenVector}).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxPkg from 'onnx-proto';

const { onnx } = onnxPkg;

export const TINY_HIDDEN_SIZE = 8;
export const TINY_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const TINY_WORDS = [
  'talks', 'qatar', 'hamas', 'hostages', 'march', 'economy', 'football', 'match', 'draw', 'the',
  'a', 'in', 'of', 'to', 'and', 'were', 'where', 'held', 'took', 'place',
  'much', 'longer', 'text', 'ceasefire', 'israel', 'gaza', 'negotiations', 'deal', 'release', 'prisoners',
  'bank', 'inflation', 'rates', 'market', 'growth', 'goal', 'team', 'league', 'season', 'coach',
  'election', 'vote', 'minister', 'government', 'film', 'music', 'award', 'phone', 'software', 'internet',
  'what', 'who', 'when', 'why', 'how', 'is', 'was', '.', ',', '?',
] as const;
export const TINY_VOCAB: readonly string[] = [...TINY_SPECIAL_TOKENS, ...TINY_WORDS];

const PAD_ID = 0;
const UNK_ID = 1;
const CLS_ID = 2;
const SEP_ID = 3;

/** The embedding-table row of a token id (deterministic). */
function row(id: number): Float32Array {
  const v = new Float32Array(TINY_HIDDEN_SIZE);
  if (id === CLS_ID || id === SEP_ID) return v; // zero rows: do not affect the pooled direction
  if (id === PAD_ID) return v.fill(100); // poison: must never be pooled
  for (let j = 0; j < TINY_HIDDEN_SIZE; j++) v[j] = Math.sin((id + 1) * (j + 1) * 0.7) + (j === id % TINY_HIDDEN_SIZE ? 1 : 0);
  return v;
}

/** The hidden state the tiny model gives a token (unknown tokens get the [UNK] row). */
export function tinyTokenVector(token: string): Float32Array {
  const id = TINY_VOCAB.indexOf(token.toLowerCase());
  return row(id < 0 ? UNK_ID : id);
}

/** Splits like the BERT pre-tokenizer does for plain ASCII text (words and single punctuation). */
export function tinyTokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
}

/** What `pipeline(...)(text, { pooling: 'mean', normalize: true })` must return for `text`. */
export function tinyExpectedEmbedding(text: string): Float32Array {
  const sum = new Float32Array(TINY_HIDDEN_SIZE);
  for (const tok of tinyTokenize(text)) {
    const v = tinyTokenVector(tok);
    for (let j = 0; j < sum.length; j++) sum[j] += v[j];
  }
  const norm = Math.hypot(...sum);
  return norm > 0 ? sum.map((x) => x / norm) : sum;
}

export function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) =>
            typeof d === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

function buildOnnx(): Uint8Array {
  const V = TINY_VOCAB.length;
  const table = new Float32Array(V * TINY_HIDDEN_SIZE);
  for (let id = 0; id < V; id++) table.set(row(id), id * TINY_HIDDEN_SIZE);

  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  return encodeTinyGraph(
    onnx.GraphProto.create({
      name: 'tiny-bert',
      node: [gatherTokens('embedding_table', 'last_hidden_state')],
      initializer: [
        onnx.TensorProto.create({
          name: 'embedding_table',
          dataType: FLOAT,
          dims: [V, TINY_HIDDEN_SIZE],
          rawData: new Uint8Array(table.buffer.slice(0)),
        }),
      ],
      input: bertInputs(),
      output: [valueInfo('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', TINY_HIDDEN_SIZE])],
    }),
  );
}

/** A Gather of `table`'s rows by token id: every graph here starts with it. */
export function gatherTokens(table: string, output: string) {
  return onnx.NodeProto.create({
    opType: 'Gather',
    name: output,
    input: [table, 'input_ids'],
    output: [output],
    attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 })],
  });
}

/** The inputs a BERT tokenizer feeds (the tiny graphs read only input_ids). */
export function bertInputs() {
  const INT64 = onnx.TensorProto.DataType.INT64;
  return [
    valueInfo('input_ids', INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', INT64, ['batch_size', 'sequence_length']),
    valueInfo('token_type_ids', INT64, ['batch_size', 'sequence_length']),
  ];
}

/** The ONNX file bytes of a graph (opset 13). */
export function encodeTinyGraph(graph: ReturnType<typeof onnx.GraphProto.create>): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'article-qa-bot tests',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

export function tokenizerJson() {
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const vocab: Record<string, number> = {};
  TINY_VOCAB.forEach((tok, id) => (vocab[tok] = id));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: TINY_SPECIAL_TOKENS.map((t, i) => special(t, i)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [CLS_ID], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [SEP_ID], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/**
 * Writes the tiny model under `dir/<id>/`: config.json, tokenizer.json, tokenizer_config.json,
 * onnx/model.onnx and the same bytes as onnx/model_quantized.onnx (so dtype 'q8' loads it too).
 * Use with `env.localModelPath = dir` (TransformersEmbedder's `modelsDir`).
 */
export async function buildTinyModel(dir: string, id = 'test/tiny-bert'): Promise<void> {
  await writeTinyModelFiles(dir, id, { architectures: ['BertModel'] }, buildOnnx());
}

/**
 * Writes a tiny BERT-like model over {@link TINY_VOCAB} under `dir/<id>/`: config.json (with
 * `config` merged in), the tokenizer files, and `onnx` as both onnx/model.onnx and
 * onnx/model_quantized.onnx. The other tiny models (test/helpers/tiny-answer-models.ts) share it.
 */
export async function writeTinyModelFiles(dir: string, id: string, extraConfig: Record<string, unknown>, onnxBytes: Uint8Array): Promise<void> {
  const root = join(dir, ...id.split('/'));
  await mkdir(join(root, 'onnx'), { recursive: true });
  const config = {
    model_type: 'bert',
    hidden_size: TINY_HIDDEN_SIZE,
    num_attention_heads: 1,
    num_hidden_layers: 0,
    intermediate_size: TINY_HIDDEN_SIZE,
    vocab_size: TINY_VOCAB.length,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    pad_token_id: PAD_ID,
    ...extraConfig,
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 512,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  };
  await Promise.all([
    writeFile(join(root, 'config.json'), JSON.stringify(config, null, 2)),
    writeFile(join(root, 'tokenizer.json'), JSON.stringify(tokenizerJson())),
    writeFile(join(root, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2)),
    writeFile(join(root, 'onnx', 'model.onnx'), onnxBytes),
    writeFile(join(root, 'onnx', 'model_quantized.onnx'), onnxBytes),
  ]);
}
