import type { ServerRegistry } from '../servers/registry.js';
import type { FeedTenants, Tenant } from './index.js';

/**
 * The knowledge bases a bot's poller serves: the operator's (always open) and, with
 * `KB_SCOPE=server`, every server's own that it is still in. The store says which have a feed due
 * without opening them (locally one small read-only look per catalog; on PostgreSQL one query),
 * so servers without feeds stay closed.
 */
export function registryTenants(registry: ServerRegistry): FeedTenants {
  return {
    async due(now: Date): Promise<Tenant[]> {
      const due: Tenant[] = [];
      for (const tenant of await registry.baseAdmin.kb.store.tenantsWithFeedsDue(now)) {
        if (tenant === null) due.push(null);
        else if (registry.policy.scope === 'server' && !(await registry.serverStatus(tenant))?.leftAt) due.push(tenant);
      }
      return due;
    },
    use(tenant, work) {
      return tenant === null ? work(registry.baseAdmin) : registry.useOwn(tenant, work);
    },
  };
}
