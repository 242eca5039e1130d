-- Up Migration
-- What bot processes sharing this database must agree on. Times are epoch milliseconds from the
-- caller's clock, as in kb_pending_confirmations.

-- Store-wide cooldowns by key (the per-member question cooldown: `question:<user id>`). One row
-- per key while its window runs; `refusals` counts refusals in the window, capped at 2 (0: none,
-- 1: the first, which is the one that notifies). Ended windows are swept by `until`.
CREATE TABLE kb_cooldowns (
  key text PRIMARY KEY,
  until bigint NOT NULL,
  refusals smallint NOT NULL DEFAULT 0
);
CREATE INDEX kb_cooldowns_until ON kb_cooldowns (until);

-- A reindex in progress, one row per tenant at most: who runs it (a holder id unique to the run),
-- on whose behalf, since when, and until when it counts unless the holder renews it.
CREATE TABLE kb_reindex_markers (
  tenant text PRIMARY KEY REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  holder text NOT NULL,
  actor jsonb NOT NULL,
  since bigint NOT NULL,
  expires_at bigint NOT NULL
);

-- Down Migration
DROP TABLE IF EXISTS kb_reindex_markers, kb_cooldowns;
