import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Embedder } from '../core/embed/embedder.js';
import { KnowledgeBase, UserInputError } from '../core/knowledge-base.js';
import { Catalog } from '../core/store/catalog.js';

/**
 * Opens a knowledge base as it is stored, without loading an embedding model: for scripts that
 * read or move articles (export, purge) but never embed. The embedder only names the recorded
 * model; calling it is a bug.
 */
export async function openStoredKnowledgeBase(dataDir: string, what: string): Promise<KnowledgeBase> {
  const file = join(dataDir, 'catalog.sqlite');
  if (!existsSync(file)) throw new UserInputError(`No catalog at ${file}: nothing to ${what} (check DATA_DIR, or run npm run ingest first).`);
  const catalog = new Catalog(file);
  const model = catalog.model;
  catalog.close();
  return KnowledgeBase.open({ dataDir, embedder: namingEmbedder(model ?? { model: 'none', dimension: 1, normalized: true }, what), onModelMismatch: 'stale' });
}

/** An embedder that names a model and refuses to embed (scripts that must not load one). */
export function namingEmbedder(info: Embedder['info'], what: string): Embedder {
  return {
    info,
    embed: async () => {
      throw new Error(`${what} does not embed`);
    },
    close: async () => undefined,
  };
}
