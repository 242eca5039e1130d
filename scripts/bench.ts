/**
 * npm run bench [-- --corpus DIR] [--out FILE] [--scale N] [--questions N] [--qa FILE] [--sample N]
 *                  [--skip-scale] [--skip-peer] [--dedupe] [--upload-stress]
 *                  [--store local|postgres|both] [--database-url URL] [--scale-ef LIST] [--pg-builds LIST]
 * npm run bench -- --concurrent --database-url URL [--corpus DIR] [--index DIR] [--processes N] [--askers N] [--seconds S]
 * npm run bench -- --servers N [--corpus DIR] [--idle-ms MS]   (see scripts/bench/servers.ts)
 * npm run bench -- --tenant-filter --database-url URL [--tenants N] [--vectors N] [--queries N] [--scale-ef LIST]
 *
 * Speed, memory and retrieval quality in one run on this machine: ingest, cold start, query
 * latency, HNSW recall against exact search, a synthetic scale test, and a LangChain.js peer on
 * the same corpus and embedder. Prints a Markdown table and writes the figures as JSON.
 * With --store, the corpus figures of each storage backend side by side (scripts/bench/stores.ts)
 * and, with postgres, pgvector's HNSW next to hnswlib's in the scale test (bench/pgvector-scale.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { normalizeWhitespace } from '../src/core/chunk.js';
import { startEmbedder } from '../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../src/core/knowledge-base.js';
import { loadDirectory } from '../src/core/load/index.js';
import { isDatabaseUrl, openKnowledgeStore } from '../src/core/store/open.js';
import { HnswIndex } from '../src/core/store/vector-index.js';
import { readSquad, sampleEvenly } from '../src/cli/eval-qa.js';
import { parseCli } from '../src/cli/args.js';
import { questionsFromCorpus } from './bench/questions.js';
import { measurePgvectorScale, type PgvectorBuild } from './bench/pgvector-scale.js';
import { cheapestReaching, recall } from './bench/recall.js';
import { coldStart, copyLocalIntoPostgres, createBenchDatabase, measureAsks, parseStores } from './bench/stores.js';
import { exactNeighbours, syntheticVectors } from './bench/synthetic.js';
import { latency, round, type Latency } from './bench/stats.js';

const USAGE = `Usage: npm run bench [-- --corpus DIR] [--index DIR] [--out FILE] [--scale N] [--questions N] [--qa FILE] [--sample N] [--skip-scale] [--skip-peer]
  --corpus DIR   articles to ingest (default knowledge/; real figures: ../shared/corpora/bbc)
  --index DIR    keep the index in DIR and reuse it on the next run (only new or changed articles are
                 embedded, so the ingest figures then say little; the rest is measured as usual)
  --out FILE     JSON output (default bench-results/bench.json)
  --scale N      synthetic index size for the scale test (default 100000)
  --questions N  questions for the latency test (default 200)
  --qa FILE      SQuAD file for hit@1/hit@5 against the peer (default ../shared/eval/squadshifts/new_wiki_v1.0.json if present)
  --sample N     questions taken from --qa (default 800)
  --model ID     embedding model (default EMBEDDING_MODEL or auto)
  --servers N    instead: N servers with a knowledge base each (KB_SCOPE=server): RSS as they are added, cold-server latency
  --idle-ms MS   with --servers: close a server's knowledge base after MS idle (default 2000)
  --dedupe       only time paragraph de-duplication on 8,000 paragraphs
  --upload-stress  only: a 5 MB text file and a compressed-stream PDF uploaded while 20 questions
                 are asked; prints the worst event-loop delay and the questions' p95
  --answer-models  only: ask p50/p95 with and without RERANK_MODEL/READER_MODEL on --corpus
                 (--rerank ID, --reader ID, --models-dir DIR, or --tiny for the tiny test models;
                 --questions N, default 200)
  --store KIND   local, postgres or both (repeatable): ingest, cold start and ask for each backend in one
                 table; the PostgreSQL side is a copy of the local index (kb:migrate's copy, no
                 embedding) in a database created for the run and dropped after it; with postgres the
                 scale test also builds pgvector's HNSW on the same vectors
  --database-url URL  server for --store postgres (default DATABASE_URL); the role must be allowed to CREATE DATABASE
  --scale-ef LIST     search ef values swept in the scale test (default 10,20,40,100,200,400)
  --pg-builds LIST    pgvector builds as m:ef_construction (default 16:64,16:200: pgvector's own default; the PostgreSQL store's and hnswlib's)
  --concurrent   only: --processes processes × --askers askers asking one PostgreSQL knowledge base
                 (a copy of --corpus's index, --index to reuse it, in a database created for the run)
                 for --seconds; prints questions/s and ask p50/p95/p99 (needs --database-url on this
                 machine; --hash-embedder for a quick check with the test helpers' embedder)
  --processes N  with --concurrent (default 2)
  --askers N     with --concurrent: askers per process (default 8)
  --seconds S    with --concurrent (default 30)
  --tenant-filter  only: per-tenant dense search on PostgreSQL, partitioned per tenant (the store's
                 layout) against one table with pgvector 0.8's iterative index scans, on seeded
                 synthetic vectors in a database created for the run (scripts/bench/tenant-filter.ts);
                 --vectors N (default 100000), --tenants N (default 105), --queries N per tenant
                 (default 200), --scale-ef LIST (default 40,100,200); needs --database-url`;

/** The local store's HNSW build settings (vector-index.ts defaults), stated so the figures can name them. */
const HNSWLIB_BUILD = { m: 16, efConstruction: 200 };

const { values } = parseCli(USAGE, {
  corpus: { type: 'string' },
  index: { type: 'string' },
  out: { type: 'string' },
  scale: { type: 'string' },
  questions: { type: 'string' },
  qa: { type: 'string' },
  sample: { type: 'string' },
  model: { type: 'string' },
  'skip-scale': { type: 'boolean' },
  'skip-peer': { type: 'boolean' },
  servers: { type: 'string' },
  'idle-ms': { type: 'string' },
  dedupe: { type: 'boolean' },
  'upload-stress': { type: 'boolean' },
  'answer-models': { type: 'boolean' },
  rerank: { type: 'string' },
  reader: { type: 'string' },
  'models-dir': { type: 'string' },
  tiny: { type: 'boolean' },
  store: { type: 'string', multiple: true },
  'database-url': { type: 'string' },
  'scale-ef': { type: 'string' },
  'pg-builds': { type: 'string' },
  concurrent: { type: 'boolean' },
  processes: { type: 'string' },
  askers: { type: 'string' },
  seconds: { type: 'string' },
  'hash-embedder': { type: 'boolean' },
  'tenant-filter': { type: 'boolean' },
  tenants: { type: 'string' },
  vectors: { type: 'string' },
  queries: { type: 'string' },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.servers) {
  // A knowledge base per server: memory with many servers, first question of a cold one.
  const { runServersBench } = await import('./bench/servers.js');
  await runServersBench({
    servers: Number(values.servers),
    corpus: resolve(values.corpus ?? 'knowledge'),
    idleMs: Number(values['idle-ms'] ?? 2000),
    model: values.model ?? process.env.EMBEDDING_MODEL ?? 'auto',
    out: resolve(values.out ?? 'bench-results/servers.json'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.exit(0);
}
if (values['answer-models']) {
  await (await import('./bench/answer-models.js')).runAnswerModelsBench({
    corpus: resolve(values.corpus ?? 'knowledge'),
    model: values.model ?? process.env.EMBEDDING_MODEL ?? 'auto',
    modelsDir: resolve(values['models-dir'] ?? process.env.MODELS_DIR ?? 'models'),
    rerank: values.rerank ?? process.env.RERANK_MODEL,
    reader: values.reader ?? process.env.READER_MODEL,
    tiny: values.tiny ?? false,
    questions: Number(values.questions ?? 200),
    out: resolve(values.out ?? 'bench-results/answer-models.json'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.exit(0);
}
if (values['tenant-filter']) {
  const { formatTenantFilter, runTenantFilterBench } = await import('./bench/tenant-filter.js');
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  const [vectors, tenants, queries] = [values.vectors ?? '100000', values.tenants ?? '105', values.queries ?? '200'].map(Number);
  const efSearch = (values['scale-ef'] ?? '40,100,200').split(',').map(Number);
  if (!isDatabaseUrl(databaseUrl) || !Number.isInteger(vectors) || !Number.isInteger(tenants) || tenants < 6 || vectors < tenants * 6 || !(queries >= 1) || efSearch.some((ef) => !Number.isInteger(ef) || ef < 1)) {
    process.stderr.write(`--tenant-filter needs --database-url postgres://… (or DATABASE_URL), --tenants ≥ 6, --vectors ≥ 6 per tenant, whole numbers for --queries and --scale-ef\n\n${USAGE}\n`);
    process.exit(2);
  }
  const figures = await runTenantFilterBench({ url: databaseUrl!, vectors, tenants, queries, efSearch, log: (line) => process.stderr.write(`${line}\n`) });
  const file = resolve(values.out ?? 'bench-results/tenant-filter.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), ...figures }, null, 2)}\n`);
  for (const line of formatTenantFilter(figures)) console.log(line);
  console.log(`\nFigures written to ${file}`);
  process.exit(0);
}
if (values.dedupe) {
  (await import('./bench/dedupe.js')).runDedupeBench();
  process.exit(0);
}
if (values['upload-stress']) {
  await (await import('./bench/upload-stress.js')).runUploadStress({ corpus: values.corpus, model: values.model });
  process.exit(0);
}
if (values.concurrent) {
  const { formatConcurrent, runConcurrentBench } = await import('./bench/concurrent.js');
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  const [processes, askers, seconds, questions] = [values.processes ?? '2', values.askers ?? '8', values.seconds ?? '30', values.questions ?? '200'].map(Number);
  if (!isDatabaseUrl(databaseUrl) || ![processes, askers, questions].every((n) => Number.isInteger(n) && n >= 1) || !(seconds > 0)) {
    process.stderr.write(`--concurrent needs --database-url postgres://… (or DATABASE_URL) and whole numbers for --processes, --askers, --questions, a positive --seconds\n\n${USAGE}\n`);
    process.exit(2);
  }
  const scratch = values.index ? undefined : mkdtempSync(join(tmpdir(), 'bench-concurrent-'));
  try {
    const figures = await runConcurrentBench({
      databaseUrl: databaseUrl!,
      corpus: resolve(values.corpus ?? 'knowledge'),
      dataDir: values.index ? resolve(values.index) : scratch!,
      processes,
      askers,
      seconds,
      questions,
      model: values.model ?? process.env.EMBEDDING_MODEL ?? 'auto',
      hashEmbedder: values['hash-embedder'] ?? false,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const file = resolve(values.out ?? 'bench-results/concurrent.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), ...figures }, null, 2));
    for (const line of formatConcurrent(figures)) console.log(line);
    console.log(JSON.stringify(figures));
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  process.exit(0);
}
const corpus = resolve(values.corpus ?? 'knowledge');
const out = resolve(values.out ?? 'bench-results/bench.json');
const scaleN = Number(values.scale ?? 100_000);
const questionCount = Number(values.questions ?? 200);
const qaFile = values.qa ?? (existsSync('../shared/eval/squadshifts/new_wiki_v1.0.json') ? '../shared/eval/squadshifts/new_wiki_v1.0.json' : undefined);
const qaSample = Number(values.sample ?? 800);
const model = values.model ?? process.env.EMBEDDING_MODEL ?? 'auto';
const log = (line: string) => process.stderr.write(`${line}\n`);
const work = mkdtempSync(join(tmpdir(), 'bench-'));
const stores = parseStores(values.store ?? []);
const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
if (stores.includes('postgres') && !isDatabaseUrl(databaseUrl)) {
  process.stderr.write(`--store postgres needs a server: --database-url postgres://… or DATABASE_URL\n\n${USAGE}\n`);
  process.exit(2);
}
const scaleEfs = (values['scale-ef'] ?? '10,20,40,100,200,400').split(',').map(Number);
const pgBuilds: PgvectorBuild[] = (values['pg-builds'] ?? '16:64,16:200').split(',').map((pair) => {
  const [m, efConstruction] = pair.split(':').map(Number);
  return { m, efConstruction };
});
if (scaleEfs.some((ef) => !(ef >= 1)) || pgBuilds.some((b) => !(b.m >= 2 && b.efConstruction >= 1))) {
  process.stderr.write(`--scale-ef takes numbers, --pg-builds m:ef_construction pairs\n\n${USAGE}\n`);
  process.exit(2);
}
const benchDatabase = stores.includes('postgres') ? await createBenchDatabase(databaseUrl!, log) : undefined;
const figures: Record<string, unknown> = { corpus, date: new Date().toISOString(), cpus: (await import('node:os')).cpus().length, node: process.version };

// The same embedder set-up as the bot (a worker per core for the bundled encoder), shared by both pipelines.
const embedder = await startEmbedder({ model, modelsDir: 'models', quantized: true, loadTimeoutMs: 8000 }, { log });
figures.model = embedder.info.model;

// --- Ingest -------------------------------------------------------------------------------
log(`ingesting ${corpus} …`);
const t0 = performance.now();
const { articles, skipped } = await loadDirectory(corpus);
const loadSeconds = (performance.now() - t0) / 1000;
const dataDir = values.index ? resolve(values.index) : join(work, 'kb');
// As the bot ingests (SENTENCE_VECTORS_AT_INGEST defaults to true), so ask timings include no sentence embedding.
let kb = await KnowledgeBase.open({ dataDir, embedder, sentenceVectorsAtIngest: true });
let lastLog = 0;
const report = await kb.ingest(articles, {
  onProgress: (p) => {
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`  ${p.embedded}/${p.toEmbed} passages embedded`);
    }
  },
});
const totalSeconds = loadSeconds + report.seconds;
const ingest = {
  articles: report.articles,
  skipped: skipped.length,
  passages: report.passages,
  seconds: round(totalSeconds, 1),
  passagesPerSecond: round(report.passages / totalSeconds, 1),
  embedSeconds: round(report.embedSeconds, 1),
  otherSeconds: round(totalSeconds - report.embedSeconds, 1),
  otherShare: round((totalSeconds - report.embedSeconds) / totalSeconds, 3),
  // With --index, articles already in the index are not embedded again: the rate is not an ingest rate.
  unchanged: report.unchanged,
};
figures.ingest = ingest;
log(`  ${JSON.stringify(ingest)}`);
await kb.close();

const questions = questionsFromCorpus(articles, questionCount);
if (stores.length === 0) {
  // --- Cold start (a fresh process, like npm start) ----------------------------------------------
  log('cold start …');
  figures.coldStart = coldStart(dataDir, model);

  // --- Query latency ------------------------------------------------------------------------
  kb = await KnowledgeBase.open({ dataDir, embedder });
  figures.query = await measureAsks(kb, questions, (texts) => embedder.embed(texts));
  await kb.close();
} else {
  // --- The same corpus on each backend ----------------------------------------------------------
  const side: Record<string, unknown> = {};
  for (const kind of stores) {
    if (kind === 'local') {
      log('local store: cold start and questions …');
      const local = await KnowledgeBase.open({ dataDir, embedder });
      side.local = { ingest: { ...ingest, how: ingest.unchanged ? 'reused from --index' : 'embedded' }, coldStart: coldStart(dataDir, model), query: await measureAsks(local, questions, (texts) => embedder.embed(texts)) };
      await local.close();
    } else {
      log('postgres store: copying the local index (as kb:migrate does) …');
      const copy = await copyLocalIntoPostgres(dataDir, benchDatabase!.url, log);
      log(`  ${JSON.stringify(copy)}`);
      log('postgres store: cold start and questions …');
      const cold = coldStart(dataDir, model, benchDatabase!.url);
      const store = await openKnowledgeStore({ databaseUrl: benchDatabase!.url, dataDir });
      const remote = await KnowledgeBase.open({ store, embedder });
      side.postgres = { ingest: { ...copy, how: 'copy of the local index (kb:migrate), no embedding' }, coldStart: cold, query: await measureAsks(remote, questions, (texts) => embedder.embed(texts)) };
      await remote.close();
      await store.close();
    }
  }
  figures.stores = side;
}
for (const [kind, f] of Object.entries((figures.stores ?? {}) as Record<string, unknown>)) log(`  ${kind}: ${JSON.stringify(f)}`);

// --- HNSW against exact search on the corpus vectors ----------------------------------------
kb = await KnowledgeBase.open({ dataDir, embedder });
const questionVectors = await embedder.embed(questions.map((q) => q.question));
const labels: number[] = [];
const corpusVectors: Float32Array[] = [];
for await (const dump of kb.tenant.dumpArticles()) {
  for (const p of dump.passages) {
    labels.push(p.label);
    corpusVectors.push(p.vector);
  }
}
const corpusTruth = exactNeighbours(corpusVectors, labels, questionVectors);
figures.hnsw = await measureRecall(corpusVectors, labels, questionVectors, corpusTruth, 'corpus');
await kb.close();

// --- Scale: a synthetic index of perturbed copies of the real vectors --------------------------
if (!values['skip-scale'] && corpusVectors.length > 0) {
  log(`scale test with ${scaleN} vectors …`);
  const synthetic = syntheticVectors(corpusVectors, scaleN, embedder.info.dimension);
  const ids = synthetic.map((_, i) => i);
  const truth = exactNeighbours(synthetic, ids, questionVectors);
  figures.scale = await measureRecall(synthetic, ids, questionVectors, truth, 'synthetic', scaleEfs);
  // Logged now: a long scale run stopped during the pgvector part still leaves hnswlib's figures.
  log(`  hnswlib: ${JSON.stringify(figures.scale)}`);
  if (benchDatabase) {
    log('scale test on pgvector …');
    figures.pgvectorScale = await measurePgvectorScale({ url: benchDatabase.url, vectors: synthetic, queries: questionVectors, truth: truth.truth, builds: pgBuilds, efSearch: scaleEfs, log });
  }
}

// --- Peer: LangChain.js HNSWLib with its default splitter, same embedder ---------------------
if (!values['skip-peer']) {
  log('peer: LangChain.js HNSWLib …');
  const { buildPeer, peerSearch } = await import('./bench/peer-langchain.js');
  const peer = await buildPeer(articles, embedder);
  const peerLatency: number[] = [];
  for (const q of questions.slice(0, 20)) await peerSearch(peer, q.question, 5);
  for (const q of questions) {
    const s = performance.now();
    await peerSearch(peer, q.question, 5);
    peerLatency.push(performance.now() - s);
  }
  const peerFigures: Record<string, unknown> = {
    chunks: peer.chunks,
    ingestSeconds: round(peer.ingestSeconds, 1),
    passagesPerSecond: round(peer.chunks / peer.ingestSeconds, 1),
    query: latency(peerLatency),
  };
  if (qaFile) peerFigures.squad = await compareOnSquad(qaFile, qaSample);
  figures.peer = peerFigures;
}

await embedder.close();
await benchDatabase?.drop();
rmSync(work, { recursive: true, force: true });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(figures, null, 2)}\n`);
console.log(markdown(figures));
console.log(`\nFigures written to ${out}`);

// ---------------------------------------------------------------------------------------------

/**
 * hnswlib against exact search: build time and size, recall@10 and latency at the index's default
 * search ef, and (with `efs`) at each of those values too.
 */
async function measureRecall(vectors: Float32Array[], ids: number[], queries: Float32Array[], exact: { truth: number[][]; millis: number[] }, name: string, efs: number[] = []) {
  const dim = embedder.info.dimension;
  const before = process.memoryUsage().rss;
  const b0 = performance.now();
  const index = HnswIndex.create(dim, { initialCapacity: vectors.length, ...HNSWLIB_BUILD });
  vectors.forEach((v, i) => index.add(ids[i], v));
  const buildSeconds = (performance.now() - b0) / 1000;
  const memoryMb = (process.memoryUsage().rss - before) / 2 ** 20;
  const file = join(work, `${name}.hnsw`);
  await index.save(file);
  const searchAll = () => {
    const times: number[] = [];
    const found = queries.map((q) => {
      const s = performance.now();
      const labels = index.search(q, 10).map((h) => h.label);
      times.push(performance.now() - s);
      return labels;
    });
    return { recallAt10: round(recall(found, exact.truth), 4), latency: latency(times) };
  };
  const defaultEf = index.efSearch;
  const atDefault = searchAll();
  const sweep = efs.map((ef) => {
    index.efSearch = ef;
    return { efSearch: ef, ...searchAll() };
  });
  index.efSearch = defaultEf;
  const exactLatency = latency(exact.millis);
  const sizeOnDisk = existsSync(file) ? statSync(file).size : undefined;
  rmSync(file, { force: true });
  return {
    vectors: vectors.length,
    ef: defaultEf,
    ...HNSWLIB_BUILD,
    recallAt10: atDefault.recallAt10,
    hnsw: atDefault.latency,
    exact: exactLatency,
    speedup: round(exactLatency.p50 / Math.max(atDefault.latency.p50, 1e-3), 1),
    buildSeconds: round(buildSeconds, 1),
    memoryMb: Math.round(memoryMb),
    diskMb: sizeOnDisk === undefined ? undefined : round(sizeOnDisk / 2 ** 20, 1),
    sweep,
  };
}

/** hit@1 / hit@5 of our hybrid retrieval and of the LangChain peer on the same SQuAD questions. */
async function compareOnSquad(file: string, sample: number) {
  const { articles: squadArticles, questions: all } = readSquad(file);
  const qs = sampleEvenly(all, sample);
  const { buildPeer, peerSearch } = await import('./bench/peer-langchain.js');
  const squadKb = await KnowledgeBase.open({ dataDir: join(work, 'squad'), embedder });
  await squadKb.ingest(squadArticles);
  const peer = await buildPeer(squadArticles, embedder);
  const ours = { hit1: 0, hit5: 0 };
  const theirs = { hit1: 0, hit5: 0 };
  for (const q of qs) {
    const gold = normalizeWhitespace(q.context);
    const { passages } = await squadKb.retrieve(q.question, { topK: 5 });
    const r1 = passages.findIndex((p) => p.articleTitle === normalizeWhitespace(q.title) && overlaps(p.passage.text, gold));
    if (r1 === 0) ours.hit1++;
    if (r1 >= 0) ours.hit5++;
    const chunks = await peerSearch(peer, q.question, 5);
    const r2 = chunks.findIndex((c) => c.title === q.title && overlaps(normalizeWhitespace(c.text), gold));
    if (r2 === 0) theirs.hit1++;
    if (r2 >= 0) theirs.hit5++;
  }
  await squadKb.close();
  const n = qs.length;
  return {
    questions: n,
    ours: { hit1: round(ours.hit1 / n, 3), hit5: round(ours.hit5 / n, 3) },
    peer: { hit1: round(theirs.hit1 / n, 3), hit5: round(theirs.hit5 / n, 3) },
  };
}

/** A retrieved text counts for the gold paragraph when one contains the other or they share 100 characters. */
function overlaps(text: string, gold: string): boolean {
  if (gold.includes(text) || text.includes(gold)) return true;
  for (let i = 0; i + 100 <= gold.length; i += 50) if (text.includes(gold.slice(i, i + 100))) return true;
  return false;
}

function markdown(f: Record<string, any>): string {
  const lat = (l: Latency) => `${l.p50} / ${l.p95} / ${l.p99} / ${l.max}`;
  const rows: string[] = [
    `Model ${f.model}, corpus ${f.corpus}, ${f.cpus} cores, Node ${f.node}`,
    '',
    '| measure | figure |',
    '|---|---|',
    `| ingest | ${f.ingest.articles} articles, ${f.ingest.passages} passages in ${f.ingest.seconds} s (${f.ingest.unchanged ? `${f.ingest.unchanged} articles reused from --index` : `${f.ingest.passagesPerSecond} passages/s`}) |`,
    `| ingest split | embedding ${f.ingest.embedSeconds} s, everything else ${f.ingest.otherSeconds} s (${(f.ingest.otherShare * 100).toFixed(1)}%) |`,
  ];
  if (f.query) {
    rows.push(
      `| cold start | ${f.coldStart.seconds} s to ready, RSS ${f.coldStart.rssMb} MB at ready, ${f.coldStart.steadyRssMb} MB with every embedding worker loaded (median of ${f.coldStart.runs}) |`,
      `| question embedding p50/p95/p99/max ms | ${lat(f.query.embed)} |`,
      `| hybrid search p50/p95/p99/max ms | ${lat(f.query.search)} |`,
      `| answer composition p50/p95/p99/max ms | ${lat(f.query.compose)} |`,
      `| whole ask p50/p95/p99/max ms | ${lat(f.query.ask)} (${f.query.questions} questions) |`,
    );
  }
  rows.push(`| HNSW recall@10 (${f.hnsw.vectors} vectors, ef ${f.hnsw.ef}) | ${f.hnsw.recallAt10}; HNSW p50 ${f.hnsw.hnsw.p50} ms vs exact ${f.hnsw.exact.p50} ms (${f.hnsw.speedup}×) |`);
  if (f.scale) {
    rows.push(
      `| scale: ${f.scale.vectors} vectors | recall@10 ${f.scale.recallAt10}; HNSW p50/p95 ${f.scale.hnsw.p50}/${f.scale.hnsw.p95} ms vs exact ${f.scale.exact.p50} ms (${f.scale.speedup}×) |`,
      `| scale: build | ${f.scale.buildSeconds} s, ${f.scale.diskMb} MB on disk, ~${f.scale.memoryMb} MB in memory |`,
    );
  }
  if (f.peer) {
    rows.push(
      `| peer (LangChain.js HNSWLib) ingest | ${f.peer.chunks} chunks in ${f.peer.ingestSeconds} s (${f.peer.passagesPerSecond}/s) |`,
      `| peer query p50/p95/p99/max ms | ${lat(f.peer.query)} |`,
    );
    if (f.peer.squad) {
      rows.push(
        `| SQuADShifts hit@1 / hit@5 (${f.peer.squad.questions} q) | ours ${f.peer.squad.ours.hit1} / ${f.peer.squad.ours.hit5}; LangChain ${f.peer.squad.peer.hit1} / ${f.peer.squad.peer.hit5} |`,
      );
    }
  }
  if (f.stores) rows.push('', storesTable(f.stores));
  if (f.scale?.sweep?.length) rows.push('', scaleTable(f.scale, f.pgvectorScale));
  return rows.join('\n');
}

/** The corpus on each backend, one column each. */
function storesTable(stores: Record<string, any>): string {
  const kinds = Object.keys(stores);
  const lat = (l: Latency) => `${l.p50} / ${l.p95} / ${l.p99} / ${l.max}`;
  const ingest = (s: any) =>
    s.ingest.how === 'embedded'
      ? `${s.ingest.passages} passages embedded in ${s.ingest.seconds} s`
      : s.ingest.how === 'reused from --index'
        ? `reused from --index (${s.ingest.passages} passages, nothing embedded)`
        : `copy of the local index, no embedding: ${s.ingest.articles} articles, ${s.ingest.passages} passages and ${s.ingest.sentenceCache.vectors} cached sentence vectors in ${s.ingest.seconds} s`;
  const row = (name: string, cell: (s: any) => string) => `| ${name} | ${kinds.map((k) => cell(stores[k])).join(' | ')} |`;
  return [
    `| BBC, ${stores[kinds[0]].query.questions} questions | ${kinds.join(' | ')} |`,
    `|---|${kinds.map(() => '---').join('|')}|`,
    row('ingest', ingest),
    row('cold start (process start → ready), RSS at ready / steady', (s) => `${s.coldStart.seconds} s, ${s.coldStart.rssMb} / ${s.coldStart.steadyRssMb} MB`),
    row('question embedding p50/p95/p99/max ms', (s) => lat(s.query.embed)),
    row('hybrid search p50/p95/p99/max ms', (s) => lat(s.query.search)),
    row('… dense top-50 alone p50/p95/p99/max ms', (s) => (s.query.denseOnly ? lat(s.query.denseOnly) : '')),
    row('… BM25 top-50 alone p50/p95/p99/max ms', (s) => (s.query.lexicalOnly ? lat(s.query.lexicalOnly) : '')),
    row('answer composition p50/p95/p99/max ms', (s) => lat(s.query.compose)),
    row('**whole ask** p50/p95/p99/max ms', (s) => lat(s.query.ask)),
    row('first passage from the question\'s article', (s) => String(s.query.articleHit1)),
  ].join('\n');
}

/** Recall@10 and latency per search ef: hnswlib, then each pgvector build. */
function scaleTable(scale: Record<string, any>, pgv: Record<string, any> | undefined): string {
  const builds: { name: string; rows: any[] }[] = [{ name: `hnswlib m ${scale.m}, ef_c ${scale.efConstruction}`, rows: scale.sweep.map((r: any) => ({ ...r, m: scale.m, efConstruction: scale.efConstruction })) }];
  for (const b of pgv?.builds ?? []) {
    builds.push({ name: `pgvector m ${b.m}, ef_c ${b.efConstruction}`, rows: pgv!.sweep.filter((r: any) => r.m === b.m && r.efConstruction === b.efConstruction) });
  }
  const efs: number[] = scale.sweep.map((r: any) => r.efSearch);
  const lines = [
    `| ${scale.vectors} synthetic vectors: recall@10, p50 / p95 ms | ${builds.map((b) => b.name).join(' | ')} |`,
    `|---|${builds.map(() => '---').join('|')}|`,
    `| build | ${[`${scale.buildSeconds} s, ${scale.diskMb} MB file`, ...(pgv?.builds ?? []).map((b: any) => `${b.buildSeconds} s (+ load ${pgv!.loadSeconds} s), index ${b.indexMb} MB, table ${pgv!.tableMb} MB`)].join(' | ')} |`,
    ...efs.map((ef) => `| ef_search ${ef} | ${builds.map((b) => {
      const r = b.rows.find((x: any) => x.efSearch === ef);
      return r ? `${r.recallAt10}, ${r.latency.p50} / ${r.latency.p95}` : '';
    }).join(' | ')} |`),
    `| exact search p50 | ${scale.exact.p50} ms (in-process scan) |`,
  ];
  const reach = builds.map((b) => {
    const best = cheapestReaching(b.rows.map((r: any) => ({ ...r, p50: r.latency.p50 })), 0.95);
    return `${b.name}: ${best ? `ef_search ${best.efSearch} (recall ${best.recallAt10}, p50 ${best.p50} ms)` : 'none of the measured ef values'}`;
  });
  lines.push('', `recall@10 ≥ 0.95 first reached at: ${reach.join('; ')}`);
  return lines.join('\n');
}
