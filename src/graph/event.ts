/**
 * A Graph row as an event: every field of the row, plus `_time` (its receivedDateTime in ISO 8601 UTC with
 * milliseconds). Shared by get-events and the fetch loop (fetch/fold.ts).
 */
import type { TraceEvent } from '../engine/types.js';
import { compareGraphInstants, graphInstantMs, isoUtcOfMs, parseGraphInstant } from './instant.js';
import type { MessageTraceRow } from './types.js';

/**
 * The row becomes the event: the same object, with `_time` added. Rows are made for this by JSON.parse and
 * the page schema, and nothing else holds them once they are events; a copy of every row (thousands a
 * second) cost more CPU than the rest of building an event. `receivedMs` is the row's receivedDateTime in
 * epoch milliseconds when the caller already has it (the collection path).
 */
export function rowToEvent(row: MessageTraceRow, receivedMs?: number): TraceEvent {
  const epochMs = receivedMs ?? graphInstantMs(row.receivedDateTime);
  // Rows come through the page schema, which already refused unparseable times.
  if (epochMs === undefined) throw new RangeError('receivedDateTime is not an ISO 8601 date-time.');
  const event: Record<string, unknown> = row;
  event._time = isoUtcOfMs(epochMs);
  return event as TraceEvent;
}

/**
 * Ascending by receivedDateTime compared as numbers (mixed fractional precision), then by id and recipient
 * so the order is the same whatever order Graph sent.
 */
export function compareRowsByReceived(a: MessageTraceRow, b: MessageTraceRow): number {
  const ta = parseGraphInstant(a.receivedDateTime);
  const tb = parseGraphInstant(b.receivedDateTime);
  const byTime = ta && tb ? compareGraphInstants(ta, tb) : 0;
  if (byTime !== 0) return byTime;
  return compareText(a.id, b.id) || compareText(a.recipientAddress ?? '', b.recipientAddress ?? '') || compareText(a.status, b.status);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The identity of one row as returned: a status change makes a new row. */
export function rowKey(row: MessageTraceRow): string {
  return JSON.stringify([row.id, row.recipientAddress ?? null, row.status]);
}
