/**
 * Consistency of the core under moderation: reindex while questions keep coming (all answered,
 * old index until the swap), a changed embedding model, compaction, snapshots (old or new, never
 * half), and the start-up check that repairs HNSW from the catalog.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestDirectory } from '../src/app.js';
import type { Embedder } from '../src/core/embed/embedder.js';
import { KnowledgeBase, ModelMismatchError } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import type { RawArticle } from '../src/core/types.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';

let dir: string;
let seed: RawArticle[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kb-consistency-'));
  seed = (await loadDirectory('knowledge')).articles;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Many small articles so a reindex takes a while. */
function filler(n: number): RawArticle[] {
  return Array.from({ length: n }, (_, i) => ({
    title: `Harbour log ${i}`,
    body: `On day ${i} the harbour master logged ${i % 7} ships, calm seas and a northerly wind over the breakwater.\n\nCargo number ${i} was unloaded at pier ${i % 5} before the evening tide turned.`,
    origin: `log-${i}`,
  }));
}

/** An embedder that takes a little time per call (yields to the event loop), so readers interleave. */
class SlowEmbedder implements Embedder {
  readonly inner: HashEmbedder;
  constructor(dimension = 64, model = 'test/hash-embedder', private readonly delayMs = 5) {
    this.inner = new HashEmbedder(dimension, model);
  }
  get info() {
    return this.inner.info;
  }
  async embed(texts: string[]): Promise<Float32Array[]> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return this.inner.embed(texts);
  }
  async close(): Promise<void> {}
}

describe('reindex', () => {
  it('answers every question asked during a reindex; the old index serves until the swap', async () => {
    const embedder = new SlowEmbedder();
    const kb = await KnowledgeBase.open({ dataDir: dir, embedder });
    await kb.ingest([...seed, ...filler(60)]);
    const before = await kb.stats();

    const phases: string[] = [];
    const reindex = kb.reindex({ batchSize: 8, onProgress: (p) => phases.push(p.phase) });
    const answers: Promise<{ answered: boolean; answer: string; version: number }>[] = [];
    let done = false;
    void reindex.finally(() => (done = true));
    while (!done) {
      answers.push(kb.ask(QUESTION).then(async (r) => ({ answered: r.answered, answer: r.answer, version: (await kb.stats()).version })));
      await new Promise((r) => setTimeout(r, 2));
    }
    const report = await reindex;
    const results = await Promise.all(answers);
    expect(results.length).toBeGreaterThan(10);
    for (const r of results) {
      expect(r.answered).toBe(true);
      expect(r.answer).toContain('Qatar');
    }
    expect(results.some((r) => r.version === before.version)).toBe(true); // answered by the old index during the reindex
    expect(report).toMatchObject({ articles: 61, passages: before.passages, embedded: before.passages, version: before.version + 1 });
    expect(phases[0]).toBe('embedding');
    expect(phases.at(-1)).toBe('done');
    expect(await kb.stats()).toMatchObject({ articles: 61, passages: before.passages, deletedSlots: 0 });
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    await kb.close();
    // The swapped-in index is what the next start loads, without a rebuild.
    const again = await KnowledgeBase.open({ dataDir: dir, embedder });
    expect(again.startup!.vectors).toBe('loaded');
    await again.close();
  });

  it('after EMBEDDING_MODEL changed: opens stale (BM25 answers, writes refused), reindex re-embeds with the new model', async () => {
    const old = new HashEmbedder(64, 'test/model-a');
    let kb = await KnowledgeBase.open({ dataDir: dir, embedder: old });
    await kb.ingest([...seed, ...filler(5)]);
    await kb.close();

    const next = new HashEmbedder(32, 'test/model-b');
    await expect(KnowledgeBase.open({ dataDir: dir, embedder: next })).rejects.toThrow(ModelMismatchError);
    kb = await KnowledgeBase.open({ dataDir: dir, embedder: next, onModelMismatch: 'stale' });
    expect(kb.needsReindex).toBe(true);
    expect(await kb.stats()).toMatchObject({ needsReindex: true, indexModel: { model: 'test/model-a', dimension: 64 }, model: { model: 'test/model-b' } });
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar'); // BM25 alone meanwhile
    await expect(kb.ingest(filler(1))).rejects.toThrow(/Reindex first/);

    const report = await kb.reindex();
    expect(report).toMatchObject({ fromModel: 'test/model-a', model: 'test/model-b', articles: 6 });
    expect(kb.needsReindex).toBe(false);
    expect((await kb.stats()).indexModel).toEqual({ model: 'test/model-b', dimension: 32, normalized: true });
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    await kb.ingest(filler(7)); // writes work again
    await kb.close();
    kb = await KnowledgeBase.open({ dataDir: dir, embedder: next });
    expect(kb.startup!.vectors).toBe('loaded');
    expect((await kb.stats()).articles).toBe(8);
    await kb.close();
  });

  it('npm run ingest reindexes first when the model changed', async () => {
    let kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder(64, 'test/model-a') });
    await kb.ingest(seed);
    await kb.close();
    kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder(48, 'test/model-c'), onModelMismatch: 'stale' });
    const report = await ingestDirectory(kb, 'knowledge');
    expect(report.reindexed).toMatchObject({ model: 'test/model-c' });
    expect(report).toMatchObject({ unchanged: 1 });
    expect(kb.needsReindex).toBe(false);
    await kb.close();
  });

  it('compacts: a fresh index without deleted slots', async () => {
    const kb = await KnowledgeBase.open({ dataDir: dir, embedder: new HashEmbedder() });
    await kb.ingest(filler(20));
    await kb.remove(filler(10).map((a) => a.title.toLowerCase().replace(/ /g, '-')));
    expect((await kb.stats()).deletedSlots).toBeGreaterThan(0);
    await kb.reindex();
    expect(await kb.stats()).toMatchObject({ deletedSlots: 0, vectorSlots: (await kb.stats()).passages });
    await kb.close();
  });
});

describe('snapshots', () => {
  it('a question during a replace sees the old or the new article, never a mix', async () => {
    const embedder = new SlowEmbedder(64, 'test/hash-embedder', 1);
    const kb = await KnowledgeBase.open({ dataDir: dir, embedder });
    const version = (word: string): RawArticle => ({
      title: 'Lighthouse keeper notes',
      body: Array.from({ length: 12 }, (_, i) => `Entry ${i}: the lighthouse lamp was ${word} and the keeper wrote about the ${word} lamp in the log book.`).join('\n\n'),
      origin: 'notes',
    });
    await kb.ingest([version('amber')]);
    const seen: string[] = [];
    const writes: Promise<unknown>[] = [];
    for (let round = 0; round < 6; round++) writes.push(kb.ingest([version(round % 2 === 0 ? 'green' : 'amber')]));
    let done = false;
    void Promise.all(writes).finally(() => (done = true));
    const reads: Promise<void>[] = [];
    while (!done) {
      reads.push(
        kb.retrieve('What colour was the lighthouse lamp in the log book?', { topK: 8 }).then(({ passages }) => {
          const words = new Set(passages.map((p) => (p.passage.text.includes('green') ? 'green' : 'amber')));
          seen.push([...words].join('+'));
        }),
      );
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(reads);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((s) => s === 'green' || s === 'amber')).toBe(true);
    await kb.close();
  });
});

describe('start-up check', () => {
  it('loads a consistent HNSW file, and repairs a stale or foreign one from the catalog', async () => {
    const embedder = new HashEmbedder();
    let kb = await KnowledgeBase.open({ dataDir: dir, embedder });
    await kb.ingest(seed);
    const oldFile = readdirSync(dir).find((f) => f.endsWith('.hnsw'))!;
    copyFileSync(join(dir, oldFile), join(dir, 'keep.bin'));
    await kb.ingest(filler(3));
    await kb.remove(['harbour-log-0']);
    const version = (await kb.stats()).version;
    await kb.close();

    kb = await KnowledgeBase.open({ dataDir: dir, embedder });
    const live = (await kb.stats()).passages;
    expect(kb.startup).toMatchObject({ vectors: 'loaded', passages: live, hnswLive: live, lexical: live });
    await kb.close();

    // An older file under the current version's name (e.g. restored from a backup): caught and rebuilt.
    copyFileSync(join(dir, 'keep.bin'), join(dir, `vectors-${version}.hnsw`));
    const logs: string[] = [];
    kb = await KnowledgeBase.open({ dataDir: dir, embedder, log: (m) => logs.push(m) });
    expect(kb.startup!.vectors).toBe('rebuilt');
    expect(kb.startup!.reason).toMatch(/does not match the catalog|fewer vectors/);
    expect(logs.join('\n')).toMatch(/rebuilding it from the catalog/);
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    expect((await kb.retrieve('harbour master logged ships', { topK: 10 })).passages.every((p) => p.passage.articleId !== 'harbour-log-0')).toBe(true);
    await kb.close();

    // Same number of vectors but other labels (a file from another catalog): the label check catches it.
    const other = mkdtempSync(join(tmpdir(), 'kb-other-'));
    const foreign = await KnowledgeBase.open({ dataDir: other, embedder });
    await foreign.ingest(filler(40));
    const sameCount = live;
    await foreign.close();
    const big = await KnowledgeBase.open({ dataDir: other, embedder });
    // Trim the other catalog until it has as many passages as ours.
    const ids = (await big.listArticles()).map((a) => a.id);
    while ((await big.stats()).passages > sameCount) await big.remove([ids.pop()!]);
    const otherFile = readdirSync(other).find((f) => f.endsWith('.hnsw'))!;
    await big.close();
    copyFileSync(join(other, otherFile), join(dir, `vectors-${version}.hnsw`));
    rmSync(other, { recursive: true, force: true });
    kb = await KnowledgeBase.open({ dataDir: dir, embedder });
    expect(kb.startup!.vectors).toBe('rebuilt');
    expect(kb.startup!.reason).toMatch(/does not match the catalog/);
    await kb.close();

    // A left-over temporary file of an interrupted save is cleaned up.
    copyFileSync(join(dir, 'keep.bin'), join(dir, `vectors-${version}.hnsw.tmp-12345`));
    kb = await KnowledgeBase.open({ dataDir: dir, embedder });
    expect(kb.startup!.vectors).toBe('loaded');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await kb.close();
  });
});
