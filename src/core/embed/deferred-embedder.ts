import type { Embedder, EmbedderInfo } from './embedder.js';

/**
 * An embedder that is still loading, with the info it is expected to have. Opening the knowledge
 * base (reading the catalog, loading HNSW and BM25) only needs the model's id and dimension, so
 * start-up can do that on the main thread while the model loads on its worker threads.
 * The caller checks `loaded` against `info` before trusting it.
 */
export class DeferredEmbedder implements Embedder {
  private real: Embedder | undefined;

  constructor(
    readonly info: EmbedderInfo,
    readonly loaded: Promise<Embedder>,
  ) {
    loaded.then(
      (e) => (this.real = e),
      () => undefined, // the caller awaits `loaded` and handles the failure
    );
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return (this.real ?? (await this.loaded)).embed(texts);
  }

  get queuedTexts(): number | undefined {
    return this.real?.queuedTexts;
  }

  /** The model has finished loading (questions are embedded without waiting). */
  get ready(): boolean {
    return this.real !== undefined;
  }

  async close(): Promise<void> {
    const real = await this.loaded.catch(() => undefined);
    await real?.close();
  }
}

/** Same model, dimension and normalisation. */
export function sameEmbedderInfo(a: EmbedderInfo, b: EmbedderInfo): boolean {
  return a.model === b.model && a.dimension === b.dimension && a.normalized === b.normalized;
}
