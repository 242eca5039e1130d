/**
 * pgvector's HNSW on the synthetic vectors of the scale test, next to hnswlib: load, index build
 * time and size, then recall@10 and latency at several `hnsw.ef_search` values. The table has the
 * store's shape (an untyped `vector` column, the index on `embedding::vector(dim)`, cosine), so the
 * figures are the ones the PostgreSQL backend's dense search would see.
 */
import pg from 'pg';
import { vectorLiteral } from '../../src/core/store/postgres/tenant.js';
import { recall } from './recall.js';
import { latency, round, type Latency } from './stats.js';

export interface PgvectorBuild {
  m: number;
  efConstruction: number;
}

export interface PgvectorSweepRow {
  m: number;
  efConstruction: number;
  efSearch: number;
  recallAt10: number;
  latency: Latency;
}

export interface PgvectorScaleFigures {
  vectors: number;
  loadSeconds: number;
  tableMb: number;
  maintenanceWorkMem: string;
  parallelWorkers: number;
  builds: { m: number; efConstruction: number; buildSeconds: number; indexMb: number }[];
  sweep: PgvectorSweepRow[];
}

const TABLE = 'bench_synthetic_vectors';
/** Rows per INSERT while loading (~5 kB of text each at 512 dimensions). */
const LOAD_CHUNK = 500;

export async function measurePgvectorScale(options: {
  url: string;
  vectors: Float32Array[];
  queries: Float32Array[];
  truth: number[][];
  builds: PgvectorBuild[];
  efSearch: number[];
  log: (line: string) => void;
}): Promise<PgvectorScaleFigures> {
  const { vectors, queries, truth, log } = options;
  const dimension = vectors[0].length;
  const client = new pg.Client({ connectionString: options.url });
  await client.connect();
  try {
    await client.query('SET statement_timeout = 0');
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await client.query(`CREATE TABLE ${TABLE} (id integer PRIMARY KEY, embedding vector NOT NULL)`);

    log(`  pgvector: loading ${vectors.length} vectors …`);
    const l0 = performance.now();
    for (let start = 0; start < vectors.length; start += LOAD_CHUNK) {
      const chunk = vectors.slice(start, start + LOAD_CHUNK);
      await client.query(`INSERT INTO ${TABLE} (id, embedding) SELECT * FROM unnest($1::int[], $2::vector[])`, [
        chunk.map((_, i) => start + i),
        chunk.map(vectorLiteral),
      ]);
    }
    const loadSeconds = (performance.now() - l0) / 1000;
    const tableMb = await relationMb(client, TABLE);

    // A graph that does not fit in maintenance_work_mem is built far more slowly (pgvector warns):
    // give it the vectors plus the neighbour lists, with room to spare.
    const maintenanceMb = Math.max(256, Math.ceil((vectors.length * (dimension * 4 + 2 * 64 * 8 + 256) * 1.5) / 2 ** 20));
    await client.query(`SET maintenance_work_mem = '${maintenanceMb}MB'`);
    const parallelWorkers = Number((await client.query('SHOW max_parallel_maintenance_workers')).rows[0].max_parallel_maintenance_workers);

    // The sweep measures the index: on a small table, or at a high ef_search, pgvector 0.8's cost
    // estimate can make the planner scan the table instead, which is exact search, not HNSW.
    await client.query('SET enable_seqscan = off');
    const builds: PgvectorScaleFigures['builds'] = [];
    const sweep: PgvectorSweepRow[] = [];
    for (const build of options.builds) {
      await client.query('DROP INDEX IF EXISTS bench_synthetic_hnsw');
      log(`  pgvector: building HNSW m ${build.m}, ef_construction ${build.efConstruction} …`);
      const b0 = performance.now();
      await client.query(
        `CREATE INDEX bench_synthetic_hnsw ON ${TABLE} USING hnsw ((embedding::vector(${dimension})) vector_cosine_ops)
         WITH (m = ${Math.floor(build.m)}, ef_construction = ${Math.floor(build.efConstruction)})`,
      );
      const buildSeconds = (performance.now() - b0) / 1000;
      builds.push({ ...build, buildSeconds: round(buildSeconds, 1), indexMb: await relationMb(client, 'bench_synthetic_hnsw') });
      await client.query(`VACUUM ANALYZE ${TABLE}`);

      for (const ef of options.efSearch) {
        await client.query(`SET hnsw.ef_search = ${Math.floor(ef)}`);
        const search = (q: Float32Array) =>
          client.query(`SELECT id FROM ${TABLE} ORDER BY embedding::vector(${dimension}) <=> $1::vector(${dimension}) LIMIT 10`, [vectorLiteral(q)]);
        await assertIndexUsed(client, dimension, queries[0]);
        for (const q of queries.slice(0, 20)) await search(q); // warm the index pages
        const found: number[][] = [];
        const millis: number[] = [];
        for (const q of queries) {
          const s = performance.now();
          const { rows } = await search(q);
          millis.push(performance.now() - s);
          found.push(rows.map((r) => r.id as number));
        }
        sweep.push({ ...build, efSearch: ef, recallAt10: round(recall(found, truth), 4), latency: latency(millis) });
        log(`    ef_search ${ef}: recall@10 ${sweep[sweep.length - 1].recallAt10}, p50 ${sweep[sweep.length - 1].latency.p50} ms`);
      }
    }
    return { vectors: vectors.length, loadSeconds: round(loadSeconds, 1), tableMb, maintenanceWorkMem: `${maintenanceMb}MB`, parallelWorkers, builds, sweep };
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => undefined);
    await client.end();
  }
}

async function relationMb(client: pg.Client, name: string): Promise<number> {
  const { rows } = await client.query('SELECT pg_total_relation_size($1::regclass) AS bytes', [name]);
  return round(Number(rows[0].bytes) / 2 ** 20, 1);
}

/** A sweep that silently fell back to a sequential scan would measure exact search, not HNSW. */
async function assertIndexUsed(client: pg.Client, dimension: number, query: Float32Array): Promise<void> {
  const { rows } = await client.query(
    `EXPLAIN SELECT id FROM ${TABLE} ORDER BY embedding::vector(${dimension}) <=> $1::vector(${dimension}) LIMIT 10`,
    [vectorLiteral(query)],
  );
  const plan = rows.map((r) => r['QUERY PLAN'] as string).join('\n');
  if (!plan.includes('bench_synthetic_hnsw')) throw new Error(`the scale query does not use the HNSW index:\n${plan}`);
}
