import { createHash } from 'node:crypto';
import type { Embedder } from '../embed/embedder.js';
import { splitSentences } from '../text/sentences.js';
import { ENTITIES_VERSION, sentenceEntities, type SentenceEntities } from '../answer/entities.js';
import type { SentenceCache } from './port.js';

/**
 * Sentence vectors for answer composition, content-addressed by model and sentence text: a
 * sentence is embedded the first time an answer looks at it and read back afterwards (from memory,
 * then from the store's sentence cache, which survives restarts). The key ignores which article a
 * sentence came from, so an edited article keeps the vectors of its unchanged sentences. The
 * sentence's entities (people, places, dates, amounts) are kept the same way.
 *
 * The composer asks for entities synchronously (a few sentences, after scoring), while the store
 * is async: so the entities of the sentences whose vectors are fetched are fetched with them, and
 * a sentence tagged on the spot is written back in the background.
 */
export class SentenceVectorCache {
  private readonly memory = new Map<string, Float32Array>();
  private readonly entityMemory = new Map<string, SentenceEntities>();
  /** Entities tagged on the spot, written to the store by the next {@link flushEntities}. */
  private unsaved: { key: string; entities: string }[] = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SentenceCache,
    private readonly embedder: Embedder,
    private readonly memoryLimit = 20_000,
    private readonly log?: (line: string) => void,
  ) {}

  /** One vector per text, in order; only texts never seen with this model are embedded (in one batch). */
  readonly vectors = (texts: string[]): Promise<Float32Array[]> => this.vectorsReading([], texts);

  /**
   * Like {@link vectors}, also reading (never writing) other caches first: a server's layered view
   * finds the base layer's sentences in the base cache, and keeps what it embeds in its own.
   */
  async vectorsReading(others: SentenceVectorCache[], texts: string[]): Promise<Float32Array[]> {
    // Entities and vectors are separate reads: on a networked store they go out together.
    const [, vectors] = await Promise.all([this.loadEntities([...new Set(texts)].map(entityKeyOf), others), this.readVectors(others, texts)]);
    return vectors;
  }

  private async readVectors(others: SentenceVectorCache[], texts: string[]): Promise<Float32Array[]> {
    const model = this.embedder.info.model;
    const keys = texts.map(keyOf);
    const unique = [...new Set(keys)];
    const found = new Map<string, Float32Array>();
    let missing: string[] = [];
    for (const key of unique) {
      const hit = this.memory.get(`${model}\n${key}`) ?? others.reduce<Float32Array | undefined>((h, o) => h ?? o.memory.get(`${model}\n${key}`), undefined);
      if (hit) found.set(key, hit);
      else missing.push(key);
    }
    for (const cache of [this, ...others]) {
      if (missing.length === 0) break;
      const stored = await cache.store.vectors(model, missing);
      for (const [key, v] of stored) {
        cache.remember(model, key, v);
        found.set(key, v);
      }
      missing = missing.filter((key) => !stored.has(key));
    }
    if (missing.length > 0) {
      const textOf = new Map(keys.map((k, i) => [k, texts[i]]));
      const embedded = await this.embedder.embed(missing.map((k) => textOf.get(k)!));
      missing.forEach((key, i) => {
        this.remember(model, key, embedded[i]);
        found.set(key, embedded[i]);
      });
      await this.store.putVectors(model, missing.map((key, i) => ({ key, vector: embedded[i] })));
    }
    return keys.map((key) => found.get(key)!);
  }

  /** Reads the stored entities of these sentences into memory (own cache first, then the others). */
  private async loadEntities(keys: string[], others: SentenceVectorCache[]): Promise<void> {
    let missing = keys.filter((key) => !this.entityMemory.has(key));
    for (const other of others) {
      for (const key of missing) {
        const hit = other.entityMemory.get(key);
        if (hit) this.rememberEntities(key, hit);
      }
    }
    missing = missing.filter((key) => !this.entityMemory.has(key));
    for (const cache of [this, ...others]) {
      if (missing.length === 0) return;
      const stored = await cache.store.entities(missing);
      for (const [key, json] of stored) this.rememberEntities(key, JSON.parse(json) as SentenceEntities);
      missing = missing.filter((key) => !stored.has(key));
    }
  }

  /** The entities of a sentence: from memory, else tagged now (and written to the store in the background). */
  readonly entities = (sentence: string): SentenceEntities => {
    const key = entityKeyOf(sentence);
    const hit = this.entityMemory.get(key);
    if (hit) return hit;
    const found = sentenceEntities(sentence);
    this.rememberEntities(key, found);
    this.unsaved.push({ key, entities: JSON.stringify(found) });
    void this.flushEntities();
    return found;
  };

  /** Writes entities tagged on the spot to the store (one write at a time; a failure only costs tagging again). */
  flushEntities(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = this.unsaved;
      this.unsaved = [];
      if (batch.length === 0) return;
      try {
        await this.store.putEntities(batch);
      } catch (error) {
        this.log?.(`could not keep sentence entities: ${(error as Error).message}`);
      }
    });
    return this.flushing;
  }

  /**
   * Embeds ahead of time the sentences of passages just embedded, so a question never waits for
   * them (nor for their entities). A one-sentence passage reuses the passage's own vector.
   * Returns the ms spent embedding and tagging.
   */
  async warm(passages: string[], passageVectors: Float32Array[]): Promise<number> {
    const model = this.embedder.info.model;
    const sentences: string[] = [];
    const known = new Map<string, Float32Array>();
    const allParts = passages.map((text) => splitSentences(text));
    await this.loadEntities([...new Set(allParts.flat().map(entityKeyOf))], []);
    allParts.forEach((parts, i) => {
      // Tagging costs about a millisecond a sentence: paid here, once, instead of in an answer.
      for (const part of parts) this.entities(part);
      if (parts.length === 1) known.set(keyOf(parts[0]), passageVectors[i]);
      else sentences.push(...parts);
    });
    const t0 = performance.now();
    for (const [key, v] of known) this.remember(model, key, v);
    await this.store.putVectors(model, [...known].map(([key, vector]) => ({ key, vector })));
    const unique = [...new Set(sentences)];
    const keys = unique.map(keyOf);
    const stored = await this.store.vectors(model, keys.filter((k) => !this.memory.has(`${model}\n${k}`)));
    for (const [key, v] of stored) this.remember(model, key, v);
    const missing = unique.filter((_, i) => !this.memory.has(`${model}\n${keys[i]}`));
    if (missing.length > 0) {
      const vectors = await this.embedder.embed(missing);
      missing.forEach((t, i) => this.remember(model, keyOf(t), vectors[i]));
      await this.store.putVectors(model, missing.map((t, i) => ({ key: keyOf(t), vector: vectors[i] })));
    }
    await this.flushEntities();
    return performance.now() - t0;
  }

  private remember(model: string, key: string, v: Float32Array): void {
    if (this.memory.size >= this.memoryLimit) this.memory.delete(this.memory.keys().next().value!);
    this.memory.set(`${model}\n${key}`, v);
  }

  private rememberEntities(key: string, found: SentenceEntities): void {
    if (this.entityMemory.size >= this.memoryLimit) this.entityMemory.delete(this.entityMemory.keys().next().value!);
    this.entityMemory.set(key, found);
  }
}

function keyOf(sentence: string): string {
  return createHash('sha256').update(sentence).digest('hex').slice(0, 24);
}

/** Entities are keyed with the tagger's version, so a better tagger does not read old results. */
function entityKeyOf(sentence: string): string {
  return keyOf(`${ENTITIES_VERSION}\n${sentence}`);
}
