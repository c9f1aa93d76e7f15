/**
 * Graph's limits on one message trace listing, and splitting a longer span into listings that respect them.
 * https://learn.microsoft.com/en-us/graph/api/messagetracingroot-list-messagetraces: the span may not exceed
 * 10 days, the start may be at most 90 days back, the end may not be in the future.
 */
import { floorToSecond } from './filter.js';

export const DAY_MS = 86_400_000;
export const MAX_LISTING_SPAN_MS = 10 * DAY_MS;
export const MAX_LOOKBACK_MS = 90 * DAY_MS;

/**
 * The oldest listing start to ask Graph for at `nowMs`. Graph counts its 90 days from 00:00 UTC of today, not
 * from now (`Invalid StartDate value. The StartDate can't be older than 90 days from today.`), so this reaches
 * up to a day further back than now − 90 days. `marginMs` keeps the start valid that long after `nowMs` (the
 * limit jumps a day forward at midnight) and absorbs clock skew; 0 gives Graph's own limit.
 */
export function oldestSafeStartMs(nowMs: number, marginMs: number): number {
  return Math.floor((nowMs + marginMs) / DAY_MS) * DAY_MS - MAX_LOOKBACK_MS + marginMs;
}

export interface TimeWindow {
  startMs: number;
  endMs: number;
}

/**
 * Splits [startMs, endMs] into consecutive windows on whole seconds, oldest first, each at most `maxSpanMs`.
 * Consecutive windows share their boundary second (see filter.ts: whole-second `le`/`ge` bounds would
 * otherwise leave a gap of sub-second instants), so rows at exactly a boundary come back twice.
 */
export function splitIntoWindows(startMs: number, endMs: number, maxSpanMs = MAX_LISTING_SPAN_MS): TimeWindow[] {
  const start = floorToSecond(startMs);
  const end = floorToSecond(endMs);
  const span = floorToSecond(maxSpanMs);
  if (span < 1000) throw new RangeError('A window must span at least one second.');
  if (end < start) return [];
  const windows: TimeWindow[] = [];
  let cursor = start;
  do {
    const windowEnd = Math.min(cursor + span, end);
    windows.push({ startMs: cursor, endMs: windowEnd });
    cursor = windowEnd;
  } while (cursor < end);
  return windows;
}
