/**
 * The moderation core (KnowledgeAdmin over KnowledgeBase), directly: add / replace / remove round
 * trips with the knowledge folder kept in step, incremental re-embedding (counted), the audit
 * trail, bad uploads and URLs leaving the knowledge base unchanged, Markdown round trips.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ingestDirectory } from '../src/app.js';
import { articleToMarkdown, KnowledgeAdmin, ReindexRunningError, type AddResult } from '../src/core/admin/index.js';
import { chunkArticle } from '../src/core/chunk.js';
import { KnowledgeBase, UserInputError } from '../src/core/knowledge-base.js';
import { loadBuffer } from '../src/core/load/index.js';
import type { RawArticle } from '../src/core/types.js';
import { buildPdf } from './fixtures/pdf.js';
import { cupFinalArticle } from './helpers/articles.js';
import { HashEmbedder } from './helpers/hash-embedder.js';
import { openSeedKnowledgeCopy } from './helpers/seed-knowledge.js';

const MOD = { id: '111111111111111111', name: 'mod', via: 'discord' };

const football = cupFinalArticle('typed');

let dir: string;
let knowledge: string;
let embedder: HashEmbedder;
let kb: KnowledgeBase;
let admin: KnowledgeAdmin;

beforeEach(async () => {
  embedder = new HashEmbedder();
  // The knowledge folder starts with the seed article, as in the repository.
  ({ dir, knowledge, kb } = await openSeedKnowledgeCopy('admin-test-', embedder));
  admin = new KnowledgeAdmin({ kb, knowledgeDir: knowledge });
});
afterEach(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

const added = (outcome: Awaited<ReturnType<KnowledgeAdmin['add']>>): AddResult => {
  if (outcome.status === 'needs-confirmation') throw new Error('unexpected confirmation');
  return outcome;
};

describe('add / replace / remove round trips', () => {
  it('adds a typed article, writes it to knowledge/ as Markdown, and npm run ingest then finds it unchanged', async () => {
    const result = added(await admin.add(admin.fromText(football.title, football.body), MOD));
    expect(result).toMatchObject({ status: 'added', id: 'rovers-win-the-cup-final', title: football.title, paragraphs: 3, passages: 3, duplicatesDropped: 0, file: 'rovers-win-the-cup-final.md' });
    expect(result.seconds).toBeGreaterThanOrEqual(0);
    const text = readFileSync(join(knowledge, 'rovers-win-the-cup-final.md'), 'utf8');
    expect(text).toMatch(/^---\ntitle: "Rovers win the cup final"\n/);
    expect(text).toContain('added_by: "mod"');
    expect(await kb.getArticle('rovers-win-the-cup-final')).toMatchObject({ origin: 'rovers-win-the-cup-final.md', addedBy: 'mod' });
    expect((await kb.ask('When will the team parade the trophy?')).answer).toContain('Monday');

    const before = { version: (await kb.stats()).version, texts: embedder.textsEmbedded };
    const report = await ingestDirectory(kb, knowledge);
    expect(report).toMatchObject({ articles: 2, added: 0, updated: 0, unchanged: 2, embedded: 0 });
    expect(await kb.stats()).toMatchObject({ articles: 2, version: before.version });
    expect(embedder.textsEmbedded).toBe(before.texts);
  });

  it('asks before replacing an article with the same title; replacing re-embeds only the changed paragraph', async () => {
    added(await admin.add(admin.fromText(football.title, football.body), MOD));
    const version = (await kb.stats()).version;
    const edited = admin.fromText(football.title, football.body.replace('on Monday', 'on Tuesday'));

    const ask = await admin.add(edited, MOD);
    expect(ask.status).toBe('needs-confirmation');
    if (ask.status !== 'needs-confirmation') return;
    expect(ask.preview.replaces.map((a) => a.id)).toEqual(['rovers-win-the-cup-final']);
    expect((await kb.stats()).version).toBe(version); // nothing changed yet

    const calls = embedder.textsEmbedded;
    const result = added(await admin.add(edited, MOD, { replace: true }));
    expect(result).toMatchObject({ status: 'replaced', embedded: 1, paragraphs: 3 });
    expect(embedder.textsEmbedded).toBe(calls + 1);
    const answer = await kb.ask('When will the team parade the trophy?');
    expect(answer.answer).toContain('Tuesday');
    expect(answer.answer).not.toContain('Monday');
    expect(readFileSync(join(knowledge, 'rovers-win-the-cup-final.md'), 'utf8')).toContain('on Tuesday');
    // Re-adding the same text is a no-op.
    expect(added(await admin.add(edited, MOD))).toMatchObject({ status: 'unchanged', embedded: 0 });
  });

  it('an article with the URL of a stored one replaces it (new title) in one commit, and its file goes to .trash', async () => {
    const url = 'https://example.com/cup-final';
    added(await admin.add({ ...football, url }, MOD));
    const renamed = { ...football, title: 'Rovers lift the cup', url };
    const ask = await admin.add(renamed, MOD);
    expect(ask.status).toBe('needs-confirmation');
    const version = (await kb.stats()).version;
    const result = added(await admin.add(renamed, MOD, { replace: true }));
    expect(result).toMatchObject({ status: 'replaced', id: 'rovers-lift-the-cup', replaced: [{ id: 'rovers-win-the-cup-final' }] });
    expect((await kb.stats()).version).toBe(version + 1); // remove + add: one transaction
    expect(await kb.getArticle('rovers-win-the-cup-final')).toBeUndefined();
    expect(existsSync(join(knowledge, 'rovers-win-the-cup-final.md'))).toBe(false);
    expect(existsSync(join(knowledge, 'rovers-lift-the-cup.md'))).toBe(true);
    expect(readdirSync(join(knowledge, '.trash')).some((f) => f.endsWith('rovers-win-the-cup-final.md'))).toBe(true);
    const report = await ingestDirectory(kb, knowledge);
    expect(report).toMatchObject({ added: 0, updated: 0 });
    expect((await kb.listArticles()).map((a) => a.id).sort()).toEqual(['hamas-and-u-s-efforts-toward-hostage-negotiations-a-closer-look', 'rovers-lift-the-cup']);
  });

  it('replacing an article that came from a knowledge/ file moves that file out, so ingest does not bring it back', async () => {
    const seed = (await kb.listArticles())[0];
    expect(seed.origin).toBe('hamas-us-hostage-negotiations.md');
    const replacement = admin.fromText(seed.title, 'The talks took place in Doha, Qatar, according to a corrected report published later that month by the agency.');
    added(await admin.add(replacement, MOD, { replace: true }));
    expect(existsSync(join(knowledge, 'hamas-us-hostage-negotiations.md'))).toBe(false);
    const report = await ingestDirectory(kb, knowledge);
    expect(report).toMatchObject({ articles: 1, unchanged: 1, added: 0, updated: 0 });
    expect(await kb.listArticles()).toHaveLength(1);
  });

  it('removes an article: never cited again, its file moved to .trash, and ingest does not re-add it', async () => {
    const seed = (await kb.listArticles())[0];
    const q = 'Where did the talks between the U.S. and Hamas take place?';
    expect((await kb.ask(q)).answer).toContain('Qatar');
    const cited = (await kb.ask(q)).sources[0];
    const { removed, files } = await admin.remove(seed.id, MOD);
    expect(removed.id).toBe(seed.id);
    expect(files).toEqual(['hamas-us-hostage-negotiations.md']);
    const after = await kb.ask(q);
    expect(after.sources.every((s) => s.articleId !== seed.id)).toBe(true);
    expect(after.answer).not.toContain('Qatar');
    expect(await kb.isPassageCurrent(cited.passageId, cited.text)).toBe(false); // "Show passages" on an old answer refuses it
    expect(kb.suggest('hamas')).toEqual([]);
    const report = await ingestDirectory(kb, knowledge);
    expect(report.articles).toBe(0);
    expect((await kb.stats()).articles).toBe(0);
    await expect(admin.remove(seed.id, MOD)).rejects.toThrow(UserInputError);
  });

  it('writes every change to the audit table: who, what, when, article id, content hash', async () => {
    added(await admin.add(admin.fromText(football.title, football.body), MOD));
    added(await admin.add(admin.fromText(football.title, `${football.body}\n\nA fourth paragraph about the open-top bus parade route.`), MOD, { replace: true }));
    await admin.remove('rovers-win-the-cup-final', MOD);
    await admin.reindex(MOD);
    const trail = (await kb.auditTrail()).reverse();
    const mine = trail.filter((e) => e.actor.id === MOD.id);
    expect(mine.map((e) => e.action)).toEqual(['add', 'replace', 'remove', 'reindex']);
    for (const e of mine.slice(0, 3)) {
      expect(e).toMatchObject({ articleId: 'rovers-win-the-cup-final', actor: { id: MOD.id, name: 'mod', via: 'discord' } });
      expect(e.contentHash).toMatch(/^[0-9a-f]{16}$/);
      expect(Date.parse(e.at)).not.toBeNaN();
    }
    expect(mine[0].contentHash).not.toBe(mine[1].contentHash);
    expect(mine[2].contentHash).toBe(mine[1].contentHash); // removal records the hash of what was removed
    // The seed ingest is audited too (actor "local").
    expect(trail[0]).toMatchObject({ action: 'add', actor: { id: 'local' } });
  });

  it('audit listeners hear every change (for the log channel)', async () => {
    const heard: string[] = [];
    admin.onAudit((entries) => heard.push(...entries.map((e) => `${e.action}:${e.articleId ?? '*'}`)));
    added(await admin.add(admin.fromText(football.title, football.body), MOD));
    await admin.remove('rovers-win-the-cup-final', MOD);
    expect(heard).toEqual(['add:rovers-win-the-cup-final', 'remove:rovers-win-the-cup-final']);
  });

  it('without a knowledge folder nothing is written to disk', async () => {
    const plain = new KnowledgeAdmin({ kb });
    const result = added(await plain.add(admin.fromText(football.title, football.body), MOD));
    expect(result.file).toBeUndefined();
    expect((await kb.getArticle(result.id))?.origin).toBe('typed');
    expect(readdirSync(knowledge)).toEqual(['hamas-us-hostage-negotiations.md']);
  });

  it('kb:export writes the articles that have no file, and ingest finds them unchanged', async () => {
    const plain = new KnowledgeAdmin({ kb });
    added(await plain.add(admin.fromText(football.title, football.body), MOD));
    const out = await admin.exportArticles(knowledge);
    expect(out).toEqual({ written: ['rovers-win-the-cup-final.md'], skipped: 1 });
    expect((await admin.exportArticles(knowledge)).written).toEqual([]);
    const report = await ingestDirectory(kb, knowledge);
    expect(report).toMatchObject({ unchanged: 2, added: 0, updated: 0 });
  });
});

describe('list, show, autocomplete', () => {
  it('pages the articles, shows the first paragraphs, and suggests at most 25 titles from memory', async () => {
    for (let i = 0; i < 30; i++) {
      await kb.ingest([{ title: `Match report ${String(i).padStart(2, '0')}`, body: `Report ${i}: the match ended with a draw after a long and even contest on a wet pitch.`, origin: 't' }]);
    }
    const page = await admin.list(2, 10);
    expect(page).toMatchObject({ page: 2, pages: 4, total: 31 });
    expect(page.items).toHaveLength(10);
    expect((await admin.list(99)).page).toBe(4);
    const details = (await admin.show((await kb.listArticles()).find((a) => a.title.startsWith('Hamas'))!.id))!;
    expect(details.paragraphs.map((p) => p.n)).toEqual([1, 2, 3]);
    expect(details.file).toBe('hamas-us-hostage-negotiations.md');
    expect(admin.suggest('match')).toHaveLength(25);
    expect(admin.suggest('report 07')).toEqual([{ id: 'match-report-07', title: 'Match report 07' }]);
    expect(admin.suggest('')).toHaveLength(25);
    // From memory: the store is not consulted.
    const tenant = kb.tenant as unknown as Record<string, unknown>;
    const reads = ['titles', 'listArticles', 'getArticle', 'search', 'searchLexical', 'state'];
    const saved = reads.map((name) => tenant[name]);
    let queries = 0;
    for (const name of reads) {
      tenant[name] = (...args: unknown[]) => {
        queries++;
        return (saved[reads.indexOf(name)] as (...a: unknown[]) => unknown).apply(kb.tenant, args);
      };
    }
    expect(admin.suggest('hamas')).not.toEqual([]);
    reads.forEach((name, i) => (tenant[name] = saved[i]));
    expect(queries).toBe(0);
  });
});

describe('bad input leaves the knowledge base unchanged', () => {
  let server: http.Server;
  let base: string;
  const files = new Map<string, Buffer>();
  const hits: string[] = [];

  beforeEach(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      const body = files.get(req.url ?? '');
      if (!body) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('content-type', req.url?.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/octet-stream');
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    hits.length = 0;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function refusal(name: string, data: Buffer, declared = data.length): Promise<string> {
    files.set(`/${name}`, data);
    const version = (await kb.stats()).version;
    const error = await admin.loadUpload({ name, size: declared, url: `${base}/${name}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserInputError);
    expect((await kb.stats()).version).toBe(version);
    return (error as Error).message;
  }

  it('refuses an oversized upload from its declared size, before downloading anything', async () => {
    const small = new KnowledgeAdmin({ kb, maxUploadBytes: 1024 });
    expect(() => small.checkUpload({ name: 'big.md', size: 2048 })).toThrow(/2 KB, larger than the limit of 1 KB/);
    await expect(small.loadUpload({ name: 'big.md', size: 2048, url: `${base}/big.md` })).rejects.toThrow(/larger than the limit/);
    expect(hits).toEqual([]);
    // A lying declared size is caught while downloading.
    files.set('/liar.md', Buffer.alloc(4096, 'a'));
    await expect(small.loadUpload({ name: 'liar.md', size: 10, url: `${base}/liar.md` })).rejects.toThrow(/larger than the limit of 1 KB/);
    expect(new KnowledgeAdmin({ kb }).maxUploadBytes).toBe(5 * 1024 * 1024);
  });

  it('refuses unsupported, binary, empty, undecodable and text-less PDF uploads with a clear message', async () => {
    expect(await refusal('letter.docx', Buffer.from('PK\x03\x04'))).toMatch(/\.docx files are not supported \(use \.md, \.txt, \.html or \.pdf\)/);
    expect(await refusal('photo.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]))).toMatch(/binary content/);
    expect(await refusal('empty.md', Buffer.alloc(0))).toMatch(/empty/);
    expect(await refusal('blank.txt', Buffer.from('   \n\n  '))).toMatch(/empty/);
    expect(await refusal('utf16.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? 1 : 0)))]))).toMatch(/binary content|could not/);
    expect(await refusal('scan.pdf', buildPdf(null))).toMatch(/no text layer/);
    expect(await refusal('junk.pdf', Buffer.from('not a pdf at all'))).toMatch(/Could not add "junk.pdf"/);
    expect((await kb.stats()).articles).toBe(1);
  });

  it('loads a good upload (PDF with text)', async () => {
    files.set('/doc.pdf', buildPdf(['The harbour reopened on Friday after the storm damage was repaired by crews.'], 'Harbour reopens'));
    const raw = await admin.loadUpload({ name: 'doc.pdf', size: files.get('/doc.pdf')!.length, url: `${base}/doc.pdf` });
    expect(raw.title).toBe('Harbour reopens');
    expect(added(await admin.add(raw, MOD))).toMatchObject({ status: 'added', title: 'Harbour reopens', paragraphs: 1 });
  });

  it('refuses URLs on loopback and private addresses (SSRF), and non-http schemes', async () => {
    files.set('/page.html', Buffer.from('<html><title>Secret</title><body><p>internal</p></body></html>'));
    for (const url of [`${base}/page.html`, 'http://localhost/', 'http://[::1]/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd']) {
      const error = await admin.loadUrl(url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, url).toBeInstanceOf(UserInputError);
      expect((error as Error).message).toMatch(/Could not add|Nothing was changed/);
    }
    expect(hits).toEqual([]); // the loopback server was never contacted
    expect((await kb.stats()).articles).toBe(1);
  });

  it('adds a web page from its URL: the main text (Readability), title and URL from the page', async () => {
    files.set(
      '/story.html',
      Buffer.from(
        '<html><head><title>Harbour reopens | Gazette</title></head><body><nav>Home · Sport · Weather</nav><article><h1>Harbour reopens</h1><p>The harbour reopened on Friday after crews repaired the storm damage to the outer breakwater over two weeks.</p><p>Fishing boats were the first to leave, followed by the ferry to the islands later that afternoon.</p></article><footer>© Gazette</footer></body></html>',
      ),
    );
    // Tests only: let the fetcher reach the local server (production refuses loopback, see below).
    const local = new KnowledgeAdmin({ kb, knowledgeDir: knowledge, fetch: { allowPrivateAddresses: true, allowedPorts: [Number(new URL(base).port)] } });
    const raw = await local.loadUrl(`${base}/story.html`);
    expect(raw.body).toContain('reopened on Friday');
    expect(raw.body).not.toContain('Weather');
    const result = added(await local.add(raw, MOD));
    expect(result).toMatchObject({ status: 'added', paragraphs: 2, url: `${base}/story.html` });
    // Same URL again with another title: a replacement, asked first.
    const again = await local.add({ ...raw, title: 'Harbour open again' }, MOD);
    expect(again.status).toBe('needs-confirmation');
  });

  it('refuses an empty modal', () => {
    expect(() => admin.fromText('', 'text')).toThrow(/title/);
    expect(() => admin.fromText('Title', ' \n ')).toThrow(/empty/);
  });
});

describe('Markdown written to knowledge/ reads back to the same article', () => {
  const cases: RawArticle[] = [
    football,
    {
      title: 'C# & *stars* <b>tags</b> [links](x) #',
      url: 'https://example.com/a?b=c&d=e',
      date: '2024-03-05',
      body: [
        '# Not a heading, 1. not a list, * not a bullet and _not emphasis_ but **all literal** text.',
        '1. Starts like a numbered list item but it is plain text in the article body here.',
        '- Starts like a bullet; > and | pipes | and `code` and ~~strike~~ and <!-- not a comment --> stay.',
        '> A quote-looking line with &amp; an entity, &lt;b&gt; escaped markup and a back\\slash \\* too.',
        '---',
        '| a | b |',
        'A [link](https://example.com) and ![image](x.png) and <https://auto.link> and a@b.co <span>html</span>.',
        'Ünïcödé — “quotes” … and a tab\tinside and emoji 🎉 in a reasonably long paragraph of text.',
      ].join('\n\n'),
      origin: 'x',
    },
  ];
  for (const raw of cases) {
    it(`round-trips "${raw.title}"`, async () => {
      const md = articleToMarkdown(raw);
      const back = await loadBuffer('file.md', Buffer.from(md), { origin: 'file.md' });
      const a = chunkArticle(raw);
      const b = chunkArticle(back);
      expect(b.id).toBe(a.id);
      expect(b.title).toBe(a.title);
      expect(b.passages.map((p) => p.text)).toEqual(a.passages.map((p) => p.text));
      expect(b.hash).toBe(a.hash);
    });
  }
});

describe('one reindex at a time, across processes', () => {
  /** Holds embedding from `hold()` until `letGo()` (a reindex that takes a while), or fails it. */
  class GatedEmbedder extends HashEmbedder {
    private gate: Promise<void> = Promise.resolve();
    private openGate = () => {};
    failWith: Error | undefined;
    hold(): void {
      this.gate = new Promise((r) => (this.openGate = r));
    }
    letGo(): void {
      this.openGate();
    }
    override async embed(texts: string[]): Promise<Float32Array[]> {
      await this.gate;
      if (this.failWith) throw this.failWith;
      return super.embed(texts);
    }
  }

  it('shows the running reindex to another admin of the knowledge base, refuses a second one, keeps the marker alive past its ttl while it runs, and clears it when done', async () => {
    const gated = new GatedEmbedder();
    const shared = await KnowledgeBase.open({ dataDir: join(dir, 'gated'), embedder: gated });
    await shared.ingest([football]);
    // Another process's admin would be another KnowledgeAdmin over the same tenant.
    const mine = new KnowledgeAdmin({ kb: shared, reindexMarker: { ttlMs: 150, renewEveryMs: 30 } });
    const theirs = new KnowledgeAdmin({ kb: shared });
    gated.hold();
    const running = mine.reindex(MOD);
    await new Promise((r) => setTimeout(r, 400)); // well past the ttl: only the heartbeat keeps it
    expect(await theirs.reindexing()).toMatchObject({ actor: MOD });
    const second = await theirs.reindex({ id: '222222222222222222', name: 'other', via: 'discord' }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(ReindexRunningError);
    expect((second as ReindexRunningError).running.actor).toEqual(MOD);
    gated.letGo();
    expect((await running).articles).toBe(1);
    expect(await theirs.reindexing()).toBeUndefined();
    await shared.close();
  });

  it("npm run ingest's reindex after a model change holds the same marker: refused while another process reindexes, and refusing a /kb reindex while it runs", async () => {
    const data = join(dir, 'model-change');
    const before = await KnowledgeBase.open({ dataDir: data, embedder: new HashEmbedder(64, 'test/old-model') });
    await ingestDirectory(before, knowledge);
    await before.close();
    const gated = new GatedEmbedder(64, 'test/new-model');
    const changed = await KnowledgeBase.open({ dataDir: data, embedder: gated, onModelMismatch: 'stale' });
    expect(changed.needsReindex).toBe(true);

    // Another process's /kb reindex holds the marker.
    const since = Date.now() - 5_000;
    expect((await changed.tenant.reindexMarker.claim({ holder: 'bot-process', actor: MOD, ttlMs: 60_000, now: since })).ok).toBe(true);
    const refused = await ingestDirectory(changed, knowledge).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ReindexRunningError);
    expect((refused as Error).message).toBe(`A reindex is already running (started by mod at ${new Date(since).toISOString()}). Nothing was changed.`);
    expect(gated.textsEmbedded).toBe(0);
    expect(changed.needsReindex).toBe(true);
    expect((await changed.auditTrail({ limit: 1 }))[0].action).not.toBe('reindex');
    await changed.tenant.reindexMarker.release('bot-process');

    gated.hold();
    const ingesting = ingestDirectory(changed, knowledge);
    const moderator = new KnowledgeAdmin({ kb: changed });
    await vi.waitFor(async () => expect(await moderator.reindexing()).toMatchObject({ actor: { name: 'npm run ingest' } }));
    const second = await moderator.reindex(MOD).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(ReindexRunningError);
    expect((second as ReindexRunningError).running.actor).toMatchObject({ id: 'cli', name: 'npm run ingest' });
    gated.letGo();
    expect((await ingesting).reindexed).toMatchObject({ fromModel: 'test/old-model', model: 'test/new-model' });
    expect(changed.needsReindex).toBe(false);
    expect(await moderator.reindexing()).toBeUndefined();
    await changed.close();
  });

  it('clears the marker when the reindex fails, so the next one may start', async () => {
    const gated = new GatedEmbedder();
    const shared = await KnowledgeBase.open({ dataDir: join(dir, 'failing'), embedder: gated });
    await shared.ingest([football]);
    const mine = new KnowledgeAdmin({ kb: shared });
    gated.failWith = new Error('the embedding worker died');
    await expect(mine.reindex(MOD)).rejects.toThrow(/worker died/);
    expect(await mine.reindexing()).toBeUndefined();
    gated.failWith = undefined;
    expect((await mine.reindex(MOD)).articles).toBe(1);
    await shared.close();
  });
});
