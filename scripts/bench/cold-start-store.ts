/**
 * Child process of `npm run bench -- --store …`: opens a knowledge base the way the bot will on
 * either backend (the embedder workers start while the store opens, then the knowledge base opens
 * on that store) and reports, as one JSON line, the milliseconds from process start to ready and
 * the RSS. cold-start.ts measures `openApp` itself, which opens only the local store until app.ts
 * reads DATABASE_URL; this one measures both backends the same way.
 * Usage: node --import tsx scripts/bench/cold-start-store.ts DATA_DIR MODEL [DATABASE_URL]
 */
import { startEmbedder } from '../../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { openKnowledgeStore } from '../../src/core/store/open.js';

const [dataDir, model, databaseUrl] = process.argv.slice(2);
const [embedder, store] = await Promise.all([
  startEmbedder({ model, modelsDir: 'models', quantized: true, loadTimeoutMs: 8000 }, {}),
  openKnowledgeStore({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) }),
]);
const kb = await KnowledgeBase.open({ store, embedder });
const readyMs = performance.now();
const rssMb = process.memoryUsage().rss / 2 ** 20;
const first = await kb.ask('What did the minister say about the economy?');
const pool = embedder as { whenComplete?: () => Promise<void> };
await pool.whenComplete?.();
const steadyRssMb = process.memoryUsage().rss / 2 ** 20;
console.log(JSON.stringify({ readyMs, rssMb, steadyRssMb, firstAskMs: first.timings.total, passages: (await kb.stats()).passages }));
await kb.close();
await store.close();
await embedder.close();
