/**
 * The tenant's domains for the direction field: the `internal_domains` parameter, plus, when
 * `discover_domains` is on, the tenant's verified domains from `GET /v1.0/domains`
 * (https://learn.microsoft.com/graph/api/domain-list, application permission Domain.Read.All).
 *
 * The Graph list changes rarely, so it is read at most once a day and kept in the integration context
 * (key `tenantDomains`), shared by every command. Without Domain.Read.All Graph answers 403: that is said in
 * one warning naming the permission, remembered for a day (so it is not repeated every run), and the
 * parameter's list is used alone. Other failures (network, 5xx after retries) never stop collection:
 * a warning, the last list read (if any), and another try in an hour.
 */
import * as z from 'zod';
import { readContextKey, writeContextKey } from '../engine/context-store.js';
import type { Engine } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import { type TenantDomains, tenantDomains } from './direction.js';

export const DOMAINS_PATH = '/v1.0/domains?$select=id,isVerified';
export const DOMAINS_REFRESH_MS = 86_400_000;
export const DOMAINS_RETRY_MS = 3_600_000;
export const DOMAINS_PERMISSION = 'Domain.Read.All';

/** What Graph lists; only the fields used. Paging is not expected (a tenant has at most a few thousand). */
const domainsPageSchema = z.object({
  value: z.array(z.looseObject({ id: z.string().min(1), isVerified: z.boolean().optional() })),
});

/** What is kept in the integration context. */
const storedSchema = z.object({
  domains: z.array(z.string()),
  /** When the list was last read from Graph (0: never). */
  readAtMs: z.number(),
  /** No new read before this. */
  nextReadMs: z.number(),
  /** The last read was refused for want of Domain.Read.All. */
  missingPermission: z.boolean().optional(),
});
type StoredDomains = z.infer<typeof storedSchema>;

export interface DomainsReader {
  getJson(pathAndQuery: `/${string}`, what: string, signal?: AbortSignal): Promise<unknown>;
}

export interface TenantDomainsOptions {
  /** `internal_domains`, normalised. */
  configured: readonly string[];
  discover: boolean;
  engine: Engine;
  graph: DomainsReader;
  signal?: AbortSignal;
}

async function readStored(engine: Engine): Promise<StoredDomains | undefined> {
  const parsed = storedSchema.safeParse(await readContextKey(engine, 'tenantDomains'));
  return parsed.success ? parsed.data : undefined;
}

async function readFromGraph(options: TenantDomainsOptions, previous: StoredDomains | undefined): Promise<StoredDomains> {
  const { engine, graph } = options;
  const now = engine.now();
  try {
    const page = domainsPageSchema.parse(await graph.getJson(DOMAINS_PATH, "reading the tenant's domains", options.signal));
    // An unverified domain is one the tenant claims but has not proven: mail for it does not reach the tenant.
    const domains = page.value.filter((domain) => domain.isVerified !== false).map((domain) => domain.id.toLowerCase());
    engine.log.info("Read the tenant's verified domains from Microsoft Graph for the direction field", { domains: domains.length });
    return { domains, readAtMs: now, nextReadMs: now + DOMAINS_REFRESH_MS };
  } catch (error) {
    if (isIntegrationError(error) && error.status === 403) {
      engine.log.warn(
        `Reading the tenant's domains from Microsoft Graph was refused (403): the app lacks the Microsoft Graph application permission ${DOMAINS_PERMISSION}. ` +
          `Grant it with admin consent (API permissions > Add a permission > Microsoft Graph > Application permissions), or turn off discover_domains. ` +
          'Until then direction uses the Internal domains parameter alone; the next try is in a day.',
        { requestId: error.requestId },
      );
      return { domains: [], readAtMs: now, nextReadMs: now + DOMAINS_REFRESH_MS, missingPermission: true };
    }
    if (error instanceof Error && error.name === 'AbortError') throw error;
    const reason = isIntegrationError(error) ? error.fullMessage : error instanceof z.ZodError ? 'the answer is not a list of domains' : String(error);
    engine.log.warn(`Could not read the tenant's domains from Microsoft Graph; using the last list read (if any) and trying again in an hour: ${reason}`);
    return { domains: previous?.domains ?? [], readAtMs: previous?.readAtMs ?? 0, nextReadMs: now + DOMAINS_RETRY_MS };
  }
}

/** The domains direction is computed against: the parameter's, plus Graph's when asked for. */
export async function resolveTenantDomains(options: TenantDomainsOptions): Promise<TenantDomains> {
  if (!options.discover) return tenantDomains(options.configured);
  let stored = await readStored(options.engine);
  if (stored === undefined || options.engine.now() >= stored.nextReadMs) {
    stored = await readFromGraph(options, stored);
    await writeContextKey(options.engine, 'tenantDomains', stored);
  }
  return tenantDomains([...options.configured, ...stored.domains]);
}
