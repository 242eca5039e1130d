import type { Embedder, EmbedderInfo } from '../../src/core/embed/embedder.js';
import { contentTokens } from '../../src/core/text/tokens.js';

/**
 * A small, real, deterministic embedder for tests: stemmed content words hashed into `dimension`
 * buckets, L2-normalised. Texts sharing words are close; unrelated texts are far. Counts calls
 * so tests can assert how much was embedded.
 */
export class HashEmbedder implements Embedder {
  readonly info: EmbedderInfo;
  calls = 0;
  textsEmbedded = 0;

  constructor(dimension = 64, model = 'test/hash-embedder') {
    this.info = { model, dimension, normalized: true };
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls++;
    this.textsEmbedded += texts.length;
    return texts.map((t) => this.vector(t));
  }

  vector(text: string): Float32Array {
    const v = new Float32Array(this.info.dimension);
    for (const token of contentTokens(text)) {
      let h = 2166136261;
      for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 16777619);
      v[Math.abs(h) % v.length] += 1;
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    // An empty text gets a fixed unit vector so cosine stays defined.
    if (norm === 1 && v.every((x) => x === 0)) v[0] = 1;
    else for (let i = 0; i < v.length; i++) v[i] /= norm;
    return v;
  }

  async close(): Promise<void> {}
}
