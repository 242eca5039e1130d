/**
 * The set-up the answer-step model tests share: the tiny embedding model (and whatever answer
 * models the test builds) on one embedding worker, and a knowledge base holding the seed article
 * that composes answers with that worker's models, all under one temporary directory.
 * One per test file: onnxruntime-node allows one worker thread per process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startEmbedder, type StartEmbedderOptions, type WorkerPoolEmbedder } from '../../src/core/embed/worker-pool.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { loadDirectory } from '../../src/core/load/index.js';
import { buildTinyModel } from './tiny-model.js';

const TINY_EMBEDDING = 'test/tiny-bert';
/** A hub that refuses connections at once: nothing here may wait on the real network. */
const UNREACHABLE_HUB = 'http://127.0.0.1:9/';

export interface SeedKbWithAnswerModels {
  dir: string;
  pool: WorkerPoolEmbedder;
  kb: KnowledgeBase;
  /** Closes the knowledge base and the worker, deletes the directory. */
  close(): Promise<void>;
}

export interface SeedKbWithAnswerModelsOptions {
  tempPrefix: string;
  /** Writes the answer models the test loads into `modelsDir` (<dir>/models). */
  buildAnswerModels?: (modelsDir: string) => Promise<unknown>;
  /** Whether a model missing from <dir>/models is looked for on the (unreachable) hub. */
  allowRemote: boolean;
  answerModels: StartEmbedderOptions['answerModels'];
  log: (line: string) => void;
}

/**
 * Starts the set-up once before the file's tests and closes it after them; `ready` receives it
 * (the tests keep their own variables for its parts).
 */
export function shareSeedKbWithAnswerModels(options: SeedKbWithAnswerModelsOptions, ready: (setup: SeedKbWithAnswerModels) => void): void {
  let setup: SeedKbWithAnswerModels | undefined;
  beforeAll(async () => {
    setup = await startSeedKbWithAnswerModels(options);
    ready(setup);
  });
  afterAll(async () => {
    await setup?.close();
  });
}

async function startSeedKbWithAnswerModels(options: SeedKbWithAnswerModelsOptions): Promise<SeedKbWithAnswerModels> {
  const dir = await mkdtemp(join(tmpdir(), options.tempPrefix));
  let pool: WorkerPoolEmbedder | undefined;
  let kb: KnowledgeBase | undefined;
  const close = async () => {
    await kb?.close();
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const models = join(dir, 'models');
    await Promise.all([buildTinyModel(models, TINY_EMBEDDING), options.buildAnswerModels?.(models)]);
    pool = await startEmbedder(
      { model: TINY_EMBEDDING, modelsDir: models, quantized: true, loadTimeoutMs: 10_000, allowRemote: options.allowRemote, remoteHost: UNREACHABLE_HUB },
      { log: options.log, answerModels: options.answerModels },
    );
    kb = await KnowledgeBase.open({ dataDir: join(dir, 'data'), embedder: pool, compose: { models: pool } });
    await kb.ingest((await loadDirectory('knowledge')).articles);
    return { dir, pool, kb, close };
  } catch (error) {
    // afterAll still runs after a failed beforeAll, but would find nothing to close.
    await close();
    throw error;
  }
}
