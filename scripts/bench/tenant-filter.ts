/**
 * Issue 13: "per-server rows filtered efficiently (pgvector 0.8 iterative index scans, or
 * partitioning — measure which)". The same synthetic passages are stored twice in a database of
 * the run's own: (a) partitioned like kb_passages (LIST partition per tenant, the HNSW index on
 * the parent, so one graph per partition), (b) one table with one HNSW graph over every tenant's
 * rows, searched with `hnsw.iterative_scan` off, relaxed_order and strict_order. Both use the
 * store's column and index shape (untyped `vector`, index on `embedding::vector(d)` with the
 * `vector_dims` predicate, cosine, m 16, ef_construction 200) and its top-k statement.
 *
 * The vectors are seeded random, not embeddings: topics shared by every tenant (servers talk about
 * the same news), articles around a topic, passages around an article. Sharing topics is what makes
 * a tenant filter hard for one graph: a small server's question has other servers' passages on the
 * same topic among its global nearest neighbours.
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { vectorLiteral } from '../../src/core/store/postgres/tenant.js';
import { createBenchDatabase } from './stores.js';
import { recall } from './recall.js';
import { exactTopK, gaussian, latency, normalize, rng, round, type Latency } from './stats.js';

/** The PostgreSQL store's HNSW build (index.ts, migration 1796169600011). */
const BUILD = { m: 16, efConstruction: 200 };
const K = 50;
const PASSAGES_PER_ARTICLE = 6;
/** Spread of an article around its topic, a passage around its article, a question around its article. */
const SPREAD = { article: 0.7, passage: 0.6, query: 0.9 };
const LOAD_CHUNK = 1000;

export type Layout = 'partitioned' | 'one table';
export type IterativeScan = 'off' | 'relaxed_order' | 'strict_order';

export interface TenantFilterRow {
  layout: Layout;
  /** What the planner was left to choose: 'planner' as the store runs; 'hnsw' with sorts disabled so the graph is used even where a sort over the tenant's rows would win. */
  planning: 'planner' | 'hnsw';
  iterativeScan: IterativeScan;
  efSearch: number;
  /** `hnsw.max_scan_tuples` when raised from pgvector's default for this row. */
  maxScanTuples?: number;
  /** `hnsw.scan_mem_multiplier` (× work_mem) when raised from pgvector's default for this row. */
  scanMemMultiplier?: number;
  tenant: string;
  tenantRows: number;
  /** 'hnsw' when the plan reads the graph in distance order, 'exact' when it sorts the tenant's rows (a scan plus a top-N sort). */
  plan: 'hnsw' | 'exact';
  recallAt10: number;
  recallAt50: number;
  rowsMean: number;
  rowsMin: number;
  /** Queries that got fewer than K rows. */
  shortQueries: number;
  latency: Latency;
}

export interface TenantFilterFigures {
  vectors: number;
  dimension: number;
  tenants: number;
  queriesPerTenant: number;
  server: string;
  pgvector: string;
  maxScanTuples: string;
  maintenanceWorkMem: string;
  parallelMaintenanceWorkers: number;
  build: typeof BUILD;
  measured: { role: 'large' | 'medium' | 'small'; tenant: string; rows: number }[];
  sizes: { large: number; medium: number[]; smallMin: number; smallMedian: number; smallMax: number };
  loadSeconds: { oneTable: number; partitionedCopy: number };
  layouts: Record<'partitioned' | 'oneTable', { buildSeconds: number; indexMb: number; tableMb: number }>;
  loadAverage: { start: number[]; end: number[] };
  rows: TenantFilterRow[];
}

interface Corpus {
  tenants: { name: string; size: number }[];
  vectors: Float32Array[];
  tenantOf: number[];
  /** Per measured tenant: held-out questions near its articles. */
  queries: Map<number, Float32Array[]>;
  measured: { role: 'large' | 'medium' | 'small'; index: number }[];
}

/**
 * Sizes with the skew of a real bot: the base layer with 40 % of the rows, four medium servers with
 * 30 % between them (12/9/6/3 %), and every other server small, sized around the remaining mean.
 */
export function tenantSizes(vectors: number, tenants: number, random: () => number): number[] {
  if (tenants < 6) throw new Error('--tenants needs at least 6 (one large, four medium, one small or more)');
  const large = Math.round(vectors * 0.4);
  const medium = [0.12, 0.09, 0.06, 0.03].map((share) => Math.round(vectors * share));
  const smallCount = tenants - 5;
  const rest = vectors - large - medium.reduce((a, b) => a + b, 0);
  const weights = Array.from({ length: smallCount }, () => 0.3 + 1.4 * random());
  const sum = weights.reduce((a, b) => a + b, 0);
  const small = weights.map((w) => Math.max(PASSAGES_PER_ARTICLE, Math.round((rest * w) / sum)));
  // Rounding leaves a few rows over or short: the last small tenant takes the difference.
  small[small.length - 1] += rest - small.reduce((a, b) => a + b, 0);
  return [large, ...medium, ...small];
}

function around(center: Float32Array, spread: number, random: () => number): Float32Array {
  const d = center.length;
  const v = new Float32Array(d);
  const s = spread / Math.sqrt(d);
  for (let i = 0; i < d; i++) v[i] = center[i] + s * gaussian(random);
  return normalize(v);
}

export function tenantCorpus(vectors: number, tenants: number, dimension: number, queriesPerTenant: number, seed = 13): Corpus {
  const random = rng(seed);
  const sizes = tenantSizes(vectors, tenants, random);
  const topicCount = Math.max(20, Math.min(400, Math.round(vectors / 250)));
  const topics = Array.from({ length: topicCount }, () => around(new Float32Array(dimension), 1, random));
  const names = sizes.map((_, i) => `t${String(i).padStart(4, '0')}`);
  const small = sizes.map((size, index) => ({ size, index })).slice(5).sort((a, b) => a.size - b.size);
  const measured: Corpus['measured'] = [
    { role: 'large', index: 0 },
    { role: 'medium', index: 3 },
    { role: 'small', index: small[Math.floor(small.length / 2)].index },
  ];
  const out: Corpus = { tenants: sizes.map((size, i) => ({ name: names[i], size })), vectors: [], tenantOf: [], queries: new Map(), measured };
  sizes.forEach((size, t) => {
    // The base layer covers every topic, a medium server a tenth of them, a small one a handful.
    const own = t === 0 ? topicCount : t < 5 ? Math.max(4, Math.round(topicCount / 10)) : 2 + Math.floor(random() * 5);
    const mine = Array.from({ length: own }, (_, i) => (t === 0 ? i : Math.floor(random() * topicCount)));
    const articles: Float32Array[] = [];
    for (let n = 0; n < size; n++) {
      if (n % PASSAGES_PER_ARTICLE === 0) articles.push(around(topics[mine[Math.floor(random() * mine.length)]], SPREAD.article, random));
      out.vectors.push(around(articles[articles.length - 1], SPREAD.passage, random));
      out.tenantOf.push(t);
    }
    if (measured.some((m) => m.index === t)) {
      out.queries.set(t, Array.from({ length: queriesPerTenant }, () => around(articles[Math.floor(random() * articles.length)], SPREAD.query, random)));
    }
  });
  return out;
}

export async function runTenantFilterBench(options: {
  url: string;
  vectors: number;
  tenants: number;
  dimension?: number;
  queries?: number;
  efSearch?: number[];
  log: (line: string) => void;
}): Promise<TenantFilterFigures> {
  const { log } = options;
  const dimension = options.dimension ?? 512;
  const queriesPerTenant = options.queries ?? 200;
  const efSearch = options.efSearch ?? [40, 100, 200];
  const loadStart = loadavg().map((x) => round(x, 2));
  log(`tenant filter: ${options.vectors} vectors of ${dimension} dimensions over ${options.tenants} tenants …`);
  const corpus = tenantCorpus(options.vectors, options.tenants, dimension, queriesPerTenant);

  // Ground truth: exact cosine top-K within the tenant, in the process.
  const truth = new Map<number, number[][]>();
  for (const m of corpus.measured) {
    const ids: number[] = [];
    corpus.tenantOf.forEach((t, id) => {
      if (t === m.index) ids.push(id);
    });
    const flat = new Float32Array(ids.length * dimension);
    ids.forEach((id, i) => flat.set(corpus.vectors[id], i * dimension));
    truth.set(m.index, corpus.queries.get(m.index)!.map((q) => exactTopK(flat, dimension, ids, q, K)));
  }

  const database = await createBenchDatabase(options.url, log);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('SET statement_timeout = 0');
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    const server = String((await client.query('SHOW server_version')).rows[0].server_version);
    const pgvector = String((await client.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`)).rows[0].extversion);
    const maxScanTuples = String((await client.query('SHOW hnsw.max_scan_tuples')).rows[0]['hnsw.max_scan_tuples']);

    // The store's passages table reduced to what the search reads (no text, lexemes or foreign keys).
    await client.query(`CREATE TABLE tf_flat (tenant text NOT NULL, label bigint NOT NULL, embedding vector NOT NULL, PRIMARY KEY (tenant, label))`);
    await client.query(`CREATE TABLE tf_part (tenant text NOT NULL, label bigint NOT NULL, embedding vector NOT NULL, PRIMARY KEY (tenant, label)) PARTITION BY LIST (tenant)`);
    for (const t of corpus.tenants) await client.query(`CREATE TABLE tf_part_${t.name} PARTITION OF tf_part FOR VALUES IN ('${t.name}')`);

    log('  loading …');
    const l0 = performance.now();
    for (let start = 0; start < corpus.vectors.length; start += LOAD_CHUNK) {
      const ids = Array.from({ length: Math.min(LOAD_CHUNK, corpus.vectors.length - start) }, (_, i) => start + i);
      await client.query('INSERT INTO tf_flat SELECT * FROM unnest($1::text[], $2::bigint[], $3::vector[])', [
        ids.map((id) => corpus.tenants[corpus.tenantOf[id]].name),
        ids,
        ids.map((id) => vectorLiteral(corpus.vectors[id])),
      ]);
    }
    const oneTableLoad = (performance.now() - l0) / 1000;
    const c0 = performance.now();
    await client.query('INSERT INTO tf_part SELECT * FROM tf_flat');
    const partitionedCopy = (performance.now() - c0) / 1000;
    await client.query('VACUUM ANALYZE tf_flat');
    await client.query('VACUUM ANALYZE tf_part');

    // As pgvector-scale.ts: room for the whole graph, or the build slows down many times over.
    const maintenanceMb = Math.max(256, Math.ceil((corpus.vectors.length * (dimension * 4 + 2 * 64 * 8 + 256) * 1.5) / 2 ** 20));
    await client.query(`SET maintenance_work_mem = '${maintenanceMb}MB'`);
    const parallelMaintenanceWorkers = Number((await client.query('SHOW max_parallel_maintenance_workers')).rows[0].max_parallel_maintenance_workers);
    const layouts = {} as TenantFilterFigures['layouts'];
    for (const [key, table] of [['oneTable', 'tf_flat'], ['partitioned', 'tf_part']] as const) {
      log(`  building HNSW on ${table} …`);
      const b0 = performance.now();
      await client.query(
        `CREATE INDEX ${table}_hnsw ON ${table} USING hnsw ((embedding::vector(${dimension})) vector_cosine_ops)
         WITH (m = ${BUILD.m}, ef_construction = ${BUILD.efConstruction}) WHERE vector_dims(embedding) = ${dimension}`,
      );
      const buildSeconds = (performance.now() - b0) / 1000;
      await client.query(`ANALYZE ${table}`);
      layouts[key] = { buildSeconds: round(buildSeconds, 1), indexMb: await treeMb(client, `${table}_hnsw`, 'pg_relation_size'), tableMb: await treeMb(client, table, 'pg_table_size') };
      log(`    ${JSON.stringify(layouts[key])}${key === 'oneTable' ? `, loaded in ${round(oneTableLoad, 1)} s` : `, copied from the one table in ${round(partitionedCopy, 1)} s`}`);
    }

    const configs: { layout: Layout; planning: 'planner' | 'hnsw'; iterativeScan: IterativeScan; efSearch: number; maxScanTuples?: number; scanMemMultiplier?: number }[] = [
      ...efSearch.map((ef) => ({ layout: 'partitioned' as const, planning: 'planner' as const, iterativeScan: 'off' as const, efSearch: ef })),
      // The planner sorts a small partition's rows rather than read its graph: these rows measure the graphs themselves.
      ...efSearch.map((ef) => ({ layout: 'partitioned' as const, planning: 'hnsw' as const, iterativeScan: 'off' as const, efSearch: ef })),
      ...(['off', 'relaxed_order', 'strict_order'] as const).flatMap((it) => efSearch.map((ef) => ({ layout: 'one table' as const, planning: 'hnsw' as const, iterativeScan: it, efSearch: ef }))),
      // A small tenant's iterative scan stops short of k rows, at max_scan_tuples or at its memory
      // budget (scan_mem_multiplier × work_mem): the same scan with the first, then both, out of the way.
      { layout: 'one table' as const, planning: 'hnsw' as const, iterativeScan: 'relaxed_order' as const, efSearch: efSearch[efSearch.length - 1], maxScanTuples: corpus.vectors.length },
      { layout: 'one table' as const, planning: 'hnsw' as const, iterativeScan: 'relaxed_order' as const, efSearch: efSearch[efSearch.length - 1], maxScanTuples: corpus.vectors.length, scanMemMultiplier: 100 },
      // What a one-table store would get without forcing: pgvector 0.8 costs the filter, so for a small tenant the planner may sort its rows instead.
      ...efSearch.map((ef) => ({ layout: 'one table' as const, planning: 'planner' as const, iterativeScan: 'relaxed_order' as const, efSearch: ef })),
    ];
    const rows: TenantFilterRow[] = [];
    for (const c of configs) {
      await client.query('RESET ALL');
      await client.query('SET statement_timeout = 0');
      await client.query(`SET hnsw.ef_search = ${c.efSearch}`);
      await client.query(`SET hnsw.iterative_scan = ${c.iterativeScan}`);
      // A top-N sort is how an exact search over a tenant's rows is planned; without it the planner must read the graph.
      if (c.planning === 'hnsw') await client.query('SET enable_sort = off');
      if (c.maxScanTuples) await client.query(`SET hnsw.max_scan_tuples = ${c.maxScanTuples}`);
      if (c.scanMemMultiplier) await client.query(`SET hnsw.scan_mem_multiplier = ${c.scanMemMultiplier}`);
      const table = c.layout === 'partitioned' ? 'tf_part' : 'tf_flat';
      const sql = `SELECT label, embedding::vector(${dimension}) <=> $2::vector(${dimension}) AS dist FROM ${table}
        WHERE tenant = $1 AND vector_dims(embedding) = ${dimension}
        ORDER BY embedding::vector(${dimension}) <=> $2::vector(${dimension}) LIMIT ${K}`;
      for (const m of corpus.measured) {
        const tenant = corpus.tenants[m.index];
        const queries = corpus.queries.get(m.index)!;
        const params = (q: Float32Array) => [tenant.name, vectorLiteral(q)];
        const plan = (await client.query(`EXPLAIN ${sql}`, params(queries[0]))).rows.map((r) => r['QUERY PLAN'] as string).join('\n');
        for (const q of queries.slice(0, 20)) await client.query(sql, params(q));
        const found: { label: number; dist: number }[][] = [];
        const millis: number[] = [];
        for (const q of queries) {
          const s = performance.now();
          const res = await client.query(sql, params(q));
          millis.push(performance.now() - s);
          found.push(res.rows.map((r) => ({ label: Number(r.label), dist: Number(r.dist) })));
        }
        // relaxed_order may return rows slightly out of order: recall@10 takes the 10 nearest of what came back.
        const top10 = found.map((f) => [...f].sort((a, b) => a.dist - b.dist).slice(0, 10).map((h) => h.label));
        const exact = truth.get(m.index)!;
        const counts = found.map((f) => f.length);
        const row: TenantFilterRow = {
          ...c,
          tenant: m.role,
          tenantRows: tenant.size,
          plan: /\bSort\b/.test(plan) ? 'exact' : 'hnsw',
          recallAt10: round(recall(top10, exact.map((e) => e.slice(0, 10))), 4),
          recallAt50: round(recall(found.map((f) => f.map((h) => h.label)), exact), 4),
          rowsMean: round(counts.reduce((a, b) => a + b, 0) / counts.length, 1),
          rowsMin: Math.min(...counts),
          shortQueries: counts.filter((n) => n < K).length,
          latency: latency(millis),
        };
        rows.push(row);
        log(`    ${c.layout}, ${c.planning}, iterative ${c.iterativeScan}, ef ${c.efSearch}${c.maxScanTuples ? `, max_scan_tuples ${c.maxScanTuples}` : ''}${c.scanMemMultiplier ? `, scan_mem_multiplier ${c.scanMemMultiplier}` : ''}, ${m.role} (${tenant.size} rows): plan ${row.plan}, recall@10 ${row.recallAt10}, @50 ${row.recallAt50}, rows ${row.rowsMean} (min ${row.rowsMin}), p50/p95 ${row.latency.p50}/${row.latency.p95} ms`);
      }
    }
    const smallSizes = corpus.tenants.slice(5).map((t) => t.size).sort((a, b) => a - b);
    return {
      vectors: corpus.vectors.length,
      dimension,
      tenants: corpus.tenants.length,
      queriesPerTenant,
      server,
      pgvector,
      maxScanTuples,
      maintenanceWorkMem: `${maintenanceMb}MB`,
      parallelMaintenanceWorkers,
      build: BUILD,
      measured: corpus.measured.map((m) => ({ role: m.role, tenant: corpus.tenants[m.index].name, rows: corpus.tenants[m.index].size })),
      sizes: {
        large: corpus.tenants[0].size,
        medium: corpus.tenants.slice(1, 5).map((t) => t.size),
        smallMin: smallSizes[0],
        smallMedian: smallSizes[Math.floor(smallSizes.length / 2)],
        smallMax: smallSizes[smallSizes.length - 1],
      },
      loadSeconds: { oneTable: round(oneTableLoad, 1), partitionedCopy: round(partitionedCopy, 1) },
      layouts,
      loadAverage: { start: loadStart, end: loadavg().map((x) => round(x, 2)) },
      rows,
    };
  } finally {
    await client.end();
    await database.drop();
  }
}

/** A partitioned relation's size is the sum over its partitions; pg_partition_tree has no rows for a plain relation. */
async function treeMb(client: pg.Client, name: string, fn: 'pg_relation_size' | 'pg_table_size'): Promise<number> {
  const { rows } = await client.query(`SELECT COALESCE((SELECT sum(${fn}(relid)) FROM pg_partition_tree($1::regclass)), ${fn}($1::regclass)) AS bytes`, [name]);
  return round(Number(rows[0].bytes) / 2 ** 20, 1);
}

export function formatTenantFilter(f: TenantFilterFigures): string[] {
  const who = (role: string) => f.measured.find((m) => m.role === role)!;
  const lines = [
    `${f.vectors} synthetic vectors (${f.dimension} d) over ${f.tenants} tenants: large ${f.sizes.large}, medium ${f.sizes.medium.join('/')}, small ${f.sizes.smallMin}–${f.sizes.smallMax} (median ${f.sizes.smallMedian}); ` +
      `measured: large ${who('large').rows}, medium ${who('medium').rows}, small ${who('small').rows} rows; ${f.queriesPerTenant} queries each, top ${K}; ` +
      `PostgreSQL ${f.server}, pgvector ${f.pgvector}, hnsw.max_scan_tuples ${f.maxScanTuples}; load average ${f.loadAverage.start.join(' ')} → ${f.loadAverage.end.join(' ')}`,
    '',
    `| build (m ${f.build.m}, ef_construction ${f.build.efConstruction}) | partitioned | one table |`,
    '|---|---|---|',
    `| load | copy from the one table ${f.loadSeconds.partitionedCopy} s | ${f.loadSeconds.oneTable} s |`,
    `| HNSW build | ${f.layouts.partitioned.buildSeconds} s | ${f.layouts.oneTable.buildSeconds} s |`,
    `| index / table size | ${f.layouts.partitioned.indexMb} / ${f.layouts.partitioned.tableMb} MB | ${f.layouts.oneTable.indexMb} / ${f.layouts.oneTable.tableMb} MB |`,
    '',
    '| layout, iterative scan | ef_search | tenant (rows) | plan | recall@10 | recall@50 | rows mean (min), short | p50 / p95 ms |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of f.rows) {
    const name = r.layout === 'partitioned' ? `partitioned${r.planning === 'hnsw' ? ', HNSW forced' : ', planner'}` : `one table, ${r.iterativeScan}${r.planning === 'planner' ? ', planner' : ', HNSW forced'}${r.maxScanTuples ? `, max_scan_tuples ${r.maxScanTuples}` : ''}${r.scanMemMultiplier ? `, scan_mem_multiplier ${r.scanMemMultiplier}` : ''}`;
    lines.push(`| ${name} | ${r.efSearch} | ${r.tenant} (${r.tenantRows}) | ${r.plan} | ${r.recallAt10} | ${r.recallAt50} | ${r.rowsMean} (${r.rowsMin}), ${r.shortQueries} | ${r.latency.p50} / ${r.latency.p95} |`);
  }
  return lines;
}
