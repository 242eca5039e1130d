import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import hnswlib from 'hnswlib-node';
import { cosine } from '../vectors.js';

const { HierarchicalNSW } = hnswlib;

export interface VectorHit {
  label: number;
  /** Cosine similarity, 1 = same direction. */
  similarity: number;
}

/** The vector side of retrieval. Labels are the catalog's passage labels. */
export interface VectorIndex {
  readonly dimension: number;
  /** Live (not deleted) vectors. */
  readonly size: number;
  add(label: number, vector: Float32Array): void;
  remove(label: number): void;
  search(query: Float32Array, k: number): VectorHit[];
  save(file: string): Promise<void>;
}

/** Options of {@link HnswIndex}; the defaults suit up to a few hundred thousand passages. */
export interface HnswOptions {
  /** Graph degree. Default 16. */
  m?: number;
  /** Build-time candidate list. Default 200. */
  efConstruction?: number;
  /** Query-time candidate list: higher is more exact and slower. Default 256 (recall@10 0.99 at 100,000 vectors; see README, "Performance"). */
  efSearch?: number;
  /** Initial capacity; the index doubles when full. Default 1,024. */
  initialCapacity?: number;
}

const DEFAULTS: Required<HnswOptions> = { m: 16, efConstruction: 200, efSearch: 256, initialCapacity: 1024 };

/**
 * hnswlib in cosine space. Removed vectors are marked deleted and their slots are reused by
 * later additions (`allowReplaceDeleted`), so months of edits do not grow the file without bound.
 * Saving is atomic: write to a temporary file, then rename over the target.
 */
export class HnswIndex implements VectorIndex {
  private readonly index: InstanceType<typeof HierarchicalNSW>;
  private readonly opts: Required<HnswOptions>;
  private deletedSlots = 0;

  private constructor(readonly dimension: number, options: HnswOptions) {
    this.opts = { ...DEFAULTS, ...options };
    this.index = new HierarchicalNSW('cosine', dimension);
  }

  static create(dimension: number, options: HnswOptions = {}): HnswIndex {
    const idx = new HnswIndex(dimension, options);
    idx.index.initIndex({
      maxElements: idx.opts.initialCapacity,
      m: idx.opts.m,
      efConstruction: idx.opts.efConstruction,
      randomSeed: 100,
      allowReplaceDeleted: true,
    });
    idx.index.setEf(idx.opts.efSearch);
    return idx;
  }

  /**
   * Loads a saved index. `liveCount` (from the catalog) tells how many of its slots hold live
   * vectors; the rest are deleted slots ready for reuse.
   */
  static async load(file: string, dimension: number, liveCount: number, options: HnswOptions = {}): Promise<HnswIndex> {
    const idx = new HnswIndex(dimension, options);
    await idx.index.readIndex(file, true);
    if (idx.index.getNumDimensions() !== dimension) {
      throw new Error(`${file} holds ${idx.index.getNumDimensions()}-dimensional vectors, expected ${dimension}`);
    }
    idx.deletedSlots = idx.index.getCurrentCount() - liveCount;
    if (idx.deletedSlots < 0) throw new Error(`${file} holds fewer vectors (${idx.index.getCurrentCount()}) than the catalog (${liveCount})`);
    idx.index.setEf(idx.opts.efSearch);
    return idx;
  }

  get size(): number {
    return this.index.getCurrentCount() - this.deletedSlots;
  }

  /** Slots in use, deleted ones included (what the file holds). */
  get slots(): number {
    return this.index.getCurrentCount();
  }

  get efSearch(): number {
    return this.index.getEf();
  }

  set efSearch(ef: number) {
    this.index.setEf(ef);
  }

  add(label: number, vector: Float32Array): void {
    if (vector.length !== this.dimension) throw new Error(`vector has ${vector.length} dimensions, index expects ${this.dimension}`);
    if (this.deletedSlots > 0) {
      this.index.addPoint(Array.from(vector), label, true);
      this.deletedSlots--;
      return;
    }
    if (this.index.getCurrentCount() >= this.index.getMaxElements()) {
      this.index.resizeIndex(Math.max(this.opts.initialCapacity, this.index.getMaxElements() * 2));
    }
    this.index.addPoint(Array.from(vector), label, false);
  }

  /** Marks a vector deleted (its slot is reused by a later add). Unknown or already deleted labels are ignored. */
  remove(label: number): void {
    try {
      this.index.markDelete(label);
    } catch {
      return; // not in the index (or deleted already): nothing to do
    }
    this.deletedSlots++;
  }

  /** Deleted slots waiting for reuse. */
  get deleted(): number {
    return this.deletedSlots;
  }

  /** Every label the index holds, deleted ones included (for the start-up consistency check). */
  labels(): number[] {
    return this.index.getIdsList();
  }

  /** The stored (for cosine: normalised) vector of a live label; undefined when unknown or deleted. */
  vectorOf(label: number): number[] | undefined {
    try {
      return this.index.getPoint(label);
    } catch {
      return undefined;
    }
  }

  search(query: Float32Array, k: number): VectorHit[] {
    const n = Math.min(k, this.size);
    if (n <= 0) return [];
    const { neighbors, distances } = this.index.searchKnn(Array.from(query), n);
    return neighbors.map((label, i) => ({ label, similarity: 1 - distances[i] }));
  }

  /** Cosine similarity of a stored vector to `query` (0 when the label is unknown or deleted). */
  similarity(label: number, query: Float32Array): number {
    let point: number[];
    try {
      point = this.index.getPoint(label);
    } catch {
      return 0;
    }
    return cosine(point, query);
  }

  async save(file: string): Promise<void> {
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await this.index.writeIndex(tmp);
      await rename(tmp, file);
    } finally {
      if (existsSync(tmp)) await rm(tmp, { force: true });
    }
  }
}
