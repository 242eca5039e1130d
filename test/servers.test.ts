/**
 * Tenancy in the core: who may change which knowledge base (the pure policy), a server's layered
 * view over the base layer (shadowing, citations that name their layer), and the registry that
 * opens a server's own knowledge base on first use, closes it when idle, caps it, and purges it
 * after the bot left. Real SQLite and hnswlib files in a temporary folder, a real (hashing) embedder.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { KnowledgeBase, UserInputError } from '../src/core/knowledge-base.js';
import { RECENT_DAYS } from '../src/core/dates/time-query.js';
import { loadDirectory } from '../src/core/load/index.js';
import { refusalMessage, writeAccess, type TenancyPolicy } from '../src/core/servers/policy.js';
import { ServerRegistry, type ServerRegistryOptions } from '../src/core/servers/registry.js';
import type { RawArticle } from '../src/core/types.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const A = '111111111111111111';
const B = '222222222222222222';
const ADMIN = '333333333333333333';
const MOD = { id: 'mod', name: 'mod', via: 'test' };

const SEED_Q = 'Where did the talks between the U.S. and Hamas take place?';

const cupFinal = (body: string, origin = 'test'): RawArticle => ({
  title: 'Rovers win the cup final',
  body,
  origin,
});
const ROVERS = cupFinal(
  'Rovers won the cup final on Saturday after a late goal from their captain sealed a two-one victory at Wembley.\n\nThe manager praised the defence.',
);
const BAKERY: RawArticle = {
  title: 'Village bakery wins national award',
  body: 'The village bakery on Mill Lane won the national sourdough award, judged in Leeds by a panel of twelve bakers.\n\nIts owner started baking in a garage.',
  origin: 'test',
};

describe('writeAccess (who may change which knowledge base)', () => {
  const shared = (adminServerIds: string[] = []): TenancyPolicy => ({ scope: 'shared', baseLayer: true, adminServerIds });
  const perServer = (adminServerIds: string[] = [], baseLayer = true): TenancyPolicy => ({ scope: 'server', baseLayer, adminServerIds });

  it('shared scope: only the admin servers change it; a stranger in another server is refused', () => {
    expect(writeAccess(shared([ADMIN]), ADMIN, 5)).toEqual({ target: 'base' });
    const refused = writeAccess(shared([ADMIN]), A, 5);
    expect(refused).toMatchObject({ refused: 'not-admin-server' });
    if (!('refused' in refused)) throw new Error('expected a refusal');
    const text = refusalMessage(refused, (id) => (id === ADMIN ? 'Newsroom HQ' : undefined));
    expect(text).toContain('Newsroom HQ');
    expect(text).toContain(ADMIN);
    expect(text).toContain('Nothing was changed');
  });

  it('shared scope without an admin server: the only server is home; with two, nobody may change it', () => {
    expect(writeAccess(shared(), A, 1)).toEqual({ target: 'base' });
    const refused = writeAccess(shared(), A, 2);
    expect(refused).toMatchObject({ refused: 'no-home-server', servers: 2 });
    if (!('refused' in refused)) throw new Error('expected a refusal');
    expect(refusalMessage(refused)).toContain('KB_ADMIN_GUILD_IDS');
  });

  it('DMs never change anything', () => {
    expect(writeAccess(shared([ADMIN]), null, 1)).toMatchObject({ refused: 'direct-message' });
    expect(writeAccess(perServer([ADMIN]), null, 1)).toMatchObject({ refused: 'direct-message' });
  });

  it('server scope: every server changes its own; the admin servers change the base layer (their own when there is none)', () => {
    expect(writeAccess(perServer([ADMIN]), A, 3)).toEqual({ target: 'server' });
    expect(writeAccess(perServer([ADMIN]), ADMIN, 3)).toEqual({ target: 'base' });
    expect(writeAccess(perServer([ADMIN], false), ADMIN, 3)).toEqual({ target: 'server' });
    expect(writeAccess(perServer([]), A, 1)).toEqual({ target: 'server' });
  });
});

describe('ServerRegistry (KB_SCOPE=server)', () => {
  let dir: string;
  let embedder: HashEmbedder;
  let base: KnowledgeBase;
  let registry: ServerRegistry | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'servers-test-'));
    embedder = new HashEmbedder();
    base = await KnowledgeBase.open({ dataDir: join(dir, 'data'), embedder });
    await base.ingest((await loadDirectory('knowledge')).articles);
  });
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
    await base.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function open(options: Omit<Partial<ServerRegistryOptions>, 'policy'> & { policy?: Partial<TenancyPolicy> } = {}): ServerRegistry {
    const { policy, ...rest } = options;
    registry = new ServerRegistry({
      policy: { scope: 'server', baseLayer: true, adminServerIds: [ADMIN], ...policy },
      base,
      baseAdmin: new KnowledgeAdmin({ kb: base }),
      embedder,
      dataDir: join(dir, 'data'),
      ...rest,
    });
    return registry;
  }

  async function addTo(r: ServerRegistry, server: string, article: RawArticle, replace = false) {
    return r.use(server, async (scope) => {
      if (!scope.admin) throw new Error(`no write access from ${server}`);
      return scope.admin.add(article, MOD, { replace });
    });
  }

  it("one server's article is answered there and nowhere else; both still answer from the base layer, cited as such", async () => {
    const r = open();
    await addTo(r, A, ROVERS);

    const inA = await r.use(A, (s) => s.reader.ask('Who won the cup final at Wembley?'));
    expect(inA.answered).toBe(true);
    expect(inA.sources[0]).toMatchObject({ title: ROVERS.title, layer: 'server' });

    const inB = await r.use(B, (s) => s.reader.ask('Who won the cup final at Wembley?'));
    expect(inB.sources.some((x) => x.title === ROVERS.title)).toBe(false);
    expect(await r.use(B, async (s) => s.reader.suggest('rovers'))).toEqual([]);
    expect(await r.use(B, async (s) => (await s.reader.listArticles()).map((a) => a.title))).not.toContain(ROVERS.title);
    expect(await r.use(B, async (s) => await s.summaries.suggestArticles('rovers', 5))).toEqual([]);

    for (const server of [A, B]) {
      const seed = await r.use(server, (s) => s.reader.ask(SEED_Q));
      expect(seed.answered).toBe(true);
      expect(seed.answer).toContain('Qatar');
      expect(seed.sources[0].layer).toBe('base');
    }
    // A DM reads the base layer alone, without layer labels.
    const dm = await r.use(null, (s) => s.reader.ask(SEED_Q));
    expect(dm.sources[0].layer).toBeUndefined();
    expect((await r.use(null, (s) => s.reader.ask('Who won the cup final at Wembley?'))).sources.some((x) => x.title === ROVERS.title)).toBe(false);
  });

  it("a question about time is read against the newest article the server sees: its own or the base layer's", async () => {
    const r = open();
    await addTo(r, A, { ...ROVERS, date: '2025-06-01' });
    const day = 86_400_000;
    const inA = await r.use(A, (s) => s.reader.ask('What is the latest on the cup final?'));
    expect(inA.time?.from).toBe(new Date(Date.parse('2025-06-01') - RECENT_DAYS * day).toISOString());
    expect(inA.sources[0]).toMatchObject({ title: ROVERS.title, layer: 'server' });
    // B sees only the base layer's seed article (10 April 2025).
    const inB = await r.use(B, (s) => s.reader.ask('What is the latest on the talks?'));
    expect(inB.time?.from).toBe(new Date(Date.parse('2025-04-10') - RECENT_DAYS * day).toISOString());
    // Once B's own undated article shadows the seed article, B has no dated article to read time against.
    const seedTitle = (await base.listArticles())[0].title;
    await addTo(r, B, { title: seedTitle, body: 'Our newsletter says the talks were held in a village hall, over tea.', origin: 'discord:x' });
    expect((await r.use(B, (s) => s.reader.ask('What is the latest on the talks?'))).time).toBeUndefined();
  });

  it('a server article with the title of a base article shadows it there only', async () => {
    const r = open();
    const seedTitle = (await base.listArticles())[0].title;
    await addTo(r, A, { title: seedTitle, body: 'Our club newsletter says the talks were held in a village hall in Leeds, over tea.', origin: 'discord:x' });
    const inA = await r.use(A, (s) => s.reader.ask(SEED_Q));
    expect(inA.sources.every((x) => x.layer === 'server')).toBe(true);
    expect(await r.use(A, async (s) => (await s.reader.listArticles()).filter((a) => a.title === seedTitle))).toHaveLength(1);
    expect(await r.use(A, async (s) => await s.reader.layerOf((await base.listArticles())[0].id))).toBe('server');
    const inB = await r.use(B, (s) => s.reader.ask(SEED_Q));
    expect(inB.answer).toContain('Qatar');
    // The base layer itself is untouched.
    expect(await base.listArticles()).toHaveLength(1);
  });

  it('the admin server manages the base layer; every other server only its own', async () => {
    const r = open();
    const adminScope = await r.use(ADMIN, async (s) => s);
    expect(adminScope.access).toEqual({ target: 'base' });
    await addTo(r, ADMIN, BAKERY);
    expect(base.hasTitle(BAKERY.title)).toBe(true);
    const inB = await r.use(B, (s) => s.reader.ask('Which bakery won the national sourdough award?'));
    expect(inB.sources[0]).toMatchObject({ title: BAKERY.title, layer: 'base' });
    expect(existsSync(join(dir, 'data', 'servers', ADMIN))).toBe(false);
  });

  it('with KB_BASE=none a server answers from its own articles only, and DMs answer nothing', async () => {
    const r = open({ policy: { baseLayer: false } });
    const inA = await r.use(A, (s) => s.reader.ask(SEED_Q));
    expect(inA.answered).toBe(false);
    expect(inA.sources).toEqual([]);
    expect(await r.use(null, async (s) => s.unavailable)).toMatch(/servers only/);
  });

  it('caps a server: articles and passages past the limit are refused and change nothing', async () => {
    const r = open({ limits: { maxArticles: 1, maxPassages: 3 } });
    await addTo(r, A, ROVERS);
    await expect(addTo(r, A, BAKERY)).rejects.toThrow(/the most it may hold is 1/);
    // Replacing the one article is still fine; a longer one goes past the passage cap.
    const replaced = await addTo(r, A, cupFinal('Rovers lifted the cup after the final whistle at Wembley on a sunny Saturday afternoon.\n\nThe captain scored the winning goal late in the second half of the final.'), true);
    expect(replaced).toMatchObject({ status: 'replaced', passages: 2 });
    const long = cupFinal(Array.from({ length: 5 }, (_, i) => `Paragraph ${i} about the cup final and the captain's goal number ${i}.`).join('\n\n'));
    await expect(addTo(r, A, long, true)).rejects.toBeInstanceOf(UserInputError);
    expect(await r.use(A, async (s) => (await s.reader.listArticles()).filter((a) => a.title === ROVERS.title)[0].passages)).toBe(2);
  });

  it('opens a server on first use and closes it when idle; nothing is lost', async () => {
    const r = open({ idleCloseMs: 30 });
    await addTo(r, A, ROVERS);
    expect(r.openServers).toEqual([A]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(r.openServers).toEqual([]);
    const again = await r.use(A, (s) => s.reader.ask('Who won the cup final at Wembley?'));
    expect(again.sources[0].title).toBe(ROVERS.title);
  });

  it('keeps questions and feedback per server', async () => {
    const r = open();
    const id = await r.use(A, async (s) => s.store.recordQuestion({ via: 'slash', userId: 'u', guildId: A, question: 'q?', outcome: 'answered', answer: 'a [1]', sources: [] }));
    expect(await r.use(A, async (s) => (await s.store.getQuestion(id, A))?.question)).toBe('q?');
    expect(await r.use(B, async (s) => s.store.getQuestion(id, B))).toBeUndefined();
    expect(await r.use(B, async (s) => (await s.store.stats()).questions)).toBe(0);
  });

  it('purges a server the bot left after the retention period, with an audit line; a server that came back is kept', async () => {
    let now = new Date('2025-01-01T00:00:00Z');
    const r = open({ retentionDays: 30, now: () => now });
    await addTo(r, A, ROVERS);
    await addTo(r, B, BAKERY);
    await base.tenant.questions.recordQuestion({ via: 'slash', userId: 'u', guildId: A, question: 'old shared-store question', outcome: 'answered' });
    await r.reconcile([A, B]);
    await r.left(A);
    await r.left(B);
    now = new Date('2025-01-20T00:00:00Z');
    await r.joined(B); // re-invited before the period ended
    expect(await r.purgeExpired()).toEqual([]);
    now = new Date('2025-02-01T00:00:00Z');
    expect(await r.purgeExpired()).toEqual([A]);
    expect(existsSync(join(dir, 'data', 'servers', A))).toBe(false);
    expect(existsSync(join(dir, 'data', 'servers', B))).toBe(true);
    expect((await base.tenant.questions.stats(A)).questions).toBe(0);
    const [audit] = await base.auditTrail({ limit: 1 });
    expect(audit).toMatchObject({ action: 'purge', details: { server: A, articles: 1, questions: 1 } });
    // A purged server starts empty if the bot is invited again.
    const fresh = await r.use(A, (s) => s.reader.ask('Who won the cup final at Wembley?'));
    expect(fresh.sources.some((x) => x.title === ROVERS.title)).toBe(false);
  });

  it('reconcile: a server removed while the bot was offline starts its retention clock', async () => {
    const r = open();
    await addTo(r, A, ROVERS);
    await r.close();
    registry = undefined;
    const r2 = open();
    await r2.reconcile([B]);
    expect((await r2.serverStatus(A))?.leftAt).toBeTruthy();
    expect((await r2.serverStatus(B))?.leftAt).toBeNull();
  });
});

describe('ServerRegistry (KB_SCOPE=shared)', () => {
  it('every server reads the one knowledge base; only the admin server gets a moderation service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'servers-shared-'));
    const embedder = new HashEmbedder();
    const base = await KnowledgeBase.open({ dataDir: join(dir, 'data'), embedder });
    try {
      await base.ingest((await loadDirectory('knowledge')).articles);
      const baseAdmin = new KnowledgeAdmin({ kb: base });
      const r = new ServerRegistry({
        policy: { scope: 'shared', baseLayer: true, adminServerIds: [ADMIN] },
        base,
        baseAdmin,
        embedder,
        dataDir: join(dir, 'data'),
      });
      const stranger = await r.use(A, async (s) => s);
      expect(stranger.admin).toBeUndefined();
      expect(stranger.access).toMatchObject({ refused: 'not-admin-server' });
      expect(stranger.managed).toBe(baseAdmin); // list/show/stats stay readable
      expect((await r.use(ADMIN, async (s) => s)).admin).toBe(baseAdmin);
      expect((await r.use(A, (s) => s.reader.ask(SEED_Q))).answer).toContain('Qatar');
      expect(existsSync(join(dir, 'data', 'servers'))).toBe(false);
      await r.close();
    } finally {
      await base.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
