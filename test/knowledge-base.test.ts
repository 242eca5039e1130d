import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnowledgeBase, ModelMismatchError, UserInputError } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import type { RawArticle } from '../src/core/types.js';
import { cupFinalArticle } from './helpers/articles.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';

const football = cupFinalArticle('test');

let dir: string;
let embedder: HashEmbedder;
let seed: RawArticle[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kb-test-'));
  embedder = new HashEmbedder();
  seed = (await loadDirectory('knowledge')).articles;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function open(e = embedder, extra = {}) {
  return KnowledgeBase.open({ dataDir: dir, embedder: e, ...extra });
}

describe('KnowledgeBase', () => {
  it('answers the seed question with Qatar and cites the seed paragraph', async () => {
    const kb = await open();
    const report = await kb.ingest([...seed, football]);
    expect(report.duplicatesDropped).toBe(5);
    const result = await kb.ask(QUESTION);
    expect(result.answered).toBe(true);
    expect(result.answer).toContain('Qatar');
    expect(result.answer).toMatch(/\[1\]/);
    expect(result.sources[0]).toMatchObject({ n: 1, title: 'Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look', paragraph: 4 });
    // Every marker points at a listed source.
    for (const m of result.answer.matchAll(/\[(\d+)\]/g)) expect(result.sources.some((s) => s.n === Number(m[1]))).toBe(true);
    expect(result.answer.length).toBeLessThanOrEqual(600);
    await kb.close();
  });

  it('a changed publication date or author is re-committed without embedding anything', async () => {
    const kb = await open();
    await kb.ingest([football]);
    const before = embedder.textsEmbedded;
    const dated = await kb.ingest([{ ...football, date: '2005-05-21', author: 'Sam Reporter' }]);
    expect(dated).toMatchObject({ unchanged: 0, embedded: 0 });
    expect(await kb.getArticle('rovers-win-the-cup-final')).toMatchObject({ date: '2005-05-21', author: 'Sam Reporter' });
    const redated = await kb.ingest([{ ...football, date: '2005-05-22', author: 'Sam Reporter' }]);
    expect(redated).toMatchObject({ unchanged: 0, embedded: 0 });
    expect((await kb.getArticle('rovers-win-the-cup-final'))?.date).toBe('2005-05-22');
    expect(await kb.ingest([{ ...football, date: '2005-05-22', author: 'Sam Reporter' }])).toMatchObject({ unchanged: 1 });
    expect(embedder.textsEmbedded).toBe(before);
    expect((await kb.ask('Who scored the late goal in the cup final?')).sources[0]).toMatchObject({ title: football.title, date: '2005-05-22' });
    await kb.close();
  });

  it('opens a catalog written before articles had authors, and keeps authors from then on', async () => {
    const Database = (await import('better-sqlite3')).default;
    const old = new Database(join(dir, 'catalog.sqlite'));
    old.exec(`CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT, date TEXT, origin TEXT NOT NULL, hash TEXT NOT NULL,
      paragraphs INTEGER NOT NULL, duplicates_dropped INTEGER NOT NULL, added_by TEXT, added_at TEXT NOT NULL, updated_at TEXT NOT NULL, body TEXT)`);
    old.close();
    const kb = await open();
    await kb.ingest([{ ...football, author: 'Sam Reporter' }]);
    expect((await kb.getArticle('rovers-win-the-cup-final'))?.author).toBe('Sam Reporter');
    await kb.close();
  });

  it('re-ingesting unchanged articles embeds nothing; a changed paragraph is the only one embedded', async () => {
    const kb = await open();
    await kb.ingest([football]);
    const before = embedder.textsEmbedded;
    const again = await kb.ingest([football]);
    expect(again).toMatchObject({ unchanged: 1, embedded: 0 });
    expect(embedder.textsEmbedded).toBe(before);
    const edited = { ...football, body: football.body.replace('on Monday', 'on Tuesday') };
    const changed = await kb.ingest([edited]);
    expect(changed).toMatchObject({ updated: 1, embedded: 1 });
    expect(embedder.textsEmbedded).toBe(before + 1);
    const result = await kb.ask('When will the team parade the trophy?');
    expect(result.answer).toContain('Tuesday');
    expect(result.answer).not.toContain('Monday');
    await kb.close();
  });

  it('never cites a removed article', async () => {
    const kb = await open();
    await kb.ingest([...seed, football]);
    const id = (await kb.listArticles()).find((a) => a.title.startsWith('Hamas'))!.id;
    expect(await kb.remove([id])).toEqual({ removed: 1 });
    const result = await kb.ask(QUESTION);
    expect(result.sources.every((s) => s.articleId !== id)).toBe(true);
    expect(result.answer).not.toContain('Qatar');
    await kb.close();
  });

  it('says plainly when it has no answer and suggests the closest articles', async () => {
    const kb = await open();
    await kb.ingest([...seed, football]);
    const result = await kb.ask('What is the boiling point of liquid nitrogen in kelvin?');
    expect(result.answered).toBe(false);
    expect(result.sources).toEqual([]);
    expect(result.answer).toMatch(/couldn't find an answer/);
    await kb.close();
  });

  it('rejects empty and over-long questions with a clear message', async () => {
    const kb = await open();
    await expect(kb.ask('   \n ')).rejects.toThrow(UserInputError);
    await expect(kb.ask('x'.repeat(1001))).rejects.toThrow(/1001 characters long; please keep it under 1000/);
    await kb.close();
  });

  it('refuses an index built with another model and says how to rebuild', async () => {
    const kb = await open();
    await kb.ingest([football]);
    await kb.close();
    const other = new HashEmbedder(32, 'test/other-model');
    await expect(open(other)).rejects.toThrow(ModelMismatchError);
    await expect(open(other)).rejects.toThrow(/npm run ingest -- --rebuild/);
    const rebuilt = await open(other, { rebuild: true });
    expect((await rebuilt.stats()).passages).toBe(0);
    await rebuilt.close();
  });

  it('persists across restarts and rebuilds a missing or corrupt vector file from the catalog', async () => {
    let kb = await open();
    await kb.ingest([...seed, football]);
    await kb.close();
    const file = readdirSync(dir).find((f) => f.endsWith('.hnsw'))!;
    rmSync(join(dir, file));
    kb = await open();
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    await kb.close();
    const rebuiltFile = readdirSync(dir).find((f) => f.endsWith('.hnsw'))!;
    writeFileSync(join(dir, rebuiltFile), 'not an index');
    const logs: string[] = [];
    kb = await open(embedder, { log: (m: string) => logs.push(m) });
    expect(logs.join('\n')).toMatch(/rebuilding it from the catalog/);
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    await kb.close();
  });

  it('saves a BM25 snapshot on close, loads it on open, and rebuilds it when it is damaged or stale', async () => {
    let kb = await open();
    await kb.ingest([...seed, football]);
    await kb.close();
    const snapshot = readdirSync(dir).find((f) => /^lexical-f\d+-\d+\.json$/.test(f));
    expect(snapshot).toBeDefined();
    kb = await open();
    expect((await kb.ask('When will the team parade the trophy?')).answer).toContain('Monday');
    await kb.remove([(await kb.listArticles()).find((a) => a.title.startsWith('Rovers'))!.id]);
    await kb.close();
    // The snapshot now names the new version; damage it: the next start rebuilds BM25 from the catalog.
    const current = readdirSync(dir).filter((f) => f.startsWith('lexical-'));
    expect(current).toHaveLength(1);
    expect(current[0]).not.toBe(snapshot);
    writeFileSync(join(dir, current[0]), '{"not": "a MiniSearch index"');
    const logs: string[] = [];
    kb = await open(embedder, { log: (m: string) => logs.push(m) });
    expect(logs.join('\n')).toMatch(/BM25 snapshot .* is unreadable/);
    expect((await kb.ask(QUESTION)).answer).toContain('Qatar');
    expect((await kb.ask('When will the team parade the trophy?')).answered).toBe(false);
    await kb.close();
  });

  it('reuses deleted vector slots instead of growing without bound', async () => {
    const kb = await open();
    await kb.ingest([football]);
    const slots = (await kb.stats()).vectorSlots;
    for (let i = 0; i < 5; i++) {
      await kb.ingest([{ ...football, body: football.body.replace('Saturday', `Saturday ${i}`) }]);
    }
    expect((await kb.stats()).vectorSlots).toBe(slots);
    await kb.close();
  });

  it('keeps two same-titled files from different origins apart', async () => {
    const kb = await open();
    const report = await kb.ingest([football, { ...football, body: 'A different story entirely, about the other Rovers and their long journey home.', origin: 'other' }]);
    expect(report.added).toBe(2);
    expect(await kb.listArticles()).toHaveLength(2);
    await kb.close();
  });

  it('does not show the same paragraph twice when two articles carry it', async () => {
    const kb = await open();
    await kb.ingest([football, { ...football, title: 'Cup final report (wire copy)', origin: 'wire' }]);
    const { passages } = await kb.retrieve('Who sealed the cup final victory with a late goal?', { topK: 5 });
    const texts = passages.map((p) => p.passage.text);
    expect(new Set(texts).size).toBe(texts.length);
    await kb.close();
  });
});
