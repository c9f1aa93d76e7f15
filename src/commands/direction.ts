/**
 * Gives every event of a command its `direction`: the tenant's domains are resolved once per command
 * (parameter and, when asked for, Graph at most daily), then applied to each event as it is handed on.
 */
import { mapSentEvents } from '../engine/map-sent-events.js';
import type { Engine } from '../engine/types.js';
import { type TenantDomains, withDirection } from '../graph/direction.js';
import { type DomainsReader, resolveTenantDomains } from '../graph/tenant-domains.js';
import type { CommandContext } from './types.js';

export function tenantDomainsFor(context: CommandContext, graph: DomainsReader): Promise<TenantDomains> {
  return resolveTenantDomains({
    configured: context.params.internalDomains ?? [],
    discover: context.params.discoverDomains ?? false,
    engine: context.engine,
    graph,
  });
}

/** The engine whose `sendEvents` adds `direction` to each event first. */
export function withDirectionOnSend(engine: Engine, domains: TenantDomains): Engine {
  return mapSentEvents(engine, (events) => events.map((event) => withDirection(event, domains)));
}
