import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Embedder } from '../embed/embedder.js';
import { splitSentences } from '../text/sentences.js';
import { ENTITIES_VERSION, sentenceEntities, type SentenceEntities } from '../answer/entities.js';

/**
 * Sentence vectors for answer composition, content-addressed by model and sentence text: a
 * sentence is embedded the first time an answer looks at it and read back afterwards (from memory,
 * then from the catalog's `sentence_vectors` table, which survives restarts). The key ignores
 * which article a sentence came from, so an edited article keeps the vectors of its unchanged
 * sentences, and several knowledge bases sharing one embedder share one cache. The sentence's
 * entities (people, places, dates, amounts) are kept the same way, in `sentence_entities`.
 */
export class SentenceVectorCache {
  private readonly memory = new Map<string, Float32Array>();
  private readonly select: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly selectEntities: Database.Statement;
  private readonly insertEntities: Database.Statement;
  private readonly entityMemory = new Map<string, SentenceEntities>();

  constructor(
    db: Database.Database,
    private readonly embedder: Embedder,
    private readonly memoryLimit = 20_000,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS sentence_vectors (
      model TEXT NOT NULL,
      hash TEXT NOT NULL,
      vector BLOB NOT NULL,
      PRIMARY KEY (model, hash)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS sentence_entities (
      hash TEXT PRIMARY KEY,
      entities TEXT NOT NULL
    ) WITHOUT ROWID`);
    this.selectEntities = db.prepare('SELECT entities FROM sentence_entities WHERE hash = ?');
    this.insertEntities = db.prepare('INSERT OR IGNORE INTO sentence_entities (hash, entities) VALUES (?, ?)');
    this.select = db.prepare('SELECT vector FROM sentence_vectors WHERE model = ? AND hash = ?');
    this.insert = db.prepare('INSERT OR IGNORE INTO sentence_vectors (model, hash, vector) VALUES (?, ?, ?)');
  }

  /** One vector per text, in order; only texts never seen with this model are embedded (in one batch). */
  readonly vectors = (texts: string[]): Promise<Float32Array[]> => this.vectorsReading([], texts);

  /**
   * Like {@link vectors}, also reading (never writing) other caches first: a server's layered view
   * finds the base layer's sentences in the base cache, and keeps what it embeds in its own.
   */
  async vectorsReading(others: SentenceVectorCache[], texts: string[]): Promise<Float32Array[]> {
    const model = this.embedder.info.model;
    const keys = texts.map(keyOf);
    const out: (Float32Array | undefined)[] = keys.map((key) => this.lookup(model, key) ?? others.reduce<Float32Array | undefined>((hit, o) => hit ?? o.lookup(model, key), undefined));
    const missing = [...new Set(keys.filter((_, i) => !out[i]))];
    if (missing.length > 0) {
      const textOf = new Map(keys.map((k, i) => [k, texts[i]]));
      const embedded = await this.embedder.embed(missing.map((k) => textOf.get(k)!));
      missing.forEach((key, i) => this.store(model, key, embedded[i]));
      keys.forEach((key, i) => (out[i] ??= this.memory.get(`${model}\n${key}`)));
    }
    return out as Float32Array[];
  }

  /** The entities of a sentence: from memory, then the catalog, else tagged now and kept. */
  readonly entities = (sentence: string): SentenceEntities => {
    const key = keyOf(`${ENTITIES_VERSION}\n${sentence}`);
    const hit = this.entityMemory.get(key);
    if (hit) return hit;
    const row = this.selectEntities.get(key) as { entities: string } | undefined;
    let found: SentenceEntities;
    if (row) found = JSON.parse(row.entities) as SentenceEntities;
    else {
      found = sentenceEntities(sentence);
      this.insertEntities.run(key, JSON.stringify(found));
    }
    if (this.entityMemory.size >= this.memoryLimit) this.entityMemory.delete(this.entityMemory.keys().next().value!);
    this.entityMemory.set(key, found);
    return found;
  };

  /**
   * Embeds ahead of time the sentences of passages just embedded, so a question never waits for
   * them (nor for their entities). A one-sentence passage reuses the passage's own vector.
   * Returns the ms spent embedding and tagging.
   */
  async warm(passages: string[], passageVectors: Float32Array[]): Promise<number> {
    const model = this.embedder.info.model;
    const sentences: string[] = [];
    passages.forEach((text, i) => {
      const parts = splitSentences(text);
      // Tagging costs about a millisecond a sentence: paid here, once, instead of in an answer.
      for (const part of parts) this.entities(part);
      if (parts.length === 1) this.store(model, keyOf(parts[0]), passageVectors[i]);
      else sentences.push(...parts);
    });
    const t0 = performance.now();
    const missing = [...new Set(sentences)].filter((t) => !this.lookup(model, keyOf(t)));
    if (missing.length === 0) return performance.now() - t0;
    const vectors = await this.embedder.embed(missing);
    missing.forEach((t, i) => this.store(model, keyOf(t), vectors[i]));
    return performance.now() - t0;
  }

  private store(model: string, key: string, v: Float32Array): void {
    this.remember(key, model, v);
    this.insert.run(model, key, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }

  /** A cached vector, or undefined (never embeds). */
  lookup(model: string, key: string): Float32Array | undefined {
    const hit = this.memory.get(`${model}\n${key}`);
    if (hit) return hit;
    const row = this.select.get(model, key) as { vector: Buffer } | undefined;
    if (!row) return undefined;
    const v = new Float32Array(row.vector.byteLength / 4);
    new Uint8Array(v.buffer).set(row.vector);
    this.remember(key, model, v);
    return v;
  }

  private remember(key: string, model: string, v: Float32Array): void {
    if (this.memory.size >= this.memoryLimit) this.memory.delete(this.memory.keys().next().value!);
    this.memory.set(`${model}\n${key}`, v);
  }
}

function keyOf(sentence: string): string {
  return createHash('sha256').update(sentence).digest('hex').slice(0, 24);
}
