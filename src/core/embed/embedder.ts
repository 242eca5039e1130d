/**
 * The seam between the knowledge base and whatever turns text into vectors.
 * Implementations: TransformersEmbedder (any Hugging Face ONNX sentence-embedding model),
 * BundledEmbedder (Universal Sentence Encoder shipped inside npm), WorkerEmbedder (runs either
 * on a worker thread so the event loop stays free).
 */
export interface EmbedderInfo {
  /** Stable model id recorded in the index, e.g. "Xenova/all-MiniLM-L6-v2" or "use-lite-512". */
  model: string;
  dimension: number;
  /** True when returned vectors have unit length (cosine == dot product). */
  normalized: boolean;
}

export interface Embedder {
  readonly info: EmbedderInfo;
  /** Embed texts; returns one vector per text, in order. Batching is the embedder's business. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Release threads and native memory. */
  close(): Promise<void>;
  /** Texts handed over and not yet embedded (the embedding queue, for operators), when known. */
  readonly queuedTexts?: number;
}
