/**
 * Detail events: one event per processing step of one queued row, apart from the trace events.
 *
 * {
 *   "_time": "…",                          the step's dateTime (ISO 8601 UTC)
 *   "eventType": "messageTraceDetail",     trace events carry no eventType
 *   "detailKey": "<trace id>/<recipient>/<step>",  one step's identity: a lookup repeated (after a crash
 *                                          before the queue was saved) sends the same keys again
 *   "traceId", "recipientAddress", "senderAddress", "traceStatus", "traceReceivedDateTime": the row's
 *   "step": 1, 2, …                        the step's place in time order
 *   "dateTime", "event", "action", "description", "data", "messageId", …: Graph's step, every field
 * }
 */
import type { TraceEvent } from '../engine/types.js';
import { parseGraphInstant, toIsoUtc } from '../graph/instant.js';
import type { MessageTraceDetail } from '../graph/types.js';
import type { QueuedRow } from './queue.js';

export const DETAIL_EVENT_TYPE = 'messageTraceDetail';

export function isDetailEvent(event: Record<string, unknown>): boolean {
  return event.eventType === DETAIL_EVENT_TYPE;
}

export function detailKey(traceId: string, recipient: string, step: number): string {
  return `${traceId}/${recipient.toLowerCase()}/${step}`;
}

/** The steps in time order (Graph documents none), as events; a step without a readable time keeps the row's. */
export function detailEvents(row: QueuedRow, steps: readonly MessageTraceDetail[]): TraceEvent[] {
  const timed = steps.map((step) => ({ step, instant: parseGraphInstant(step.dateTime) }));
  timed.sort((a, b) => (a.instant?.epochMs ?? 0) - (b.instant?.epochMs ?? 0));
  return timed.map(({ step, instant }, index) => ({
    ...step,
    _time: instant ? toIsoUtc(instant) : row.received,
    eventType: DETAIL_EVENT_TYPE,
    detailKey: detailKey(row.id, row.recipient, index + 1),
    traceId: row.id,
    recipientAddress: row.recipient,
    ...(row.sender !== undefined ? { senderAddress: row.sender } : {}),
    traceStatus: row.status,
    traceReceivedDateTime: row.received,
    step: index + 1,
  }));
}
