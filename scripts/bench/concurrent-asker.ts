/**
 * One asker process of `npm run bench -- --concurrent` (concurrent.ts): opens the PostgreSQL
 * knowledge base as the bot does (its own pool and embedder), warms up, says ready, and on "go"
 * runs its askers back to back until the window closes, then reports every latency.
 */
import type { Embedder } from '../../src/core/embed/embedder.js';
import { startEmbedder } from '../../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { openKnowledgeStore } from '../../src/core/store/open.js';
import type { AskerMessage } from './concurrent.js';

interface Setup {
  url: string;
  model: string;
  hashEmbedder: boolean;
  askers: number;
  questions: string[];
  /** This process's number: each starts at another place in the questions. */
  offset: number;
}

const send = (m: AskerMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
const message = <T>(test: (m: any) => boolean) =>
  new Promise<T>((resolve) => {
    const on = (m: any) => {
      if (!test(m)) return;
      process.off('message', on);
      resolve(m as T);
    };
    process.on('message', on);
  });

// The parent going away (killed, or its time-out) ends this process too.
process.on('disconnect', () => process.exit(1));

const setup = await message<Setup>((m) => typeof m?.url === 'string');
try {
  const embedder: Embedder = setup.hashEmbedder
    ? new (await import('../../test/helpers/hash-embedder.js')).HashEmbedder()
    : await startEmbedder({ model: setup.model, modelsDir: 'models', quantized: true, loadTimeoutMs: 8000 });
  const store = await openKnowledgeStore({ databaseUrl: setup.url, dataDir: 'unused' });
  const kb = await KnowledgeBase.open({ store, embedder });
  const { questions, askers } = setup;
  const start = (asker: number) => (setup.offset * askers + asker) * Math.max(1, Math.floor(questions.length / (askers * 4)));
  // Warm-up: a few questions per asker, so the window measures answering, not the first connections.
  await Promise.all(Array.from({ length: askers }, (_, a) => Promise.all([0, 1].map((j) => kb.ask(questions[(start(a) + j) % questions.length])))));
  const go = message<{ seconds: number }>((m) => m?.go === true);
  await send({ kind: 'ready' });
  const { seconds } = await go;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: askers }, async (_, a) => {
      for (let i = start(a) + 2; performance.now() < deadline; i++) {
        const s = performance.now();
        try {
          await kb.ask(questions[i % questions.length]);
          latencies.push(performance.now() - s);
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - t0;
  await send({ kind: 'done', latencies, failed, elapsedMs, ...(firstError ? { firstError } : {}) });
  await kb.close();
  await store.close();
  await embedder.close();
  process.exit(0);
} catch (error) {
  await send({ kind: 'failed', error: (error as Error).stack ?? String(error) });
  process.exit(1);
}
