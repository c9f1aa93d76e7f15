/**
 * The direction of a message for one recipient, from the sender's and the recipient's domains against the
 * tenant's own domains. Graph has no direction field; peers keep a hand-made list (Elastic's
 * `local_domains`) or read the tenant's domains (`GET /v1.0/domains`). Pure: the domain list is an input.
 *
 *   sender ours, recipient ours      → internal
 *   sender ours, recipient not ours  → outbound
 *   sender not ours, recipient ours  → inbound
 *   neither ours, an address missing or unreadable (the null sender `<>`), or no domains known → unknown
 */
import type { TraceEvent } from '../engine/types.js';

export const DIRECTIONS = ['inbound', 'outbound', 'internal', 'unknown'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The tenant's domains: exact names, and `*.name` patterns that match any subdomain of name. */
export interface TenantDomains {
  exact: ReadonlySet<string>;
  /** Suffixes with their leading dot, e.g. `.contoso.com` for `*.contoso.com`. */
  subdomainsOf: readonly string[];
}

export const NO_DOMAINS: TenantDomains = { exact: new Set(), subdomainsOf: [] };

function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** Builds the matcher from patterns (`contoso.com`, `*.contoso.com`); case and a trailing dot do not matter. */
export function tenantDomains(patterns: Iterable<string>): TenantDomains {
  const exact = new Set<string>();
  const subdomainsOf: string[] = [];
  for (const pattern of patterns) {
    const domain = normalizeDomain(pattern);
    if (domain === '') continue;
    if (domain.startsWith('*.')) subdomainsOf.push(domain.slice(1));
    else exact.add(domain);
  }
  return { exact, subdomainsOf };
}

export function hasDomains(domains: TenantDomains): boolean {
  return domains.exact.size > 0 || domains.subdomainsOf.length > 0;
}

/** The domain of an address (after the last @), or undefined when there is none. */
export function domainOf(address: unknown): string | undefined {
  if (typeof address !== 'string') return undefined;
  const at = address.lastIndexOf('@');
  if (at <= 0) return undefined;
  const domain = normalizeDomain(address.slice(at + 1).replace(/>$/, ''));
  return /^[a-z0-9.-]+\.[a-z0-9-]+$/.test(domain) ? domain : undefined;
}

export function isTenantDomain(domain: string, domains: TenantDomains): boolean {
  return domains.exact.has(domain) || domains.subdomainsOf.some((suffix) => domain.endsWith(suffix));
}

/** Which side an address is on: no readable domain, the tenant's, or another's. */
type Side = 'none' | 'ours' | 'theirs';

/**
 * Each tenant's addresses seen lately and their side: the same mailboxes and senders come back row after
 * row, and finding a domain (slice, lower case, a RegExp) cost as much as the rest of building an event.
 * Emptied when full, so it stays small whatever the traffic.
 */
const sides = new WeakMap<TenantDomains, Map<string, Side>>();
const SIDES_KEPT = 4096;

function sideOf(address: unknown, domains: TenantDomains): Side {
  if (typeof address !== 'string') return 'none';
  let known = sides.get(domains);
  if (known === undefined) {
    known = new Map();
    sides.set(domains, known);
  }
  let side = known.get(address);
  if (side === undefined) {
    const domain = domainOf(address);
    side = domain === undefined ? 'none' : isTenantDomain(domain, domains) ? 'ours' : 'theirs';
    if (known.size >= SIDES_KEPT) known.clear();
    known.set(address, side);
  }
  return side;
}

export function directionOf(sender: unknown, recipient: unknown, domains: TenantDomains): Direction {
  const from = sideOf(sender, domains);
  const to = sideOf(recipient, domains);
  if (from === 'none' || to === 'none') return 'unknown';
  if (from === 'ours') return to === 'ours' ? 'internal' : 'outbound';
  return to === 'ours' ? 'inbound' : 'unknown';
}

/**
 * The event with its `direction`, added in place: events are built for the send they are on their way to
 * (event.ts), and a copy of each would cost as much as the rest of the enrichment.
 */
export function withDirection(event: TraceEvent, domains: TenantDomains): TraceEvent {
  event.direction = directionOf(event.senderAddress, event.recipientAddress, domains);
  return event;
}
