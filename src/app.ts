import { existsSync } from 'node:fs';
import type { Config } from './config.js';
import type { Embedder } from './core/embed/embedder.js';
import { join } from 'node:path';
import { startEmbedder } from './core/embed/worker-pool.js';
import { Catalog } from './core/store/catalog.js';
import { KnowledgeAdmin } from './core/admin/index.js';
import { KnowledgeBase, type Actor, type IngestProgress, type IngestReport, type ReindexReport } from './core/knowledge-base.js';
import { loadDirectory } from './core/load/index.js';
import type { Logger } from './logger.js';

/** The running core: what every adapter (terminal chat, Discord, scripts) is handed. */
export interface App {
  config: Config;
  logger: Logger;
  embedder: Embedder;
  kb: KnowledgeBase;
  /** Moderation (`/kb`): add, replace, remove, reindex, with the knowledge folder kept in step. */
  admin?: KnowledgeAdmin;
  close(): Promise<void>;
}

/** The moderation service for a knowledge base, configured from the settings. */
export function createAdmin(config: Config, kb: KnowledgeBase, log?: (line: string) => void): KnowledgeAdmin {
  return new KnowledgeAdmin({
    kb,
    knowledgeDir: config.knowledgeDir,
    syncFiles: config.kb?.syncKnowledgeDir,
    maxUploadBytes: config.kb?.maxUploadBytes,
    log,
  });
}

export interface OpenAppOptions {
  /** Drop the index and re-embed (npm run ingest -- --rebuild). */
  rebuild?: boolean;
  /**
   * When the index was built with another model than EMBEDDING_MODEL: `'stale'` (the bot, the
   * chat, ingest) opens it and answers from BM25 until a reindex; `'error'` (npm run ask) refuses
   * with a message that says to run `npm run ingest -- --rebuild`. Default 'stale'.
   */
  onModelMismatch?: 'stale' | 'error';
}

/**
 * Starts the embedder off the main thread (a worker per core for the single-threaded bundled
 * encoder, so adapters stay responsive and ingest uses both cores) and opens the knowledge base.
 */
export async function openApp(config: Config, logger: Logger, options: OpenAppOptions = {}): Promise<App> {
  const indexModel = options.rebuild ? undefined : Catalog.peekModel(join(config.dataDir, 'catalog.sqlite'))?.model;
  const embedder = await startEmbedder(
    { model: config.embedding.model, modelsDir: config.embedding.modelsDir, quantized: config.embedding.quantized, loadTimeoutMs: config.embedding.loadTimeoutMs, indexModel },
    { log: (line) => logger.info(line) },
  );
  try {
    const kb = await KnowledgeBase.open({
      dataDir: config.dataDir,
      embedder,
      maxQuestionChars: config.maxQuestionChars,
      rebuild: options.rebuild,
      // After EMBEDDING_MODEL changed: open, answer from BM25 until a reindex (/kb reindex, npm run ingest).
      onModelMismatch: options.onModelMismatch ?? 'stale',
      log: (line) => logger.warn(line),
    });
    if (kb.startup.vectors === 'rebuilt') logger.warn(`start-up check: ${kb.startup.reason}; the vector index was rebuilt from the catalog`);
    return {
      config,
      logger,
      embedder,
      kb,
      admin: createAdmin(config, kb, (line) => logger.info(line)),
      async close() {
        await kb.close();
        await embedder.close();
      },
    };
  } catch (error) {
    await embedder.close();
    throw error;
  }
}

export interface DirectoryIngestReport extends IngestReport {
  skipped: { file: string; reason: string }[];
  /** Set when the stored articles were first re-embedded because EMBEDDING_MODEL changed. */
  reindexed?: ReindexReport;
}

const INGEST_ACTOR: Actor = { id: 'cli', name: 'npm run ingest', via: 'cli' };

/**
 * Loads every supported file of a folder and ingests it; unreadable files are reported, not fatal.
 * The same path as `/kb add` (KnowledgeBase.ingest): a file the bot wrote into the folder is found unchanged.
 */
export async function ingestDirectory(
  kb: KnowledgeBase,
  dir: string,
  onProgress?: (progress: IngestProgress) => void,
): Promise<DirectoryIngestReport> {
  if (!existsSync(dir)) throw new Error(`The knowledge folder ${dir} does not exist. Create it and put .md, .txt, .html or .pdf articles in it, or set KNOWLEDGE_DIR.`);
  const { articles, skipped } = await loadDirectory(dir);
  const reindexed = kb.needsReindex ? await kb.reindex({ actor: INGEST_ACTOR }) : undefined;
  const report = await kb.ingest(articles, { onProgress, actor: INGEST_ACTOR });
  return { ...report, skipped, ...(reindexed ? { reindexed } : {}) };
}

/** Builds the index from the knowledge folder when it is empty (first start), logging what it did. */
export async function ensureIndexed(app: App): Promise<void> {
  if (app.kb.stats().passages > 0) return;
  app.logger.info(`The index is empty: building it from ${app.config.knowledgeDir}`);
  const report = await ingestDirectory(app.kb, app.config.knowledgeDir);
  for (const s of report.skipped) app.logger.warn(`skipped ${s.file}: ${s.reason}`);
  app.logger.info(
    `Indexed ${report.articles} articles, ${report.passages} passages (${report.duplicatesDropped} duplicates dropped) in ${report.seconds.toFixed(1)} s`,
  );
}
