import type pg from 'pg';
import { entryColumns, feedColumns, type FeedEntryRecord, type FeedKind, type FeedRecord, type FeedResult, type PollOutcome } from '../feeds.js';
import type { FeedStore } from '../port.js';
import { inTransaction } from './transaction.js';

/** Drops null columns, as the local backend's records leave unknown fields out. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as T;
}

function toFeed(r: Record<string, unknown>): FeedRecord {
  return defined({
    id: Number(r.id),
    url: r.url as string,
    kind: r.kind as FeedKind | undefined,
    title: r.title as string | undefined,
    announceChannelId: r.announce_channel_id as string | undefined,
    addedBy: r.added_by as string | undefined,
    addedAt: r.added_at as string,
    etag: r.etag as string | undefined,
    lastModified: r.last_modified as string | undefined,
    lastPollAt: r.last_poll_at as string | undefined,
    lastResult: r.last_result as FeedResult | undefined,
    lastMessage: r.last_message as string | undefined,
    nextPollAt: r.next_poll_at as string,
    failures: r.failures as number,
    articles: r.articles as number,
  });
}

function toEntry(r: Record<string, unknown>): FeedEntryRecord {
  return defined({
    feedId: Number(r.feed_id),
    key: r.key as string,
    link: r.link as string | undefined,
    articleId: r.article_id as string | undefined,
    itemHash: r.item_hash as string | undefined,
    contentHash: r.content_hash as string | undefined,
    etag: r.etag as string | undefined,
    lastModified: r.last_modified as string | undefined,
    published: r.published as string | undefined,
    author: r.author as string | undefined,
    firstSeenAt: r.first_seen_at as string,
    updatedAt: r.updated_at as string,
  });
}

const FEED_COLUMNS = `id, url, kind, title, announce_channel_id, added_by, added_at, etag, last_modified, last_poll_at,
  last_result, last_message, next_poll_at, failures, articles`;

/** A tenant's feeds in PostgreSQL (`kb_feeds`, `kb_feed_entries`); every statement carries `tenant = $1`. */
export class PgFeeds implements FeedStore {
  constructor(
    private readonly pool: () => pg.Pool,
    private readonly tenant: string,
  ) {}

  private async q(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool().query(sql, [this.tenant, ...params]);
  }

  async add(input: { url: string; announceChannelId?: string; addedBy?: string; now: Date; nextPollAt: Date }): Promise<FeedRecord> {
    // The tenant's counter and the row in one statement: a refused duplicate URL does not use up a number.
    const { rows } = await this.q(
      `WITH n AS (UPDATE kb_tenants SET feed_seq = feed_seq + 1 WHERE tenant = $1 RETURNING feed_seq)
       INSERT INTO kb_feeds (tenant, id, url, announce_channel_id, added_by, added_at, next_poll_at)
       SELECT $1, n.feed_seq, $2, $3, $4, $5, $6 FROM n
       RETURNING ${FEED_COLUMNS}`,
      [input.url, input.announceChannelId ?? null, input.addedBy ?? null, input.now.toISOString(), input.nextPollAt.toISOString()],
    );
    if (!rows[0]) throw new Error(`tenant ${this.tenant} does not exist (was it purged?)`);
    return toFeed(rows[0]);
  }

  async get(id: number): Promise<FeedRecord | undefined> {
    const { rows } = await this.q(`SELECT ${FEED_COLUMNS} FROM kb_feeds WHERE tenant = $1 AND id = $2`, [id]);
    return rows[0] ? toFeed(rows[0]) : undefined;
  }

  async findByUrl(url: string): Promise<FeedRecord | undefined> {
    const { rows } = await this.q(`SELECT ${FEED_COLUMNS} FROM kb_feeds WHERE tenant = $1 AND url = $2`, [url]);
    return rows[0] ? toFeed(rows[0]) : undefined;
  }

  async list(): Promise<FeedRecord[]> {
    return (await this.q(`SELECT ${FEED_COLUMNS} FROM kb_feeds WHERE tenant = $1 ORDER BY id`)).rows.map(toFeed);
  }

  async due(now: Date): Promise<FeedRecord[]> {
    return (await this.q(`SELECT ${FEED_COLUMNS} FROM kb_feeds WHERE tenant = $1 AND next_poll_at <= $2 ORDER BY next_poll_at, id`, [now.toISOString()])).rows.map(toFeed);
  }

  async remove(id: number): Promise<boolean> {
    // Its entries go with it (ON DELETE CASCADE).
    return ((await this.q('DELETE FROM kb_feeds WHERE tenant = $1 AND id = $2', [id])).rowCount ?? 0) > 0;
  }

  async setAnnounceChannel(id: number, channelId: string | undefined): Promise<void> {
    await this.q('UPDATE kb_feeds SET announce_channel_id = $3 WHERE tenant = $1 AND id = $2', [id, channelId ?? null]);
  }

  async lease(id: number, owner: string, now: Date, until: Date): Promise<boolean> {
    // One statement: a second poller's UPDATE waits for the first one's row lock, then re-reads the
    // row and finds it held (READ COMMITTED re-checks the WHERE on the new version).
    const { rowCount } = await this.q(
      `UPDATE kb_feeds SET lease_owner = $3, lease_until = $4
       WHERE tenant = $1 AND id = $2 AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until IS NULL OR lease_until <= $5)`,
      [id, owner, until.toISOString(), now.toISOString()],
    );
    return rowCount === 1;
  }

  async release(id: number, owner: string): Promise<void> {
    await this.q('UPDATE kb_feeds SET lease_owner = NULL, lease_until = NULL WHERE tenant = $1 AND id = $2 AND lease_owner = $3', [id, owner]);
  }

  async leaseOf(id: number): Promise<{ owner: string; until: string } | undefined> {
    const { rows } = await this.q('SELECT lease_owner, lease_until FROM kb_feeds WHERE tenant = $1 AND id = $2', [id]);
    const row = rows[0];
    return row?.lease_owner && row.lease_until ? { owner: row.lease_owner as string, until: row.lease_until as string } : undefined;
  }

  async recordPoll(id: number, outcome: PollOutcome): Promise<void> {
    await this.q(
      `UPDATE kb_feeds SET last_poll_at = $3, last_result = $4, last_message = $5, next_poll_at = $6, failures = $7,
         kind = COALESCE($8, kind), title = COALESCE($9, title),
         etag = CASE WHEN $4 = 'error' THEN etag ELSE $10 END,
         last_modified = CASE WHEN $4 = 'error' THEN last_modified ELSE $11 END,
         articles = articles + $12
       WHERE tenant = $1 AND id = $2`,
      [
        id,
        outcome.at,
        outcome.result,
        outcome.message,
        outcome.nextPollAt,
        outcome.failures,
        outcome.kind ?? null,
        outcome.title ?? null,
        outcome.etag ?? null,
        outcome.lastModified ?? null,
        outcome.newArticles ?? 0,
      ],
    );
  }

  async dueNow(id: number, now: Date): Promise<void> {
    await this.q('UPDATE kb_feeds SET next_poll_at = $3 WHERE tenant = $1 AND id = $2', [id, now.toISOString()]);
  }

  async entry(feedId: number, key: string): Promise<FeedEntryRecord | undefined> {
    const { rows } = await this.q('SELECT * FROM kb_feed_entries WHERE tenant = $1 AND feed_id = $2 AND key = $3', [feedId, key]);
    return rows[0] ? toEntry(rows[0]) : undefined;
  }

  async entries(feedId: number): Promise<FeedEntryRecord[]> {
    return (await this.q('SELECT * FROM kb_feed_entries WHERE tenant = $1 AND feed_id = $2 ORDER BY first_seen_at, key', [feedId])).rows.map(toEntry);
  }

  async saveEntry(entry: Omit<FeedEntryRecord, 'firstSeenAt' | 'updatedAt'>, now: Date): Promise<void> {
    await this.q(
      `INSERT INTO kb_feed_entries (tenant, feed_id, key, link, article_id, item_hash, content_hash, etag, last_modified, published, author, first_seen_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
       ON CONFLICT (tenant, feed_id, key) DO UPDATE SET link = excluded.link,
         article_id = COALESCE(excluded.article_id, kb_feed_entries.article_id),
         item_hash = excluded.item_hash, content_hash = COALESCE(excluded.content_hash, kb_feed_entries.content_hash),
         etag = excluded.etag, last_modified = excluded.last_modified,
         published = COALESCE(excluded.published, kb_feed_entries.published),
         author = COALESCE(excluded.author, kb_feed_entries.author), updated_at = excluded.updated_at`,
      [
        entry.feedId,
        entry.key,
        entry.link ?? null,
        entry.articleId ?? null,
        entry.itemHash ?? null,
        entry.contentHash ?? null,
        entry.etag ?? null,
        entry.lastModified ?? null,
        entry.published ?? null,
        entry.author ?? null,
        now.toISOString(),
      ],
    );
  }

  async importFeed(feed: FeedRecord, entries: FeedEntryRecord[]): Promise<void> {
    await inTransaction(this.pool(), async (client) => {
      const insert = (table: string, row: Record<string, string | number | null>) => {
        const names = Object.keys(row);
        return client.query(`INSERT INTO ${table} (tenant, ${names.join(', ')}) VALUES ($1, ${names.map((_, i) => `$${i + 2}`).join(', ')})`, [this.tenant, ...Object.values(row)]);
      };
      await insert('kb_feeds', feedColumns(feed));
      // Numbers are never reused: the next feed added here counts on from the highest copied.
      await client.query('UPDATE kb_tenants SET feed_seq = GREATEST(feed_seq, $2) WHERE tenant = $1', [this.tenant, feed.id]);
      for (const entry of entries) await insert('kb_feed_entries', entryColumns(entry));
    });
  }
}
