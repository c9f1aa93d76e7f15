/**
 * What a tool or a test needs to run the integration against the simulated tenant and judge the result:
 * instance params that point at it, and a comparison of delivered events with its ground truth. Like the
 * rest of the simulator it imports nothing from the client side: params and events are plain records, so
 * `npm run demo`, `npm run docs`, the end-to-end tests and the benchmarks all use this one copy.
 */
import { RETRY_AFTER_FORMS } from './faults.js';
import type { SimulatedTenant } from './index.js';
import type { SimulatorStats } from './stats.js';
import type { GroundTruthRow } from './truth.js';

/** Raw instance params (as `main` takes them) pointing at the simulator over HTTPS, verification on with its CA. */
export function instanceParams(sim: SimulatedTenant, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    url: sim.graphUrl,
    authority_url: sim.authorityUrl,
    tenant_id: sim.tenantId,
    client_id: sim.clientId,
    client_secret: sim.clientSecret,
    ca_certificate: sim.caCertPem,
    insecure: false,
    ...extra,
  };
}

export interface Comparison {
  expected: number;
  delivered: number;
  missing: string[];
  duplicated: string[];
  unexpected: string[];
  /** Ground-truth rows whose status changed, with more than one of their statuses delivered. */
  statusChangesCaught: number;
  rowsWithStatusChanges: number;
}

export function keyOf(id: unknown, recipient: unknown, status: unknown): string {
  return `${String(id)}|${String(recipient)}|${String(status)}`;
}

/**
 * Compares delivered events with the ground truth of rows received in [startMs, endMs): every
 * (id, recipient, final status) must be there; a key delivered twice is a duplicate; a delivered key that is
 * no status the row ever had is unexpected. Events outside the range are ignored.
 */
export function compareWithTruth(
  truth: readonly GroundTruthRow[],
  events: readonly Record<string, unknown>[],
  startMs: number,
  endMs: number,
): Comparison {
  const inRange = (text: unknown) => {
    const ms = Date.parse(String(text));
    return ms >= startMs && ms < endMs;
  };
  const rows = truth.filter((row) => inRange(row.receivedDateTime));
  const counts = new Map<string, number>();
  for (const event of events) {
    if (!inRange(event.receivedDateTime)) continue;
    const key = keyOf(event.id, event.recipientAddress, event.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const valid = new Set<string>();
  const missing: string[] = [];
  let statusChangesCaught = 0;
  let rowsWithStatusChanges = 0;
  for (const row of rows) {
    for (const change of row.statusHistory) valid.add(keyOf(row.id, row.recipientAddress, change.status));
    const finalKey = keyOf(row.id, row.recipientAddress, row.finalStatus);
    if (!counts.has(finalKey)) missing.push(finalKey);
    if (row.statusHistory.length > 1) {
      rowsWithStatusChanges++;
      const seen = row.statusHistory.filter((change) => counts.has(keyOf(row.id, row.recipientAddress, change.status)));
      if (seen.length > 1) statusChangesCaught++;
    }
  }
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([key]) => key);
  const unexpected = [...counts.keys()].filter((key) => !valid.has(key));
  let delivered = 0;
  for (const n of counts.values()) delivered += n;
  return {
    expected: rows.length,
    delivered,
    missing,
    duplicated,
    unexpected,
    statusChangesCaught,
    rowsWithStatusChanges,
  };
}

/**
 * What a run against the simulator has not met yet, from `/_simulator/stats`: each named fault kind, each
 * Retry-After form, a recalled row served as `recalled`, a PascalCase response and a null field. Empty when a
 * run may claim it exercised all of them.
 */
export function notYetExercised(stats: SimulatorStats, faultKinds: readonly string[]): string[] {
  const missing: string[] = [];
  for (const kind of faultKinds) if ((stats.faultsByKind[kind] ?? 0) === 0) missing.push(`fault ${kind}`);
  for (const form of RETRY_AFTER_FORMS) if (stats.retryAfterForms[form] === 0) missing.push(`Retry-After ${form}`);
  if (stats.served.recalled === 0) missing.push('recalled row');
  if (stats.served.pascalCaseResponses === 0) missing.push('PascalCase response');
  if (stats.served.nullFields === 0) missing.push('null field');
  return missing;
}

/** One line per behaviour for the demo and the soak: how often each was met. */
export function exercisedSummary(stats: SimulatorStats): Record<string, string> {
  const { served, retryAfterForms } = stats;
  return {
    faults: Object.entries(stats.faultsByKind)
      .map(([kind, n]) => `${kind} ×${n}`)
      .join(', '),
    retryAfter: `seconds ${retryAfterForms.seconds}, HTTP-date ${retryAfterForms.httpDate}, none ${retryAfterForms.none} (429 and 503 responses; throttled by the quota ${stats.throttled})`,
    recalled: `${served.recalled} rows served as recalled, ${served.unknownFutureValue} as unknownFutureValue (requests without Prefer: include-unknown-enum-members: ${served.requestsWithoutPrefer})`,
    pascalCase: `${served.pascalCaseResponses} responses with PascalCase statuses`,
    nulls: `${served.nullFields} null fields, ${served.ipv6FromIP} IPv6 fromIP served`,
  };
}
