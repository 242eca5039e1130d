import type { KnowledgeAdmin } from '../admin/index.js';
import { feedStoreOf } from '../store/feeds.js';
import { LocalFeedStore } from '../store/local/feeds.js';
import type { FeedStore } from '../store/port.js';

const byCatalog = new WeakMap<object, FeedStore>();

/**
 * The feeds of `admin`'s knowledge base, through the storage port's `FeedStore`. `KnowledgeBase`
 * still runs on its own SQLite catalog (moving it onto the port is issue 13's next step), so this
 * is the local backend's FeedStore over that catalog; once it runs on a `TenantStore`, this returns
 * the tenant's `feeds` and the poller works on PostgreSQL unchanged.
 */
export function feedsOf(admin: KnowledgeAdmin): FeedStore {
  const db = admin.kb.catalog.db;
  let store = byCatalog.get(db);
  if (!store) {
    store = new LocalFeedStore(feedStoreOf(db));
    byCatalog.set(db, store);
  }
  return store;
}
