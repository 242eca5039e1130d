import { exactTopK, gaussian, normalize, rng } from './stats.js';

/**
 * Synthetic vectors for the scale tests: perturbed copies of real passage vectors, so they sit
 * where real embeddings sit (a uniform random cloud would be far easier for HNSW). Deterministic:
 * the same base vectors give the same set every run, for hnswlib and pgvector alike.
 */
export function syntheticVectors(base: Float32Array[], count: number, dimension: number, seed = 42): Float32Array[] {
  if (base.length === 0) throw new Error('synthetic vectors need at least one real vector to perturb');
  const random = rng(seed);
  const sigma = 0.35 / Math.sqrt(dimension);
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const source = base[i % base.length];
    const v = new Float32Array(dimension);
    for (let d = 0; d < dimension; d++) v[d] = source[d] + sigma * gaussian(random);
    out.push(normalize(v));
  }
  return out;
}

/** The exact 10 nearest ids of each query (the ground truth recall is measured against), and the time each took. */
export function exactNeighbours(vectors: Float32Array[], ids: number[], queries: Float32Array[], k = 10): { truth: number[][]; millis: number[] } {
  const dimension = vectors[0]?.length ?? 0;
  const matrix = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => matrix.set(v, i * dimension));
  const truth: number[][] = [];
  const millis: number[] = [];
  for (const q of queries) {
    const s = performance.now();
    truth.push(exactTopK(matrix, dimension, ids, q, k));
    millis.push(performance.now() - s);
  }
  return { truth, millis };
}
