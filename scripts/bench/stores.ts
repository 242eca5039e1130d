/**
 * `npm run bench -- --store local|postgres|both`: the BBC figures of each backend side by side.
 * The local index is built (or reused with --index) once; the PostgreSQL side is filled from it by
 * the copy `npm run kb:migrate` makes (no re-embedding), into a database of its own created for
 * the run and dropped after it.
 */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { normalizeWhitespace } from '../../src/core/chunk.js';
import type { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { copyKnowledge } from '../../src/core/store/copy.js';
import { LocalStore } from '../../src/core/store/local/index.js';
import { openKnowledgeStore } from '../../src/core/store/open.js';
import type { BenchQuestion } from './questions.js';
import { latency, round } from './stats.js';

export type StoreKind = 'local' | 'postgres';

/** `--store` values (repeatable, or `both`) as the backends to measure, in a fixed order. */
export function parseStores(values: string[]): StoreKind[] {
  const wanted = new Set<StoreKind>();
  for (const value of values.flatMap((v) => v.split(','))) {
    if (value === 'both') {
      wanted.add('local');
      wanted.add('postgres');
    } else if (value === 'local' || value === 'postgres') wanted.add(value);
    else throw new Error(`--store takes local, postgres or both (got ${JSON.stringify(value)})`);
  }
  return (['local', 'postgres'] as const).filter((kind) => wanted.has(kind));
}

/** A database of its own for one run, so the copy starts empty and nothing is left behind. */
export async function createBenchDatabase(adminUrl: string, log: (line: string) => void): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `kb_bench_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    log(`created database ${name} for this run (dropped at the end; a run that fails leaves it behind)`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Copies the local knowledge base in `dataDir` into the database as kb:migrate does, sentence cache
 * included: without it the first answers on PostgreSQL would embed sentences again and the ask
 * figures would measure the embedder, not the store.
 */
export async function copyLocalIntoPostgres(dataDir: string, url: string, log: (line: string) => void) {
  const source = new LocalStore({ dataDir });
  const target = await openKnowledgeStore({ databaseUrl: url, dataDir, listen: false });
  try {
    const t0 = performance.now();
    const report = await copyKnowledge(source, target, { log: (line) => log(`  copied ${line}`) });
    const base = report.tenants[0];
    return {
      articles: base.articles,
      passages: base.passages,
      seconds: round((performance.now() - t0) / 1000, 1),
      sentenceCache: { vectors: base.sentenceVectors, entities: base.sentenceEntities },
    };
  } finally {
    await source.close();
    await target.close();
  }
}

/** Candidates retrieval takes from each side (KnowledgeBaseOptions.candidates' default). */
const SEARCH_CANDIDATES = 50;

export interface ColdStart {
  seconds: number;
  rssMb: number;
  steadyRssMb: number;
  firstAskMs: number;
  runs: number;
}

/**
 * Median of three fresh processes opening the knowledge base as `npm start` does (cold-start.ts:
 * `openApp`), on PostgreSQL when `databaseUrl` is given, else on the files in `dataDir` (a
 * DATABASE_URL in the bench's own environment is not passed on, so "local" stays local).
 */
export function coldStart(dataDir: string, model: string, databaseUrl?: string): ColdStart {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  const runs = [0, 1, 2].map(() => {
    const line = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench/cold-start.ts', dataDir, model], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: databaseUrl ? { ...env, DATABASE_URL: databaseUrl } : env,
    });
    return JSON.parse(line.trim().split('\n').pop()!) as { readyMs: number; rssMb: number; steadyRssMb: number; firstAskMs: number };
  });
  runs.sort((a, b) => a.readyMs - b.readyMs);
  const median = runs[1];
  return { seconds: round(median.readyMs / 1000, 2), rssMb: Math.round(median.rssMb), steadyRssMb: Math.round(median.steadyRssMb), firstAskMs: round(median.firstAskMs, 1), runs: runs.length };
}

/**
 * `ask` latency split by stage after 20 warm-up questions, how often the first passage is from the
 * question's article, and the two sides of the store's search timed on their own (dense top-k and
 * BM25 top-k, as many candidates as retrieval takes), to tell which one a slow search spends on.
 */
export async function measureAsks(kb: KnowledgeBase, questions: BenchQuestion[], embed: (texts: string[]) => Promise<Float32Array[]>) {
  for (const q of questions.slice(0, 20)) await kb.ask(q.question);
  const samples = { embed: [] as number[], search: [] as number[], compose: [] as number[], total: [] as number[] };
  let top1 = 0;
  for (const q of questions) {
    const r = await kb.ask(q.question);
    samples.embed.push(r.timings.embed);
    samples.search.push(r.timings.search);
    samples.compose.push(r.timings.compose);
    samples.total.push(r.timings.total);
    const { passages } = await kb.retrieve(q.question, { topK: 1 });
    if (passages[0]?.articleTitle === normalizeWhitespace(q.title)) top1++;
  }
  const vectors = await embed(questions.map((q) => q.question));
  const dense: number[] = [];
  const lexical: number[] = [];
  for (const [i, q] of questions.entries()) {
    let s = performance.now();
    await kb.tenant.searchDense(vectors[i], SEARCH_CANDIDATES);
    dense.push(performance.now() - s);
    s = performance.now();
    await kb.tenant.searchLexical(q.question, SEARCH_CANDIDATES);
    lexical.push(performance.now() - s);
  }
  return {
    questions: questions.length,
    denseOnly: latency(dense),
    lexicalOnly: latency(lexical),
    embed: latency(samples.embed),
    search: latency(samples.search),
    compose: latency(samples.compose),
    ask: latency(samples.total),
    articleHit1: round(top1 / Math.max(1, questions.length), 3),
  };
}
