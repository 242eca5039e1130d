/**
 * `/kb feed` end to end: the real discord.js Client (startBot) against the fake Discord, a real
 * knowledge base (HashEmbedder) and a publisher on 127.0.0.1 (FeedServer). The poller's fetcher
 * is allowed onto 127.0.0.1 only through the test-only `feeds.fetch` start option. Asserted is what
 * Discord would see (replies, announce lines) and what members are then told (/ask).
 */
import { describe, expect, it } from 'vitest';
import type { RunningBot } from '../src/bot/client.js';
import type { KnowledgeBase } from '../src/core/knowledge-base.js';
import { bootBot, HOME_GUILD as HOME, homeAndOtherServers, MEMBER_PERMS, MOD_PERMS, OTHER_GUILD as OTHER } from './helpers/boot-bot.js';
import { cleanUpAfterEach } from './helpers/clean-up-after-each.js';
import { articlePage, FeedServer, LIGHTHOUSE, ORCHARD, rss, type RssItem } from './helpers/feed-server.js';
import { FakeDiscord, type RecordedRequest, type SentInteraction } from './helpers/fake-discord.js';
import type { HashEmbedder } from './helpers/hash-embedder.js';

interface Booted {
  fake: FakeDiscord;
  kb: KnowledgeBase;
  bot: RunningBot;
  server: FeedServer;
  embedder: HashEmbedder;
  dir: string;
}

const cleanUpAfterTest = cleanUpAfterEach();

async function boot(env: Record<string, string>, guilds: string[] = []): Promise<Booted> {
  const server = await FeedServer.start();
  cleanUpAfterTest(() => server.close());
  const { fake, kb, bot, embedder, dir, stop } = await bootBot({
    tempPrefix: 'bot-feeds-',
    knowledge: 'seed folder copy',
    discord: homeAndOtherServers(guilds),
    env,
    start: { feeds: { fetch: server.fetchOptions, tickMs: 100 } },
  });
  cleanUpAfterTest(stop);
  return { fake, kb, bot, server, embedder, dir };
}

function publish(server: FeedServer, items: ('lighthouse' | 'orchard')[]) {
  server.set('/news/lighthouse', { contentType: 'text/html', body: articlePage({ title: 'Gull Point lighthouse shines again', paragraphs: LIGHTHOUSE, published: '2026-11-27T09:00:00Z' }) });
  server.set('/news/orchard', { contentType: 'text/html', body: articlePage({ title: 'Millbrook orchard reaches 500 trees', paragraphs: ORCHARD }) });
  const all: Record<string, RssItem> = {
    lighthouse: { title: 'Gull Point lighthouse shines again', link: server.url('/news/lighthouse'), guid: 'n1', pubDate: 'Fri, 27 Nov 2026 09:00:00 GMT' },
    orchard: { title: 'Millbrook orchard reaches 500 trees @everyone', link: server.url('/news/orchard'), guid: 'n2', pubDate: 'Sat, 28 Nov 2026 10:30:00 GMT' },
  };
  server.set('/feed.xml', { contentType: 'application/rss+xml', body: rss('Daily Example', items.map((i) => all[i])) });
}

function feedCommand(fake: FakeDiscord, name: string, options: { type: number; name: string; value?: string }[] = [], as: { guildId?: string; memberPermissions?: bigint } = {}) {
  return fake.sendSlashCommand({ name: 'kb', options: [{ type: 2, name: 'feed', options: [{ type: 1, name, options }] }], memberPermissions: MOD_PERMS, ...as });
}

/** The reply's text: the immediate callback, or the deferred reply's edit. */
async function replyText(sent: SentInteraction): Promise<string> {
  const callback = await sent.waitForCallback();
  if (callback.body.type === 4) return JSON.stringify(callback.body.data);
  return JSON.stringify((await sent.waitForEditOriginal(10_000)).body);
}

async function ask(fake: FakeDiscord, guildId: string, question: string): Promise<string> {
  const sent = await fake.sendSlashCommand({ name: 'ask', options: [{ type: 3, name: 'question', value: question }], guildId });
  await sent.waitForCallback();
  return JSON.stringify((await sent.waitForEditOriginal()).body);
}

const announcements = (fake: FakeDiscord, channelId: string) => fake.channelMessages(channelId).filter((m) => m.content.includes('📰'));

describe('/kb feed (one knowledge base)', () => {
  it('a moderator follows a feed: articles are indexed, announced once without pings, listed, refreshed (304), counted in /metrics and unfollowed', async () => {
    const { fake, kb, server, embedder, bot } = await boot({ GUILD_ID: HOME, HEALTH_PORT: '0' });
    publish(server, ['lighthouse', 'orchard']);
    const news = await fake.createTextChannel({ name: 'news' });

    const add = await feedCommand(fake, 'add', [
      { type: 3, name: 'url', value: server.url('/feed.xml') },
      { type: 7, name: 'channel', value: news.id },
    ]);
    const added = await replyText(add);
    expect(added).toMatch(/Following feed 1: Daily Example/);
    expect(added).toMatch(/2 entries, 2 new, 0 updated, 0 unchanged/);
    expect((await kb.listArticles()).map((a) => a.title)).toEqual(expect.arrayContaining(['Gull Point lighthouse shines again', 'Millbrook orchard reaches 500 trees @everyone']));

    // One line per new article in the chosen channel, mentions neutralised.
    const posted = await waitFor(() => announcements(fake, news.id), (m) => m.length > 0);
    expect(posted).toHaveLength(1);
    const lines = posted[0].content.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.includes('Gull Point'))).toMatch(/^📰 .*Gull Point lighthouse shines again.* · 27 Nov 2026 · </);
    const sentMessage = fake.requests.find((r: RecordedRequest) => r.method === 'POST' && r.path === `/channels/${news.id}/messages`)!;
    expect(sentMessage.body.allowed_mentions).toEqual({ parse: [] });

    expect(await ask(fake, HOME, 'How far away can the Gull Point lighthouse beam be seen?')).toMatch(/twelve nautical miles/);

    const list = await replyText(await feedCommand(fake, 'list'));
    expect(list).toMatch(/Feeds \(1\)/);
    expect(list).toMatch(/2 articles · next poll <t:\d+:R>/);
    expect(list).toMatch(new RegExp(`new articles → <#${news.id}>`));

    const calls = embedder.calls;
    const refreshed = await replyText(await feedCommand(fake, 'refresh'));
    expect(refreshed).toMatch(/not modified since the last poll \(304\)/);
    expect(embedder.calls).toBe(calls);
    expect(announcements(fake, news.id)).toHaveLength(1);
    const metrics = await (await fetch(`${bot.health!.url}/metrics`)).text();
    expect(metrics).toMatch(/^kbbot_feed_polls_total\{result="ok"\} 1$/m);
    expect(metrics).toMatch(/^kbbot_feed_polls_total\{result="unchanged"\} 1$/m);
    expect(metrics).toMatch(/^kbbot_feed_articles_total\{change="added"\} 2$/m);

    const removed = await replyText(await feedCommand(fake, 'remove', [{ type: 3, name: 'feed', value: '1' }]));
    expect(removed).toMatch(/Stopped following: Daily Example/);
    expect(removed).toMatch(/Its 2 articles stay/);
    expect(await replyText(await feedCommand(fake, 'list'))).toMatch(/No feeds yet/);
    expect((await kb.stats()).articles).toBe(3);
  });

  it('members without Manage Server are refused and nothing is fetched; a page that is not a feed is refused with the reason', async () => {
    const { fake, kb, server } = await boot({ GUILD_ID: HOME });
    publish(server, ['lighthouse']);
    const refused = await replyText(await feedCommand(fake, 'add', [{ type: 3, name: 'url', value: server.url('/feed.xml') }], { memberPermissions: MEMBER_PERMS }));
    expect(refused).toMatch(/Only moderators can manage the knowledge base/);
    expect(server.hits).toEqual([]);
    expect(await replyText(await feedCommand(fake, 'list', [], { memberPermissions: MEMBER_PERMS }))).toMatch(/Only moderators/);

    const notFeed = await replyText(await feedCommand(fake, 'add', [{ type: 3, name: 'url', value: server.url('/news/lighthouse') }]));
    expect(notFeed).toMatch(/Could not follow .*this is a web page, not a feed.*Nothing was changed/);
    expect((await kb.stats()).articles).toBe(1);
    expect(await replyText(await feedCommand(fake, 'list'))).toMatch(/No feeds yet/);
  });
});

describe("/summary latest over what a feed brought", () => {
  it("summarises the newest week's articles, newest first, cited with their dates; since/until pick another period", async () => {
    const { fake, server } = await boot({ GUILD_ID: HOME });
    publish(server, ['lighthouse', 'orchard']);
    expect(await replyText(await feedCommand(fake, 'add', [{ type: 3, name: 'url', value: server.url('/feed.xml') }]))).toMatch(/2 new/);

    const latest = await fake.sendSlashCommand({ name: 'summary', options: [{ type: 1, name: 'latest', options: [] }], guildId: HOME });
    await latest.waitForCallback();
    const embed = (await latest.waitForEditOriginal()).body.embeds[0];
    expect(embed.title).toBe("What's new 22 Nov 2026 – 28 Nov 2026");
    expect(embed.fields.map((f: { value: string }) => f.value)).toEqual([
      expect.stringMatching(/^\[Millbrook orchard reaches 500 trees @.everyone · 28 Nov 2026 · ¶ 1\]/),
      expect.stringMatching(/^\[Gull Point lighthouse shines again · 27 Nov 2026 · ¶ 1\]/),
    ]);

    // The seed article (10 Apr 2025) is the only one of 2025.
    const older = await fake.sendSlashCommand({ name: 'summary', options: [{ type: 1, name: 'latest', options: [{ type: 3, name: 'since', value: '2025' }, { type: 3, name: 'until', value: '2025' }] }], guildId: HOME });
    await older.waitForCallback();
    const olderEmbed = (await older.waitForEditOriginal()).body.embeds[0];
    expect(olderEmbed.title).toBe("What's new 1 Jan 2025 – 31 Dec 2025");
    expect(olderEmbed.fields).toHaveLength(1);
    expect(olderEmbed.fields[0].value).toMatch(/Hamas and U\.S\. Efforts/);
  });
});

describe('/kb feed with KB_SCOPE=server', () => {
  it("a server's feed fills that server's knowledge base only, and its poller announces there on schedule", async () => {
    const { fake, server } = await boot({ KB_SCOPE: 'server', KB_ADMIN_GUILD_IDS: HOME, FEED_POLL_MINUTES: '0.01' }, [OTHER]);
    publish(server, ['lighthouse']);
    const otherNews = await fake.createTextChannel({ name: 'news', guildId: OTHER });
    const homeNews = await fake.createTextChannel({ name: 'news', guildId: HOME });

    expect(await replyText(await feedCommand(fake, 'add', [{ type: 3, name: 'url', value: server.url('/feed.xml') }, { type: 7, name: 'channel', value: otherNews.id }], { guildId: OTHER }))).toMatch(
      /1 new/,
    );
    expect(await ask(fake, OTHER, 'How far away can the Gull Point lighthouse beam be seen?')).toMatch(/twelve nautical miles/);
    expect(await ask(fake, HOME, 'How far away can the Gull Point lighthouse beam be seen?')).not.toMatch(/twelve nautical miles/);
    expect(await replyText(await feedCommand(fake, 'list', [], { guildId: HOME }))).toMatch(/No feeds yet/);
    expect(await replyText(await feedCommand(fake, 'list', [], { guildId: OTHER }))).toMatch(/Feeds \(1\)/);
    // The feed option autocompletes on this server's feeds only.
    const complete = async (guildId: string) =>
      (
        await (
          await fake.sendAutocomplete({ name: 'kb', options: [{ type: 2, name: 'feed', options: [{ type: 1, name: 'remove', options: [{ type: 3, name: 'feed', value: 'feed.xml', focused: true }] }] }], guildId, memberPermissions: MOD_PERMS })
        ).waitForCallback()
      ).body.data.choices;
    expect(await complete(OTHER)).toEqual([{ name: expect.stringMatching(/^1\. Daily Example — http:\/\/127\.0\.0\.1:\d+\/feed\.xml$/), value: '1' }]);
    expect(await complete(HOME)).toEqual([]);

    // The publisher adds a story; the poller (every 0.6 s here) picks it up without anyone asking.
    publish(server, ['lighthouse', 'orchard']);
    const posted = await waitFor(() => announcements(fake, otherNews.id), (m) => m.some((x) => x.content.includes('Millbrook')), 10_000);
    expect(posted.map((m) => m.content).join('\n')).toMatch(/Millbrook orchard reaches 500 trees/);
    expect(await ask(fake, OTHER, 'What apple variety did the Millbrook orchard plant?')).toMatch(/Pitmaston/);
    expect(await ask(fake, HOME, 'What apple variety did the Millbrook orchard plant?')).not.toMatch(/Pitmaston/);
    expect(announcements(fake, homeNews.id)).toEqual([]);
  });

  it("a feed's announce channel in another server gets nothing", async () => {
    const { fake, server } = await boot({ KB_SCOPE: 'server', KB_ADMIN_GUILD_IDS: HOME }, [OTHER]);
    publish(server, ['lighthouse']);
    const homeNews = await fake.createTextChannel({ name: 'news', guildId: HOME });
    const reply = await replyText(await feedCommand(fake, 'add', [{ type: 3, name: 'url', value: server.url('/feed.xml') }, { type: 7, name: 'channel', value: homeNews.id }], { guildId: OTHER }));
    expect(reply).toMatch(/1 new/);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.channelMessages(homeNews.id)).toEqual([]);
  });
});

async function waitFor<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
