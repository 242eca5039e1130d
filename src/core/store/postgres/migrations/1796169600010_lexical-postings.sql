-- Up Migration
-- Postings for BM25: one row per (passage, field, lexeme) with the term frequency and the field
-- length. Scoring from the tsvectors had to read and unnest the tsvector of every passage matching
-- any query word (4,000 of BBC's 11,111 passages for an ordinary question, ~50 ms); the postings of
-- the query's lexemes are an index-only range scan each, and counting them gives the document
-- frequencies too. The tsvectors and their GIN indexes stay (other searches may use them).
-- Kept in step by triggers on kb_passages, so every writer (commits, reindex, kb:migrate's copy,
-- cascades from kb_articles) maintains them without knowing; purging a tenant drops its partition
-- (no row triggers) and its kb_tenants row, whose cascade takes the postings.
CREATE TABLE kb_postings (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  lexeme text NOT NULL,
  title boolean NOT NULL,
  label bigint NOT NULL,
  -- cardinality(positions), as the tsvector scoring counted it.
  tf integer NOT NULL,
  -- The field's distinct words (text_len or title_len of the passage).
  len integer NOT NULL,
  PRIMARY KEY (tenant, lexeme, title, label) INCLUDE (tf, len)
);

CREATE FUNCTION kb_postings_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    -- By the primary key (one probe per lexeme of the passage): no second index on label to keep.
    DELETE FROM kb_postings
      WHERE tenant = OLD.tenant AND title = false AND label = OLD.label AND lexeme = ANY (tsvector_to_array(OLD.lex_text));
    DELETE FROM kb_postings
      WHERE tenant = OLD.tenant AND title = true AND label = OLD.label AND lexeme = ANY (tsvector_to_array(OLD.lex_title));
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO kb_postings (tenant, lexeme, title, label, tf, len)
      SELECT NEW.tenant, u.lexeme, false, NEW.label, cardinality(u.positions), NEW.text_len FROM unnest(NEW.lex_text) u
      UNION ALL
      SELECT NEW.tenant, u.lexeme, true, NEW.label, cardinality(u.positions), NEW.title_len FROM unnest(NEW.lex_title) u;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER kb_postings_sync
  AFTER INSERT OR DELETE OR UPDATE OF tenant, label, lex_text, lex_title, text_len, title_len ON kb_passages
  FOR EACH ROW EXECUTE FUNCTION kb_postings_sync();

INSERT INTO kb_postings (tenant, lexeme, title, label, tf, len)
  SELECT p.tenant, u.lexeme, false, p.label, cardinality(u.positions), p.text_len FROM kb_passages p, unnest(p.lex_text) u
  UNION ALL
  SELECT p.tenant, u.lexeme, true, p.label, cardinality(u.positions), p.title_len FROM kb_passages p, unnest(p.lex_title) u;

ANALYZE kb_postings;

-- Down Migration
DROP TRIGGER IF EXISTS kb_postings_sync ON kb_passages;
DROP FUNCTION IF EXISTS kb_postings_sync();
DROP TABLE IF EXISTS kb_postings;
