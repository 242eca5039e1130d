/** Latency summary of a list of samples in milliseconds. */
export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? NaN), n: s.length };
}

/** Brute-force cosine top-k over unit vectors stored row-major in one Float32Array. */
export function exactTopK(matrix: Float32Array, dimension: number, labels: number[], query: Float32Array, k: number): number[] {
  const n = labels.length;
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    const off = i * dimension;
    for (let d = 0; d < dimension; d++) dot += matrix[off + d] * query[d];
    scores[i] = dot;
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  // Partial selection is enough for k ≪ n, but a full sort keeps this obviously correct.
  idx.sort((a, b) => scores[b] - scores[a]);
  return idx.slice(0, k).map((i) => labels[i]);
}

export function normalize(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/** Deterministic PRNG (mulberry32) and a Gaussian from it, so synthetic data is the same every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
