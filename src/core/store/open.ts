import { LocalStore, type LocalStoreOptions } from './local/index.js';
export { localCatalogPath } from './local/index.js';
import type { KnowledgeStore } from './port.js';
import { PostgresStore, type PostgresStoreOptions } from './postgres/index.js';

/** `postgres://…` or `postgresql://…` selects the PostgreSQL backend; anything else is not a database URL. */
export function isDatabaseUrl(value: string | undefined): value is string {
  return value !== undefined && /^postgres(ql)?:\/\//.test(value);
}

/** The store a deployment is configured for: PostgreSQL when a database URL is given, else the data folder. */
export async function openKnowledgeStore(
  options: { databaseUrl?: string; dataDir: string } & Omit<LocalStoreOptions, 'dataDir'> & Omit<PostgresStoreOptions, 'url'>,
): Promise<KnowledgeStore> {
  const { databaseUrl, dataDir, ...rest } = options;
  if (databaseUrl) {
    if (!isDatabaseUrl(databaseUrl)) throw new Error(`DATABASE_URL must start with postgres:// (got ${JSON.stringify(String(databaseUrl).slice(0, 24))})`);
    return PostgresStore.connect({ ...rest, url: databaseUrl });
  }
  return new LocalStore({ ...rest, dataDir });
}
