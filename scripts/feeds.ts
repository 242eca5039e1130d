/**
 * npm run feeds -- add URL [--channel ID] | list | remove FEED | refresh [FEED]   [--guild SERVER_ID]
 * Feed subscriptions from the command line, the same core as `/kb feed`: the operator's knowledge
 * base (DATA_DIR), or with `--guild ID` one server's own (KB_SCOPE=server). `list` and `remove`
 * load no model; `add` and `refresh` poll, so they embed. Run it while the bot is stopped (or use
 * `/kb feed`): like `npm run ingest`, two processes writing one catalog at once are not supported.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createAdmin, openApp } from '../src/app.js';
import { parseCli } from '../src/cli/args.js';
import { runCli } from '../src/cli/run.js';
import { openStoredKnowledgeBase } from '../src/cli/stored-kb.js';
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { FeedPoller, listFeeds, removeFeed, type FeedRecord, type PollReport } from '../src/core/feeds/index.js';
import { KnowledgeBase, UserInputError, type Actor } from '../src/core/knowledge-base.js';
import { localCatalogPath } from '../src/core/store/open.js';
import type { Config } from '../src/config.js';

const USAGE = `Usage: npm run feeds -- <command> [--guild SERVER_ID]
  add URL [--channel ID]   follow an RSS, Atom or JSON feed or a sitemap.xml, and poll it now
                           (--channel: a Discord channel for one line per new article)
  list                     every feed: last poll, result, articles, next poll
  remove FEED              stop following a feed (its number from list, or its URL); articles stay
  refresh [FEED]           poll every feed (or one) now
  --guild SERVER_ID        one server's own knowledge base (KB_SCOPE=server) instead of DATA_DIR's`;

const { values, positionals } = parseCli(USAGE, { guild: { type: 'string' }, channel: { type: 'string' } });
if (values.help || positionals.length === 0) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}
const [command, arg] = positionals;
const ACTOR: Actor = { id: 'cli', name: 'npm run feeds', via: 'cli' };

await runCli(async (config, logger) => {
  const guild = values.guild;
  if (guild !== undefined && !/^\d{17,20}$/.test(guild)) throw new UserInputError('--guild must be a Discord server id (17–20 digits).');
  if (values.channel !== undefined && !/^\d{17,20}$/.test(values.channel)) throw new UserInputError('--channel must be a Discord channel id (17–20 digits).');
  const where = guild ? `server ${guild}` : 'the shared knowledge base';

  if (command === 'list' || command === 'remove') {
    const { kb, close } = await openStoredKnowledgeBase(config, `list the feeds of ${where}`, guild ?? null);
    try {
      const admin = new KnowledgeAdmin({ kb });
      if (command === 'list') printList(await listFeeds(admin), config);
      else {
        if (!arg) throw new UserInputError('Which feed? npm run feeds -- remove FEED (its number from list, or its URL)');
        const feed = await removeFeed(admin, arg);
        console.log(`Stopped following ${feed.url}; its ${feed.articles} articles stay in ${where}.`);
      }
    } finally {
      await close();
    }
    return;
  }
  if (command !== 'add' && command !== 'refresh') throw new UserInputError(`Unknown command "${command}".\n\n${USAGE}`);
  if (command === 'add' && !arg) throw new UserInputError('Which feed? npm run feeds -- add URL');
  if (guild && !config.databaseUrl && !existsSync(localCatalogPath(config.dataDir, guild))) {
    throw new UserInputError(`Server ${guild} has no knowledge base in ${dirname(localCatalogPath(config.dataDir, guild))} yet (it is created when the bot is first used there with KB_SCOPE=server).`);
  }

  const app = await openApp(config, logger);
  let own: KnowledgeBase | undefined;
  try {
    let admin: KnowledgeAdmin;
    if (guild) {
      if (!(await app.kb.store.tenants()).includes(guild)) {
        throw new UserInputError(`Server ${guild} has no knowledge base yet (it is created when the bot is first used there with KB_SCOPE=server).`);
      }
      own = await KnowledgeBase.open({ store: app.kb.store, tenant: guild, embedder: app.embedder, onModelMismatch: 'stale', log: (line) => logger.warn(line) });
      admin = new KnowledgeAdmin({ kb: own, maxUploadBytes: config.kb.maxUploadBytes, limits: { maxArticles: config.kb.maxArticlesPerServer, maxPassages: config.kb.maxPassagesPerServer } });
    } else {
      admin = app.admin ?? createAdmin(config, app.kb);
    }
    const poller = new FeedPoller({
      tenants: { due: async () => [], use: (_t, work) => work(admin) },
      settings: { pollMinutes: config.feeds.pollMinutes || undefined, maxNewPerPoll: config.feeds.maxNewPerPoll, fetch: { maxBytes: config.kb.maxUploadBytes } },
    });
    const tenant = guild ?? null;
    const reports = command === 'add' ? [await poller.add(tenant, admin, { url: arg!, ...(values.channel ? { announceChannelId: values.channel } : {}) }, ACTOR)] : await poller.refresh(tenant, admin, arg, ACTOR);
    for (const r of reports) printReport(r);
    if (reports.some((r) => r.feed.announceChannelId && r.added.length > 0)) console.log('(New articles are announced in Discord only when the bot polls them.)');
  } finally {
    await own?.close();
    await app.close();
  }
});

function printList(feeds: FeedRecord[], config: Config): void {
  if (feeds.length === 0) {
    console.log('No feeds. Follow one with: npm run feeds -- add URL');
    return;
  }
  for (const f of feeds) {
    console.log(`${f.id}. ${f.url}${f.title ? ` (${f.title})` : ''}${f.kind === 'sitemap' ? ' [sitemap]' : ''}`);
    console.log(`   last poll:  ${f.lastPollAt ?? 'never'}${f.lastResult ? ` — ${f.lastResult}: ${f.lastMessage ?? ''}` : ''}`);
    console.log(`   articles:   ${f.articles}`);
    console.log(`   next poll:  ${config.feeds.pollMinutes === 0 ? 'only on refresh (FEED_POLL_MINUTES=0)' : f.nextPollAt}${f.failures > 0 ? ` (${f.failures} failures in a row)` : ''}`);
    if (f.announceChannelId) console.log(`   announce:   channel ${f.announceChannelId}`);
  }
}

function printReport(r: PollReport): void {
  console.log(`${r.feed.id}. ${r.feed.url}${r.feed.title ? ` (${r.feed.title})` : ''}`);
  console.log(`   ${r.result}: ${r.message}`);
  console.log(`   passages embedded: ${r.embedded}; articles from this feed: ${r.feed.articles}`);
  for (const a of r.added) console.log(`   + ${a.title}${a.date ? ` (${a.date.slice(0, 10)})` : ''}${a.url ? ` ${a.url}` : ''}`);
}
