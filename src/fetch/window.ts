/**
 * Window planning: pure functions of the state, the tuning and the clock.
 *
 * Graph's rules for a listing are in graph/limits.ts; windows here obey them, on whole seconds.
 *
 * The cursor rule (why nothing is lost). A row can become visible, and change status, up to a few minutes
 * after it was received; `lookback` must cover that delay. A window read at time t (the first request of
 * its listing; every row it returns is in its state at t or later) has seen, in their final state, all rows
 * received before t − lookback. So after a window [a, b] is read completely and its events are sent, the
 * cursor may move to min(b, t − margin − lookback), and only if it stood at a. Rows before the cursor are
 * then final and sent; rows after it are read again by the next run, which starts at the cursor. Row order
 * in a listing is never used.
 */
import { IntegrationError } from '../errors.js';
import {
  ceilSecond,
  floorSecond,
  MAX_LISTING_SPAN_MS,
  MAX_PAGE_SIZE,
  MINUTE_MS,
  oldestSafeStartMs,
  RETENTION_RULE,
  SECOND_MS,
} from '../graph/limits.js';
import { parseTimeExpression } from '../time/expressions.js';

export interface FetchTuning {
  /**
   * Windows end this long before now, and the cursor trails reads by it: our clock may run ahead of
   * Graph's, and Graph refuses an end in the future. Seconds, not a minute: at high volume the young
   * listing must reach as far behind now − margin as the settled pass minus five intervals, so every
   * second of margin is a second of fully visible rows read again each young run, and rows received in
   * the margin wait for the next young run (lookback.ts). 15 s is many times what an NTP-synced clock is off.
   */
  safetyMarginMs: number;
  /** Starts stay this far inside the 90 days, so a listing that takes a while is still accepted. */
  retentionMarginMs: number;
  /** First window when the density is not known yet. */
  initialWindowMs: number;
  /**
   * Most rows one window is planned for. Pages are sent as they arrive, so this bounds no memory: it bounds
   * what a window cut short costs to read again, and the requests one needs (run.ts keeps a window well
   * within the request budget). Every window ends in a part-full page, so at high volume fewer, longer
   * windows cost fewer requests: at 25,000,000 rows a day the young listing of the look-back re-read (about
   * 103,000 visible rows, lookback.ts) is one window of 21 pages instead of six, 23 requests.
   */
  maxWindowRows: number;
  /** A window may grow at most this many times over the previous one in a run. */
  maxGrowth: number;
  /** Rows per page (`$top`, 1 to 5000). */
  pageSize: number;
}

export const DEFAULT_TUNING: FetchTuning = {
  safetyMarginMs: 15 * SECOND_MS,
  retentionMarginMs: 10 * MINUTE_MS,
  initialWindowMs: 10 * MINUTE_MS,
  maxWindowRows: 120_000,
  maxGrowth: 4,
  pageSize: MAX_PAGE_SIZE,
};

/** The latest instant a window may end at, read at `nowMs`. */
export function latestEnd(nowMs: number, tuning: FetchTuning): number {
  return floorSecond(nowMs - tuning.safetyMarginMs);
}

/** The earliest instant a window may start at, read at `nowMs`. */
export function earliestStart(nowMs: number, tuning: FetchTuning): number {
  return ceilSecond(oldestSafeStartMs(nowMs, tuning.retentionMarginMs));
}

export type FirstStart = { ok: true; startMs: number } | { ok: false; problem: string };

/**
 * Where the first run starts: `first_fetch` resolved against the clock. More than 90 days back or in the
 * future is a configuration error; exactly at the limit is moved just inside it.
 */
export function firstFetchStart(firstFetchMs: number, nowMs: number, tuning: FetchTuning): FirstStart {
  if (firstFetchMs < oldestSafeStartMs(nowMs, 0)) {
    return { ok: false, problem: `is more than 90 days back; ${RETENTION_RULE}` };
  }
  if (firstFetchMs > nowMs) return { ok: false, problem: 'is in the future' };
  return { ok: true, startMs: Math.min(latestEnd(nowMs, tuning), Math.max(floorSecond(firstFetchMs), earliestStart(nowMs, tuning))) };
}

const FIRST_FETCH_ACCEPTED =
  'Use an ISO 8601 time such as 2024-01-01T00:00:00Z or a relative time such as "3 days", at most 90 days back.';

/**
 * first_fetch as typed, resolved: where the first run starts, or the one error every check of first_fetch
 * gives (the fetch loop's, and any check made before it).
 */
export function resolveFirstFetch(firstFetch: string, nowMs: number, tuning: FetchTuning): number {
  const parsed = parseTimeExpression(firstFetch, nowMs);
  const start = parsed.ok ? firstFetchStart(parsed.epochMs, nowMs, tuning) : parsed;
  if (!start.ok) {
    throw new IntegrationError('invalid_param', `Invalid parameter: first_fetch '${firstFetch}' ${start.problem}. ${FIRST_FETCH_ACCEPTED}`);
  }
  return start.startMs;
}

export interface WindowPlanInput {
  /** Where this window starts (the cursor for a run's first window, the previous end after). */
  startMs: number;
  nowMs: number;
  /** Rows this window should hold, as estimated from the density. */
  targetRows: number;
  rowsPerMinute: number | undefined;
  /** Length of the previous window of this run, to limit growth. */
  previousWindowMs: number | undefined;
  /** Where this pass of windows ends, when before now − margin (a re-read of the look-back). */
  untilMs?: number | undefined;
  /**
   * Rows received this long before now are all visible; younger ones in proportion to their age (rows show
   * up late). With it, `rowsPerMinute` is the settled density and the window is planned for the rows
   * visible now, so a pass that reaches into the young minutes fills its pages instead of planning each
   * window from the thinner one before it.
   */
  visibleRampMs?: number | undefined;
}

/**
 * Where a window from `startMs` holding `rows` visible rows ends, by the ramp: rows older than `rampMs` all
 * count, younger ones by age / rampMs (a visible share that falls to 0 at now). Past now: `Infinity`.
 */
function rampEnd(startMs: number, rows: number, rowsPerMinute: number, nowMs: number, rampMs: number): number {
  const rampStartMs = nowMs - rampMs;
  const wantedMs = (rows / rowsPerMinute) * MINUTE_MS;
  if (startMs + wantedMs <= rampStartMs) return startMs + wantedMs;
  const fromMs = Math.max(startMs, rampStartMs);
  const leftMs = wantedMs - (fromMs - startMs);
  // ∫ (now − t) / ramp dt over [from, end] = leftMs, so (now − end)² = (now − from)² − 2 · ramp · leftMs.
  const square = (nowMs - fromMs) ** 2 - 2 * rampMs * leftMs;
  return square > 0 ? nowMs - Math.sqrt(square) : Number.POSITIVE_INFINITY;
}

/**
 * Rows received in [fromMs, toMs] that are visible at `nowMs` by the same ramp: all rows older than `rampMs`,
 * younger ones by age / rampMs. What a listing of that span returns now, at `rowsPerMinute` settled.
 */
export function visibleRows(fromMs: number, toMs: number, rowsPerMinute: number, nowMs: number, rampMs: number): number {
  const rampStartMs = nowMs - rampMs;
  const settledMs = Math.max(0, Math.min(toMs, rampStartMs) - fromMs);
  const youngFromMs = Math.max(fromMs, rampStartMs);
  const youngToMs = Math.min(toMs, nowMs);
  // ∫ (now − t) / ramp dt over [youngFrom, youngTo].
  const youngMs = youngToMs > youngFromMs ? ((nowMs - youngFromMs) ** 2 - (nowMs - youngToMs) ** 2) / (2 * rampMs) : 0;
  return (rowsPerMinute * (settledMs + youngMs)) / MINUTE_MS;
}

export interface PlannedWindow {
  startMs: number;
  endMs: number;
}

/** The next window, or `null` when the start has caught up with now. */
export function planWindow(input: WindowPlanInput, tuning: FetchTuning): PlannedWindow | null {
  const startMs = Math.max(floorSecond(input.startMs), earliestStart(input.nowMs, tuning));
  const until = input.untilMs === undefined ? latestEnd(input.nowMs, tuning) : Math.min(floorSecond(input.untilMs), latestEnd(input.nowMs, tuning));
  const limit = Math.min(until, startMs + MAX_LISTING_SPAN_MS);
  if (limit <= startMs) return null;
  let lengthMs =
    input.rowsPerMinute === undefined
      ? tuning.initialWindowMs
      : input.rowsPerMinute <= 0
        ? MAX_LISTING_SPAN_MS
        : input.visibleRampMs !== undefined
          ? rampEnd(startMs, Math.max(1, input.targetRows), input.rowsPerMinute, input.nowMs, input.visibleRampMs) - startMs
          : (Math.max(1, input.targetRows) / input.rowsPerMinute) * MINUTE_MS;
  if (input.previousWindowMs !== undefined) lengthMs = Math.min(lengthMs, input.previousWindowMs * tuning.maxGrowth);
  lengthMs = Math.max(SECOND_MS, ceilSecond(lengthMs));
  let endMs = Math.min(startMs + lengthMs, limit);
  // A short tail left before `limit` would cost a request of its own: take it in.
  if (limit - endMs < lengthMs / 4) endMs = limit;
  return { startMs, endMs };
}

/**
 * A window that turned out to hold far more rows than planned is abandoned before it is complete and
 * planned again, shorter. `null` when it cannot be shortened (one second).
 */
export function shrinkWindow(window: PlannedWindow, rowsSeen: number, targetRows: number): PlannedWindow | null {
  const lengthMs = window.endMs - window.startMs;
  if (lengthMs <= SECOND_MS) return null;
  const scaled = floorSecond((lengthMs * Math.max(1, targetRows)) / Math.max(1, rowsSeen));
  const shorter = Math.max(SECOND_MS, Math.min(scaled, floorSecond(lengthMs / 2)));
  return { startMs: window.startMs, endMs: window.startMs + shorter };
}

/**
 * Rows to plan a window for: a whole number of pages, a little short of full, so that the usual error of
 * the density estimate does not spill a few rows onto a page of their own (every page is a request).
 * Below one page, the target itself.
 */
export const PAGE_FILL = 0.92;

export function windowRowsFor(targetRows: number, pageSize: number): number {
  const pages = Math.floor(targetRows / pageSize);
  if (pages < 1) return Math.max(1, targetRows);
  return Math.max(1, Math.floor(pages * pageSize * PAGE_FILL));
}

/** Rows beyond which a window is abandoned and shortened. */
export function abandonThreshold(targetRows: number, tuning: FetchTuning): number {
  return Math.max(2 * targetRows, tuning.pageSize);
}

/**
 * The cursor after window [startMs, endMs] was read completely (first request at `readAtMs`) and its events
 * were sent. It moves only when it stood at the window's start: a gap behind it would hide rows read
 * too early to be final.
 */
export function advanceCursor(
  cursorMs: number,
  window: PlannedWindow,
  readAtMs: number,
  lookbackMs: number,
  tuning: FetchTuning,
): number {
  if (cursorMs !== window.startMs) return cursorMs;
  const settled = floorSecond(readAtMs - tuning.safetyMarginMs - lookbackMs);
  return Math.max(cursorMs, Math.min(window.endMs, settled));
}

/**
 * Density after a completed window: the mean of the old estimate and what the window showed, counting only
 * its settled part, [start, min(end, settledBefore)), where every row is visible (rows younger than the
 * look-back may still be on their way, and counting them would size the next windows too long). A window
 * with less than a second settled says nothing, unless there is no estimate yet.
 */
export function nextDensity(
  previous: number | undefined,
  rows: number,
  window: PlannedWindow,
  settled?: { beforeMs: number; rows: number },
): number | undefined {
  let observedRows = rows;
  let lengthMs = window.endMs - window.startMs;
  if (settled !== undefined && settled.beforeMs < window.endMs + SECOND_MS) {
    const settledMs = settled.beforeMs - window.startMs;
    if (settledMs < SECOND_MS) {
      if (previous !== undefined) return previous;
    } else {
      observedRows = settled.rows;
      lengthMs = settledMs;
    }
  }
  const observed = observedRows / Math.max(1 / 60, lengthMs / MINUTE_MS);
  return previous === undefined ? observed : (previous + observed) / 2;
}
