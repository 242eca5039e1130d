-- Up Migration
-- Who wrote an article (front matter, the page's metadata, the feed entry), kept beside its
-- publication date; null when the source does not say.
ALTER TABLE kb_articles ADD COLUMN IF NOT EXISTS author text;

-- Down Migration
ALTER TABLE kb_articles DROP COLUMN IF EXISTS author;
