import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import type { Embedder } from '../core/embed/embedder.js';
import { KnowledgeBase, UserInputError } from '../core/knowledge-base.js';
import { localCatalogPath, openKnowledgeStore } from '../core/store/open.js';

/**
 * Opens a knowledge base as it is stored, without loading an embedding model: for scripts that
 * read or move articles (export, purge) but never embed. The embedder only names the recorded
 * model; calling it is a bug.
 */
export async function openStoredKnowledgeBase(
  config: Pick<Config, 'dataDir' | 'databaseUrl'>,
  what: string,
  tenant: string | null = null,
): Promise<{ kb: KnowledgeBase; close(): Promise<void> }> {
  const catalog = localCatalogPath(config.dataDir, tenant);
  if (!config.databaseUrl && !existsSync(catalog)) {
    throw new UserInputError(`No catalog at ${catalog}: nothing to ${what} (check DATA_DIR, or run npm run ingest first).`);
  }
  const store = await openKnowledgeStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    if (tenant !== null && config.databaseUrl && !(await store.tenants()).includes(tenant)) {
      throw new UserInputError(`Server ${tenant} has no knowledge base in the database: nothing to ${what}.`);
    }
    const model = await store.modelOf(tenant);
    const kb = await KnowledgeBase.open({ store, tenant, embedder: namingEmbedder(model ?? { model: 'none', dimension: 1, normalized: true }, what), onModelMismatch: 'stale' });
    return {
      kb,
      async close() {
        await kb.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
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
