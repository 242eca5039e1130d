import { existsSync } from 'node:fs';
import type { Config } from './config.js';
import type { AnswerModels } from './core/answer-models.js';
import type { Embedder } from './core/embed/embedder.js';
import { DeferredEmbedder, sameEmbedderInfo } from './core/embed/deferred-embedder.js';
import { BUNDLED_MODEL_ID } from './core/embed/model-ids.js';
import { startEmbedder, type WorkerPoolEmbedder } from './core/embed/worker-pool.js';
import { openKnowledgeStore } from './core/store/open.js';
import { KnowledgeAdmin } from './core/admin/index.js';
import { KnowledgeBase, type Actor, type IngestProgress, type IngestReport, type ReindexReport } from './core/knowledge-base.js';
import { loadDirectory } from './core/load/index.js';
import { ServerRegistry } from './core/servers/registry.js';
import type { SummaryService } from './core/summarize/service.js';
import type { Logger } from './logger.js';

/** The running core: what every adapter (terminal chat, Discord, scripts) is handed. */
export interface App {
  config: Config;
  logger: Logger;
  embedder: Embedder;
  /** RERANK_MODEL / READER_MODEL on the embedding worker, when either is set (each one present once loaded). */
  answerModels?: AnswerModels;
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
    fetch: { allowedPorts: config.kb?.fetchAllowedPorts },
    log,
  });
}

/**
 * The knowledge bases of the servers the bot is in (KB_SCOPE, KB_BASE, KB_ADMIN_GUILD_IDS and the
 * per-server limits): the operator's knowledge base (`app.kb`) is the shared one or the base layer.
 */
export function createServerRegistry(
  app: Pick<App, 'config' | 'logger' | 'kb' | 'embedder' | 'answerModels'>,
  options: { baseAdmin: KnowledgeAdmin; baseSummaries?: SummaryService; joinedServers?: () => number },
): ServerRegistry {
  const { config } = app;
  return new ServerRegistry({
    policy: { scope: config.kb.scope, baseLayer: config.kb.baseLayer, adminServerIds: config.kb.adminGuildIds },
    base: app.kb,
    baseAdmin: options.baseAdmin,
    ...(options.baseSummaries ? { baseSummaries: options.baseSummaries } : {}),
    embedder: app.embedder,
    dataDir: config.dataDir,
    kbOptions: {
      maxQuestionChars: config.maxQuestionChars,
      sentenceVectorsAtIngest: config.sentenceVectorsAtIngest,
      ...(app.answerModels ? { compose: { models: app.answerModels } } : {}),
    },
    adminOptions: { maxUploadBytes: config.kb.maxUploadBytes, fetch: { allowedPorts: config.kb.fetchAllowedPorts } },
    limits: { maxArticles: config.kb.maxArticlesPerServer, maxPassages: config.kb.maxPassagesPerServer },
    idleCloseMs: config.kb.idleCloseMinutes * 60_000,
    retentionDays: config.kb.retentionDays,
    joinedServers: options.joinedServers,
    log: (line) => app.logger.info(line),
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
  /**
   * No embedding worker runs and none can be started (after back-off): questions cannot be
   * answered. Default: log it as fatal and stop the process (exit code 1) so a supervisor
   * restarts it, instead of answering every question with an error id.
   */
  onEmbedderUnavailable?: (error: Error) => void;
}

function stopNotReady(logger: Logger, error: Error): void {
  logger.fatal(`${error.message} The bot is not ready and stops now (exit code 1); fix the model set-up (EMBEDDING_MODEL, MODELS_DIR) or restart it.`);
  process.exitCode = 1;
  process.kill(process.pid, 'SIGTERM');
}

/**
 * Starts the embedder off the main thread (a worker per core for the single-threaded bundled
 * encoder, so adapters stay responsive and ingest uses both cores) and opens the knowledge base.
 */
export async function openApp(config: Config, logger: Logger, options: OpenAppOptions = {}): Promise<App> {
  // PostgreSQL with DATABASE_URL, else the files in DATA_DIR; every knowledge base (the operator's and the servers') lives in it.
  const store = await openKnowledgeStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log: (line) => logger.info(line) });
  let recorded;
  try {
    recorded = options.rebuild ? undefined : await store.modelOf(null);
  } catch (error) {
    await store.close();
    throw error;
  }
  const spec = {
    model: config.embedding.model,
    modelsDir: config.embedding.modelsDir,
    quantized: config.embedding.quantized,
    loadTimeoutMs: config.embedding.loadTimeoutMs,
    indexModel: recorded?.model,
  };
  let pool: WorkerPoolEmbedder | undefined;
  const loading = startEmbedder(spec, {
    log: (line) => logger.info(line),
    onUnavailable: (error) => (options.onEmbedderUnavailable ?? ((e: Error) => stopNotReady(logger, e)))(error),
    answerModels: config.answerModels,
  }).then((started) => (pool = started));
  // The knowledge base may open before the models have loaded: each question reads the pool's models as they are then.
  const answerModels: AnswerModels | undefined =
    config.answerModels.rerank || config.answerModels.reader
      ? {
          get reranker() {
            return pool?.reranker;
          },
          get reader() {
            return pool?.reader;
          },
        }
      : undefined;
  // When the index's model is the one that will load, open the index while the model loads.
  const expected = recorded && willLoad(config.embedding.model, recorded.model) ? recorded : undefined;
  const openKb = (embedder: Embedder) =>
    KnowledgeBase.open({
      store,
      tenant: null,
      dataDir: config.dataDir,
      embedder,
      maxQuestionChars: config.maxQuestionChars,
      sentenceVectorsAtIngest: config.sentenceVectorsAtIngest,
      ...(answerModels ? { compose: { models: answerModels } } : {}),
      rebuild: options.rebuild,
      // After EMBEDDING_MODEL changed: open, answer from BM25 until a reindex (/kb reindex, npm run ingest).
      onModelMismatch: options.onModelMismatch ?? 'stale',
      log: (line) => logger.warn(line),
    });
  let embedder: Embedder | undefined;
  let kb: KnowledgeBase | undefined;
  try {
    if (expected) {
      const deferred = new DeferredEmbedder(expected, loading);
      kb = await openKb(deferred);
      const real = await loading;
      if (sameEmbedderInfo(real.info, expected)) embedder = deferred;
      else {
        await kb.close();
        kb = undefined;
        embedder = real;
      }
    } else {
      embedder = await loading;
    }
    kb ??= await openKb(embedder);
  } catch (error) {
    await kb?.close();
    await store.close();
    await (embedder ?? (await loading.catch(() => undefined)))?.close();
    throw error;
  }
  if (kb.startup?.vectors === 'rebuilt') logger.warn(`start-up check: ${kb.startup.reason}; the vector index was rebuilt from the catalog`);
  const opened = kb;
  const model = embedder;
  return {
    config,
    logger,
    embedder: model,
    ...(answerModels ? { answerModels } : {}),
    kb: opened,
    admin: createAdmin(config, opened, (line) => logger.info(line)),
    async close() {
      await opened.close();
      await store.close();
      await model.close();
    },
  };
}

/** Whether EMBEDDING_MODEL resolves to the model an index was built with (see createEmbedder). */
function willLoad(setting: string, indexModel: string): boolean {
  const model = setting.trim();
  if (indexModel === BUNDLED_MODEL_ID) return model === 'auto' || model === '' || model === 'bundled';
  return model === indexModel;
}

export interface DirectoryIngestReport extends IngestReport {
  skipped: { file: string; reason: string }[];
  /** What loading changed in a file's article (a title that was cut). */
  notes: { file: string; note: string }[];
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
  const refused = report.refused.map((r) => ({ file: r.origin, reason: r.reason }));
  const notes = articles.flatMap((a) => (a.notes ?? []).map((note) => ({ file: a.origin, note })));
  return { ...report, skipped: [...skipped, ...refused], notes, ...(reindexed ? { reindexed } : {}) };
}

/** Builds the index from the knowledge folder when it is empty (first start), logging what it did. */
export async function ensureIndexed(app: App): Promise<void> {
  if ((await app.kb.tenant.state()).passages > 0) return;
  app.logger.info(`The index is empty: building it from ${app.config.knowledgeDir}`);
  const report = await ingestDirectory(app.kb, app.config.knowledgeDir);
  for (const s of report.skipped) app.logger.warn(`skipped ${s.file}: ${s.reason}`);
  app.logger.info(
    `Indexed ${report.articles} articles, ${report.passages} passages (${report.duplicatesDropped} duplicates dropped) in ${report.seconds.toFixed(1)} s`,
  );
}
