/**
 * Child process of the benchmark: opens a built knowledge base exactly the way `npm start` does
 * (openApp: embedder workers and the store, local files or DATABASE_URL) and reports, as one JSON line, the
 * milliseconds from process start to ready-to-answer and the RSS.
 * Usage: node --import tsx scripts/bench/cold-start.ts DATA_DIR MODEL
 */
import { openApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

const [dataDir, model] = process.argv.slice(2);
const config = loadConfig({ ...process.env, DATA_DIR: dataDir, EMBEDDING_MODEL: model, LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });
const app = await openApp(config, createLogger(config.log));
const readyMs = performance.now();
const rssMb = process.memoryUsage().rss / 2 ** 20;
const first = await app.kb.ask('What did the minister say about the economy?');
// Extra embedding workers join after "ready"; the RSS once they have is the steady state.
const pool = app.embedder as { whenComplete?: () => Promise<void> };
await pool.whenComplete?.();
const steadyRssMb = process.memoryUsage().rss / 2 ** 20;
console.log(JSON.stringify({ readyMs, rssMb, steadyRssMb, firstAskMs: first.timings.total, passages: (await app.kb.stats()).passages }));
await app.close();
