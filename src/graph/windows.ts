/**
 * Splitting a span longer than Graph allows into listings that respect its limits (limits.ts).
 */
import { floorSecond, MAX_LISTING_SPAN_MS } from './limits.js';

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
  const start = floorSecond(startMs);
  const end = floorSecond(endMs);
  const span = floorSecond(maxSpanMs);
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
