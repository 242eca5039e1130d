import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../../src/core/embed/embedder.js';
import { KnowledgeBase } from '../../src/core/knowledge-base.js';
import { loadDirectory } from '../../src/core/load/index.js';

export interface SeedKnowledgeCopy {
  /** The temporary directory; the caller closes `kb` and deletes it. */
  dir: string;
  /** <dir>/knowledge: the copy of the repository's knowledge folder. */
  knowledge: string;
  /** <dir>/data, where `kb` keeps its files. */
  dataDir: string;
  /** Holds the copy's articles. */
  kb: KnowledgeBase;
}

/**
 * The repository's knowledge folder copied into a new temporary directory, so that moderation can
 * write to it without touching the repository, and a knowledge base holding its articles.
 */
export async function openSeedKnowledgeCopy(tempPrefix: string, embedder: Embedder): Promise<SeedKnowledgeCopy> {
  const dir = mkdtempSync(join(tmpdir(), tempPrefix));
  const knowledge = join(dir, 'knowledge');
  cpSync('knowledge', knowledge, { recursive: true });
  const dataDir = join(dir, 'data');
  const kb = await KnowledgeBase.open({ dataDir, embedder });
  await kb.ingest((await loadDirectory(knowledge)).articles);
  return { dir, knowledge, dataDir, kb };
}
