-- Up Migration
-- Every piece of state of every knowledge base. `tenant` is 'base' (the operator's knowledge base)
-- or a Discord server id, and leads every key, so a tenant's rows are always found by index and
-- purging a tenant is one cascade (plus dropping its passages partition).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE kb_tenants (
  tenant text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 0,
  last_change text,
  -- The embedding model of the stored vectors: {"model", "dimension", "normalized"}.
  model jsonb,
  -- Corpus statistics for BM25, kept in step by every commit.
  passages bigint NOT NULL DEFAULT 0,
  text_len_sum bigint NOT NULL DEFAULT 0,
  title_len_sum bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_articles (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  id text NOT NULL,
  title text NOT NULL,
  url text,
  date text,
  origin text NOT NULL,
  hash text NOT NULL,
  paragraphs integer NOT NULL,
  duplicates_dropped integer NOT NULL,
  added_by text,
  added_at text NOT NULL,
  updated_at text NOT NULL,
  body text,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX kb_articles_url ON kb_articles (tenant, url);

CREATE SEQUENCE kb_passage_labels;

-- One partition per tenant (created when the tenant is first opened): the GIN and HNSW indexes
-- are per tenant, so a small server's search never wades through the base layer's rows and an
-- HNSW scan never loses its k nearest to a tenant filter.
-- `embedding` has no fixed dimension: an HNSW index per dimension in use, on
-- (embedding::vector(d)) WHERE vector_dims(embedding) = d, lets a reindex to another model
-- coexist with the old vectors of other tenants.
CREATE TABLE kb_passages (
  tenant text NOT NULL,
  label bigint NOT NULL DEFAULT nextval('kb_passage_labels'),
  id text NOT NULL,
  article_id text NOT NULL,
  paragraph integer NOT NULL,
  text text NOT NULL,
  hash text NOT NULL,
  embedding vector NOT NULL,
  -- Lexemes (Porter stems, stop words dropped, positions kept) computed by the application with
  -- the same tokeniser as the local BM25 index; text and title apart for per-field BM25.
  lex_text tsvector NOT NULL,
  lex_title tsvector NOT NULL,
  -- Distinct words of the field (BM25 length normalisation, as the local index counts them).
  text_len integer NOT NULL,
  title_len integer NOT NULL,
  PRIMARY KEY (tenant, label),
  UNIQUE (tenant, id),
  FOREIGN KEY (tenant, article_id) REFERENCES kb_articles (tenant, id) ON DELETE CASCADE
) PARTITION BY LIST (tenant);
CREATE INDEX kb_passages_article ON kb_passages (tenant, article_id);
CREATE INDEX kb_passages_lex_text ON kb_passages USING gin (lex_text);
CREATE INDEX kb_passages_lex_title ON kb_passages USING gin (lex_title);

CREATE SEQUENCE kb_row_ids;

CREATE TABLE kb_audit (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  id bigint NOT NULL DEFAULT nextval('kb_row_ids'),
  at text NOT NULL,
  actor_id text NOT NULL,
  actor_name text,
  via text,
  action text NOT NULL,
  article_id text,
  title text,
  content_hash text,
  catalog_version bigint NOT NULL,
  details jsonb,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX kb_audit_article ON kb_audit (tenant, article_id, id);

CREATE TABLE kb_questions (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  id bigint NOT NULL DEFAULT nextval('kb_row_ids'),
  asked_at text NOT NULL,
  via text NOT NULL,
  user_id text NOT NULL,
  guild_id text,
  channel_id text,
  conversation_id text,
  question_chars integer NOT NULL,
  outcome text NOT NULL,
  question text,
  answer text,
  sources jsonb,
  ms integer,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX kb_questions_conversation ON kb_questions (tenant, conversation_id, id);
CREATE INDEX kb_questions_asked_at ON kb_questions (tenant, asked_at);
CREATE INDEX kb_questions_guild ON kb_questions (tenant, guild_id);

CREATE TABLE kb_feedback (
  tenant text NOT NULL,
  id bigint NOT NULL DEFAULT nextval('kb_row_ids'),
  created_at text NOT NULL,
  question_id bigint NOT NULL,
  user_id text NOT NULL,
  guild_id text,
  vote text NOT NULL CHECK (vote IN ('up', 'down')),
  question text NOT NULL,
  answer text NOT NULL,
  passage_ids jsonb NOT NULL,
  PRIMARY KEY (tenant, id),
  UNIQUE (tenant, question_id, user_id),
  FOREIGN KEY (tenant, question_id) REFERENCES kb_questions (tenant, id) ON DELETE CASCADE
);
CREATE INDEX kb_feedback_created_at ON kb_feedback (tenant, created_at);

CREATE TABLE kb_summary_cache (
  tenant text NOT NULL,
  article_id text NOT NULL,
  length text NOT NULL,
  article_hash text NOT NULL,
  model text NOT NULL,
  algorithm integer NOT NULL,
  result text NOT NULL,
  created_at text NOT NULL,
  PRIMARY KEY (tenant, article_id, length),
  FOREIGN KEY (tenant, article_id) REFERENCES kb_articles (tenant, id) ON DELETE CASCADE
);

CREATE TABLE kb_pending_confirmations (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  token text NOT NULL,
  user_id text NOT NULL,
  data jsonb NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (tenant, token)
);
CREATE INDEX kb_pending_confirmations_expiry ON kb_pending_confirmations (tenant, expires_at);

CREATE TABLE kb_servers (
  server_id text PRIMARY KEY,
  joined_at text NOT NULL,
  left_at text
);

-- Down Migration
DROP TABLE IF EXISTS kb_servers, kb_pending_confirmations, kb_summary_cache, kb_feedback, kb_questions, kb_audit, kb_passages, kb_articles, kb_tenants CASCADE;
DROP SEQUENCE IF EXISTS kb_row_ids, kb_passage_labels;
