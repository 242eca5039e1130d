/**
 * `npm run bench -- --concurrent --database-url URL [--corpus DIR] [--index DIR] [--processes 2]
 * [--askers 8] [--seconds 30] [--hash-embedder]`: several bot processes asking one PostgreSQL
 * knowledge base at once, as shard processes would. The knowledge base is built (or reused with
 * --index) locally and copied into a database created for the run (kb:migrate's copy, nothing
 * embedded twice), then each process (concurrent-asker.ts) opens it with its own pool and embedder
 * and runs its askers back to back for the same wall-clock window. Prints throughput and the
 * latency of every `ask` as the asker saw it (queueing for the embedder and the pool included).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import type { Embedder } from '../../src/core/embed/embedder.js';
import { startEmbedder } from '../../src/core/embed/worker-pool.js';
import { loadDirectory } from '../../src/core/load/index.js';
import { questionsFromCorpus } from './questions.js';
import { latency, round, type Latency } from './stats.js';
import { copyLocalIntoPostgres, createBenchDatabase } from './stores.js';

export interface ConcurrentOptions {
  databaseUrl: string;
  corpus: string;
  /** The local index to build or reuse (the copy's source). */
  dataDir: string;
  processes: number;
  askers: number;
  seconds: number;
  questions: number;
  model: string;
  /** The test helpers' hash embedder instead of a real model: for a quick check that the mode works, not for figures. */
  hashEmbedder: boolean;
  log: (line: string) => void;
}

export interface ConcurrentFigures {
  processes: number;
  askersPerProcess: number;
  seconds: number;
  passages: number;
  embedder: string;
  asked: number;
  failed: number;
  questionsPerSecond: number;
  ask: Latency;
  /** os.loadavg() (1, 5, 15 min) when the askers started and when they stopped. */
  loadBefore: number[];
  loadAfter: number[];
  firstError?: string;
}

/** Messages between this process and concurrent-asker.ts. */
export type AskerMessage =
  | { kind: 'ready' }
  | { kind: 'done'; model: string; latencies: number[]; failed: number; elapsedMs: number; firstError?: string }
  | { kind: 'failed'; error: string };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The bench creates and drops a database and loads the server hard: only a server on this machine. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const { hostname } = new URL(url);
    return LOOPBACK.has(hostname) || hostname.startsWith('127.');
  } catch {
    return false;
  }
}

async function benchEmbedder(opts: ConcurrentOptions): Promise<Embedder> {
  if (opts.hashEmbedder) {
    const { HashEmbedder } = await import('../../test/helpers/hash-embedder.js');
    return new HashEmbedder();
  }
  return startEmbedder({ model: opts.model, modelsDir: 'models', quantized: true, loadTimeoutMs: 8000 }, { log: opts.log });
}

export async function runConcurrentBench(opts: ConcurrentOptions): Promise<ConcurrentFigures> {
  if (!isLoopbackUrl(opts.databaseUrl)) throw new Error('--concurrent runs against a PostgreSQL on this machine only (127.0.0.1, localhost or ::1)');
  const { articles } = await loadDirectory(opts.corpus);
  const embedder = await benchEmbedder(opts);
  const kb = await KnowledgeBase.open({ dataDir: opts.dataDir, embedder, sentenceVectorsAtIngest: true });
  try {
    const report = await kb.ingest(articles);
    opts.log(`index ${opts.dataDir}: ${report.articles} articles (${report.unchanged} unchanged), ${report.passages} passages`);
  } finally {
    await kb.close();
    await embedder.close();
  }
  const database = await createBenchDatabase(opts.databaseUrl, opts.log);
  const children: ChildProcess[] = [];
  try {
    const copy = await copyLocalIntoPostgres(opts.dataDir, database.url, opts.log);
    opts.log(`copied into PostgreSQL: ${JSON.stringify(copy)}`);
    const questions = questionsFromCorpus(articles, opts.questions).map((q) => q.question);
    const script = fileURLToPath(new URL('./concurrent-asker.ts', import.meta.url));
    const results: Promise<Extract<AskerMessage, { kind: 'done' }>>[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < opts.processes; i++) {
      const child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      let onReady!: () => void;
      ready.push(new Promise<void>((resolve) => (onReady = resolve)));
      results.push(
        new Promise((resolve, reject) => {
          child.on('message', (m: AskerMessage) => {
            if (m.kind === 'ready') onReady();
            else if (m.kind === 'done') resolve(m);
            else reject(new Error(`asker process ${i + 1}: ${m.error}`));
          });
          child.on('exit', (code) => reject(new Error(`asker process ${i + 1} exited (${code}) before reporting`)));
        }),
      );
      // A process that fails before it is ready must not leave the others waiting for it.
      results[i].catch(() => onReady());
      child.send({ url: database.url, model: opts.model, hashEmbedder: opts.hashEmbedder, askers: opts.askers, questions, offset: i });
    }
    await Promise.all(ready);
    opts.log(`${opts.processes} processes × ${opts.askers} askers for ${opts.seconds} s …`);
    const loadBefore = loadavg().map((x) => round(x, 2));
    // The window starts when every process is ready, so none asks alone while another still loads.
    for (const child of children) child.send({ go: true, seconds: opts.seconds });
    // An ask that never returns must not keep the bench running: the window plus a minute, then stop.
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the askers had not reported ${opts.seconds + 60} s after the start`)), (opts.seconds + 60) * 1000);
    });
    const done = await Promise.race([Promise.all(results), overdue]).finally(() => clearTimeout(timer));
    const loadAfter = loadavg().map((x) => round(x, 2));
    const all = done.flatMap((d) => d.latencies);
    const elapsed = Math.max(...done.map((d) => d.elapsedMs)) / 1000;
    return {
      processes: opts.processes,
      askersPerProcess: opts.askers,
      seconds: round(elapsed, 1),
      passages: copy.passages,
      embedder: opts.hashEmbedder ? 'hash (test helper)' : done[0].model,
      asked: all.length,
      failed: done.reduce((n, d) => n + d.failed, 0),
      questionsPerSecond: round(all.length / elapsed, 1),
      ask: latency(all),
      loadBefore,
      loadAfter,
      ...(done.find((d) => d.firstError) ? { firstError: done.find((d) => d.firstError)!.firstError } : {}),
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
    await database.drop();
  }
}

export function formatConcurrent(f: ConcurrentFigures): string[] {
  return [
    `| ${f.processes} processes × ${f.askersPerProcess} askers, one PostgreSQL knowledge base (${f.passages} passages, embedder ${f.embedder}) | |`,
    '|---|---|',
    `| questions answered | ${f.asked} in ${f.seconds} s (${f.failed} failed) |`,
    `| throughput | **${f.questionsPerSecond} questions/s** |`,
    `| \`ask\` p50 / p95 / p99 / max ms | ${f.ask.p50} / **${f.ask.p95}** / ${f.ask.p99} / ${f.ask.max} |`,
    `| load average (1, 5, 15 min) at start / end | ${f.loadBefore.join(', ')} / ${f.loadAfter.join(', ')} |`,
  ];
}
