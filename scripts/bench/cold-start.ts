/**
 * Child process of the benchmark: opens a built knowledge base the way `npm start` does and
 * reports, as one JSON line, the milliseconds from process start to ready-to-answer and the RSS.
 * Usage: tsx scripts/bench/cold-start.ts DATA_DIR MODEL
 */
import { WorkerEmbedder } from '../../src/core/embed/worker-embedder.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';

const [dataDir, model] = process.argv.slice(2);
const embedder = await WorkerEmbedder.start({ model, modelsDir: 'models', quantized: true, loadTimeoutMs: 8000 });
const kb = await KnowledgeBase.open({ dataDir, embedder });
const readyMs = performance.now();
const rssMb = process.memoryUsage().rss / 2 ** 20;
const first = await kb.ask('What did the minister say about the economy?');
console.log(JSON.stringify({ readyMs, rssMb, firstAskMs: first.timings.total, passages: kb.stats().passages }));
await kb.close();
await embedder.close();
