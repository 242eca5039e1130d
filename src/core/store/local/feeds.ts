import type { FeedStore } from '../port.js';
import type { FeedEntryRecord, FeedRecord, PollOutcome, SqliteFeedStore } from '../feeds.js';

/**
 * The port's `FeedStore` over the feed tables of a tenant's SQLite catalog. SQLite runs each
 * statement synchronously and whole, so the lease is the same single conditional UPDATE the
 * PostgreSQL backend runs, and two processes sharing the folder still exclude each other.
 */
export class LocalFeedStore implements FeedStore {
  constructor(private readonly tables: SqliteFeedStore) {}

  async add(input: { url: string; announceChannelId?: string; addedBy?: string; now: Date; nextPollAt: Date }): Promise<FeedRecord> {
    return this.tables.add(input);
  }

  async get(id: number): Promise<FeedRecord | undefined> {
    return this.tables.get(id);
  }

  async findByUrl(url: string): Promise<FeedRecord | undefined> {
    return this.tables.findByUrl(url);
  }

  async list(): Promise<FeedRecord[]> {
    return this.tables.list();
  }

  async due(now: Date): Promise<FeedRecord[]> {
    return this.tables.due(now);
  }

  async remove(id: number): Promise<boolean> {
    return this.tables.remove(id);
  }

  async setAnnounceChannel(id: number, channelId: string | undefined): Promise<void> {
    this.tables.setAnnounceChannel(id, channelId);
  }

  async lease(id: number, owner: string, now: Date, until: Date): Promise<boolean> {
    return this.tables.lease(id, owner, now, until);
  }

  async release(id: number, owner: string): Promise<void> {
    this.tables.release(id, owner);
  }

  async leaseOf(id: number): Promise<{ owner: string; until: string } | undefined> {
    return this.tables.leaseOf(id);
  }

  async recordPoll(id: number, outcome: PollOutcome): Promise<void> {
    this.tables.recordPoll(id, outcome);
  }

  async dueNow(id: number, now: Date): Promise<void> {
    this.tables.dueNow(id, now);
  }

  async entry(feedId: number, key: string): Promise<FeedEntryRecord | undefined> {
    return this.tables.entry(feedId, key);
  }

  async entries(feedId: number): Promise<FeedEntryRecord[]> {
    return this.tables.entries(feedId);
  }

  async saveEntry(entry: Omit<FeedEntryRecord, 'firstSeenAt' | 'updatedAt'>, now: Date): Promise<void> {
    this.tables.saveEntry(entry, now);
  }

  async importFeed(feed: FeedRecord, entries: FeedEntryRecord[]): Promise<void> {
    this.tables.importFeed(feed, entries);
  }
}
