-- Up Migration
-- Sentence vectors and entities for answer composition, content-addressed by a hash of the
-- sentence (and the model, for vectors), per tenant so purging a server takes its cache with it.
CREATE TABLE kb_sentence_vectors (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  model text NOT NULL,
  hash text NOT NULL,
  vector bytea NOT NULL,
  PRIMARY KEY (tenant, model, hash)
);

CREATE TABLE kb_sentence_entities (
  tenant text NOT NULL REFERENCES kb_tenants (tenant) ON DELETE CASCADE,
  hash text NOT NULL,
  entities text NOT NULL,
  PRIMARY KEY (tenant, hash)
);

-- Down Migration
DROP TABLE IF EXISTS kb_sentence_entities, kb_sentence_vectors;
