import type { KnowledgeAdmin } from '../admin/index.js';
import type { FeedStore } from '../store/port.js';

/** The feeds of `admin`'s knowledge base: its tenant's `FeedStore` (local or PostgreSQL alike). */
export function feedsOf(admin: KnowledgeAdmin): FeedStore {
  return admin.kb.tenant.feeds;
}
