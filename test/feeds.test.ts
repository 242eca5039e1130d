/**
 * Feeds into a knowledge base, through the real fetcher, extraction, chunking, embedding and
 * catalog, against a publisher on 127.0.0.1 (FeedServer). The fetcher's address check is relaxed
 * only by the test-only `allowPrivateAddresses` fetch option. What is asserted is what a moderator
 * or a reader would notice: articles answerable, requests made (304s), passages embedded (counted
 * by the HashEmbedder), the feed's status line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { FeedPoller, listFeeds, pollFeed, removeFeed, type Announcement, type FeedSettings, type FeedTenants } from '../src/core/feeds/index.js';
import { KnowledgeBase, UserInputError } from '../src/core/knowledge-base.js';
import { BotMetrics } from '../src/ops/metrics.js';
import { articlePage, FeedServer, LIGHTHOUSE, ORCHARD, rss, type RssItem } from './helpers/feed-server.js';
import { HashEmbedder } from './helpers/hash-embedder.js';

const MOD = { id: '111111111111111111', name: 'mod', via: 'discord' };
/** The test-only fetch relaxations: the feed server's loopback address and its random port. */
let LOCAL: FeedSettings;

const BRIDGE = [
  'Engineers closed the Tollgate suspension bridge after a routine inspection found corroded cables on the east tower.',
  'The county council expects repairs to take eleven weeks and has arranged a free shuttle bus for pedestrians.',
];

let dir: string;
let server: FeedServer;
let embedder: HashEmbedder;
let kb: KnowledgeBase;
let admin: KnowledgeAdmin;
let poller: FeedPoller;
let announced: Announcement[];

function tenantsOf(a: KnowledgeAdmin): FeedTenants {
  return {
    due: async (now) => ((await a.kb.tenant.feeds.due(now)).length > 0 ? [null] : []),
    use: (_tenant, work) => work(a),
  };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'feeds-test-'));
  server = await FeedServer.start();
  LOCAL = { fetch: server.fetchOptions };
  embedder = new HashEmbedder();
  kb = await KnowledgeBase.open({ dataDir: join(dir, 'data'), embedder });
  admin = new KnowledgeAdmin({ kb });
  announced = [];
  poller = new FeedPoller({ tenants: tenantsOf(admin), settings: LOCAL, announce: async (a) => void announced.push(a) });
});
afterEach(async () => {
  await poller.stop();
  await kb.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function serveArticle(path: string, title: string, paragraphs: string[], extra: { published?: string; canonical?: string } = {}) {
  server.set(path, { contentType: 'text/html; charset=utf-8', body: articlePage({ title, paragraphs, ...extra }) });
}

function rssItems(): RssItem[] {
  return [
    { title: 'Gull Point lighthouse shines again', link: server.url('/news/lighthouse'), guid: 'urn:news:1', pubDate: 'Fri, 27 Nov 2026 09:00:00 GMT', author: 'Ann Reporter' },
    { title: 'Millbrook orchard reaches 500 trees', link: server.url('/news/orchard'), guid: 'urn:news:2', pubDate: 'Sat, 28 Nov 2026 10:30:00 GMT', author: 'Bob Writer' },
  ];
}

function serveRss(items = rssItems()) {
  server.set('/feed.xml', { contentType: 'application/rss+xml', body: rss('Daily Example', items) });
}

describe('RSS: new, unchanged, changed', () => {
  beforeEach(() => {
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', LIGHTHOUSE, { canonical: 'https://daily.example/news/lighthouse', published: '2026-11-27T09:00:00Z' });
    serveArticle('/news/orchard', 'Millbrook orchard reaches 500 trees', ORCHARD);
    serveRss();
  });

  it('indexes new entries from their pages, with date, author and canonical link, and makes them answerable', async () => {
    const report = await poller.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    expect(report.result).toBe('ok');
    expect(report.added.map((a) => a.title).sort()).toEqual(['Gull Point lighthouse shines again', 'Millbrook orchard reaches 500 trees']);
    expect(report.feed).toMatchObject({ kind: 'feed', title: 'Daily Example', lastResult: 'ok', articles: 2, failures: 0 });
    expect(report.feed.lastMessage).toBe('2 entries, 2 new, 0 updated, 0 unchanged');

    const lighthouse = (await kb.listArticles()).find((a) => a.title === 'Gull Point lighthouse shines again')!;
    // A canonical link on another host than the page is not trusted as the citation link (issue 12).
    expect(lighthouse.url).toBe(server.url('/news/lighthouse'));
    expect(lighthouse.date).toBe('2026-11-27T09:00:00.000Z');
    expect(lighthouse.author).toBe('Ann Reporter');
    expect(lighthouse.origin).toBe(`feed:${server.url('/feed.xml')}`);
    // The page's navigation and footer are not in the article: only the main text.
    expect(await kb.articleBody(lighthouse.id)).not.toMatch(/Home|Daily Example/);
    const entries = await kb.tenant.feeds.entries(report.feed.id);
    expect(entries.find((e) => e.key === 'urn:news:2')).toMatchObject({ author: 'Bob Writer', published: '2026-11-28T10:30:00.000Z', link: server.url('/news/orchard') });

    const answer = await kb.ask('How far away can the Gull Point lighthouse beam be seen?');
    expect(answer.answered).toBe(true);
    expect(answer.sources[0].title).toBe('Gull Point lighthouse shines again');
    expect(answer.answer).toMatch(/twelve nautical miles/);
  });

  it('an unchanged feed costs one 304 and embeds nothing', async () => {
    const first = await poller.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    const calls = embedder.calls;
    const from = server.hits.length;
    const report = await pollFeed(admin, first.feed.id, LOCAL);
    expect(report.result).toBe('unchanged');
    expect(report.feed.lastMessage).toMatch(/304/);
    expect(server.hits.slice(from)).toEqual([{ path: '/feed.xml', status: 304, ifNoneMatch: expect.any(String), ifModifiedSince: expect.any(String) }]);
    expect(embedder.calls).toBe(calls);
    expect((await kb.stats()).articles).toBe(2);
  });

  it('a changed entry re-embeds only its changed paragraph; unchanged entries are not fetched again', async () => {
    const first = await poller.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    const texts = embedder.textsEmbedded;
    const edited = [...LIGHTHOUSE];
    edited[2] = 'The beam can now be seen from the ferry to Ardmore, fifteen nautical miles away across the bay.';
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', edited, { canonical: 'https://daily.example/news/lighthouse', published: '2026-11-27T09:00:00Z' });
    const items = rssItems();
    items[0].pubDate = 'Fri, 27 Nov 2026 15:00:00 GMT';
    serveRss(items);

    const from = server.hits.length;
    const report = await pollFeed(admin, first.feed.id, LOCAL);
    expect(report).toMatchObject({ result: 'ok', updated: 1, unchanged: 1, embedded: 1 });
    expect(report.added).toEqual([]);
    expect(embedder.textsEmbedded - texts).toBe(1);
    // The lighthouse page was asked for conditionally, the orchard page not at all.
    expect(server.hitsOf('/news/lighthouse', from)).toEqual([expect.objectContaining({ status: 200, ifNoneMatch: expect.any(String) })]);
    expect(server.hitsOf('/news/orchard', from)).toEqual([]);
    const answer = await kb.ask('How far away can the Gull Point lighthouse beam be seen?');
    expect(answer.answer).toMatch(/fifteen nautical miles/);
    expect((await kb.stats()).articles).toBe(2);
  });

  it('/metrics counts every poll by result and the articles feeds added and updated', async () => {
    const metrics = new BotMetrics({ defaultMetrics: false });
    let embedded = 0;
    const metered = new FeedPoller({
      tenants: tenantsOf(admin),
      settings: LOCAL,
      onPoll: (report) => {
        embedded += report.embedded;
        metrics.observeFeedPoll(report);
      },
    });
    const value = async (name: string, label: string) => {
      const line = (await metrics.text()).split('\n').find((l) => l.startsWith(`${name}{${label}}`));
      return line ? Number(line.split(' ').pop()) : undefined;
    };
    expect(await value('kbbot_feed_polls_total', 'result="error"')).toBe(0);

    await metered.add(null, admin, { url: server.url('/feed.xml') }, MOD); // ok: two new articles
    await metered.refresh(null, admin); // unchanged: one 304
    const edited = [...LIGHTHOUSE];
    edited[2] = 'The beam can now be seen from the ferry to Ardmore, fifteen nautical miles away across the bay.';
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', edited);
    const items = rssItems();
    items[0].pubDate = 'Fri, 27 Nov 2026 15:00:00 GMT';
    serveRss(items);
    await metered.refresh(null, admin); // ok: one article updated, one paragraph embedded
    server.set('/feed.xml', { contentType: 'application/rss+xml', body: '<rss version="2.0"><channel><title>Broken' });
    await metered.refresh(null, admin); // error

    expect(await value('kbbot_feed_polls_total', 'result="ok"')).toBe(2);
    expect(await value('kbbot_feed_polls_total', 'result="unchanged"')).toBe(1);
    expect(await value('kbbot_feed_polls_total', 'result="error"')).toBe(1);
    expect(await value('kbbot_feed_articles_total', 'change="added"')).toBe(2);
    expect(await value('kbbot_feed_articles_total', 'change="updated"')).toBe(1);
    expect(embedded).toBeGreaterThan(0);
    expect((await metrics.text()).split('\n')).toContain(`kbbot_feed_passages_embedded_total ${embedded}`);
  });

  it('an entry changed in the feed but not on its page costs a 304 for the page and embeds nothing', async () => {
    const first = await poller.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    const items = rssItems();
    items[1].description = 'Now with a summary';
    serveRss(items);
    const calls = embedder.calls;
    const from = server.hits.length;
    const report = await pollFeed(admin, first.feed.id, LOCAL);
    expect(report).toMatchObject({ result: 'ok', updated: 0, unchanged: 2, embedded: 0 });
    expect(server.hitsOf('/news/orchard', from).map((h) => h.status)).toEqual([304]);
    expect(embedder.calls).toBe(calls);
  });

  it('caps new articles per poll, newest first, and takes the rest next time', async () => {
    const settings = { ...LOCAL, maxNewPerPoll: 1 };
    const capped = new FeedPoller({ tenants: tenantsOf(admin), settings });
    const report = await capped.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    expect(report.added.map((a) => a.title)).toEqual(['Millbrook orchard reaches 500 trees']);
    expect(report.feed.lastMessage).toMatch(/1 left for the next poll \(at most 1 new per poll\)/);
    // The feed did not change, but the entry left over is taken: a poll that left work asks
    // unconditionally next time, so it gets the feed rather than a 304.
    const from = server.hits.length;
    const second = await pollFeed(admin, report.feed.id, settings);
    expect(server.hitsOf('/feed.xml', from).map((h) => h.status)).toEqual([200]);
    expect(second.added.map((a) => a.title)).toEqual(['Gull Point lighthouse shines again']);
    expect((await kb.stats()).articles).toBe(2);
  });

  it('falls back to the feed’s own text when the page cannot be fetched', async () => {
    const items = rssItems();
    items.push({ title: 'Tollgate bridge closed for repairs', link: server.url('/news/gone'), guid: 'urn:news:3', pubDate: 'Sun, 29 Nov 2026 07:00:00 GMT', description: `<p>${BRIDGE[0]}</p><p>${BRIDGE[1]}</p>` });
    serveRss(items);
    const report = await poller.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    expect(report.added).toHaveLength(3);
    const bridge = (await kb.listArticles()).find((a) => a.title === 'Tollgate bridge closed for repairs')!;
    expect(bridge).toMatchObject({ url: server.url('/news/gone'), date: '2026-11-29T07:00:00.000Z' });
    expect(await kb.articleBody(bridge.id)).toContain('eleven weeks');
    const answer = await kb.ask('Why was the Tollgate bridge closed?');
    expect(answer.answer).toMatch(/corroded cables/);
  });
});

describe('Atom, JSON Feed and sitemaps', () => {
  it('reads an Atom feed (entry ids, authors, published dates)', async () => {
    serveArticle('/a/orchard', 'Orchard', ORCHARD);
    server.set('/atom', {
      contentType: 'application/atom+xml',
      body: `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Village news</title><id>urn:village</id><updated>2026-11-29T00:00:00Z</updated>
<entry><title>Orchard reaches 500 trees</title><id>tag:village,2026:orchard</id><link rel="alternate" href="/a/orchard"/><published>2026-11-28T10:00:00Z</published><updated>2026-11-28T12:00:00Z</updated><author><name>Cara Atom</name></author></entry>
</feed>`,
    });
    const report = await poller.add(null, admin, { url: server.url('/atom') }, MOD);
    expect(report.added).toEqual([expect.objectContaining({ title: 'Orchard reaches 500 trees', author: 'Cara Atom', date: '2026-11-28T10:00:00.000Z', url: server.url('/a/orchard') })]);
    expect(report.feed.title).toBe('Village news');
    expect((await kb.ask('What apple variety did the Millbrook orchard plant?')).answer).toMatch(/Pitmaston/);
  });

  it('reads a JSON Feed, using content_html when an item has no page', async () => {
    server.set('/feed.json', {
      contentType: 'application/feed+json',
      body: JSON.stringify({
        version: 'https://jsonfeed.org/version/1.1',
        title: 'Bridge watch',
        items: [{ id: 'b1', title: 'Tollgate bridge closed', content_html: BRIDGE.map((p) => `<p>${p}</p>`).join(''), date_published: '2026-11-29T07:00:00Z', authors: [{ name: 'Dee Json' }] }],
      }),
    });
    const report = await poller.add(null, admin, { url: server.url('/feed.json') }, MOD);
    expect(report.added).toEqual([expect.objectContaining({ title: 'Tollgate bridge closed', author: 'Dee Json', date: '2026-11-29T07:00:00.000Z' })]);
    expect((await kb.ask('Why was the Tollgate bridge closed?')).answer).toMatch(/corroded cables/);
  });

  it('follows a sitemap index by <lastmod>: unchanged child sitemaps are not read again', async () => {
    serveArticle('/p/lighthouse', 'Gull Point lighthouse shines again', LIGHTHOUSE);
    serveArticle('/p/bridge', 'Tollgate bridge closed for repairs', BRIDGE);
    server.set('/sitemap-news.xml', {
      contentType: 'application/xml',
      body: `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${server.url('/p/lighthouse')}</loc><lastmod>2026-11-27</lastmod></url><url><loc>${server.url('/p/bridge')}</loc><lastmod>2026-11-29</lastmod></url></urlset>`,
    });
    const index = (lastmod: string) =>
      `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${server.url('/sitemap-news.xml')}</loc><lastmod>${lastmod}</lastmod></sitemap></sitemapindex>`;
    server.set('/sitemap.xml', { contentType: 'application/xml', body: index('2026-11-29T08:00:00Z'), noValidators: true });

    const report = await poller.add(null, admin, { url: server.url('/sitemap.xml') }, MOD);
    expect(report.feed.kind).toBe('sitemap');
    expect(report.added.map((a) => a.title).sort()).toEqual(['Gull Point lighthouse shines again', 'Tollgate bridge closed for repairs']);
    expect(report.feed.lastMessage).toBe('2 pages, 2 new, 0 updated, 0 unchanged');

    // The index has no validators, so it is downloaded again; its child's <lastmod> did not move.
    const from = server.hits.length;
    const again = await pollFeed(admin, report.feed.id, LOCAL);
    expect(again.result).toBe('ok');
    expect(server.hits.slice(from).map((h) => h.path)).toEqual(['/sitemap.xml']);
  });
});

describe('problems', () => {
  it('a malformed feed gets a clear status, backs off, and loses nothing', async () => {
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', LIGHTHOUSE);
    serveArticle('/news/orchard', 'Millbrook orchard reaches 500 trees', ORCHARD);
    serveRss();
    const t0 = new Date('2026-12-01T08:00:00Z');
    const settings: FeedSettings = { ...LOCAL, now: () => t0, random: () => 0.5 };
    const clocked = new FeedPoller({ tenants: tenantsOf(admin), settings });
    const first = await clocked.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    expect(first.feed.nextPollAt).toBe('2026-12-01T08:30:00.000Z');

    server.set('/feed.xml', { contentType: 'application/rss+xml', body: '<rss version="2.0"><channel><title>Daily Example</title><item><title>Broken' });
    const broken = await pollFeed(admin, first.feed.id, settings);
    expect(broken.result).toBe('error');
    expect(broken.feed.lastMessage).toMatch(/^the feed is malformed .*check that the URL is the feed's own address, and the articles already indexed are kept$/);
    expect(broken.feed.failures).toBe(1);
    expect(broken.feed.nextPollAt).toBe('2026-12-01T09:00:00.000Z'); // backed off: twice the interval
    const again = await pollFeed(admin, first.feed.id, settings);
    expect(again.feed.failures).toBe(2);
    expect(again.feed.nextPollAt).toBe('2026-12-01T10:00:00.000Z');
    expect((await kb.stats()).articles).toBe(2);
    expect((await kb.ask('How far away can the Gull Point lighthouse beam be seen?')).answered).toBe(true);

    serveRss();
    const healed = await pollFeed(admin, first.feed.id, settings);
    expect(healed.feed).toMatchObject({ lastResult: 'unchanged', failures: 0, nextPollAt: '2026-12-01T08:30:00.000Z' });
  });

  it('refuses to follow a web page or a missing feed, and changes nothing', async () => {
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', LIGHTHOUSE);
    await expect(poller.add(null, admin, { url: server.url('/news/lighthouse') }, MOD)).rejects.toThrow(/this is a web page, not a feed .*Nothing was changed\./);
    await expect(poller.add(null, admin, { url: server.url('/nowhere.xml') }, MOD)).rejects.toThrow(/404.*Nothing was changed\./);
    await expect(poller.add(null, admin, { url: 'ftp://example.com/feed' }, MOD)).rejects.toBeInstanceOf(UserInputError);
    expect(await listFeeds(admin)).toEqual([]);
    expect((await kb.stats()).articles).toBe(0);
  });

  it('without the test-only fetch option, a feed on a private address is refused', async () => {
    serveRss();
    const strict = new FeedPoller({ tenants: tenantsOf(admin) });
    await expect(strict.add(null, admin, { url: server.url('/feed.xml') }, MOD)).rejects.toThrow(/refused: 127\.0\.0\.1 is a loopback address/);
    expect(server.hits).toEqual([]);
  });

  it('a full knowledge base takes what fits and leaves the rest for when there is room', async () => {
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', LIGHTHOUSE);
    serveArticle('/news/orchard', 'Millbrook orchard reaches 500 trees', ORCHARD);
    serveRss();
    const small = new KnowledgeAdmin({ kb, limits: { maxArticles: 1 } });
    const report = await poller.add(null, small, { url: server.url('/feed.xml') }, MOD);
    expect(report.added.map((a) => a.title)).toEqual(['Millbrook orchard reaches 500 trees']);
    expect(report.feed.lastMessage).toMatch(/1 left for the next poll\. This server's knowledge base already holds 1 articles, the most it may hold is 1/);
    const roomier = new KnowledgeAdmin({ kb, limits: { maxArticles: 5 } });
    const next = await pollFeed(roomier, report.feed.id, LOCAL);
    expect(next.added.map((a) => a.title)).toEqual(['Gull Point lighthouse shines again']);
  });

  it('only one poller polls a feed at a time (a lease with expiry)', async () => {
    serveRss([]);
    const report = await poller.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    const store = kb.tenant.feeds;
    const now = new Date();
    expect(await store.lease(report.feed.id, 'other-process', now, new Date(now.getTime() + 60_000))).toBe(true);
    const from = server.hits.length;
    const busy = await pollFeed(admin, report.feed.id, LOCAL);
    expect(busy.result).toBe('busy');
    expect(server.hits.length).toBe(from);
    // An expired lease (its process died) is taken over.
    const later = { ...LOCAL, now: () => new Date(now.getTime() + 120_000) };
    expect((await pollFeed(admin, report.feed.id, later)).result).toBe('unchanged');
  });
});

describe('the poller', () => {
  it('polls due feeds on its own and announces new articles', async () => {
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', LIGHTHOUSE);
    serveRss([rssItems()[0]]);
    const first = await poller.add(null, admin, { url: server.url('/feed.xml'), announceChannelId: '555555555555555555' }, MOD);
    expect(announced).toEqual([expect.objectContaining({ channelId: '555555555555555555', articles: [expect.objectContaining({ title: 'Gull Point lighthouse shines again' })] })]);
    announced.length = 0;

    serveArticle('/news/orchard', 'Millbrook orchard reaches 500 trees', ORCHARD);
    serveRss();
    await poller.tick();
    expect(announced).toEqual([]); // not due yet
    await kb.tenant.feeds.dueNow(first.feed.id, new Date());
    await poller.tick();
    expect(announced.map((a) => a.articles.map((x) => x.title))).toEqual([['Millbrook orchard reaches 500 trees']]);
    expect((await kb.stats()).articles).toBe(2);
  });

  it('removing a feed keeps its articles', async () => {
    serveArticle('/news/lighthouse', 'Gull Point lighthouse shines again', LIGHTHOUSE);
    serveRss([rssItems()[0]]);
    await poller.add(null, admin, { url: server.url('/feed.xml') }, MOD);
    expect((await removeFeed(admin, '1')).url).toBe(server.url('/feed.xml'));
    expect(await listFeeds(admin)).toEqual([]);
    expect((await kb.stats()).articles).toBe(1);
  });
});
