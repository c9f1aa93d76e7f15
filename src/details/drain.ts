/**
 * The I/O around the details queue (queue.ts): filling it from the trace events a window is about to send,
 * and draining it after the run's trace windows.
 *
 * Order, for at-least-once without a lost lookup:
 * - fill: the chosen rows of a window are queued and the queue saved BEFORE the window's events are sent
 *   and the fetch position saved (run.ts calls `beforeSend`). A crash in between sends the window again
 *   next run, and its rows meet their own queue entries (deduplicated by key).
 * - drain: a lookup is recorded in the queue (for the cap) before it goes out; its item is removed only
 *   after its detail events were handed to the engine. A crash in between looks the row up again: the same
 *   detail events, with the same `detailKey`s, are sent twice at worst.
 *
 * The drain never starves collection: it runs only after the trace windows, only while the run's deadline
 * allows, at most `capPer5Min` lookups in any 5 minutes, and only while the shared request budget keeps a
 * reserve for the next runs' listing (`listingReserve`).
 */
import { readContextKey, writeContextKey } from '../engine/context-store.js';
import { EVENT_META, type Engine, type TraceEvent } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import type { GraphClient } from '../graph/types.js';
import type { BudgetShape } from '../http/budget.js';
import { detailEvents } from './event.js';
import {
  afterFailure,
  type ChosenStatuses,
  chosenRows,
  type DetailsQueue,
  emptyQueue,
  enqueue,
  itemKey,
  lookupsAllowed,
  parseQueue,
  recordLookup,
  serializeQueue,
  withoutItem,
} from './queue.js';

export const DEFAULT_DETAILS_PER_5MIN = 10;

async function loadQueue(engine: Engine): Promise<DetailsQueue> {
  const queue = parseQueue(await readContextKey(engine, 'detailsQueue'));
  if (queue !== undefined) return queue;
  engine.log.warn('The stored details queue is unreadable; starting an empty one (the rows it held get no details)');
  return emptyQueue();
}

function saveQueue(engine: Engine, queue: DetailsQueue): Promise<void> {
  return writeContextKey(engine, 'detailsQueue', serializeQueue(queue));
}

/** What run.ts calls before sending a window's events: queues their chosen rows, saved first. */
export function queueChosenRows(engine: Engine, statuses: ChosenStatuses): (events: readonly TraceEvent[]) => Promise<void> {
  return async (events) => {
    const rows = chosenRows(events, statuses);
    if (rows.length === 0) return;
    const result = enqueue(await loadQueue(engine), rows);
    if (result.added === 0 && result.dropped === 0) return;
    await saveQueue(engine, result.queue);
    if (result.dropped > 0) {
      engine.log.warn('The details queue is full: rows not queued get no detail events; lower details_statuses or raise details_max_per_5min', {
        notQueued: result.dropped,
        queued: result.queue.items.length,
      });
    }
  };
}

/** Requests of the shared budget the drain leaves free: half the budget, or what this run's listing took. */
export function listingReserve(shape: BudgetShape, listingRequests: number): number {
  return Math.max(Math.ceil(shape.limit / 2), listingRequests);
}

export type DrainStop = 'empty' | 'cap' | 'request_budget' | 'time_budget' | 'graph_error' | 'aborted';

export interface DrainSummary {
  lookups: number;
  events: number;
  /** Rows still waiting. */
  queued: number;
  stopReason: DrainStop;
  /** Since the queue began: rows not queued (full), lookups given up, traces Graph no longer had. */
  droppedTotal: number;
  gaveUpTotal: number;
  notFoundTotal: number;
}

export interface DrainOptions {
  /** The engine that sends (direction and format applied), as the trace events were sent. */
  engine: Engine;
  graph: GraphClient;
  capPer5Min: number;
  /** Engine-clock epoch ms: no lookup starts after it. */
  deadlineMs: number;
  /** Requests of the shared budget the drain must leave free. */
  reserve: number;
  signal?: AbortSignal | undefined;
}

export async function drainDetails(options: DrainOptions): Promise<DrainSummary> {
  const { engine, graph, signal } = options;
  let queue = await loadQueue(engine);
  let lookups = 0;
  let sent = 0;
  let stopReason: DrainStop = 'empty';
  for (;;) {
    const item = queue.items[0];
    if (item === undefined) break;
    const now = engine.now();
    if (signal?.aborted) {
      stopReason = 'aborted';
      break;
    }
    if (now >= options.deadlineMs) {
      stopReason = 'time_budget';
      break;
    }
    if (lookupsAllowed(queue, now, options.capPer5Min) === 0) {
      stopReason = 'cap';
      break;
    }
    if (graph.budget && (await graph.budget.remaining()) <= options.reserve) {
      stopReason = 'request_budget';
      break;
    }
    const key = itemKey(item);
    queue = recordLookup(queue, now);
    await saveQueue(engine, queue);
    lookups++;
    let events: TraceEvent[];
    try {
      events = detailEvents(item, await graph.getDetailsByRecipient(item.id, item.recipient, signal));
    } catch (error) {
      if (isIntegrationError(error) && error.status === 404) {
        // Graph no longer has this trace (past 90 days): nothing to wait for.
        queue = { ...withoutItem(queue, key), notFound: queue.notFound + 1 };
        await saveQueue(engine, queue);
        continue;
      }
      if (isIntegrationError(error) && (error.code === 'request_budget_exhausted' || error.code === 'deadline_exceeded')) {
        // Not the row's fault: it stays at the head, untouched.
        stopReason = error.code === 'request_budget_exhausted' ? 'request_budget' : 'time_budget';
        break;
      }
      if (signal?.aborted) {
        stopReason = 'aborted';
        break;
      }
      const failed = afterFailure(queue, key);
      queue = failed.queue;
      await saveQueue(engine, queue);
      engine.log.warn(failed.gaveUp ? 'Details lookup failed again: given up for this row' : 'Details lookup failed: it is tried again next run', {
        traceId: item.id,
        code: isIntegrationError(error) ? error.code : 'unexpected',
        status: isIntegrationError(error) ? error.status : undefined,
      });
      stopReason = 'graph_error';
      break;
    }
    if (events.length > 0) await engine.sendEvents(events, EVENT_META);
    sent += events.length;
    queue = withoutItem(queue, key);
    await saveQueue(engine, queue);
  }
  const summary: DrainSummary = {
    lookups,
    events: sent,
    queued: queue.items.length,
    stopReason,
    droppedTotal: queue.dropped,
    gaveUpTotal: queue.gaveUp,
    notFoundTotal: queue.notFound,
  };
  if (lookups > 0 || queue.items.length > 0) engine.log.info('Details drained', { ...summary });
  return summary;
}
