import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerRegistry } from '../servers/registry.js';
import { SqliteFeedStore } from '../store/feeds.js';
import type { FeedTenants, Tenant } from './index.js';

const SERVER_ID = /^\d{1,20}$/;

/**
 * The knowledge bases a bot's poller serves: the operator's (always open) and, with
 * `KB_SCOPE=server`, every server's own. A server folder is only opened when its catalog has a
 * feed due, so servers without feeds cost one small read per tick and stay closed.
 */
export function registryTenants(registry: ServerRegistry): FeedTenants {
  return {
    async due(now: Date): Promise<Tenant[]> {
      const due: Tenant[] = [];
      if ((await registry.baseAdmin.kb.tenant.feeds.due(now)).length > 0) due.push(null);
      if (registry.policy.scope !== 'server') return due;
      const root = registry.serversDir;
      if (!existsSync(root)) return due;
      for (const id of readdirSync(root)) {
        if (!SERVER_ID.test(id) || (await registry.serverStatus(id))?.leftAt) continue;
        try {
          if (SqliteFeedStore.hasDue(join(root, id, 'catalog.sqlite'), now)) due.push(id);
        } catch {
          // A catalog being created or purged right now: looked at again next tick.
        }
      }
      return due;
    },
    use(tenant, work) {
      return tenant === null ? work(registry.baseAdmin) : registry.useOwn(tenant, work);
    },
  };
}
