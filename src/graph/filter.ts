/**
 * The OData `$filter` for a message trace listing, built from typed values only.
 *
 * Time bounds: Graph documents `receivedDateTime ge {start} and receivedDateTime le {end}` with times as
 * `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds), both bounds inclusive
 * (https://learn.microsoft.com/en-us/graph/api/messagetracingroot-list-messagetraces). Rows carry sub-second
 * precision (`…:56.1234567Z`), so whole-second bounds cannot express every instant:
 *
 * - the start is floored: `ge 10:00:00` also returns rows from 10:00:00.000 up to the requested 10:00:00.7;
 * - the end is floored too: `le 10:00:00` returns a row at exactly 10:00:00.000 but NOT one at 10:00:00.5.
 *   Rounding the end up instead would put an end of "now" in the future, which Graph refuses (400).
 *
 * So one listing covers exactly the closed interval [effectiveStartMs, effectiveEndMs] of instants. A caller
 * planning consecutive windows must start the next window at the previous `effectiveEndMs` (the same
 * second), never one second later: `ge 10:00:01` would lose every row in (10:00:00, 10:00:01). Rows at
 * exactly the shared second come back in both windows and must be deduplicated.
 */
import { floorSecond, graphTime } from './limits.js';
import type { MessageTraceFilters, MessageTraceQuery } from './types.js';

/** The instants one listing actually covers: `effectiveStartMs <= t <= effectiveEndMs`. */
export interface EffectiveBounds {
  effectiveStartMs: number;
  effectiveEndMs: number;
  /** The literals sent, `YYYY-MM-DDThh:mm:ssZ`. */
  ge: string;
  le: string;
}

export function effectiveBounds(startMs: number, endMs: number): EffectiveBounds {
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) throw new RangeError('Time bounds must be finite.');
  const effectiveStartMs = floorSecond(startMs);
  const effectiveEndMs = floorSecond(endMs);
  if (effectiveEndMs < effectiveStartMs) throw new RangeError('The end of a listing is before its start.');
  return { effectiveStartMs, effectiveEndMs, ge: graphTime(effectiveStartMs), le: graphTime(effectiveEndMs) };
}

/** An OData string literal: single quotes around, every `'` inside doubled. Nothing else needs escaping. */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const EQ_FILTERS: ReadonlyArray<readonly [keyof MessageTraceFilters, string]> = [
  ['senderAddress', 'senderAddress'],
  ['recipientAddress', 'recipientAddress'],
  ['status', 'status'],
  ['messageId', 'messageId'],
];

/** The `$filter` text for a query, and the bounds it really covers. Empty filter values are left out. */
export function buildMessageTraceFilter(query: Pick<MessageTraceQuery, 'startMs' | 'endMs' | 'filters'>): {
  filter: string;
  bounds: EffectiveBounds;
} {
  const bounds = effectiveBounds(query.startMs, query.endMs);
  const clauses = [`receivedDateTime ge ${bounds.ge}`, `receivedDateTime le ${bounds.le}`];
  const filters = query.filters ?? {};
  for (const [key, property] of EQ_FILTERS) {
    const value = filters[key];
    if (value !== undefined && value !== '') clauses.push(`${property} eq ${odataString(value)}`);
  }
  if (filters.subjectContains !== undefined && filters.subjectContains !== '') {
    clauses.push(`contains(subject,${odataString(filters.subjectContains)})`);
  }
  return { filter: clauses.join(' and '), bounds };
}
