/**
 * Feed subscriptions: add, list, remove, refresh (shared by `/kb feed` and `npm run feeds`), and
 * the poller that keeps every knowledge base's feeds current on their schedule. Core code: the
 * Discord adapter only supplies the announce callback.
 *
 * A "tenant" is a knowledge base that can hold feeds: `null` is the operator's (shared / base
 * layer), a server id is that server's own (`KB_SCOPE=server`). A feed lives in the catalog of the
 * knowledge base it fills (see `store/feeds.ts`).
 */
import type { KnowledgeAdmin } from '../admin/index.js';
import { UserInputError, type Actor } from '../knowledge-base.js';
import type { FeedRecord } from '../store/feeds.js';
import { feedsOf } from './store.js';
import { nextPollAt, normaliseFeedUrl, pollFeed, type FeedSettings, type NewArticle, type PollReport } from './poll.js';

export { DEFAULT_MAX_NEW_PER_POLL, DEFAULT_POLL_MINUTES, nextPollAt, normaliseFeedUrl, pollFeed } from './poll.js';
export type { FeedSettings, NewArticle, PollReport } from './poll.js';
export type { FeedRecord } from '../store/feeds.js';

/** At most this many feeds per knowledge base (each poll costs requests and embeddings). */
export const MAX_FEEDS = 50;

export type Tenant = string | null;

/** Where the poller finds knowledge bases with feeds due. */
export interface FeedTenants {
  /** Tenants with a feed due at `now`; must be cheap (not open every knowledge base). */
  due(now: Date): Promise<Tenant[]>;
  /** Runs `work` with the moderation service of the tenant's knowledge base (opened if needed). */
  use<T>(tenant: Tenant, work: (admin: KnowledgeAdmin) => Promise<T>): Promise<T>;
}

/** New articles of one poll, for the feed's announce channel. */
export interface Announcement {
  tenant: Tenant;
  feed: FeedRecord;
  channelId: string;
  articles: NewArticle[];
}

export function listFeeds(admin: KnowledgeAdmin): Promise<FeedRecord[]> {
  return feedsOf(admin).list();
}

/** A feed by its number in `/kb feed list`, or by its URL. */
export async function findFeed(admin: KnowledgeAdmin, ref: string): Promise<FeedRecord> {
  const store = feedsOf(admin);
  const text = ref.trim().replace(/^#/, '');
  const feed = /^\d+$/.test(text) ? await store.get(Number(text)) : await store.findByUrl(safeNormalise(text));
  if (!feed) throw new UserInputError(`There is no feed "${ref.trim().slice(0, 200)}" here: use its number or URL from the feed list (\`/kb feed list\`, \`npm run feeds -- list\`). Nothing was changed.`);
  return feed;
}

function safeNormalise(text: string): string {
  try {
    return normaliseFeedUrl(text);
  } catch {
    return text;
  }
}

export async function removeFeed(admin: KnowledgeAdmin, ref: string): Promise<FeedRecord> {
  const feed = await findFeed(admin, ref);
  await feedsOf(admin).remove(feed.id);
  return feed;
}

export interface FeedPollerOptions {
  tenants: FeedTenants;
  settings?: FeedSettings;
  /** How often to look for due feeds. Default one minute. */
  tickMs?: number;
  /** Called with the new articles of a poll, for feeds with an announce channel. Errors are logged. */
  announce?: (announcement: Announcement) => Promise<void>;
  /** Called with every poll's report, scheduled or asked for (the bot counts them for `/metrics`). */
  onPoll?: (report: PollReport) => void;
  log?: (line: string, error?: unknown) => void;
}

export class FeedPoller {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: FeedPollerOptions) {}

  get settings(): FeedSettings {
    return this.opts.settings ?? {};
  }

  /** Starts polling on a timer (first look right away). */
  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => void this.tick();
    this.timer = setInterval(tick, this.opts.tickMs ?? 60_000);
    this.timer.unref();
    tick();
  }

  /** Stops the timer and waits for a poll in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Polls every due feed of every tenant, one feed at a time. Overlapping calls share one run. */
  tick(): Promise<void> {
    this.running ??= this.pollDue().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pollDue(): Promise<void> {
    let tenants: Tenant[];
    try {
      tenants = await this.opts.tenants.due(this.now());
    } catch (error) {
      this.opts.log?.('feeds: could not look for due feeds', error);
      return;
    }
    for (const tenant of tenants) {
      if (this.stopped) return;
      try {
        await this.opts.tenants.use(tenant, async (admin) => {
          for (const feed of await feedsOf(admin).due(this.now())) {
            if (this.stopped) return;
            await this.poll(tenant, admin, feed.id);
          }
        });
      } catch (error) {
        this.opts.log?.(`feeds: polling the feeds of ${tenant ? `server ${tenant}` : 'the shared knowledge base'} failed`, error);
      }
    }
  }

  /** Polls one feed now and announces its new articles. */
  async poll(tenant: Tenant, admin: KnowledgeAdmin, feedId: number, actor?: Actor): Promise<PollReport> {
    const report = await pollFeed(admin, feedId, this.settings, actor);
    try {
      this.opts.onPoll?.(report);
    } catch (error) {
      this.opts.log?.('feeds: the poll observer failed', error);
    }
    if (report.result === 'error') this.opts.log?.(`feeds: ${report.feed.url}: ${report.message}`);
    if (report.added.length > 0 && report.feed.announceChannelId && this.opts.announce) {
      try {
        await this.opts.announce({ tenant, feed: report.feed, channelId: report.feed.announceChannelId, articles: report.added });
      } catch (error) {
        this.opts.log?.(`feeds: could not announce the new articles of ${report.feed.url}`, error);
      }
    }
    return report;
  }

  /** Every feed of one knowledge base (or the one given) now, whatever the schedule. */
  async refresh(tenant: Tenant, admin: KnowledgeAdmin, ref?: string, actor?: Actor): Promise<PollReport[]> {
    const feeds = ref ? [await findFeed(admin, ref)] : await listFeeds(admin);
    if (feeds.length === 0) throw new UserInputError('There are no feeds to refresh: add one with `/kb feed add url:`.');
    const reports: PollReport[] = [];
    for (const feed of feeds) reports.push(await this.poll(tenant, admin, feed.id, actor));
    return reports;
  }

  /**
   * Subscribes `admin`'s knowledge base to a feed and polls it once right away, so the moderator
   * sees at once whether it is a feed and what it brought. A first poll that cannot read the feed
   * removes the subscription again (nothing changes), with the reason.
   */
  async add(tenant: Tenant, admin: KnowledgeAdmin, input: { url: string; announceChannelId?: string }, actor: Actor): Promise<PollReport> {
    const url = normaliseFeedUrl(input.url);
    const store = feedsOf(admin);
    const existing = await store.findByUrl(url);
    if (existing) {
      await store.setAnnounceChannel(existing.id, input.announceChannelId ?? existing.announceChannelId);
      throw new UserInputError(
        `This knowledge base already follows ${url} (feed ${existing.id})${input.announceChannelId ? '; its announce channel was updated' : ''}. Use \`/kb feed refresh\` to poll it now.`,
      );
    }
    if ((await store.list()).length >= MAX_FEEDS) throw new UserInputError(`This knowledge base already follows ${MAX_FEEDS} feeds, the most it may. Remove one first (\`/kb feed remove\`). Nothing was changed.`);
    // Polled right here; the scheduler takes it from the next interval on.
    const feed = await store.add({ url, announceChannelId: input.announceChannelId, addedBy: actor.name ?? actor.id, now: this.now(), nextPollAt: nextPollAt(this.now(), this.settings, 0) });
    let report: PollReport;
    try {
      report = await this.poll(tenant, admin, feed.id, actor);
    } catch (error) {
      await store.remove(feed.id);
      throw error;
    }
    if (report.result === 'error') {
      await store.remove(feed.id);
      throw new UserInputError(`Could not follow ${url}: ${report.reason ?? report.message}. Nothing was changed.`);
    }
    return report;
  }

  private now(): Date {
    return this.settings.now?.() ?? new Date();
  }
}
