/**
 * `npm run bench -- --servers N [--corpus DIR] [--idle-ms MS]`: a bot with a knowledge base per
 * server (KB_SCOPE=server). Creates N small servers (two articles each, taken from the corpus), asks
 * in each, and prints the process's RSS as servers are added (memory must stay flat: idle servers
 * are closed) and the first-question latency of a cold server (open its files + answer) next to a
 * warm one. Everything runs in this process on a temporary folder; nothing is sent anywhere.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KnowledgeAdmin } from '../../src/core/admin/index.js';
import { startEmbedder } from '../../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { loadDirectory } from '../../src/core/load/index.js';
import { ServerRegistry } from '../../src/core/servers/registry.js';
import type { RawArticle } from '../../src/core/types.js';
import { latency, round } from './stats.js';

export interface ServersBenchOptions {
  servers: number;
  corpus: string;
  idleMs: number;
  model: string;
  out: string;
  log: (line: string) => void;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const serverId = (i: number) => String(100_000_000_000_000_000n + BigInt(i));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two short articles per server: the first three paragraphs of corpus articles (synthetic text when the corpus is small). */
function articlesFor(i: number, corpus: RawArticle[]): RawArticle[] {
  return [0, 1].map((k) => {
    const source = corpus[(2 * i + k) % Math.max(1, corpus.length)];
    const body = source
      ? source.body.split(/\n\s*\n/).slice(0, 3).join('\n\n')
      : `Server ${i} note ${k}: the club meets on Thursday evenings at the library to plan the summer fair and its raffle.`;
    return { title: `${source?.title ?? 'Club notes'} (server ${i}, ${k})`, body, origin: `bench-${i}-${k}` };
  });
}

export async function runServersBench(opts: ServersBenchOptions): Promise<void> {
  const { log } = opts;
  const work = mkdtempSync(join(tmpdir(), 'bench-servers-'));
  const embedder = await startEmbedder({ model: opts.model, modelsDir: 'models', quantized: true, loadTimeoutMs: 8000 }, { log });
  const dataDir = join(work, 'data');
  const base = await KnowledgeBase.open({ dataDir, embedder });
  await base.ingest((await loadDirectory('knowledge')).articles);
  const { articles: corpus } = await loadDirectory(opts.corpus);
  const registry = new ServerRegistry({
    policy: { scope: 'server', baseLayer: true, adminServerIds: [] },
    base,
    baseAdmin: new KnowledgeAdmin({ kb: base }),
    embedder,
    dataDir,
    idleCloseMs: opts.idleMs,
  });
  const actor = { id: 'bench', name: 'bench', via: 'bench' };
  const rss: { servers: number; open: number; rssMB: number; heapMB: number }[] = [];
  const sample = (servers: number) => {
    global.gc?.();
    const m = process.memoryUsage();
    rss.push({ servers, open: registry.openServers.length, rssMB: mb(m.rss), heapMB: mb(m.heapUsed) });
  };
  try {
    sample(0);
    const started = performance.now();
    for (let i = 0; i < opts.servers; i++) {
      const [first, second] = articlesFor(i, corpus);
      await registry.use(serverId(i), async (scope) => {
        await scope.admin!.add(first, actor);
        await scope.admin!.add(second, actor);
        await scope.reader.ask(`What does ${first.title} say?`);
      });
      if ((i + 1) % Math.max(1, Math.floor(opts.servers / 8)) === 0 || i + 1 === opts.servers) {
        sample(i + 1);
        log(`  ${i + 1} servers created, ${registry.openServers.length} open, RSS ${rss[rss.length - 1].rssMB} MB`);
      }
    }
    const createSeconds = (performance.now() - started) / 1000;
    // Let every server go idle (unless the run measures keeping them all open), then ask in each
    // once cold (its files opened) and once warm.
    const settle = () => (opts.idleMs <= 60_000 ? sleep(opts.idleMs + 500) : Promise.resolve());
    await settle();
    sample(opts.servers);
    const cold: number[] = [];
    const warm: number[] = [];
    const open: number[] = [];
    const count = Math.min(opts.servers, 50);
    for (let i = 0; i < count; i++) {
      const question = `What does ${articlesFor(i, corpus)[0].title} say?`;
      const t0 = performance.now();
      const lease = await registry.acquire(serverId(i));
      const t1 = performance.now();
      await lease.scope.reader.ask(question);
      const t2 = performance.now();
      await lease.scope.reader.ask(question);
      const t3 = performance.now();
      lease.release();
      open.push(t1 - t0);
      cold.push(t2 - t0);
      warm.push(t3 - t2);
    }
    await settle();
    sample(opts.servers);
    const figures = {
      date: new Date().toISOString(),
      model: embedder.info.model,
      servers: opts.servers,
      idleCloseMs: opts.idleMs,
      createSeconds: round(createSeconds, 1),
      rss,
      coldFirstQuestionMs: latency(cold),
      openServerMs: latency(open),
      warmQuestionMs: latency(warm),
    };
    console.log(`\n| servers | open | RSS MB | heap MB |\n|---:|---:|---:|---:|`);
    for (const r of rss) console.log(`| ${r.servers} | ${r.open} | ${r.rssMB} | ${r.heapMB} |`);
    const row = (name: string, l: ReturnType<typeof latency>) => `| ${name} | ${l.p50} | ${l.p95} | ${l.max} |`;
    console.log(`\n| ${count} servers, ms | p50 | p95 | max |\n|---|---:|---:|---:|`);
    console.log(row('open a cold server', figures.openServerMs));
    console.log(row('first question, cold (open + ask)', figures.coldFirstQuestionMs));
    console.log(row('next question, warm', figures.warmQuestionMs));
    console.log(`\n${opts.servers} servers created (2 articles each) in ${figures.createSeconds} s`);
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(JSON.stringify(figures));
  } finally {
    await registry.close();
    await base.close();
    await embedder.close();
    rmSync(work, { recursive: true, force: true });
  }
}
