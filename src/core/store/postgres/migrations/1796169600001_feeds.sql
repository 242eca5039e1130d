-- Up Migration
-- Feeds a knowledge base follows and what the poller knows of their entries; the same rows as the
-- local backend's `feeds` / `feed_entries` tables, keyed by tenant. Timestamps are ISO 8601 text,
-- as everywhere in this schema (they sort as they compare).
-- Feed numbers count from 1 per tenant and are never reused: the counter lives with the tenant.
ALTER TABLE kb_tenants ADD COLUMN IF NOT EXISTS feed_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE kb_feeds (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  id bigint NOT NULL,
  url text NOT NULL,
  kind text,
  title text,
  announce_channel_id text,
  added_by text,
  added_at text NOT NULL,
  etag text,
  last_modified text,
  last_poll_at text,
  last_result text,
  last_message text,
  next_poll_at text NOT NULL,
  failures integer NOT NULL DEFAULT 0,
  articles integer NOT NULL DEFAULT 0,
  -- One poller at a time, across processes: a lease with an expiry, taken by one conditional UPDATE.
  lease_owner text,
  lease_until text,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, url)
);
-- The poller's question every minute: which tenants have a feed due.
CREATE INDEX kb_feeds_due ON kb_feeds (next_poll_at);

CREATE TABLE kb_feed_entries (
  tenant text NOT NULL,
  feed_id bigint NOT NULL,
  key text NOT NULL,
  link text,
  article_id text,
  item_hash text,
  content_hash text,
  etag text,
  last_modified text,
  published text,
  author text,
  first_seen_at text NOT NULL,
  updated_at text NOT NULL,
  PRIMARY KEY (tenant, feed_id, key),
  FOREIGN KEY (tenant, feed_id) REFERENCES kb_feeds (tenant, id) ON DELETE CASCADE
);

-- Down Migration
DROP TABLE IF EXISTS kb_feed_entries, kb_feeds;
ALTER TABLE kb_tenants DROP COLUMN IF EXISTS feed_seq;
