/**
 * One contract for every storage backend (src/core/store/port.ts): the local files (SQLite +
 * hnswlib + MiniSearch), PostgreSQL on PGlite (in-process Postgres 18 + pgvector, reached over
 * the wire through `pg`), and PostgreSQL on a real server when TEST_DATABASE_URL or DATABASE_URL
 * is set (`.ci/run` starts one). The real-server-only tests (another process's connection, writer
 * locks) are skipped elsewhere, with the reason in their name.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkArticle } from '../src/core/chunk.js';
import { markdownToArticle } from '../src/core/load/markdown.js';
import { LocalStore } from '../src/core/store/local/index.js';
import { ModelPolicyError, type ArticleWrite, type KnowledgeStore, type StoreChange, type TenantStore } from '../src/core/store/port.js';
import { PostgresStore } from '../src/core/store/postgres/index.js';
import type { RawArticle } from '../src/core/types.js';
import { cosine } from '../src/core/vectors.js';
import { HashEmbedder } from './helpers/hash-embedder.js';
import { startPglite, type PgliteServer } from './helpers/pglite-server.js';
import { scratchDatabase } from './helpers/scratch-database.js';

const embedder = new HashEmbedder(64);
const MODEL = { model: embedder.info.model, dimension: 64, normalized: true };
const SEED = markdownToArticle(readFileSync(new URL('../knowledge/hamas-us-hostage-negotiations.md', import.meta.url), 'utf8'), 'knowledge/hamas-us-hostage-negotiations.md');
const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';

const VOLCANO: RawArticle = {
  title: 'Volcanoes of Iceland',
  origin: 'test',
  url: 'https://example.org/volcanoes',
  body: [
    'Iceland sits on the Mid-Atlantic Ridge, where the Eurasian and North American plates drift apart and magma rises.',
    'The 2010 eruption of Eyjafjallajökull sent an ash cloud across Europe and grounded thousands of flights.',
    'Geothermal plants near Hellisheiði turn volcanic heat into electricity and hot water for Reykjavík.',
  ].join('\n\n'),
};
const SOURDOUGH: RawArticle = {
  title: 'Sourdough baking',
  origin: 'test',
  body: [
    'A sourdough starter is a culture of wild yeast and lactobacilli kept alive with flour and water.',
    'Long cold fermentation gives the loaf its sour taste and open crumb.',
  ].join('\n\n'),
};

let serverIds = 7_000_000 + Math.floor(Math.random() * 1_000_000);
/** A fresh tenant per test: the Postgres databases are shared by the tests of a run. */
const freshServer = () => String(serverIds++);

async function writeOf(raw: RawArticle, id?: string): Promise<ArticleWrite> {
  const article = chunkArticle(raw, {}, id);
  const vectors = await embedder.embed(article.passages.map((p) => p.text));
  return { article, passages: article.passages.map((passage, i) => ({ passage, vector: vectors[i] })), body: raw.body, addedBy: 'tester' };
}

async function add(t: TenantStore, ...raws: RawArticle[]) {
  return t.commit({ write: await Promise.all(raws.map((r) => writeOf(r))), audit: { actor: { id: 'u1', name: 'Tester', via: 'test' } } });
}

async function idsFound(t: TenantStore, text: string): Promise<Set<string>> {
  const found = await t.search({ text, vector: embedder.vector(text), k: 20 });
  return new Set(found.map((c) => c.passage.articleId));
}

interface Backend {
  name: string;
  /** Data shared by several processes (Postgres on a real server): cross-connection tests run. */
  multiProcess: boolean;
  setup(): Promise<void>;
  /** The store of this run (one per backend). */
  store(): KnowledgeStore;
  /** The database URL (Postgres backends), for other processes. */
  url(): string;
  /** Another store on the same data, as another process would open it (shared backends only). */
  another(): Promise<KnowledgeStore>;
  teardown(): Promise<void>;
}

function localBackend(): Backend {
  let dir = '';
  let store: LocalStore;
  return {
    name: 'local',
    multiProcess: false,
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
      store = new LocalStore({ dataDir: dir });
    },
    store: () => store,
    url: () => '',
    another: () => Promise.reject(new Error('one process owns a local data folder')),
    async teardown() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(name: string, multiProcess: boolean, server: () => Promise<{ url: string; stop(): Promise<void> }>): Backend {
  let handle: { url: string; stop(): Promise<void> };
  const stores: PostgresStore[] = [];
  return {
    name,
    multiProcess,
    async setup() {
      handle = await server();
      stores.push(await PostgresStore.connect({ url: handle.url }));
    },
    store: () => stores[0],
    url: () => handle.url,
    async another() {
      const s = await PostgresStore.connect({ url: handle.url });
      stores.push(s);
      return s;
    },
    async teardown() {
      for (const s of stores) await s.close();
      await handle?.stop();
    },
  };
}

const realUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
let pglite: PgliteServer | undefined;
const backends: Backend[] = [
  localBackend(),
  postgresBackend('postgres on PGlite', false, async () => {
    pglite = await startPglite();
    return pglite;
  }),
];
if (realUrl) backends.push(postgresBackend('postgres on a real server', true, () => scratchDatabase(realUrl)));

describe.skipIf(Boolean(realUrl))('postgres on a real server', () => {
  it.skip('needs TEST_DATABASE_URL or DATABASE_URL (.ci/run starts one)', () => undefined);
});

describe.each(backends)('KnowledgeStore contract: $name', (backend) => {
  beforeAll(() => backend.setup(), 120_000);
  afterAll(() => backend.teardown(), 60_000);

  async function openFresh(): Promise<TenantStore> {
    const t = await backend.store().open(freshServer());
    await t.setModel(MODEL);
    return t;
  }

  it('stores articles, passages, bodies and vectors exactly, and records the model', async () => {
    const t = await openFresh();
    const out = await add(t, SEED, VOLCANO);
    expect(out.written.map((a) => a.id).sort()).toEqual(['hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look', 'volcanoes-of-iceland']);
    expect(out.audit.map((a) => a.action)).toEqual(['add', 'add']);
    const state = await t.state();
    expect(state).toMatchObject({ version: out.version, model: MODEL, articles: 2 });
    const seed = chunkArticle(SEED);
    expect(state.passages).toBe(seed.passages.length + 3);

    const article = await t.getArticle(seed.id);
    expect(article).toMatchObject({ title: SEED.title, hash: seed.hash, passages: seed.passages.length, addedBy: 'tester' });
    expect(await t.findArticleByUrl('https://example.org/volcanoes')).toMatchObject({ id: 'volcanoes-of-iceland' });
    expect((await t.titles()).map((x) => x.title)).toEqual([SEED.title, 'Volcanoes of Iceland']);
    expect(await t.articleBody('volcanoes-of-iceland')).toBe(VOLCANO.body);
    expect(await t.articleBody('nothing-here')).toBeUndefined();

    const passages = await t.articlePassages(seed.id);
    expect(passages.map((p) => p.text)).toEqual(seed.passages.map((p) => p.text));
    expect(await t.passageById(passages[2].id)).toMatchObject({ text: passages[2].text, label: passages[2].label });
    const byLabel = await t.passagesByLabels([passages[0].label, passages[3].label, 987_654_321]);
    expect([...byLabel.keys()].sort((a, b) => a - b)).toEqual([passages[0].label, passages[3].label].sort((a, b) => a - b));
    // Vectors come back bit for bit: re-ingesting an unchanged paragraph reuses them without re-embedding.
    const vectors = await t.articleVectorsByHash(seed.id);
    for (const p of seed.passages) expect(Array.from(vectors.get(p.hash)!)).toEqual(Array.from(embedder.vector(p.text)));

    const dump = [];
    for await (const d of t.dumpArticles()) dump.push(d);
    expect(dump.map((d) => d.record.id)).toEqual(['hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look', 'volcanoes-of-iceland']);
    expect(Array.from(dump[1].passages[1].vector)).toEqual(Array.from(embedder.vector(dump[1].passages[1].text)));
    await t.close();
  });

  it('finds what it should on both sides: BM25 for the words, cosine for the vector, each scoring the other’s hits', async () => {
    const t = await openFresh();
    await add(t, SEED, VOLCANO, SOURDOUGH);
    const lexical = await t.searchLexical(QUESTION, 5);
    const top = await t.passagesByLabels([lexical[0].label]);
    expect(top.get(lexical[0].label)!.text).toContain('took place in Qatar');
    expect(lexical[0].score).toBeGreaterThan(lexical[1].score);

    const target = (await t.articlePassages('volcanoes-of-iceland'))[1];
    const dense = await t.searchDense(embedder.vector(target.text), 3);
    expect(dense[0].label).toBe(target.label);
    expect(dense[0].similarity).toBeCloseTo(1, 5);

    const query = embedder.vector(QUESTION);
    const candidates = await t.search({ text: QUESTION, vector: query, k: 4 });
    const qatar = candidates.find((c) => c.passage.text.includes('Qatar'))!;
    expect(qatar.lexical).toBeCloseTo(lexical[0].score, 6);
    expect(qatar.articleTitle).toBe(SEED.title);
    // Every candidate carries its true cosine, also those only the lexical side returned.
    const sims = await t.similarities(candidates.map((c) => c.passage.label), query);
    for (const c of candidates) expect(c.dense).toBeCloseTo(sims.get(c.passage.label)!, 5);
    const direct = (await t.articleVectorsByHash(qatar.passage.articleId)).get(qatar.passage.hash)!;
    expect(qatar.dense).toBeCloseTo(cosine(direct, query), 5);
    const iceland = await t.search({ text: 'Iceland geothermal', vector: embedder.vector('Iceland geothermal'), k: 3 });
    expect(iceland.find((c) => c.passage.articleId === 'volcanoes-of-iceland')).toMatchObject({ articleTitle: 'Volcanoes of Iceland', articleUrl: 'https://example.org/volcanoes' });
    expect(candidates.filter((c) => c.passage.articleId !== 'volcanoes-of-iceland').every((c) => c.articleUrl === undefined)).toBe(true);

    // Without a vector only the lexical side runs.
    const wordsOnly = await t.search({ text: 'sourdough starter yeast', k: 5 });
    expect(wordsOnly[0].passage.articleId).toBe('sourdough-baking');
    expect(wordsOnly.every((c) => c.dense === 0)).toBe(true);
    // Stemming: "fermenting loaves" matches "fermentation" and "loaf".
    expect((await idsFound(t, 'fermenting loaves')).has('sourdough-baking')).toBe(true);
    expect(await t.search({ text: 'the of and', k: 5 })).toEqual([]);
    await t.close();
  });

  it.runIf(backend.name !== 'local')('gives every pooled connection the statement time-out and ef_search, whether or not the server reads startup options', async () => {
    const store = await PostgresStore.connect({ url: backend.url(), statementTimeoutMs: 4321, efSearch: 77, listen: false });
    try {
      const settings = await Promise.all(
        Array.from({ length: 4 }, () => store.pool.query("SELECT current_setting('statement_timeout') AS timeout, current_setting('hnsw.ef_search') AS ef").then((r) => r.rows[0])),
      );
      for (const s of settings) expect(s).toEqual({ timeout: '4321ms', ef: '77' });
    } finally {
      await store.close();
    }
  });

  it.runIf(backend.name !== 'local')('walks the HNSW index right after a bulk write, without waiting for autovacuum to gather statistics', async () => {
    const server = freshServer();
    const t = await backend.store().open(server);
    await t.setModel(MODEL);
    // 30 articles of 20 paragraphs: more than the 500 passages after which a commit refreshes the statistics.
    const articles = Array.from({ length: 30 }, (_, a): RawArticle => ({
      title: `Bulk article ${a}`,
      body: Array.from({ length: 20 }, (_, p) => `Paragraph ${p} of bulk article ${a} mentions harbour ${a * 20 + p} and lighthouse keeper number ${p}.`).join('\n\n'),
      origin: 'test',
    }));
    await t.commit({ write: await Promise.all(articles.map((a) => writeOf(a))) });
    const dim = MODEL.dimension;
    const { rows } = await (backend.store() as PostgresStore).pool.query(
      `EXPLAIN SELECT label FROM kb_passages WHERE tenant = $1 AND vector_dims(embedding) = ${dim}
       ORDER BY embedding::vector(${dim}) <=> $2::vector(${dim}) LIMIT 50`,
      [server, `[${Array.from(embedder.vector('harbour lighthouse')).join(',')}]`],
    );
    // The partition's copy of the HNSW index (pgvector names it after the column); a plan without statistics is a bitmap scan and a sort.
    expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(`Index Scan using kb_passages_t_${server}_embedding_idx`);
    await t.close();
  });

  it.runIf(backend.name !== 'local')('returns the k nearest a search asks for even when k is above the configured ef_search', async () => {
    // Without iterative scans an HNSW scan yields at most ef_search rows: a LIMIT above it came back short.
    const narrow = await PostgresStore.connect({ url: backend.url(), efSearch: 3 });
    try {
      const t = await narrow.open(freshServer());
      await t.setModel(MODEL);
      await add(t, SEED, VOLCANO, SOURDOUGH);
      const total = (await t.state()).passages;
      expect(total).toBeGreaterThan(8);
      const query = embedder.vector(QUESTION);
      expect(await t.searchDense(query, 8)).toHaveLength(8);
      const found = await t.search({ text: 'zzz-no-such-word', vector: query, k: 8 });
      expect(found).toHaveLength(8);
      expect(await t.searchDense(query, 2)).toHaveLength(2);
      await t.close();
    } finally {
      await narrow.close();
    }
  });

  it('keeps an article’s publication date and author, and a new date or author is a new version with the same passages', async () => {
    const t = await openFresh();
    const dated = { ...VOLCANO, date: '2010-04-14', author: 'Sigrún Jónsdóttir' };
    await add(t, dated);
    expect(await t.getArticle('volcanoes-of-iceland')).toMatchObject({ date: '2010-04-14', author: 'Sigrún Jónsdóttir', hash: chunkArticle(dated).hash });
    expect((await t.titles()).find((a) => a.id === 'volcanoes-of-iceland')).toEqual({ id: 'volcanoes-of-iceland', title: 'Volcanoes of Iceland', date: '2010-04-14' });
    const texts = (await t.articlePassages('volcanoes-of-iceland')).map((p) => [p.text, p.hash]);
    const corrected = { ...dated, author: 'Sigrún Jónsdóttir and Jón Jónsson' };
    expect(chunkArticle(corrected).hash).not.toBe(chunkArticle(dated).hash);
    const out = await add(t, corrected);
    expect(out.audit.map((a) => a.action)).toEqual(['replace']);
    expect(await t.getArticle('volcanoes-of-iceland')).toMatchObject({ author: 'Sigrún Jónsdóttir and Jón Jónsson', hash: chunkArticle(corrected).hash });
    expect((await t.articlePassages('volcanoes-of-iceland')).map((p) => [p.text, p.hash])).toEqual(texts);
    const dump = [];
    for await (const d of t.dumpArticles()) dump.push(d);
    expect(dump[0].record).toMatchObject({ date: '2010-04-14', author: 'Sigrún Jónsdóttir and Jón Jónsson' });
    await add(t, { ...VOLCANO });
    const undated = await t.getArticle('volcanoes-of-iceland');
    expect(undated?.date).toBeUndefined();
    expect(undated?.author).toBeUndefined();
    await t.close();
  });

  it('keeps both indexes in step with replace and remove', async () => {
    const t = await openFresh();
    await add(t, SEED, VOLCANO);
    const before = await t.articlePassages('volcanoes-of-iceland');
    const edited = { ...VOLCANO, body: VOLCANO.body.replace('Eyjafjallajökull', 'Fagradalsfjall') };
    const replaced = await add(t, edited);
    expect(replaced.audit.map((a) => a.action)).toEqual(['replace']);
    expect((await idsFound(t, 'Eyjafjallajökull ash cloud')).has('volcanoes-of-iceland')).toBe(true); // "ash cloud" still there
    expect(await t.searchLexical('Eyjafjallajökull', 5)).toEqual([]);
    const fagra = await t.searchLexical('Fagradalsfjall', 5);
    expect(fagra).toHaveLength(1);
    const after = await t.articlePassages('volcanoes-of-iceland');
    expect(after).toHaveLength(3);
    // Old labels are gone from every side: never returned, never scored.
    const oldLabels = new Set(before.map((p) => p.label));
    expect((await t.passagesByLabels([...oldLabels])).size).toBe(0);
    const dense = await t.searchDense(embedder.vector(before[1].text), 10);
    expect(dense.some((h) => oldLabels.has(h.label))).toBe(false);

    const removed = await t.commit({ remove: ['volcanoes-of-iceland', 'never-existed'], audit: { actor: { id: 'u1' } } });
    expect(removed.removed.map((a) => a.id)).toEqual(['volcanoes-of-iceland']);
    expect(removed.audit).toMatchObject([{ action: 'remove', articleId: 'volcanoes-of-iceland' }]);
    expect(await t.getArticle('volcanoes-of-iceland')).toBeUndefined();
    expect(await t.passageById(after[0].id)).toBeUndefined();
    expect((await idsFound(t, 'Iceland volcanic geothermal magma')).has('volcanoes-of-iceland')).toBe(false);
    expect((await t.searchDense(embedder.vector(after[0].text), 10)).some((h) => after.some((p) => p.label === h.label))).toBe(false);
    expect(await t.state()).toMatchObject({ articles: 1, passages: chunkArticle(SEED).passages.length });
    await t.close();
  });

  it('rebuilds everything in one commit (a reindex under a new model), the old state answering until then', async () => {
    const t = await openFresh();
    await add(t, SEED, VOLCANO);
    const wide = new HashEmbedder(32, 'test/hash-32');
    const rewrite = await Promise.all(
      [SEED, SOURDOUGH].map(async (raw) => {
        const article = chunkArticle(raw);
        const vectors = await wide.embed(article.passages.map((p) => p.text));
        return { article, body: raw.body, passages: article.passages.map((passage, i) => ({ passage, vector: vectors[i] })) };
      }),
    );
    const wideModel = { model: wide.info.model, dimension: 32, normalized: true };
    // Vectors of another model are refused unless every article is replaced with them.
    await expect(t.commit({ write: [rewrite[1]], model: wideModel })).rejects.toThrow(ModelPolicyError);
    await expect(t.commit({ write: [rewrite[1]] })).rejects.toThrow(/32-dimensional/);
    expect(await t.state()).toMatchObject({ model: MODEL, articles: 2 });

    const out = await t.commit({ write: rewrite, replaceAll: true, model: wideModel, keepTimestamps: true, audit: { actor: { id: 'u1' }, perArticle: false, extra: [{ action: 'reindex', details: { model: wideModel.model } }] } });
    expect(out.removed.map((a) => a.id)).toEqual(['volcanoes-of-iceland']);
    expect(out.audit).toMatchObject([{ action: 'reindex', details: { model: 'test/hash-32' } }]);
    expect(await t.state()).toMatchObject({ model: wideModel, articles: 2 });
    const hit = await t.searchDense(wide.vector('sourdough starter wild yeast lactobacilli flour water'), 1);
    expect((await t.passagesByLabels([hit[0].label])).get(hit[0].label)!.articleId).toBe('sourdough-baking');
    await expect(t.searchDense(embedder.vector('anything'), 1)).rejects.toThrow(ModelPolicyError);
    await t.close();
  });

  it('keeps tenants apart: no search, read, question or purge crosses from one server to another', async () => {
    const [a, b] = [freshServer(), freshServer()];
    const ta = await backend.store().open(a);
    const tb = await backend.store().open(b);
    await ta.setModel(MODEL);
    await tb.setModel(MODEL);
    await add(ta, SEED);
    await add(tb, VOLCANO, SOURDOUGH);
    for (const text of ['volcanic Iceland ash', 'sourdough yeast', QUESTION]) {
      for (const id of await idsFound(ta, text)) expect(id).toBe('hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look');
      for (const id of await idsFound(tb, text)) expect(['volcanoes-of-iceland', 'sourdough-baking']).toContain(id);
    }
    expect(await ta.getArticle('volcanoes-of-iceland')).toBeUndefined();
    const labelsB = (await tb.articlePassages('volcanoes-of-iceland')).map((p) => p.label);
    // Labels identify passages within a tenant only: B's labels never reach B's passages from A.
    expect([...(await ta.passagesByLabels(labelsB)).values()].every((p) => p.articleId === 'hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look')).toBe(true);
    expect(await ta.state()).toMatchObject({ articles: 1 });

    const q = await tb.questions.recordQuestion({ via: 'slash', userId: 'm', guildId: b, question: 'Which volcano?', outcome: 'answered', answer: 'Eyjafjallajökull [1]' });
    expect(await ta.questions.getQuestion(q)).toBeUndefined();
    expect(await tb.questions.getQuestion(q, b)).toMatchObject({ question: 'Which volcano?' });
    expect(await tb.questions.getQuestion(q, a)).toBeUndefined();
    expect((await tb.auditTrail()).every((e) => e.articleId !== 'hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look')).toBe(true);

    expect(await backend.store().tenants()).toEqual(expect.arrayContaining([a, b]));
    await tb.close();
    expect(await backend.store().purgeTenant(b)).toEqual({ articles: 2, questions: 1 });
    expect(await backend.store().tenants()).not.toContain(b);
    const reopened = await backend.store().open(b);
    expect(await reopened.state()).toMatchObject({ articles: 0, passages: 0, version: 0 });
    expect(await reopened.questions.getQuestion(q)).toBeUndefined();
    await reopened.close();
    expect((await idsFound(ta, QUESTION)).size).toBe(1);
    await expect(backend.store().purgeTenant(a)).rejects.toThrow(/open/);
    await ta.close();
  });

  it('reports every commit on the change feed of this process', async () => {
    const store = backend.store();
    const t = await openFresh();
    const seen: StoreChange[] = [];
    const off = store.subscribe((c) => seen.push(c));
    const out = await add(t, VOLCANO);
    await t.commit({ remove: ['volcanoes-of-iceland'] });
    await t.recordAudit({ id: 'bot' }, [{ action: 'purge', details: { server: '1' } }]);
    off();
    await add(t, SOURDOUGH);
    const mine = seen.filter((c) => c.tenant === t.tenant);
    expect(mine.map((c) => [c.kind, c.articles, c.remote])).toEqual([
      ['commit', ['volcanoes-of-iceland'], false],
      ['commit', ['volcanoes-of-iceland'], false],
      ['note', [], false],
    ]);
    expect(mine[0].version).toBe(out.version);
    await t.close();
  });

  it('round-trips audit, questions, feedback, the summaries cache and pending confirmations', async () => {
    const t = await openFresh();
    const out = await add(t, VOLCANO);
    const trail = await t.auditTrail({ articleId: 'volcanoes-of-iceland' });
    expect(trail).toMatchObject([{ action: 'add', actor: { id: 'u1', name: 'Tester', via: 'test' }, version: out.version, details: { passages: 3 } }]);
    const note = await t.recordAudit({ id: 'bot', via: 'bot' }, [{ action: 'purge', details: { server: '42', articles: 3 } }]);
    expect((await t.auditTrail({ limit: 1 }))[0]).toEqual(note[0]);

    const sources = [{ n: 1, passageId: 'volcanoes-of-iceland#2', articleId: 'volcanoes-of-iceland', title: VOLCANO.title, paragraph: 2, text: 'The 2010 eruption…' }];
    const qid = await t.questions.recordQuestion({ via: 'thread', userId: 'u', guildId: '5', conversationId: 'th1', question: 'Which eruption grounded flights?', outcome: 'answered', answer: 'Eyjafjallajökull in 2010 [1]', sources, ms: 12.4, at: '2026-01-01T00:00:00.000Z' });
    await t.questions.recordQuestion({ via: 'thread', userId: 'u', guildId: '5', conversationId: 'th1', question: 'And when?', outcome: 'no-answer' });
    expect(await t.questions.recentQuestions('th1')).toEqual(['Which eruption grounded flights?', 'And when?']);
    expect(await t.questions.getQuestion(qid, '5')).toMatchObject({ sources, ms: 12, questionChars: 32 });
    expect(await t.questions.recordFeedback({ questionId: qid, userId: 'v', guildId: '5', vote: 'up' })).toMatchObject({ vote: 'up', passageIds: ['volcanoes-of-iceland#2'] });
    expect(await t.questions.recordFeedback({ questionId: qid, userId: 'v', guildId: '5', vote: 'down' })).toMatchObject({ vote: 'down' });
    expect(await t.questions.recordFeedback({ questionId: qid, userId: 'v', guildId: '6', vote: 'up' })).toBeUndefined();
    expect(await t.questions.stats('5')).toEqual({ questions: 2, answered: 1, unanswered: 1, failed: 0, feedbackUp: 0, feedbackDown: 1 });
    expect(await t.questions.listFeedback({ guildId: '5' })).toHaveLength(1);
    expect(await t.questions.forgetOlderThan(30, new Date('2026-03-01T00:00:00.000Z'))).toBe(1);
    expect(await t.questions.getQuestion(qid)).toMatchObject({ question: null, answer: null, sources: [] });
    expect((await t.questions.listFeedback())[0]).toMatchObject({ question: '', answer: '', vote: 'down' });
    expect(await t.questions.forgetServer('5')).toBe(2);
    expect(await t.questions.stats()).toMatchObject({ questions: 0, feedbackDown: 0 });

    const hash = (await t.getArticle('volcanoes-of-iceland'))!.hash;
    const summary = { articleId: 'volcanoes-of-iceland', length: 'short', articleHash: hash, model: MODEL.model, algorithm: 1, result: JSON.stringify({ text: 'Iceland… [1]' }) };
    expect(await t.summaries.put(summary)).toBe(true);
    expect(await t.summaries.get('volcanoes-of-iceland', 'short')).toMatchObject(summary);
    // A summary of a version that is no longer stored is not cached.
    expect(await t.summaries.put({ ...summary, length: 'long', articleHash: 'stale' })).toBe(false);
    await add(t, { ...VOLCANO, body: `${VOLCANO.body}\n\nA new paragraph about lava fields.` });
    expect(await t.summaries.put({ ...summary, length: 'medium' })).toBe(false);
    await t.commit({ remove: ['volcanoes-of-iceland'] });
    expect(await t.summaries.get('volcanoes-of-iceland', 'short')).toBeUndefined();
    expect(await t.summaries.count()).toBe(0);

    const now = 1_000_000;
    const token = await t.confirmations.stage('mod1', { action: 'remove', ids: ['x'] }, 60_000, now);
    expect(await t.confirmations.pending(now)).toBe(1);
    expect(await t.confirmations.take(token, 'mod2', now)).toEqual({ ok: false, reason: 'not-yours' });
    expect(await t.confirmations.take(token, 'mod1', now)).toEqual({ ok: true, data: { action: 'remove', ids: ['x'] } });
    expect(await t.confirmations.take(token, 'mod1', now)).toEqual({ ok: false, reason: 'expired' });
    const late = await t.confirmations.stage('mod1', { n: 1 }, 1000, now);
    expect(await t.confirmations.take(late, 'mod1', now + 1000)).toEqual({ ok: false, reason: 'expired' });
    const cancelled = await t.confirmations.stage('mod1', { n: 2 }, 1000, now);
    expect(await t.confirmations.cancel(cancelled, 'mod2')).toBe(false);
    expect(await t.confirmations.cancel(cancelled, 'mod1')).toBe(true);
    expect(await t.confirmations.pending(now)).toBe(0);
    await t.close();
  });

  it('caps what pending confirmations hold: the oldest make room for a new one', async () => {
    const t = await openFresh();
    const now = 2_000_000;
    const upload = (n: number) => ({ n, body: 'x'.repeat(4000) });
    const first = await t.confirmations.stage('mod1', upload(1), 60_000, now, 10_000);
    const second = await t.confirmations.stage('mod1', upload(2), 60_000, now + 1, 10_000);
    const third = await t.confirmations.stage('mod1', upload(3), 60_000, now + 2, 10_000);
    expect(await t.confirmations.take(first, 'mod1', now + 3)).toEqual({ ok: false, reason: 'expired' });
    expect(await t.confirmations.take(second, 'mod1', now + 3)).toMatchObject({ ok: true, data: { n: 2 } });
    expect(await t.confirmations.take(third, 'mod1', now + 3)).toMatchObject({ ok: true, data: { n: 3 } });
    // Without a cap nothing is dropped.
    for (const n of [4, 5, 6]) await t.confirmations.stage('mod1', upload(n), 60_000, now);
    expect(await t.confirmations.pending(now)).toBe(3);
    await t.close();
  });

  it('keeps sentence vectors by model and key, and sentence entities by key, apart per tenant', async () => {
    const t = await openFresh();
    const other = await openFresh();
    const v = (x: number) => Float32Array.from({ length: 4 }, (_, i) => x + i / 10);
    await t.sentences.putVectors('model-a', [{ key: 'k1', vector: v(1) }, { key: 'k2', vector: v(2) }]);
    // The first vector stored under a key is kept.
    await t.sentences.putVectors('model-a', [{ key: 'k1', vector: v(9) }]);
    await t.sentences.putVectors('model-b', [{ key: 'k1', vector: v(5) }]);
    const a = await t.sentences.vectors('model-a', ['k1', 'k2', 'missing']);
    expect([...a.keys()].sort()).toEqual(['k1', 'k2']);
    expect(Array.from(a.get('k1')!)).toEqual(Array.from(v(1)));
    expect(Array.from((await t.sentences.vectors('model-b', ['k1'])).get('k1')!)).toEqual(Array.from(v(5)));
    await t.sentences.putEntities([{ key: 'e1', entities: '{"people":["Ada"]}' }]);
    expect(await t.sentences.entities(['e1', 'e2'])).toEqual(new Map([['e1', '{"people":["Ada"]}']]));
    expect((await other.sentences.vectors('model-a', ['k1'])).size).toBe(0);
    expect((await other.sentences.entities(['e1'])).size).toBe(0);
    // Dumped whole (kb:migrate copies the cache this way), in pages, and only this tenant's.
    const dumped: string[] = [];
    for await (const page of t.sentences.dumpVectors(2)) {
      expect(page.length).toBeLessThanOrEqual(2);
      dumped.push(...page.map((e) => `${e.model}/${e.key}/${Array.from(e.vector).join(',')}`));
    }
    expect(dumped.sort()).toEqual([`model-a/k1/${Array.from(v(1))}`, `model-a/k2/${Array.from(v(2))}`, `model-b/k1/${Array.from(v(5))}`]);
    const entities = [];
    for await (const page of t.sentences.dumpEntities(1)) entities.push(...page);
    expect(entities).toEqual([{ key: 'e1', entities: '{"people":["Ada"]}' }]);
    for await (const page of other.sentences.dumpVectors()) expect(page).toEqual([]);
    await t.close();
    await other.close();
  });

  it('reads a tenant’s model without creating it, and blanks old questions in every tenant at once', async () => {
    const store = backend.store();
    const id = freshServer();
    expect(await store.modelOf(id)).toBeUndefined();
    expect(await store.tenants()).not.toContain(id);
    const t = await store.open(id);
    await t.setModel(MODEL);
    expect(await store.modelOf(id)).toEqual(MODEL);
    const other = await openFresh();
    const old = { via: 'slash', userId: 'u', question: 'old?', outcome: 'answered' as const, answer: 'yes', at: '2025-01-01T00:00:00.000Z' };
    const q1 = await t.questions.recordQuestion({ ...old, guildId: id });
    const q2 = await other.questions.recordQuestion({ ...old, guildId: 'x' });
    const fresh = await other.questions.recordQuestion({ ...old, at: '2026-06-01T00:00:00.000Z' });
    expect(await store.forgetQuestionsOlderThan(30, new Date('2026-06-02T00:00:00.000Z'))).toBeGreaterThanOrEqual(2);
    expect(await t.questions.getQuestion(q1)).toMatchObject({ question: null, questionChars: 4 });
    expect(await other.questions.getQuestion(q2)).toMatchObject({ question: null });
    expect(await other.questions.getQuestion(fresh)).toMatchObject({ question: 'old?' });
    await t.close();
    await other.close();
  });

  it('reads a tenant’s votes without opening or creating it, filtered by time and server', async () => {
    const store = backend.store();
    const id = freshServer();
    const elsewhere = freshServer();
    expect(await store.feedbackOf(id)).toBeUndefined();
    expect(await store.tenants()).not.toContain(id);
    const t = await store.open(id);
    const ask = (guildId: string, at: string) =>
      t.questions.recordQuestion({ via: 'slash', userId: 'u', guildId, question: `asked ${at}?`, outcome: 'answered', answer: '=1+1 [1]', sources: [], at });
    const early = await ask(id, '2026-01-01T00:00:00.000Z');
    const late = await ask(id, '2026-01-03T00:00:00.000Z');
    const other = await ask(elsewhere, '2026-01-02T00:00:00.000Z');
    await t.questions.recordFeedback({ questionId: late, userId: 'v', guildId: id, vote: 'down', at: '2026-01-03T00:00:01.000Z' });
    await t.questions.recordFeedback({ questionId: early, userId: 'v', guildId: id, vote: 'up', at: '2026-01-01T00:00:01.000Z' });
    await t.questions.recordFeedback({ questionId: other, userId: 'w', guildId: elsewhere, vote: 'up', at: '2026-01-02T00:00:01.000Z' });
    // Read while the tenant is open, as an export beside the running bot does.
    const all = await store.feedbackOf(id);
    expect(all).toEqual(await t.questions.listFeedback());
    expect(all!.map((r) => [r.question, r.vote, r.guildId])).toEqual([
      ['asked 2026-01-01T00:00:00.000Z?', 'up', id],
      ['asked 2026-01-02T00:00:00.000Z?', 'up', elsewhere],
      ['asked 2026-01-03T00:00:00.000Z?', 'down', id],
    ]);
    expect((await store.feedbackOf(id, { since: '2026-01-02T00:00:00.000Z', guildId: id }))!.map((r) => r.questionId)).toEqual([late]);
    expect(await store.feedbackOf(elsewhere)).toBeUndefined();
    await t.close();
  });

  it('refuses tenant keys that are not server ids (they become folder and partition names)', async () => {
    for (const bad of ["1'); DROP TABLE kb_articles; --", '../base', '', 'abc']) {
      await expect(backend.store().open(bad)).rejects.toThrow(/not a server id/);
    }
    await expect(backend.store().purgeTenant('1 OR 1=1')).rejects.toThrow(/not a server id/);
  });

  it('keeps the server directory (the retention clock)', async () => {
    const servers = backend.store().servers;
    const id = freshServer();
    await servers.joined(id, new Date('2026-01-01T00:00:00Z'));
    await servers.left(id, new Date('2026-02-01T00:00:00Z'));
    await servers.left(id, new Date('2026-03-01T00:00:00Z'));
    expect(await servers.get(id)).toEqual({ serverId: id, joinedAt: '2026-01-01T00:00:00.000Z', leftAt: '2026-02-01T00:00:00.000Z' });
    expect((await servers.leftBefore(new Date('2026-02-02T00:00:00Z'))).map((r) => r.serverId)).toContain(id);
    await servers.joined(id);
    expect((await servers.get(id))!.leftAt).toBeNull();
    await servers.forget(id);
    expect(await servers.get(id)).toBeUndefined();
  });

  it('leaves nothing half-visible when a commit fails after writing part of its rows', async () => {
    const t = await openFresh();
    await add(t, SEED);
    const before = await t.state();
    const trail = await t.auditTrail();
    const failing = await writeOf(VOLCANO);
    // The audit rows are written last, inside the transaction, after the article and its
    // passages: a detail that cannot be serialised fails the commit at that very point.
    await expect(
      t.commit({ write: [failing], remove: ['hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look'], audit: { actor: { id: 'u1' }, extra: [{ action: 'add', details: { n: 1n } as Record<string, unknown> }] } }),
    ).rejects.toThrow(/BigInt/);
    expect(await t.state()).toEqual(before);
    expect(await t.getArticle('volcanoes-of-iceland')).toBeUndefined();
    expect(await t.getArticle('hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look')).toBeDefined();
    expect(await t.searchLexical('Iceland magma Eyjafjallajökull', 5)).toEqual([]);
    expect((await idsFound(t, QUESTION)).has('hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look')).toBe(true);
    const dense = await t.searchDense(failing.passages[0].vector, 3);
    expect((await t.passagesByLabels(dense.map((h) => h.label))).size).toBe(dense.length);
    expect([...(await t.passagesByLabels(dense.map((h) => h.label))).values()].every((p) => p.articleId !== 'volcanoes-of-iceland')).toBe(true);
    expect(await t.auditTrail()).toEqual(trail);
    // And the next commit goes through.
    await add(t, VOLCANO);
    expect((await idsFound(t, 'Iceland magma Eyjafjallajökull')).has('volcanoes-of-iceland')).toBe(true);
    await t.close();
  });

  it('keeps what was committed across a close and a re-open', async () => {
    const id = freshServer();
    const t = await backend.store().open(id);
    await t.setModel(MODEL);
    await add(t, SEED, SOURDOUGH);
    await t.commit({ remove: ['sourdough-baking'] });
    const state = await t.state();
    await t.close();
    const again = await backend.store().open(id);
    expect(await again.state()).toEqual(state);
    expect((await idsFound(again, QUESTION)).has('hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look')).toBe(true);
    expect(await again.searchLexical('sourdough', 5)).toEqual([]);
    await again.close();
  });

  it('keeps a tenant’s feeds: numbered from 1 and never reused, one URL once, due order, poll results and back-off, entries', async () => {
    const t = await openFresh();
    const other = await openFresh();
    const at = (iso: string) => new Date(iso);
    const news = await t.feeds.add({ url: 'https://news.example/feed.xml', announceChannelId: '123', addedBy: 'mod', now: at('2026-12-01T08:00:00Z'), nextPollAt: at('2026-12-01T08:30:00Z') });
    const maps = await t.feeds.add({ url: 'https://news.example/sitemap.xml', now: at('2026-12-01T08:00:00Z'), nextPollAt: at('2026-12-01T08:10:00Z') });
    expect(news).toEqual({ id: 1, url: 'https://news.example/feed.xml', announceChannelId: '123', addedBy: 'mod', addedAt: '2026-12-01T08:00:00.000Z', nextPollAt: '2026-12-01T08:30:00.000Z', failures: 0, articles: 0 });
    expect(maps.id).toBe(2);
    await expect(t.feeds.add({ url: 'https://news.example/feed.xml', now: at('2026-12-01T09:00:00Z'), nextPollAt: at('2026-12-01T09:00:00Z') })).rejects.toThrow();
    // Another server numbers its own feeds, and follows the same URL independently.
    expect((await other.feeds.add({ url: 'https://news.example/feed.xml', now: at('2026-12-01T08:00:00Z'), nextPollAt: at('2026-12-01T08:00:00Z') })).id).toBe(1);
    expect(await other.feeds.get(2)).toBeUndefined();

    expect((await t.feeds.due(at('2026-12-01T08:05:00Z'))).map((f) => f.id)).toEqual([]);
    expect((await t.feeds.due(at('2026-12-01T09:00:00Z'))).map((f) => f.id)).toEqual([2, 1]);
    expect((await t.feeds.findByUrl('https://news.example/sitemap.xml'))?.id).toBe(2);
    expect((await t.feeds.list()).map((f) => f.url)).toEqual(['https://news.example/feed.xml', 'https://news.example/sitemap.xml']);

    await t.feeds.recordPoll(1, { at: '2026-12-01T08:30:00.000Z', result: 'ok', message: '2 entries, 2 new', nextPollAt: '2026-12-01T09:00:00.000Z', failures: 0, kind: 'feed', title: 'Daily', etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 08:00:00 GMT', newArticles: 2 });
    // A failed poll counts the failure and keeps the validators and title of the last good one.
    await t.feeds.recordPoll(1, { at: '2026-12-01T09:00:00.000Z', result: 'error', message: 'the feed is malformed', nextPollAt: '2026-12-01T10:00:00.000Z', failures: 1 });
    expect(await t.feeds.get(1)).toMatchObject({ kind: 'feed', title: 'Daily', etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 08:00:00 GMT', lastResult: 'error', lastMessage: 'the feed is malformed', lastPollAt: '2026-12-01T09:00:00.000Z', nextPollAt: '2026-12-01T10:00:00.000Z', failures: 1, articles: 2 });
    await t.feeds.recordPoll(1, { at: '2026-12-01T10:00:00.000Z', result: 'unchanged', message: 'not modified (304)', nextPollAt: '2026-12-01T10:30:00.000Z', failures: 0, etag: '"v1"' });
    expect(await t.feeds.get(1)).toMatchObject({ lastResult: 'unchanged', failures: 0, articles: 2, etag: '"v1"' });
    expect((await t.feeds.get(1))?.lastModified).toBeUndefined();
    expect((await t.feeds.due(at('2026-12-01T10:05:00Z'))).map((f) => f.id)).toEqual([2]);
    await t.feeds.dueNow(1, at('2026-12-01T10:05:00Z'));
    expect((await t.feeds.due(at('2026-12-01T10:05:00Z'))).map((f) => f.id)).toEqual([2, 1]);
    await t.feeds.setAnnounceChannel(1, undefined);
    expect((await t.feeds.get(1))?.announceChannelId).toBeUndefined();

    await t.feeds.saveEntry({ feedId: 1, key: 'urn:1', link: 'https://news.example/1', articleId: 'lighthouse', itemHash: 'h1', contentHash: 'c1', etag: '"p1"', published: '2026-11-27T09:00:00.000Z', author: 'Ann' }, at('2026-12-01T08:30:00Z'));
    // An update that does not know the article, content hash, date or author keeps them.
    await t.feeds.saveEntry({ feedId: 1, key: 'urn:1', link: 'https://news.example/1', itemHash: 'h2' }, at('2026-12-01T09:30:00Z'));
    await t.feeds.saveEntry({ feedId: 1, key: 'urn:2', itemHash: 'h3' }, at('2026-12-01T09:30:00Z'));
    expect(await t.feeds.entry(1, 'urn:1')).toEqual({ feedId: 1, key: 'urn:1', link: 'https://news.example/1', articleId: 'lighthouse', itemHash: 'h2', contentHash: 'c1', published: '2026-11-27T09:00:00.000Z', author: 'Ann', firstSeenAt: '2026-12-01T08:30:00.000Z', updatedAt: '2026-12-01T09:30:00.000Z' });
    expect((await t.feeds.entries(1)).map((e) => e.key)).toEqual(['urn:1', 'urn:2']);
    expect(await other.feeds.entries(1)).toEqual([]);

    // Removing a feed forgets its entries; its number is not given out again.
    expect(await t.feeds.remove(2)).toBe(true);
    expect(await t.feeds.remove(2)).toBe(false);
    expect(await t.feeds.remove(1)).toBe(true);
    expect(await t.feeds.entries(1)).toEqual([]);
    expect((await t.feeds.add({ url: 'https://news.example/feed.xml', now: at('2026-12-01T11:00:00Z'), nextPollAt: at('2026-12-01T11:00:00Z') })).id).toBe(3);
    await t.close();
    await other.close();
  });

  it('lets one poller hold a feed at a time: one conditional update, an expired lease taken over, released only by its holder', async () => {
    const t = await openFresh();
    const now = new Date('2026-12-01T08:00:00Z');
    const in15 = new Date('2026-12-01T08:15:00Z');
    const feed = await t.feeds.add({ url: 'https://news.example/feed.xml', now, nextPollAt: now });
    // Many pollers at once (on PostgreSQL, on several pool connections): exactly one gets it.
    const tries = await Promise.all(Array.from({ length: 8 }, (_, i) => t.feeds.lease(feed.id, `poller-${i}`, now, in15)));
    expect(tries.filter(Boolean)).toHaveLength(1);
    const holder = `poller-${tries.indexOf(true)}`;
    expect(await t.feeds.leaseOf(feed.id)).toEqual({ owner: holder, until: in15.toISOString() });
    expect(await t.feeds.lease(feed.id, holder, now, in15)).toBe(true); // its holder may renew it
    await t.feeds.release(feed.id, 'someone-else');
    expect((await t.feeds.leaseOf(feed.id))?.owner).toBe(holder);
    // The holder died: once the lease has expired, another poller takes it over.
    expect(await t.feeds.lease(feed.id, 'late', new Date('2026-12-01T08:14:59Z'), new Date('2026-12-01T08:30:00Z'))).toBe(false);
    expect(await t.feeds.lease(feed.id, 'late', in15, new Date('2026-12-01T08:30:00Z'))).toBe(true);
    await t.feeds.release(feed.id, 'late');
    expect(await t.feeds.leaseOf(feed.id)).toBeUndefined();
    expect(await t.feeds.lease(feed.id, 'next', now, in15)).toBe(true);
    await t.close();
  });

  it('keeps a member’s cooldown: one question a window, one note for a flood of refusals, given back on release', async () => {
    const cooldowns = backend.store().cooldowns;
    const member = `question:${freshServer()}`;
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    expect(await cooldowns.take(member, 5000, t0)).toEqual({ ok: true });
    expect(await cooldowns.take(member, 5000, t0 + 1000)).toEqual({ ok: false, retryAfterMs: 4000, notify: true });
    expect(await cooldowns.take(member, 5000, t0 + 2000)).toEqual({ ok: false, retryAfterMs: 3000, notify: false });
    expect(await cooldowns.take(member, 5000, t0 + 2500)).toEqual({ ok: false, retryAfterMs: 2500, notify: false });
    // Another member is not held up by this one.
    expect(await cooldowns.take(`question:${freshServer()}`, 5000, t0 + 2500)).toEqual({ ok: true });
    // The window ends: the next question is accepted and starts a new window, whose first refusal notifies again.
    expect(await cooldowns.take(member, 5000, t0 + 5000)).toEqual({ ok: true });
    expect(await cooldowns.take(member, 5000, t0 + 6000)).toEqual({ ok: false, retryAfterMs: 4000, notify: true });
    // A question given back (it was invalid after all): the member may ask again at once.
    await cooldowns.release(member);
    expect(await cooldowns.take(member, 5000, t0 + 6000)).toEqual({ ok: true });
  });

  it('accepts exactly one of many questions a member sends at once', async () => {
    const cooldowns = backend.store().cooldowns;
    const member = `question:${freshServer()}`;
    const now = Date.parse('2026-12-01T08:00:00Z');
    const takes = await Promise.all(Array.from({ length: 8 }, () => cooldowns.take(member, 5000, now)));
    expect(takes.filter((t) => t.ok)).toHaveLength(1);
    expect(takes.filter((t) => !t.ok && t.notify)).toHaveLength(1);
  });

  it('forgets ended cooldown windows and keeps running ones', async () => {
    const cooldowns = backend.store().cooldowns;
    const short = `question:${freshServer()}`;
    const long = `question:${freshServer()}`;
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    await cooldowns.take(short, 1000, t0);
    await cooldowns.take(long, 60_000, t0);
    expect(await cooldowns.sweep(t0 + 2000)).toBeGreaterThanOrEqual(1);
    expect(await cooldowns.take(long, 60_000, t0 + 2000)).toEqual({ ok: false, retryAfterMs: 58_000, notify: true });
    expect(await cooldowns.take(short, 1000, t0 + 2000)).toEqual({ ok: true });
  });

  it.runIf(backend.name !== 'local')('deletes ended cooldown windows on the way, about once a minute, off the question’s path', async () => {
    const store = backend.store() as PostgresStore;
    const ended = `question:${freshServer()}`;
    const rows = async () => Number((await store.pool.query('SELECT count(*) AS n FROM kb_cooldowns WHERE key = $1', [ended])).rows[0].n);
    const t0 = Date.parse('2031-01-01T00:00:00Z');
    await store.cooldowns.take(ended, 1000, t0);
    await store.cooldowns.settled();
    expect(await rows()).toBe(1);
    await store.cooldowns.take(`question:${freshServer()}`, 1000, t0 + 30_000); // too soon for another sweep
    await store.cooldowns.settled();
    expect(await rows()).toBe(1);
    await store.cooldowns.take(`question:${freshServer()}`, 1000, t0 + 61_000);
    await store.cooldowns.settled();
    expect(await rows()).toBe(0);
  });

  it.runIf(backend.multiProcess)('accepts exactly one of two processes taking a member’s cooldown at once', async () => {
    const other = await backend.another();
    const now = Date.parse('2026-12-01T08:00:00Z');
    for (let round = 0; round < 10; round++) {
      const member = `question:${freshServer()}`;
      const [a, b] = await Promise.all([backend.store().cooldowns.take(member, 5000, now), other.cooldowns.take(member, 5000, now)]);
      expect([a, b].filter((t) => t.ok)).toHaveLength(1);
      expect([a, b].find((t) => !t.ok)).toEqual({ ok: false, retryAfterMs: 5000, notify: true });
    }
  });

  it('shows a running reindex to every holder of the knowledge base until it is released or lapses', async () => {
    const id = freshServer();
    const mine = await backend.store().open(id);
    // Another process where the backend is shared; another handle on the same knowledge base otherwise.
    const theirs = await (backend.multiProcess ? await backend.another() : backend.store()).open(id);
    const moderator = { id: 'u1', name: 'Mod', via: 'discord' };
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    expect(await theirs.reindexMarker.current(t0)).toBeUndefined();

    const claimed = await mine.reindexMarker.claim({ holder: 'run-a', actor: moderator, ttlMs: 60_000, now: t0 });
    expect(claimed).toEqual({ ok: true, marker: { holder: 'run-a', actor: moderator, since: t0, expiresAt: t0 + 60_000 } });
    // The second reindex is refused, and told whose reindex runs and since when.
    const refused = await theirs.reindexMarker.claim({ holder: 'run-b', actor: { id: 'u2' }, ttlMs: 60_000, now: t0 + 1000 });
    expect(refused).toEqual({ ok: false, running: { holder: 'run-a', actor: moderator, since: t0, expiresAt: t0 + 60_000 } });
    expect(await theirs.reindexMarker.current(t0 + 1000)).toMatchObject({ actor: moderator, since: t0 });
    // Only its holder renews or releases it.
    expect(await theirs.reindexMarker.renew('run-b', 60_000, t0 + 1000)).toBe(false);
    await theirs.reindexMarker.release('run-b');
    expect(await mine.reindexMarker.renew('run-a', 60_000, t0 + 50_000)).toBe(true);
    expect(await theirs.reindexMarker.current(t0 + 100_000)).toMatchObject({ since: t0, expiresAt: t0 + 110_000 });
    // Done: released, and the next reindex may start.
    await mine.reindexMarker.release('run-a');
    expect(await theirs.reindexMarker.current(t0 + 100_000)).toBeUndefined();

    // A holder that stops renewing (its process was killed) blocks nobody past its ttl.
    expect((await mine.reindexMarker.claim({ holder: 'run-c', actor: moderator, ttlMs: 60_000, now: t0 + 200_000 })).ok).toBe(true);
    expect((await theirs.reindexMarker.claim({ holder: 'run-d', actor: { id: 'u2' }, ttlMs: 60_000, now: t0 + 259_999 })).ok).toBe(false);
    expect(await theirs.reindexMarker.current(t0 + 260_000)).toBeUndefined();
    expect(await theirs.reindexMarker.claim({ holder: 'run-d', actor: { id: 'u2' }, ttlMs: 60_000, now: t0 + 260_000 })).toMatchObject({ ok: true, marker: { holder: 'run-d', since: t0 + 260_000 } });
    // The lapsed holder finds out on its next heartbeat, and cannot release the new marker.
    expect(await mine.reindexMarker.renew('run-c', 60_000, t0 + 261_000)).toBe(false);
    await mine.reindexMarker.release('run-c');
    expect(await mine.reindexMarker.current(t0 + 261_000)).toMatchObject({ holder: 'run-d' });
    await mine.close();
    await theirs.close();
  });

  it('keeps one reindex marker per knowledge base, claimed by one of many at once', async () => {
    const store = backend.store();
    const [a, b] = [freshServer(), freshServer()];
    const ta = await store.open(a);
    const tb = await store.open(b);
    const now = Date.parse('2026-12-01T08:00:00Z');
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => ta.reindexMarker.claim({ holder: `run-${i}`, actor: { id: 'u1' }, ttlMs: 60_000, now })));
    expect(claims.filter((c) => c.ok)).toHaveLength(1);
    // Another server's knowledge base is not held up by it.
    expect((await tb.reindexMarker.claim({ holder: 'other', actor: { id: 'u1' }, ttlMs: 60_000, now })).ok).toBe(true);
    await ta.close();
    await tb.close();
  });

  it('finds the tenants with a feed due without opening them, and a purge takes a server’s feeds with it', async () => {
    const store = backend.store();
    const due = freshServer();
    const later = freshServer();
    const now = new Date('2026-12-01T08:00:00Z');
    for (const [id, next] of [[due, '2026-12-01T07:59:00Z'], [later, '2026-12-01T09:00:00Z']] as const) {
      const t = await store.open(id);
      await t.feeds.add({ url: 'https://news.example/feed.xml', now, nextPollAt: new Date(next) });
      await t.close();
    }
    const found = await store.tenantsWithFeedsDue(now);
    expect(found).toContain(due);
    expect(found).not.toContain(later);
    await store.purgeTenant(due);
    expect(await store.tenantsWithFeedsDue(now)).not.toContain(due);
    const reopened = await store.open(due);
    expect(await reopened.feeds.list()).toEqual([]);
    await reopened.close();
  });

  it.runIf(backend.multiProcess)('gives a feed to one of two processes polling it at once', async () => {
    const other = await backend.another();
    const id = freshServer();
    const mine = await backend.store().open(id);
    const theirs = await other.open(id);
    const now = new Date('2026-12-01T08:00:00Z');
    const feed = await mine.feeds.add({ url: 'https://news.example/feed.xml', now, nextPollAt: now });
    const until = new Date('2026-12-01T08:15:00Z');
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([mine.feeds.lease(feed.id, `a${round}`, now, until), theirs.feeds.lease(feed.id, `b${round}`, now, until)]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      await mine.feeds.release(feed.id, a ? `a${round}` : `b${round}`);
    }
    await mine.close();
    await theirs.close();
  });

  it.runIf(backend.multiProcess)('tells another process about a commit through its own connection (LISTEN/NOTIFY)', async () => {
    const other = await backend.another();
    const id = freshServer();
    const seen: StoreChange[] = [];
    other.subscribe((c) => seen.push(c));
    const t = await backend.store().open(id);
    await t.setModel(MODEL);
    const out = await add(t, VOLCANO);
    const deadline = Date.now() + 3000;
    while (!seen.some((c) => c.tenant === id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen.filter((c) => c.tenant === id)).toEqual([{ tenant: id, kind: 'commit', version: out.version, articles: ['volcanoes-of-iceland'], remote: true }]);
    // What it was told about is there for it to read.
    const mirror = await other.open(id);
    expect((await idsFound(mirror, 'Iceland magma')).has('volcanoes-of-iceland')).toBe(true);
    await mirror.close();
    await t.close();
  });

  it.runIf(backend.multiProcess)('leaves nothing half-visible, and no lock held, when a process is SIGKILLed in the middle of a commit', async () => {
    const id = freshServer();
    const url = backend.url();
    // node itself (not the tsx wrapper, whose child would outlive the kill) is the process killed.
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/store-commit-child.ts', url, id, '6000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const killed = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('committing') && !child.killed) setTimeout(() => child.kill('SIGKILL'), 400);
    });
    await killed;
    expect(out).toContain('committing');
    expect(out).not.toContain('committed'); // killed mid-commit, not after
    const t = await backend.store().open(id);
    expect(await t.state()).toMatchObject({ version: 0, articles: 0, passages: 0 });
    expect(await t.searchLexical('sediment borehole volcanic ash', 5)).toEqual([]);
    expect(await t.auditTrail()).toEqual([]);
    // The dead session's commit lock went with it: the next write goes straight through.
    const t0 = Date.now();
    await add(t, SOURDOUGH);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await t.state()).toMatchObject({ version: 1, articles: 1 });
    await t.close();
  });

  it.runIf(backend.multiProcess)('cancels a statement that runs past the statement time-out', async () => {
    const url = backend.url();
    const quick = await PostgresStore.connect({ url, listen: false, statementTimeoutMs: 200, efSearch: 77, iterativeScan: 'relaxed_order' });
    try {
      await expect(quick.pool.query('SELECT pg_sleep(2)')).rejects.toThrow(/statement timeout/);
      expect((await quick.pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      // The pgvector settings reach every connection too (pgvector 0.8: iterative index scans).
      const settings = await quick.pool.query("SELECT current_setting('hnsw.ef_search') AS ef, current_setting('hnsw.iterative_scan') AS scan");
      expect(settings.rows[0]).toEqual({ ef: '77', scan: 'relaxed_order' });
    } finally {
      await quick.close();
    }
  });

  it.runIf(backend.multiProcess)('lets one writer per tenant in at a time across processes, never blocking readers', async () => {
    const other = await backend.another();
    const id = freshServer();
    const mine = await backend.store().open(id);
    await mine.setModel(MODEL);
    await add(mine, SEED);
    const theirs = await other.open(id);
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = mine.exclusive(async () => {
      order.push('first in');
      await held;
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 100));
    const second = theirs.exclusive(async () => {
      order.push('second in');
    });
    await new Promise((r) => setTimeout(r, 300));
    // While a writer holds the tenant, the other process reads and searches at once.
    const t0 = Date.now();
    expect((await idsFound(theirs, QUESTION)).size).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(order).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);

    // Two processes ingesting the same article at once end with one consistent version of it.
    const a = await writeOf({ ...VOLCANO, body: `${VOLCANO.body}\n\nVersion A adds basalt columns.` });
    const b = await writeOf({ ...VOLCANO, body: `${VOLCANO.body}\n\nVersion B adds glacier floods.` });
    await Promise.all([mine.commit({ write: [a] }), theirs.commit({ write: [b] })]);
    const stored = await mine.getArticle('volcanoes-of-iceland');
    const passages = await mine.articlePassages('volcanoes-of-iceland');
    const winner = stored!.hash === a.article.hash ? a : b;
    expect([a.article.hash, b.article.hash]).toContain(stored!.hash);
    expect(passages.map((p) => p.text)).toEqual(winner.passages.map((p) => p.passage.text));
    expect((await mine.state()).passages).toBe(chunkArticle(SEED).passages.length + winner.passages.length);
    await mine.close();
    await theirs.close();
  });
});

describe('BM25 in Postgres ranks exactly as the local index', () => {
  let local: LocalStore;
  let remote: PostgresStore;
  let server: PgliteServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'store-bm25-'));
    local = new LocalStore({ dataDir: dir });
    server = await startPglite();
    remote = await PostgresStore.connect({ url: server.url });
  }, 120_000);
  afterAll(async () => {
    await local.close();
    await remote.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same passages the same scores for the same questions', async () => {
    const [l, r] = [await local.open(null), await remote.open(null)];
    for (const t of [l, r]) {
      await t.setModel(MODEL);
      await add(t, SEED, VOLCANO, SOURDOUGH);
    }
    const questions = [QUESTION, 'Who is Adam Boehler?', 'volcanic heat electricity Reykjavík', 'sourdough fermentation taste', 'hostages hostage Hamas Hamas', 'Trump tariffs Iranian diplomacy Netanyahu'];
    for (const q of questions) {
      const [a, b] = [await l.searchLexical(q, 10), await r.searchLexical(q, 10)];
      const ids = async (t: TenantStore, hits: { label: number; score: number }[]) => {
        const byLabel = await t.passagesByLabels(hits.map((h) => h.label));
        return hits.map((h) => [byLabel.get(h.label)!.id, Number(h.score.toFixed(6))]);
      };
      expect(await ids(r, b), q).toEqual(await ids(l, a));
    }
    await l.close();
    await r.close();
  });
});
