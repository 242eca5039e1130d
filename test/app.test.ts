import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureIndexed, openApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { DeferredEmbedder } from '../src/core/embed/deferred-embedder.js';
import { KnowledgeBase, ModelMismatchError } from '../src/core/knowledge-base.js';
import { HashEmbedder } from './helpers/hash-embedder.js';
import { startPglite } from './helpers/pglite-server.js';

const QUESTION = 'Where did the talks between the U.S. and Hamas take place?';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(model = 'bundled') {
  const dataDir = mkdtempSync(join(tmpdir(), 'app-test-'));
  dirs.push(dataDir);
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l).msg) });
  return { config: loadConfig({ DATA_DIR: dataDir, KNOWLEDGE_DIR: 'knowledge', EMBEDDING_MODEL: model }), logger, lines, dataDir };
}

describe('openApp', () => {
  it('builds the index on first start, then opens it while the model loads on the next', async () => {
    const { config, logger } = setup();
    let app = await openApp(config, logger);
    await ensureIndexed(app);
    expect((await app.kb.ask(QUESTION)).answer).toContain('Qatar');
    await app.close();

    app = await openApp(config, logger);
    expect(app.embedder).toBeInstanceOf(DeferredEmbedder);
    expect(app.kb.startup!.vectors).toBe('loaded');
    const result = await app.kb.ask(QUESTION);
    expect(result.answer).toContain('Qatar');
    expect(result.sources[0].paragraph).toBe(4);
    await app.close();
  });

  it('keeps the knowledge base in PostgreSQL with DATABASE_URL (PGlite here): built once, found again, nothing in DATA_DIR', async () => {
    const pg = await startPglite();
    try {
      const { logger, dataDir } = setup();
      const config = loadConfig({ DATA_DIR: dataDir, KNOWLEDGE_DIR: 'knowledge', EMBEDDING_MODEL: 'bundled', DATABASE_URL: pg.url });
      let app = await openApp(config, logger);
      expect(app.kb.store.kind).toBe('postgres');
      await ensureIndexed(app);
      expect((await app.kb.ask(QUESTION)).answer).toContain('Qatar');
      await app.close();
      expect(existsSync(join(dataDir, 'catalog.sqlite'))).toBe(false);

      app = await openApp(config, logger);
      // The model recorded in the database picks the embedder, so the index is opened while it loads.
      expect(app.embedder).toBeInstanceOf(DeferredEmbedder);
      expect((await app.kb.stats()).articles).toBeGreaterThan(0);
      expect((await app.kb.ask(QUESTION)).answer).toContain('Qatar');
      await app.close();
    } finally {
      await pg.stop();
    }
  });

  it('opens an index built with another model for the bot (BM25 until reindex) but npm run ask refuses it', async () => {
    const { config, logger, dataDir } = setup();
    const kb = await KnowledgeBase.open({ dataDir, embedder: new HashEmbedder(64, 'test/other') });
    await kb.ingest([{ title: 'Other model article', body: 'The talks took place in Qatar in March, officials said on Monday.', origin: 't' }]);
    await kb.close();
    await expect(openApp(config, logger, { onModelMismatch: 'error' })).rejects.toThrow(ModelMismatchError);
    const app = await openApp(config, logger);
    expect(app.kb.needsReindex).toBe(true);
    expect((await app.kb.ask('Where did the talks take place?')).answer).toContain('Qatar');
    await app.close();
  });
});
