-- Up Migration
-- The per-dimension HNSW indexes were built with ef_construction 64 (pgvector's default), which
-- gave recall@10 0.936 at the store's ef_search 200 on 100,000 vectors; built with 200 they gave
-- 0.985 (README, "pgvector's HNSW next to hnswlib"). New indexes now get 200 (index.ts); this
-- rebuilds the ones built with 64, with the definition ensureDimension() gives them. Indexes
-- built with another ef_construction on purpose (PostgresStoreOptions.hnsw) are left alone.
-- The rebuild locks kb_passages for its duration: seconds for ten thousand passages, minutes for
-- hundreds of thousands (about 110 s per 100,000 512-d vectors on 2 cores with the graph in
-- maintenance_work_mem; longer when it does not fit).
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.relname AS name, substring(c.relname FROM 'kb_passages_hnsw_(\d+)$')::int AS dim,
           COALESCE((SELECT substring(o FROM 'm=(\d+)') FROM unnest(c.reloptions) o WHERE o LIKE 'm=%'), '16') AS m
    FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
    WHERE i.indrelid = 'kb_passages'::regclass
      AND c.relname ~ '^kb_passages_hnsw_\d+$'
      AND 'ef_construction=64' = ANY (c.reloptions)
  LOOP
    EXECUTE format('DROP INDEX %I', r.name);
    EXECUTE format(
      'CREATE INDEX %I ON kb_passages USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WITH (m = %s, ef_construction = 200) WHERE vector_dims(embedding) = %s',
      r.name, r.dim, r.m, r.dim);
  END LOOP;
END
$$;

-- Down Migration
-- Nothing to undo: an index built with 200 serves searches as one built with 64 does, only better.
