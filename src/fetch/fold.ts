/**
 * The fold: what one read window does to the fetch state, and the events it sends. No engine, no I/O, no
 * clock: the loop (run.ts) reads the window, folds it, sends the events, then saves the state, in that order.
 *
 * A window is folded page by page as it is read (its pages' events go to the sink as they arrive, so no
 * more than a page of rows is held): a page's rows inside [start, end] not seen before become events and
 * their keys join the seen set. Once the window was read whole, its end moves the state on by the cursor
 * rule (window.ts): the cursor only if it stood at the window's start, readUpTo to the end, the density from
 * the window's settled part, the re-read's position, the seen keys pruned behind the cursor.
 * A window given up part-way moves neither cursor nor readUpTo; the keys of the pages already sent stay in
 * the seen set (so reading the window again, shorter, sends none of them twice), and the density learns
 * from it, so the next plan is shorter.
 *
 * The seen set is the one large part of the state: the next state holds the same set, updated, instead of a
 * copy per window (the caller hands the old state over and keeps only the new one).
 */
import type { TraceEvent } from '../engine/types.js';
import { IntegrationError } from '../errors.js';
import { rowToEvent } from '../graph/event.js';
import { graphInstantMs } from '../graph/instant.js';
import type { MessageTraceRow } from '../graph/types.js';
import type { SeenSet } from './seen-set.js';
import type { FetchState } from './state.js';
import { floorSecond, MINUTE_MS, SECOND_MS } from '../graph/limits.js';
import { advanceCursor, type FetchTuning, nextDensity, type PlannedWindow, shrinkWindow } from './window.js';

/** A window read to its last page; `readAtMs`: when its first request went out. */
export interface CompleteRead {
  rows: readonly MessageTraceRow[];
  readAtMs: number;
}

export interface FoldContext {
  lookbackMs: number;
  tuning: FetchTuning;
  /** Set when the window belongs to the look-back re-read that ends at `untilMs` (readUpTo at the run's start). */
  reread?: { untilMs: number } | undefined;
}

export interface WindowFold {
  state: FetchState;
  /** To send before `state` is saved. */
  events: TraceEvent[];
  /** Rows Graph returned from outside [start, end] (whole-second bounds): another window's. */
  rowsOutside: number;
  /** Rows inside the window. */
  rowsInside: number;
}

/** A window read whole, in one go: its pages folded one by one, then its end. */
export function foldWindow(state: FetchState, window: PlannedWindow, read: CompleteRead, context: FoldContext): WindowFold {
  const page = foldPage(state.seen, window, read.rows, settledBefore(read.readAtMs, context));
  return { ...page, state: foldWindowEnd(state, window, page, read.readAtMs, context) };
}

/** Rows received before this are at least lookback old when a read starts at `readAtMs`: all visible, so they measure the density. */
export function settledBefore(readAtMs: number, context: Pick<FoldContext, 'lookbackMs' | 'tuning'>): number {
  return floorSecond(readAtMs - context.tuning.safetyMarginMs - context.lookbackMs);
}

/** What one page of a window gives: its new events, and counts its window's end needs. */
export interface PageFold {
  /** To send before any state holding `seen` is saved. */
  events: TraceEvent[];
  rowsInside: number;
  rowsOutside: number;
  /** Rows inside the window received before `settledBeforeMs`. */
  settledRows: number;
}

/**
 * One page of a window: its rows inside [start, end] not seen before become events, and their keys are added
 * to `seen` (the one thing it changes). The caller sends the events before saving any state holding `seen`,
 * and a send that fails ends the run before anything is saved, so a saved key always stands for a sent event.
 */
export function foldPage(seen: SeenSet, window: PlannedWindow, rows: readonly MessageTraceRow[], settledBeforeMs: number): PageFold {
  const events: TraceEvent[] = [];
  let rowsOutside = 0;
  let settledRows = 0;
  for (const row of rows) {
    const receivedMs = graphInstantMs(row.receivedDateTime);
    if (receivedMs === undefined) {
      throw new IntegrationError('graph_invalid_response', `Graph returned a message trace (id ${row.id}) whose receivedDateTime is not an ISO 8601 time.`);
    }
    // Graph compares whole rows; a row outside [start, end] belongs to another window.
    if (receivedMs < window.startMs || receivedMs >= window.endMs + SECOND_MS) {
      rowsOutside++;
      continue;
    }
    if (receivedMs < settledBeforeMs) settledRows++;
    if (!seen.addRow(row, receivedMs)) continue;
    events.push(rowToEvent(row, receivedMs));
  }
  return { events, rowsOutside, rowsInside: rows.length - rowsOutside, settledRows };
}

/**
 * A window whose every page was folded and sent: the state moves on by the cursor rule, readUpTo to its end,
 * the density from its settled part, the re-read's position; the seen keys are pruned behind the new cursor.
 * `count`: the window's rows inside and settled ones, summed over its pages.
 */
export function foldWindowEnd(
  state: FetchState,
  window: PlannedWindow,
  count: Pick<PageFold, 'rowsInside' | 'settledRows'>,
  readAtMs: number,
  context: FoldContext,
): FetchState {
  const { lookbackMs, tuning } = context;
  const cursorMs = advanceCursor(state.cursorMs, window, readAtMs, lookbackMs, tuning);
  state.seen.pruneBefore(cursorMs);
  const next: FetchState = {
    ...state,
    cursorMs,
    readUpToMs: Math.max(state.readUpToMs, window.endMs),
    rowsPerMinute: nextDensity(state.rowsPerMinute, count.rowsInside, window, { beforeMs: settledBefore(readAtMs, context), rows: count.settledRows }),
  };
  // Where the re-read continues if the run stops here; at readUpTo the round is done.
  if (context.reread !== undefined) next.rereadFromMs = window.endMs >= context.reread.untilMs ? undefined : window.endMs;
  return next;
}

/**
 * Why a read was given up: `too_many_rows`, the window holds far more rows than planned; `max_fetch`,
 * reading on would take the run past max_fetch.
 */
export type ReadCut = 'too_many_rows' | 'max_fetch';

export interface AbandonedFold {
  state: FetchState;
  /** The window to plan instead: at most half as long. */
  shorter: PlannedWindow;
}

/** A window given up after `rowsSeen` rows: only the density changes (never down), so plans get shorter. */
export function foldAbandoned(state: FetchState, window: PlannedWindow, rowsSeen: number, cut: ReadCut, targetRows: number): AbandonedFold {
  const shorter = shrinkWindow(window, rowsSeen, targetRows) ?? { startMs: window.startMs, endMs: window.startMs + SECOND_MS };
  // Cut at max_fetch, the window holds more than the rows seen: as dense as if they filled the shorter
  // one, so the next run plans that and does not stop at the same point again.
  const lengthMs = cut === 'max_fetch' ? shorter.endMs - shorter.startMs : window.endMs - window.startMs;
  const rowsPerMinute = Math.max(state.rowsPerMinute ?? 0, rowsSeen / (lengthMs / MINUTE_MS));
  return { state: { ...state, rowsPerMinute }, shorter };
}
