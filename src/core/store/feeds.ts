import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Feed subscriptions of one knowledge base, and what the poller knows of each entry, in SQLite:
 * the local backend's side of the port's `FeedStore` (`local/feeds.ts` wraps it; the PostgreSQL
 * backend's is `postgres/feeds.ts`). The rows live in the catalog of the knowledge base the feed
 * fills (tables `feeds` and `feed_entries`), beside its articles, so a server's feeds go wherever
 * its articles go (export, purge). Every SQLite statement of the feature is in this file.
 *
 * Only one poller works on a feed at a time, across processes: `lease()` is a single conditional
 * UPDATE that succeeds only when nobody holds an unexpired lease, and a crashed poller's lease
 * simply expires.
 */

export type FeedKind = 'feed' | 'sitemap';
/** `ok`: polled and read; `unchanged`: the server said 304; `error`: see `lastMessage`. */
export type FeedResult = 'ok' | 'unchanged' | 'error';

export interface FeedRecord {
  id: number;
  url: string;
  /** Known after the first successful poll. */
  kind?: FeedKind;
  title?: string;
  /** Channel that gets one line per new article (Discord channel id), if any. */
  announceChannelId?: string;
  addedBy?: string;
  addedAt: string;
  etag?: string;
  lastModified?: string;
  lastPollAt?: string;
  lastResult?: FeedResult;
  /** What the last poll did, or what went wrong and what to do about it. */
  lastMessage?: string;
  nextPollAt: string;
  /** Consecutive failed polls (the back-off grows with it). */
  failures: number;
  /** Articles indexed from this feed so far. */
  articles: number;
}

export interface FeedEntryRecord {
  feedId: number;
  /** guid / id of the entry, or its link when it has none; for a sitemap, the page URL. */
  key: string;
  link?: string;
  articleId?: string;
  /** Hash of the entry as the feed described it (title, dates, content): unchanged → not fetched again. */
  itemHash?: string;
  /** Content hash of the article as indexed. */
  contentHash?: string;
  etag?: string;
  lastModified?: string;
  published?: string;
  author?: string;
  firstSeenAt: string;
  updatedAt: string;
}

export interface PollOutcome {
  at: string;
  result: FeedResult;
  message: string;
  nextPollAt: string;
  failures: number;
  kind?: FeedKind;
  title?: string;
  etag?: string;
  lastModified?: string;
  /** Articles added by this poll (added to the running count). */
  newArticles?: number;
}

/** A feed as the columns both backends store it in (its lease is not part of it). */
export function feedColumns(f: FeedRecord): Record<string, string | number | null> {
  return {
    id: f.id,
    url: f.url,
    kind: f.kind ?? null,
    title: f.title ?? null,
    announce_channel_id: f.announceChannelId ?? null,
    added_by: f.addedBy ?? null,
    added_at: f.addedAt,
    etag: f.etag ?? null,
    last_modified: f.lastModified ?? null,
    last_poll_at: f.lastPollAt ?? null,
    last_result: f.lastResult ?? null,
    last_message: f.lastMessage ?? null,
    next_poll_at: f.nextPollAt,
    failures: f.failures,
    articles: f.articles,
  };
}

/** A feed entry as the columns both backends store it in. */
export function entryColumns(e: FeedEntryRecord): Record<string, string | number | null> {
  return {
    feed_id: e.feedId,
    key: e.key,
    link: e.link ?? null,
    article_id: e.articleId ?? null,
    item_hash: e.itemHash ?? null,
    content_hash: e.contentHash ?? null,
    etag: e.etag ?? null,
    last_modified: e.lastModified ?? null,
    published: e.published ?? null,
    author: e.author ?? null,
    first_seen_at: e.firstSeenAt,
    updated_at: e.updatedAt,
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS feeds (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL UNIQUE,
  kind TEXT,
  title TEXT,
  announce_channel_id TEXT,
  added_by TEXT,
  added_at TEXT NOT NULL,
  etag TEXT,
  last_modified TEXT,
  last_poll_at TEXT,
  last_result TEXT,
  last_message TEXT,
  next_poll_at TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  articles INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until TEXT
);
CREATE TABLE IF NOT EXISTS feed_entries (
  feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  link TEXT,
  article_id TEXT,
  item_hash TEXT,
  content_hash TEXT,
  etag TEXT,
  last_modified TEXT,
  published TEXT,
  author TEXT,
  first_seen_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (feed_id, key)
);
`;

interface FeedRow {
  id: number;
  url: string;
  kind: string | null;
  title: string | null;
  announce_channel_id: string | null;
  added_by: string | null;
  added_at: string;
  etag: string | null;
  last_modified: string | null;
  last_poll_at: string | null;
  last_result: string | null;
  last_message: string | null;
  next_poll_at: string;
  failures: number;
  articles: number;
}

interface EntryRow {
  feed_id: number;
  key: string;
  link: string | null;
  article_id: string | null;
  item_hash: string | null;
  content_hash: string | null;
  etag: string | null;
  last_modified: string | null;
  published: string | null;
  author: string | null;
  first_seen_at: string;
  updated_at: string;
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as T;
}

function toFeed(row: FeedRow): FeedRecord {
  return defined({
    id: row.id,
    url: row.url,
    kind: (row.kind ?? undefined) as FeedKind | undefined,
    title: row.title ?? undefined,
    announceChannelId: row.announce_channel_id ?? undefined,
    addedBy: row.added_by ?? undefined,
    addedAt: row.added_at,
    etag: row.etag ?? undefined,
    lastModified: row.last_modified ?? undefined,
    lastPollAt: row.last_poll_at ?? undefined,
    lastResult: (row.last_result ?? undefined) as FeedResult | undefined,
    lastMessage: row.last_message ?? undefined,
    nextPollAt: row.next_poll_at,
    failures: row.failures,
    articles: row.articles,
  });
}

function toEntry(row: EntryRow): FeedEntryRecord {
  return defined({
    feedId: row.feed_id,
    key: row.key,
    link: row.link ?? undefined,
    articleId: row.article_id ?? undefined,
    itemHash: row.item_hash ?? undefined,
    contentHash: row.content_hash ?? undefined,
    etag: row.etag ?? undefined,
    lastModified: row.last_modified ?? undefined,
    published: row.published ?? undefined,
    author: row.author ?? undefined,
    firstSeenAt: row.first_seen_at,
    updatedAt: row.updated_at,
  });
}

export class SqliteFeedStore {
  constructor(readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /**
   * Whether the catalog at `file` has a feed due at `now`, read without opening the knowledge base
   * (the poller asks this of every server's folder; most have no feeds and stay closed).
   */
  static hasDue(file: string, now: Date): boolean {
    if (!existsSync(file)) return false;
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feeds'").get();
      if (!table) return false;
      return Boolean(db.prepare('SELECT 1 FROM feeds WHERE next_poll_at <= ? LIMIT 1').get(now.toISOString()));
    } finally {
      db.close();
    }
  }

  /** `nextPollAt`: when the scheduler first takes it (the one adding it usually polls it at once). */
  add(input: { url: string; announceChannelId?: string; addedBy?: string; now: Date; nextPollAt: Date }): FeedRecord {
    const info = this.db
      .prepare('INSERT INTO feeds (url, announce_channel_id, added_by, added_at, next_poll_at) VALUES (?, ?, ?, ?, ?)')
      .run(input.url, input.announceChannelId ?? null, input.addedBy ?? null, input.now.toISOString(), input.nextPollAt.toISOString());
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): FeedRecord | undefined {
    const row = this.db.prepare('SELECT * FROM feeds WHERE id = ?').get(id) as FeedRow | undefined;
    return row ? toFeed(row) : undefined;
  }

  findByUrl(url: string): FeedRecord | undefined {
    const row = this.db.prepare('SELECT * FROM feeds WHERE url = ?').get(url) as FeedRow | undefined;
    return row ? toFeed(row) : undefined;
  }

  list(): FeedRecord[] {
    return (this.db.prepare('SELECT * FROM feeds ORDER BY id').all() as FeedRow[]).map(toFeed);
  }

  /** Feeds whose next poll is due at `now`, most overdue first. */
  due(now: Date): FeedRecord[] {
    return (this.db.prepare('SELECT * FROM feeds WHERE next_poll_at <= ? ORDER BY next_poll_at').all(now.toISOString()) as FeedRow[]).map(toFeed);
  }

  /** Removes the subscription and what is known of its entries (the articles stay). */
  remove(id: number): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM feed_entries WHERE feed_id = ?').run(id);
      return this.db.prepare('DELETE FROM feeds WHERE id = ?').run(id).changes > 0;
    })();
  }

  setAnnounceChannel(id: number, channelId: string | undefined): void {
    this.db.prepare('UPDATE feeds SET announce_channel_id = ? WHERE id = ?').run(channelId ?? null, id);
  }

  /** Takes the feed for `owner` until `until`, unless someone else holds an unexpired lease. */
  lease(id: number, owner: string, now: Date, until: Date): boolean {
    const info = this.db
      .prepare('UPDATE feeds SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until IS NULL OR lease_until <= ?)')
      .run(owner, until.toISOString(), id, owner, now.toISOString());
    return info.changes === 1;
  }

  release(id: number, owner: string): void {
    this.db.prepare('UPDATE feeds SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?').run(id, owner);
  }

  /** Who holds the feed's lease and until when (for messages), if anyone. */
  leaseOf(id: number): { owner: string; until: string } | undefined {
    const row = this.db.prepare('SELECT lease_owner AS owner, lease_until AS until FROM feeds WHERE id = ?').get(id) as { owner: string | null; until: string | null } | undefined;
    return row?.owner && row.until ? { owner: row.owner, until: row.until } : undefined;
  }

  recordPoll(id: number, outcome: PollOutcome): void {
    this.db
      .prepare(
        `UPDATE feeds SET last_poll_at = ?, last_result = ?, last_message = ?, next_poll_at = ?, failures = ?,
           kind = COALESCE(?, kind), title = COALESCE(?, title),
           etag = CASE WHEN ? = 'error' THEN etag ELSE ? END,
           last_modified = CASE WHEN ? = 'error' THEN last_modified ELSE ? END,
           articles = articles + ?
         WHERE id = ?`,
      )
      .run(
        outcome.at,
        outcome.result,
        outcome.message,
        outcome.nextPollAt,
        outcome.failures,
        outcome.kind ?? null,
        outcome.title ?? null,
        outcome.result,
        outcome.etag ?? null,
        outcome.result,
        outcome.lastModified ?? null,
        outcome.newArticles ?? 0,
        id,
      );
  }

  /** Makes the feed due now (a moderator's refresh, or the CLI). */
  dueNow(id: number, now: Date): void {
    this.db.prepare('UPDATE feeds SET next_poll_at = ? WHERE id = ?').run(now.toISOString(), id);
  }

  entry(feedId: number, key: string): FeedEntryRecord | undefined {
    const row = this.db.prepare('SELECT * FROM feed_entries WHERE feed_id = ? AND key = ?').get(feedId, key) as EntryRow | undefined;
    return row ? toEntry(row) : undefined;
  }

  entries(feedId: number): FeedEntryRecord[] {
    return (this.db.prepare('SELECT * FROM feed_entries WHERE feed_id = ? ORDER BY first_seen_at, key').all(feedId) as EntryRow[]).map(toEntry);
  }

  /** Records (or updates) what is known of an entry after it was read. */
  saveEntry(entry: Omit<FeedEntryRecord, 'firstSeenAt' | 'updatedAt'>, now: Date): void {
    const at = now.toISOString();
    this.db
      .prepare(
        `INSERT INTO feed_entries (feed_id, key, link, article_id, item_hash, content_hash, etag, last_modified, published, author, first_seen_at, updated_at)
         VALUES (@feedId, @key, @link, @articleId, @itemHash, @contentHash, @etag, @lastModified, @published, @author, @at, @at)
         ON CONFLICT (feed_id, key) DO UPDATE SET link = excluded.link, article_id = COALESCE(excluded.article_id, article_id),
           item_hash = excluded.item_hash, content_hash = COALESCE(excluded.content_hash, content_hash), etag = excluded.etag,
           last_modified = excluded.last_modified, published = COALESCE(excluded.published, published),
           author = COALESCE(excluded.author, author), updated_at = excluded.updated_at`,
      )
      .run({
        feedId: entry.feedId,
        key: entry.key,
        link: entry.link ?? null,
        articleId: entry.articleId ?? null,
        itemHash: entry.itemHash ?? null,
        contentHash: entry.contentHash ?? null,
        etag: entry.etag ?? null,
        lastModified: entry.lastModified ?? null,
        published: entry.published ?? null,
        author: entry.author ?? null,
        at,
      });
  }

  /** See the port's `FeedStore.importFeed`. */
  importFeed(feed: FeedRecord, entries: FeedEntryRecord[]): void {
    const insert = (table: string, row: Record<string, string | number | null>) => {
      const names = Object.keys(row);
      this.db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`).run(row);
    };
    this.db.transaction(() => {
      insert('feeds', feedColumns(feed));
      for (const entry of entries) insert('feed_entries', entryColumns(entry));
    })();
  }
}

/** One SqliteFeedStore per open catalog connection (the schema check and statements are not free). */
const stores = new WeakMap<Database.Database, SqliteFeedStore>();
export function feedStoreOf(db: Database.Database): SqliteFeedStore {
  let store = stores.get(db);
  if (!store) {
    store = new SqliteFeedStore(db);
    stores.set(db, store);
  }
  return store;
}
