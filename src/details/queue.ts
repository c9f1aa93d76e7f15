/**
 * The rows waiting for their processing steps (`getDetailsByRecipient`): a bounded FIFO queue kept in the
 * integration context under `detailsQueue`, apart from the fetch state (state.ts), so neither document's
 * version depends on the other. Pure: parsing, enqueueing, the per-5-minute cap; drain.ts does the I/O.
 *
 * {
 *   "v": 1,
 *   "items": [{"id": "…", "recipient": "…", "sender": "…", "status": "failed",
 *              "received": "2026-11-25T16:00:00.000Z", "tries": 0}],   oldest first
 *   "lookups": [1764500000000, …],     start times of detail lookups in the last 5 minutes (the cap)
 *   "dropped": 0,                      rows not queued because the queue was full, ever
 *   "gaveUp": 0,                       lookups given up after MAX_TRIES failures, ever
 *   "notFound": 0                      lookups Graph answered 404 (trace expired), ever
 * }
 *
 * An item is keyed by (trace id, recipient, status): the same row read again (a re-read of the look-back,
 * or a window sent again after a crash) is queued once. When the queue is full, a new row is not queued and
 * `dropped` counts it: what is queued is never pushed out, so a queued lookup is never lost.
 */
import * as z from 'zod';
import type { JsonObject, TraceEvent } from '../engine/types.js';

/** At most this many rows wait for details (about 150 characters each in the integration context). */
export const DETAILS_QUEUE_LIMIT = 1000;
/** A lookup failing this many times (not for the budget or the deadline) is given up and counted. */
export const MAX_TRIES = 3;
/** The cap counts lookups in any rolling window of this length. */
export const CAP_WINDOW_MS = 300_000;

export interface QueuedRow {
  id: string;
  recipient: string;
  sender: string | undefined;
  status: string;
  /** ISO 8601 UTC: the row's receivedDateTime, as its event's `_time`. */
  received: string;
  tries: number;
}

export interface DetailsQueue {
  items: QueuedRow[];
  lookups: number[];
  dropped: number;
  gaveUp: number;
  notFound: number;
}

const count = z.number().int().nonnegative().catch(0);
const queueSchema = z.object({
  v: z.literal(1),
  items: z.array(
    z.object({
      id: z.string().min(1),
      recipient: z.string().min(1),
      sender: z.string().optional(),
      status: z.string().min(1),
      received: z.string(),
      tries: count,
    }),
  ),
  lookups: z.array(z.number()).catch([]),
  dropped: count,
  gaveUp: count,
  notFound: count,
});

export function emptyQueue(): DetailsQueue {
  return { items: [], lookups: [], dropped: 0, gaveUp: 0, notFound: 0 };
}

/** The stored queue; `undefined` when what is stored is not a queue (the caller warns and starts empty). */
export function parseQueue(stored: unknown): DetailsQueue | undefined {
  if (stored === undefined) return emptyQueue();
  const parsed = queueSchema.safeParse(stored);
  if (!parsed.success) return undefined;
  const { items, lookups, dropped, gaveUp, notFound } = parsed.data;
  return {
    items: items.map((item) => ({ ...item, sender: item.sender })),
    lookups,
    dropped,
    gaveUp,
    notFound,
  };
}

export function serializeQueue(queue: DetailsQueue): JsonObject {
  return {
    v: 1,
    items: queue.items.map((item) => ({
      id: item.id,
      recipient: item.recipient,
      ...(item.sender !== undefined ? { sender: item.sender } : {}),
      status: item.status,
      received: item.received,
      tries: item.tries,
    })),
    lookups: queue.lookups,
    dropped: queue.dropped,
    gaveUp: queue.gaveUp,
    notFound: queue.notFound,
  };
}

export function itemKey(item: Pick<QueuedRow, 'id' | 'recipient' | 'status'>): string {
  return `${item.id}\u0000${item.recipient.toLowerCase()}\u0000${item.status.toLowerCase()}`;
}

/** Statuses as `details_statuses` gives them (lower case). */
export type ChosenStatuses = ReadonlySet<string>;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The trace events whose status was chosen, as queue items; events without a recipient have no details. */
export function chosenRows(events: readonly TraceEvent[], statuses: ChosenStatuses): QueuedRow[] {
  const rows: QueuedRow[] = [];
  for (const event of events) {
    const id = text(event.id);
    const recipient = text(event.recipientAddress);
    const status = text(event.status);
    if (id === undefined || recipient === undefined || status === undefined || !statuses.has(status.toLowerCase())) continue;
    rows.push({ id, recipient, sender: text(event.senderAddress), status, received: event._time, tries: 0 });
  }
  return rows;
}

export interface Enqueued {
  queue: DetailsQueue;
  added: number;
  /** Rows not queued: the queue was full. */
  dropped: number;
}

/** Appends rows not queued yet, up to DETAILS_QUEUE_LIMIT; the rest are counted in `dropped`. */
export function enqueue(queue: DetailsQueue, rows: readonly QueuedRow[], limit = DETAILS_QUEUE_LIMIT): Enqueued {
  const keys = new Set(queue.items.map(itemKey));
  const items = [...queue.items];
  let added = 0;
  let dropped = 0;
  for (const row of rows) {
    const key = itemKey(row);
    if (keys.has(key)) continue;
    if (items.length >= limit) {
      dropped++;
      continue;
    }
    keys.add(key);
    items.push(row);
    added++;
  }
  return { queue: { ...queue, items, dropped: queue.dropped + dropped }, added, dropped };
}

/** Lookups still counting against the cap at `nowMs` (a clock that jumped back drops the future ones). */
export function liveLookups(lookups: readonly number[], nowMs: number): number[] {
  return lookups.filter((t) => t > nowMs - CAP_WINDOW_MS && t <= nowMs);
}

/** Lookups the cap allows right now. */
export function lookupsAllowed(queue: DetailsQueue, nowMs: number, capPer5Min: number): number {
  return Math.max(0, capPer5Min - liveLookups(queue.lookups, nowMs).length);
}

/** The queue with a lookup recorded at `nowMs` (recorded before it goes out, so a crash still counts it). */
export function recordLookup(queue: DetailsQueue, nowMs: number): DetailsQueue {
  return { ...queue, lookups: [...liveLookups(queue.lookups, nowMs), nowMs] };
}

/** Removes the item with `key` (its details were handed on, or it is given up). */
export function withoutItem(queue: DetailsQueue, key: string): DetailsQueue {
  return { ...queue, items: queue.items.filter((item) => itemKey(item) !== key) };
}

/**
 * After a failed lookup: the item goes to the back with one more try, or is given up (and counted) at
 * MAX_TRIES, so one row Graph keeps refusing never blocks the rows behind it.
 */
export function afterFailure(queue: DetailsQueue, key: string): { queue: DetailsQueue; gaveUp: boolean } {
  const item = queue.items.find((candidate) => itemKey(candidate) === key);
  if (item === undefined) return { queue, gaveUp: false };
  const rest = withoutItem(queue, key);
  if (item.tries + 1 >= MAX_TRIES) return { queue: { ...rest, gaveUp: queue.gaveUp + 1 }, gaveUp: true };
  return { queue: { ...rest, items: [...rest.items, { ...item, tries: item.tries + 1 }] }, gaveUp: false };
}
