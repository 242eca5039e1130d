/**
 * `npm run kb:migrate`: a local data folder (the operator's knowledge base and a server's) copied
 * into PostgreSQL (PGlite over the wire) and back into an empty folder, without re-embedding:
 * every article, passage text and vector bit, audit row, question, vote, sentence-cache entry and
 * server row survives, both searches answer the same, and a copy answers without embedding the
 * sentences its first answers read.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkArticle } from '../src/core/chunk.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { markdownToArticle } from '../src/core/load/markdown.js';
import { LocalStore } from '../src/core/store/local/index.js';
import type { KnowledgeStore, TenantKey, TenantStore } from '../src/core/store/port.js';
import { PostgresStore } from '../src/core/store/postgres/index.js';
import type { RawArticle } from '../src/core/types.js';
import { HashEmbedder } from './helpers/hash-embedder.js';
import { startPglite, type PgliteServer } from './helpers/pglite-server.js';

const run = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const embedder = new HashEmbedder(64);
const MODEL = { model: embedder.info.model, dimension: 64, normalized: true };
const SERVER = '333333333333333333';
/** What each knowledge base is asked; answering reads (and caches) the sentences of the passages found. */
const QUESTIONS: Record<string, string> = { base: 'Where did the talks between the U.S. and Hamas take place?', [SERVER]: 'Who baked the rye loaf that won the national bread award?' };
const SEED = markdownToArticle(readFileSync(new URL('../knowledge/hamas-us-hostage-negotiations.md', import.meta.url), 'utf8'), 'knowledge/seed.md');
const BAKERY: RawArticle = {
  title: 'Village bakery wins national award',
  origin: 'discord:42',
  url: 'https://example.org/bakery',
  body: 'The village bakery on Mill Street won the national bread award for its rye loaf.\n\nThe baker, Ana Ruiz, credits a forty-year-old starter that her grandmother brought from Galicia, fed every morning before dawn with flour from the mill next door.',
};

async function fill(t: TenantStore, raw: RawArticle, guildId: string | null) {
  await t.setModel(MODEL);
  const article = chunkArticle(raw);
  const vectors = await embedder.embed(article.passages.map((p) => p.text));
  await t.commit({
    write: [{ article, body: raw.body, addedBy: 'mod', passages: article.passages.map((passage, i) => ({ passage, vector: vectors[i] })) }],
    audit: { actor: { id: 'mod', name: 'Moderator', via: 'discord' } },
  });
  const q = await t.questions.recordQuestion({ via: 'slash', userId: 'u', guildId, question: `about ${raw.title}?`, outcome: 'answered', answer: 'yes [1]', sources: [] });
  await t.questions.recordFeedback({ questionId: q, userId: 'v', guildId, vote: 'up' });
  // A followed feed the poller has read: its number, validators, schedule and entries must survive the move.
  const removed = await t.feeds.add({ url: 'https://news.example/old.xml', addedBy: 'mod', now: new Date('2026-01-01T09:00:00Z'), nextPollAt: new Date('2026-01-01T09:30:00Z') });
  await t.feeds.remove(removed.id);
  const feed = await t.feeds.add({ url: 'https://news.example/feed.xml', announceChannelId: '555', addedBy: 'mod', now: new Date('2026-01-01T10:00:00Z'), nextPollAt: new Date('2026-01-01T10:30:00Z') });
  await t.feeds.recordPoll(feed.id, { at: '2026-01-01T10:30:00.000Z', result: 'ok', message: '1 entry, 1 new', nextPollAt: '2026-01-01T11:00:00.000Z', failures: 0, kind: 'feed', title: 'Example news', etag: '"v1"', lastModified: 'Thu, 01 Jan 2026 10:00:00 GMT', newArticles: 1 });
  await t.feeds.saveEntry({ feedId: feed.id, key: 'urn:news:1', link: 'https://news.example/1', articleId: article.id, itemHash: 'i1', contentHash: article.hash, etag: '"p1"', published: '2026-01-01T08:00:00.000Z', author: 'Ann Reporter' }, new Date('2026-01-01T10:30:00Z'));
}

async function all<T>(pages: AsyncIterable<T[]>, show: (item: T) => string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of pages) out.push(...page.map(show));
  return out;
}

/**
 * Asks `tenant`'s question on `store` with a fresh embedder; returns how many texts it embedded
 * (1: the question alone, every sentence read from the sentence cache).
 */
async function textsEmbeddedAnswering(store: KnowledgeStore, tenant: TenantKey): Promise<number> {
  const counting = new HashEmbedder(64);
  const kb = await KnowledgeBase.open({ store, tenant, embedder: counting });
  try {
    const result = await kb.ask(QUESTIONS[tenant ?? 'base']);
    expect(result.sources.length).toBeGreaterThan(0);
    return counting.textsEmbedded;
  } finally {
    await kb.close();
  }
}

/** Everything kb:migrate promises to carry, in a comparable form. */
async function snapshot(store: KnowledgeStore, tenant: TenantKey) {
  const t = await store.open(tenant);
  try {
    const articles = [];
    for await (const d of t.dumpArticles()) {
      articles.push({
        record: d.record,
        body: d.body,
        passages: d.passages.map(({ label: _label, vector, ...p }) => ({ ...p, vector: Array.from(vector) })),
      });
    }
    const search = (await t.search({ text: 'bread award rye', vector: embedder.vector('bread award rye'), k: 5 }))
      .map((c) => [c.passage.id, c.dense.toFixed(5), c.lexical.toFixed(5)])
      .sort();
    return {
      model: (await t.state()).model,
      articles,
      audit: await t.auditTrail({ limit: 100 }),
      questions: await t.questions.listQuestions(),
      feedback: await t.questions.listFeedback(),
      feeds: await Promise.all((await t.feeds.list()).map(async (f) => ({ ...f, entries: await t.feeds.entries(f.id) }))),
      sentenceVectors: await all(t.sentences.dumpVectors(3), ({ model, key, vector }) => `${model} ${key} ${Array.from(vector).join(',')}`),
      sentenceEntities: await all(t.sentences.dumpEntities(3), ({ key, entities }) => `${key} ${entities}`),
      search,
    };
  } finally {
    await t.close();
  }
}

describe('npm run kb:migrate', () => {
  let dir: string;
  let server: PgliteServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kb-migrate-'));
    const local = new LocalStore({ dataDir: join(dir, 'data') });
    const base = await local.open(null);
    await fill(base, SEED, null);
    await base.close();
    const own = await local.open(SERVER);
    await fill(own, BAKERY, SERVER);
    await own.close();
    await local.servers.joined(SERVER, new Date('2026-01-02T00:00:00Z'));
    await local.servers.left('444444444444444444', new Date('2026-02-03T00:00:00Z'));
    // The bot's first answers embed the sentences they read and keep them (with their entities) in the sentence cache.
    for (const tenant of [null, SERVER]) {
      expect(await textsEmbeddedAnswering(local, tenant)).toBeGreaterThan(1);
      expect(await textsEmbeddedAnswering(local, tenant)).toBe(1);
    }
    await local.close();
    server = await startPglite();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (dataDir: string) => ({ ...process.env, DATA_DIR: dataDir, KNOWLEDGE_DIR: join(dir, 'knowledge'), LOG_FORMAT: 'json' as const });

  it('copies a data folder into Postgres and back without re-embedding or losing anything', async () => {
    const there = await run(tsx, ['scripts/kb-migrate.ts', '--to', server.url], { env: env(join(dir, 'data')) });
    expect(there.stdout).toMatch(/base: 1 articles, \d+ passages, 1 audit rows, 1 questions, 1 votes, 1 feeds, [1-9]\d* sentence vectors, [1-9]\d* sentence entities/);
    expect(there.stdout).toMatch(new RegExp(`${SERVER}: 1 articles, 2 passages, 1 audit rows, 1 questions, 1 votes, 1 feeds`));
    expect(there.stdout).toMatch(/Copied 2 knowledge bases .* and 2 server rows/);

    const back = await run(tsx, ['scripts/kb-migrate.ts', '--to', 'local', '--from', server.url], { env: env(join(dir, 'back')) });
    expect(back.stdout).toMatch(/Copied 2 knowledge bases/);

    const original = new LocalStore({ dataDir: join(dir, 'data') });
    const remote = await PostgresStore.connect({ url: server.url, listen: false });
    const returned = new LocalStore({ dataDir: join(dir, 'back') });
    try {
      for (const tenant of [null, SERVER]) {
        const [a, b, c] = [await snapshot(original, tenant), await snapshot(remote, tenant), await snapshot(returned, tenant)];
        expect(a.articles.length).toBe(1);
        expect(a.feeds).toEqual([expect.objectContaining({ id: 2, etag: '"v1"', articles: 1, entries: [expect.objectContaining({ key: 'urn:news:1', author: 'Ann Reporter' })] })]);
        expect(a.sentenceVectors.length).toBeGreaterThan(1);
        expect(a.sentenceEntities.length).toBeGreaterThan(1);
        expect(b).toEqual(a);
        expect(c).toEqual(a);
        // Either copy answers its first question embedding nothing but the question.
        expect(await textsEmbeddedAnswering(remote, tenant)).toBe(1);
        expect(await textsEmbeddedAnswering(returned, tenant)).toBe(1);
      }
      expect(await returned.servers.list()).toEqual(await original.servers.list());
      expect(await remote.servers.get('444444444444444444')).toMatchObject({ leftAt: '2026-02-03T00:00:00.000Z' });
      // Feed numbers are never reused, on the copy too.
      const copied = await remote.open(null);
      const next = await copied.feeds.add({ url: 'https://news.example/more.xml', now: new Date(), nextPollAt: new Date() });
      await copied.close();
      expect(next.id).toBe(3);
    } finally {
      await original.close();
      await remote.close();
      await returned.close();
    }

    // A second copy into the same database is refused rather than merged.
    await expect(run(tsx, ['scripts/kb-migrate.ts', '--to', server.url], { env: env(join(dir, 'data')) })).rejects.toMatchObject({
      stderr: expect.stringMatching(/already holds data/),
    });
    await expect(run(tsx, ['scripts/kb-migrate.ts', '--to', 'local', '--from', server.url], { env: env(join(dir, 'back')) })).rejects.toMatchObject({
      stderr: expect.stringMatching(/is not empty/),
    });
  });
});
