import { describe, expect, it } from 'vitest';
import { DAY_MS, MAX_LISTING_SPAN_MS as MAX_WINDOW_MS, MINUTE_MS } from '../../src/graph/limits.js';
import {
  advanceCursor,
  DEFAULT_TUNING,
  firstFetchStart,
  nextDensity,
  planWindow,
  shrinkWindow,
  visibleRows,
  windowRowsFor,
} from '../../src/fetch/window.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const tuning = DEFAULT_TUNING;
/** Graph's oldest start at NOW: 90 days before 00:00 UTC of NOW's day (12 hours before NOW). */
const GRAPH_OLDEST = Date.UTC(2026, 10, 25) - 90 * DAY_MS;

describe('firstFetchStart', () => {
  it('starts at first_fetch, in whole seconds', () => {
    expect(firstFetchStart(NOW - 3 * DAY_MS + 400, NOW, tuning)).toEqual({ ok: true, startMs: NOW - 3 * DAY_MS });
  });

  it('refuses more than 90 days back and the future', () => {
    const old = firstFetchStart(NOW - 91 * DAY_MS, NOW, tuning);
    expect(old.ok).toBe(false);
    expect(!old.ok && old.problem).toMatch(/90 days/);
    expect(firstFetchStart(NOW + MINUTE_MS, NOW, tuning).ok).toBe(false);
  });

  it('counts the 90 days from 00:00 UTC today, as Graph does, and moves its limit just inside', () => {
    expect(firstFetchStart(NOW - 90 * DAY_MS, NOW, tuning)).toEqual({ ok: true, startMs: NOW - 90 * DAY_MS });
    expect(firstFetchStart(GRAPH_OLDEST, NOW, tuning)).toEqual({ ok: true, startMs: GRAPH_OLDEST + tuning.retentionMarginMs });
    expect(firstFetchStart(GRAPH_OLDEST - 1000, NOW, tuning).ok).toBe(false);
  });
});

describe('planWindow', () => {
  const base = { nowMs: NOW, targetRows: 1000, rowsPerMinute: undefined, previousWindowMs: undefined };

  it('is null once caught up with now − margin', () => {
    expect(planWindow({ ...base, startMs: NOW - tuning.safetyMarginMs }, tuning)).toBeNull();
    expect(planWindow({ ...base, startMs: NOW }, tuning)).toBeNull();
  });

  it('never ends in the future nor spans over 10 days', () => {
    const w = planWindow({ ...base, startMs: NOW - 30 * DAY_MS, rowsPerMinute: 0 }, tuning);
    expect(w).toEqual({ startMs: NOW - 30 * DAY_MS, endMs: NOW - 30 * DAY_MS + MAX_WINDOW_MS });
    const recent = planWindow({ ...base, startMs: NOW - 5 * MINUTE_MS, rowsPerMinute: 0 }, tuning);
    expect(recent?.endMs).toBe(NOW - tuning.safetyMarginMs);
  });

  it('starts no further back than 90 days before 00:00 UTC today, with the margin', () => {
    const w = planWindow({ ...base, startMs: NOW - 100 * DAY_MS, rowsPerMinute: 0 }, tuning);
    expect(w?.startMs).toBe(GRAPH_OLDEST + tuning.retentionMarginMs);
  });

  it('keeps a start Graph still accepts although it is more than 90 × 24 hours back', () => {
    const start = NOW - 90 * DAY_MS - 60 * MINUTE_MS;
    expect(planWindow({ ...base, startMs: start, rowsPerMinute: 0 }, tuning)?.startMs).toBe(start);
  });

  it('near midnight, starts where Graph will still accept it after the day changes', () => {
    const beforeMidnight = Date.UTC(2026, 10, 25, 23, 55, 0);
    const w = planWindow({ ...base, nowMs: beforeMidnight, startMs: beforeMidnight - 100 * DAY_MS, rowsPerMinute: 0 }, tuning);
    const tomorrowsOldest = Date.UTC(2026, 10, 26) - 90 * DAY_MS;
    expect(w?.startMs).toBe(tomorrowsOldest + tuning.retentionMarginMs);
  });

  it('sizes the window from the density and the target', () => {
    const w = planWindow({ ...base, startMs: NOW - DAY_MS, rowsPerMinute: 100 }, tuning);
    expect(w).toEqual({ startMs: NOW - DAY_MS, endMs: NOW - DAY_MS + 10 * MINUTE_MS });
    const first = planWindow({ ...base, startMs: NOW - DAY_MS }, tuning);
    expect(first && first.endMs - first.startMs).toBe(tuning.initialWindowMs);
  });

  it('with a visibility ramp, plans young windows for the rows visible now: longer the younger they are', () => {
    const ramp = { ...base, rowsPerMinute: 100, targetRows: 400, visibleRampMs: 10 * MINUTE_MS };
    // Settled (older than the ramp): the density as it is, 4 minutes for 400 rows.
    expect(planWindow({ ...ramp, startMs: NOW - 20 * MINUTE_MS }, tuning)).toEqual({ startMs: NOW - 20 * MINUTE_MS, endMs: NOW - 16 * MINUTE_MS });
    // From 10 minutes back, rows are visible in proportion to their age: 400 rows take √20 ≈ 4.47 minutes of
    // the ramp, not 4 (to the second).
    const young = planWindow({ ...ramp, startMs: NOW - 10 * MINUTE_MS }, tuning);
    const end = NOW - Math.sqrt(20) * MINUTE_MS;
    expect(young?.endMs).toBeGreaterThanOrEqual(end);
    expect(young?.endMs).toBeLessThanOrEqual(end + 2000);
    // Fewer visible rows than the target before now − margin: one window to there.
    expect(planWindow({ ...ramp, startMs: NOW - 4 * MINUTE_MS }, tuning)?.endMs).toBe(NOW - tuning.safetyMarginMs);
  });

  it('counts the rows a listing returns now by the same ramp', () => {
    const ramp = 10 * MINUTE_MS;
    // 12 minutes back to now at 100 a minute: 2 settled minutes (200) and the ramp's half (500).
    expect(visibleRows(NOW - 12 * MINUTE_MS, NOW, 100, NOW, ramp)).toBeCloseTo(700, 6);
    // The last 5 minutes: (5² / 2) / 10 minutes' worth, 125.
    expect(visibleRows(NOW - 5 * MINUTE_MS, NOW, 100, NOW, ramp)).toBeCloseTo(125, 6);
    // Settled only, and nothing past now.
    expect(visibleRows(NOW - 30 * MINUTE_MS, NOW - 20 * MINUTE_MS, 100, NOW, ramp)).toBeCloseTo(1000, 6);
    expect(visibleRows(NOW, NOW + MINUTE_MS, 100, NOW, ramp)).toBe(0);
    // A window planned by the ramp for 400 rows holds about 400 of them.
    const young = planWindow({ ...base, startMs: NOW - 10 * MINUTE_MS, rowsPerMinute: 100, targetRows: 400, visibleRampMs: ramp }, tuning);
    expect(young && visibleRows(young.startMs, young.endMs, 100, NOW, ramp)).toBeCloseTo(400, -1);
  });

  it('limits growth over the previous window and takes in a short tail', () => {
    const grown = planWindow({ ...base, startMs: NOW - DAY_MS, rowsPerMinute: 0.001, previousWindowMs: MINUTE_MS }, tuning);
    expect(grown && grown.endMs - grown.startMs).toBe(4 * MINUTE_MS);
    const tail = planWindow({ ...base, startMs: NOW - 12 * MINUTE_MS, rowsPerMinute: 100 }, tuning);
    expect(tail?.endMs).toBe(NOW - tuning.safetyMarginMs);
  });

  it('is at least one second long', () => {
    const w = planWindow({ ...base, startMs: NOW - DAY_MS, rowsPerMinute: 1e9 }, tuning);
    expect(w && w.endMs - w.startMs).toBe(1000);
  });
});

describe('shrinkWindow', () => {
  it('scales the window down to the target and at least halves it', () => {
    const w = { startMs: NOW - DAY_MS, endMs: NOW - DAY_MS + 60 * MINUTE_MS };
    expect(shrinkWindow(w, 40_000, 10_000)).toEqual({ startMs: w.startMs, endMs: w.startMs + 15 * MINUTE_MS });
    expect(shrinkWindow(w, 11_000, 10_000)).toEqual({ startMs: w.startMs, endMs: w.startMs + 30 * MINUTE_MS });
  });

  it('cannot shorten a one-second window', () => {
    expect(shrinkWindow({ startMs: NOW, endMs: NOW + 1000 }, 99_999, 1)).toBeNull();
  });
});

describe('advanceCursor', () => {
  const lookback = 15 * MINUTE_MS;
  const margin = tuning.safetyMarginMs;

  it('moves to the window end when the window was read long after it', () => {
    const w = { startMs: NOW - DAY_MS, endMs: NOW - DAY_MS + 10 * MINUTE_MS };
    expect(advanceCursor(w.startMs, w, NOW, lookback, tuning)).toBe(w.endMs);
  });

  it('stops at read time − margin − lookback: newer rows may still change', () => {
    const w = { startMs: NOW - 30 * MINUTE_MS, endMs: NOW - margin };
    expect(advanceCursor(w.startMs, w, NOW, lookback, tuning)).toBe(NOW - margin - lookback);
  });

  it('never moves back, and never over a gap', () => {
    const w = { startMs: NOW - 5 * MINUTE_MS, endMs: NOW - margin };
    expect(advanceCursor(w.startMs, w, NOW, lookback, tuning)).toBe(w.startMs);
    const later = { startMs: NOW - 20 * MINUTE_MS, endMs: NOW - 10 * MINUTE_MS };
    expect(advanceCursor(NOW - 40 * MINUTE_MS, later, NOW + DAY_MS, lookback, tuning)).toBe(NOW - 40 * MINUTE_MS);
  });
});

describe('nextDensity', () => {
  it('averages the estimate with what a window showed', () => {
    const w = { startMs: 0, endMs: 10 * MINUTE_MS };
    expect(nextDensity(undefined, 100, w)).toBe(10);
    expect(nextDensity(30, 100, w)).toBe(20);
  });
});

describe('windowRowsFor', () => {
  it('plans whole pages a little short of full, or the target when under a page', () => {
    expect(windowRowsFor(20_000, 5000)).toBe(18_400);
    expect(windowRowsFor(10_000, 5000)).toBe(9200);
    expect(windowRowsFor(7000, 5000)).toBe(4600);
    expect(windowRowsFor(300, 5000)).toBe(300);
    expect(windowRowsFor(1, 1)).toBe(1);
  });
});

describe('planWindow untilMs', () => {
  it('ends a pass of the look-back at readUpTo, not at now', () => {
    const w = planWindow({ startMs: NOW - 20 * MINUTE_MS, nowMs: NOW, targetRows: 1000, rowsPerMinute: 1, previousWindowMs: undefined, untilMs: NOW - 5 * MINUTE_MS }, tuning);
    expect(w).toEqual({ startMs: NOW - 20 * MINUTE_MS, endMs: NOW - 5 * MINUTE_MS });
    expect(planWindow({ startMs: NOW - 5 * MINUTE_MS, nowMs: NOW, targetRows: 1000, rowsPerMinute: 1, previousWindowMs: undefined, untilMs: NOW - 5 * MINUTE_MS }, tuning)).toBeNull();
  });
});

describe('nextDensity of the settled part', () => {
  const w = { startMs: 0, endMs: 10 * MINUTE_MS };
  it('counts only rows old enough to be all visible', () => {
    expect(nextDensity(undefined, 100, w, { beforeMs: 4 * MINUTE_MS, rows: 80 })).toBe(20);
    expect(nextDensity(undefined, 100, w, { beforeMs: 20 * MINUTE_MS, rows: 100 })).toBe(10);
  });
  it('learns nothing from a window with nothing settled, unless there is no estimate yet', () => {
    expect(nextDensity(30, 5, w, { beforeMs: 0, rows: 0 })).toBe(30);
    expect(nextDensity(undefined, 5, w, { beforeMs: 0, rows: 0 })).toBe(0.5);
  });
});
