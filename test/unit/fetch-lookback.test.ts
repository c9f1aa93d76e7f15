/** The look-back re-read's share of the budget: pure arithmetic (src/fetch/lookback.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allowancePerInterval,
  estimateRequests,
  MAX_ROUND_INTERVALS,
  planReread,
  type RereadInput,
  ROUND_RUNS,
  roundIntervals,
  STATUS_BAND,
  VISIBLE_SHARE,
  YOUNG_SHARE,
} from '../../src/fetch/lookback.js';
import { DEFAULT_TUNING, windowRowsFor } from '../../src/fetch/window.js';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const BUDGET = { limit: 90, windowMs: 300_000 };
const WINDOW_ROWS = windowRowsFor(20_000, 5000); // 4 pages, planned 92 % full

/** Rows per minute at a daily volume. */
const perMinute = (rowsPerDay: number): number => rowsPerDay / 1440;

function steady(rowsPerDay: number, overrides: Partial<RereadInput> = {}): RereadInput {
  // Just after a round: the cursor lookback + margin behind now, readUpTo at now − margin − one interval.
  return {
    cursorMs: NOW - 16 * MINUTE - MINUTE,
    readUpToMs: NOW - 2 * MINUTE,
    rereadFromMs: undefined,
    intervalMs: MINUTE,
    lookbackMs: 15 * MINUTE,
    latestEndMs: NOW - MINUTE,
    rowsPerMinute: perMinute(rowsPerDay),
    windowRows: WINDOW_ROWS,
    pageSize: 5000,
    budget: BUDGET,
    remainingRequests: 90,
    ...overrides,
  };
}

describe('estimateRequests', () => {
  it.each([
    [0, 1, 'an empty listing is still a request'],
    [1, 1, 'one row'],
    [5000, 1, 'one full page'],
    [5001, 2, 'a row over a page'],
    [18_400, 4, 'one planned window'],
    [18_401, 5, 'a row into the next window'],
    [36_800, 8, 'two windows'],
    [40_000, 9, 'two windows and a part'],
  ])('%d rows: %d requests (%s)', (rows, requests) => {
    expect(estimateRequests(rows, WINDOW_ROWS, 5000)).toBe(requests);
  });

  it('is never below the minimum, and never more than a page per window over it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000 }), fc.integer({ min: 1, max: 40_000 }), fc.integer({ min: 1, max: 5000 }), (rows, windowRows, pageSize) => {
        const requests = estimateRequests(rows, windowRows, pageSize);
        expect(requests).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(rows / pageSize)));
        expect(requests).toBeLessThanOrEqual(Math.max(1, Math.ceil(rows / pageSize)) + Math.ceil(rows / windowRows));
      }),
      { numRuns: 500 },
    );
  });
});

describe('allowance and round length', () => {
  it('shares the budget per interval: 90 per 5 min is 18 a minute, 90 every 5 minutes', () => {
    expect(allowancePerInterval(MINUTE, BUDGET)).toBe(18);
    expect(allowancePerInterval(5 * MINUTE, BUDGET)).toBe(90);
  });

  it.each([
    [1_000_000, 1, 'a small tenant re-reads the whole look-back every run'],
    [5_000_000, 1, 'half the target volume still fits every run'],
    [10_000_000, 2, 'the target volume: a round takes two runs'],
    [14_000_000, 3, 'the busiest hours of the target volume (1.4×)'],
    [100_000_000, Number.POSITIVE_INFINITY, 'beyond what the budget can follow'],
  ])('%d rows a day, interval 1, lookback 15: a round takes %d runs (%s)', (rowsPerDay, k) => {
    const input = { rowsPerMinute: perMinute(rowsPerDay), lookbackMs: 15 * MINUTE, intervalMs: MINUTE, allowance: 18, windowRows: WINDOW_ROWS, pageSize: 5000 };
    expect(roundIntervals(input)).toBe(k);
  });

  it('a longer interval has a larger share: 10M rows a day every 5 minutes fits one run', () => {
    const input = { rowsPerMinute: perMinute(10_000_000), lookbackMs: 15 * MINUTE, intervalMs: 5 * MINUTE, allowance: 90, windowRows: WINDOW_ROWS, pageSize: 5000 };
    expect(roundIntervals(input)).toBe(1);
  });

  it('k is the smallest round whose k intervals of new data and one look-back fit in k shares', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 50_000, noNaN: true }), fc.constantFrom(1, 5, 15, 60), fc.constantFrom(1, 2, 5), (rate, lookback, interval) => {
        const input = { rowsPerMinute: rate, lookbackMs: lookback * MINUTE, intervalMs: interval * MINUTE, allowance: 18 * interval, windowRows: WINDOW_ROWS, pageSize: 5000 };
        const k = roundIntervals(input);
        const cost = (n: number) =>
          n * estimateRequests(rate * interval, WINDOW_ROWS, 5000) + estimateRequests(rate * (lookback + (n - 1) * interval), WINDOW_ROWS, 5000);
        if (Number.isFinite(k)) {
          expect(cost(k)).toBeLessThanOrEqual(k * input.allowance);
          if (k > 1) expect(cost(k - 1)).toBeGreaterThan((k - 1) * input.allowance);
        } else {
          for (let n = 1; n <= MAX_ROUND_INTERVALS; n++) expect(cost(n)).toBeGreaterThan(n * input.allowance);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('planReread', () => {
  it('reads from the cursor, uncapped, when there is nothing to re-read or no density yet', () => {
    expect(planReread(steady(1e7, { readUpToMs: NOW - 17 * MINUTE }))).toMatchObject({ order: 'from_cursor', reason: 'nothing_to_reread', runRequests: Infinity });
    expect(planReread(steady(1e7, { rowsPerMinute: undefined }))).toMatchObject({ order: 'from_cursor', reason: 'density_unknown' });
  });

  it('long windows do not make a large look-back "one window": 10M rows a day stays tiered', () => {
    // Windows of up to 120,000 rows (window.ts) hold the whole 15-minute look-back at 10M (104,000 rows), but
    // reading it whole every run would cost 21 requests a run; one listing is for a few pages only.
    const long = windowRowsFor(DEFAULT_TUNING.maxWindowRows, 5000);
    expect(planReread(steady(1e7, { windowRows: long, cursorMs: NOW - 16 * MINUTE })).order).toBe('tiered');
    expect(planReread(steady(1e6, { windowRows: long, cursorMs: NOW - 16 * MINUTE }))).toMatchObject({ order: 'from_cursor', reason: 'one_window' });
  });

  it('a small tenant: one listing from the cursor, as every run always did', () => {
    const plan = planReread(steady(20_000));
    expect(plan).toMatchObject({ order: 'from_cursor', reason: 'one_window', roundStart: true, rereadFromMs: NOW - 17 * MINUTE, roundIntervals: 1 });
  });

  it('10M rows a day: a round starts with a settling run: the settled part, the new data, then the status band', () => {
    const plan = planReread(steady(1e7));
    // Status band: 13 to 12 minutes before now − margin (STATUS_BAND × 15), just behind the young part.
    expect(plan).toMatchObject({ order: 'tiered', reason: 'shared', roundStart: true, runRequests: 18, roundIntervals: ROUND_RUNS });
    expect(plan.rereadFromMs).toBe(NOW - MINUTE - 13 * MINUTE);
    expect(plan.rereadUntilMs).toBe(NOW - MINUTE - 12 * MINUTE);
    expect([STATUS_BAND.fromShare * 15, STATUS_BAND.toShare * 15]).toEqual([13, 12]);
    // Settled: what is lookback + margin old now, from the cursor (two intervals of it, one round's worth).
    expect(plan.settledEndMs).toBe(NOW - 16 * MINUTE);
    expect(plan.visibleRampMs).toBeUndefined();
  });

  it('the run after it (the band left rereadFrom inside the look-back) reads the young part and the new data in one listing', () => {
    const plan = planReread(steady(1e7, { rereadFromMs: NOW - MINUTE - 12 * MINUTE, cursorMs: NOW - 16 * MINUTE }));
    // Young part: the last YOUNG_SHARE × 15 = 11 minutes before now − margin, up to readUpTo (and on to now − margin).
    expect(plan).toMatchObject({ order: 'tiered', roundStart: false, rereadFromMs: NOW - MINUTE - 11 * MINUTE, rereadUntilMs: NOW - 2 * MINUTE });
    expect(YOUNG_SHARE * 15).toBeCloseTo(11, 10);
    // No settled pass: the cursor moves in the settling runs.
    expect(plan.settledEndMs).toBe(NOW - 16 * MINUTE);
    // Its windows are planned for the rows visible now: 10 of 15 minutes for a row to show up.
    expect(plan.visibleRampMs).toBeCloseTo(VISIBLE_SHARE * 15 * MINUTE, 6);
    expect(VISIBLE_SHARE * 15).toBeCloseTo(10, 10);
    // Its share: the round's two (2 × 18) less the settling run's estimate, planned for pages 92 % full
    // (settled 2 minutes: 4 requests, band: 2, new data: 1), so a young listing needing more than one run's
    // share is still read whole.
    expect(plan.runRequests).toBe(2 * 18 - (4 + 2 + 1));
    expect(planReread(steady(1e7, { rereadFromMs: NOW - 13 * MINUTE, remainingRequests: 20 })).runRequests).toBe(20);
  });

  it('a young run cut short goes on where it stopped; a rereadFrom outside the look-back starts a round', () => {
    const middle = NOW - 8 * MINUTE;
    expect(planReread(steady(1e7, { rereadFromMs: middle }))).toMatchObject({ rereadFromMs: middle, rereadUntilMs: NOW - 2 * MINUTE, roundStart: false });
    for (const outside of [NOW - 17 * MINUTE, NOW - 30 * MINUTE, NOW - 2 * MINUTE, NOW]) {
      expect(planReread(steady(1e7, { rereadFromMs: outside }))).toMatchObject({ rereadFromMs: NOW - 14 * MINUTE, rereadUntilMs: NOW - 13 * MINUTE, roundStart: true });
    }
  });

  it('with the cursor already past the status band, the run is a young run (a round never waits for a band)', () => {
    const plan = planReread(steady(1e7, { cursorMs: NOW - 12 * MINUTE }));
    expect(plan).toMatchObject({ order: 'tiered', rereadFromMs: NOW - 12 * MINUTE, rereadUntilMs: NOW - 2 * MINUTE, settledEndMs: NOW - 12 * MINUTE });
  });

  it('25M rows a day: the settling run takes the young part\'s oldest minute (a slice) and no band, so the round fits the budget', () => {
    // Planned for pages 92 % full: 3 young runs (young listing: 104,000 visible rows, 25 requests in windows
    // of 4 pages) and 2 settling runs (15) in 5 minutes would be 105 of 90: the slice moves 10 to 9 minutes
    // before now − margin (rows all visible) to the settling run; with the band it would still be 103.
    const settling = planReread(steady(2.5e7));
    expect(settling).toMatchObject({ order: 'tiered', roundStart: true, settledEndMs: NOW - 16 * MINUTE });
    expect(settling.rereadFromMs).toBe(NOW - MINUTE - 10 * MINUTE);
    expect(settling.rereadUntilMs).toBe(NOW - MINUTE - 9 * MINUTE);
    expect(settling.statusBand).toBeUndefined();
    // The young run starts where the slice ended, one interval later: 10 minutes of it, no longer 11.
    const young = planReread(steady(2.5e7, { cursorMs: NOW - 16 * MINUTE, rereadFromMs: NOW - MINUTE - 9 * MINUTE }));
    expect(young).toMatchObject({ roundStart: false, rereadFromMs: NOW - MINUTE - 9 * MINUTE, rereadUntilMs: NOW - 2 * MINUTE });
    // Its share: the round's two less the settling run's (settled 9, new data 1, slice 5).
    expect(young.runRequests).toBe(2 * 18 - (9 + 1 + 5));
    // Where the rounds fit, nothing changes: 10M keeps the band and the whole young part (above).
    expect(planReread(steady(1e7)).statusBand).toBeUndefined();
    expect(planReread(steady(1e7)).rereadUntilMs).toBe(NOW - MINUTE - 12 * MINUTE);
  });

  it('a sliced round keeps the band when the budget has room for it', () => {
    // A budget of 104: unsliced 105 does not fit, sliced with the band (3 × 21 + 2 × 20 = 103) does.
    const plan = planReread(steady(2.5e7, { budget: { limit: 104, windowMs: 300_000 } }));
    expect(plan.rereadFromMs).toBe(NOW - MINUTE - 10 * MINUTE);
    expect(plan.statusBand).toEqual({ fromMs: NOW - MINUTE - 13 * MINUTE, untilMs: NOW - MINUTE - 12 * MINUTE });
  });

  it('takes no more than the budget has left', () => {
    expect(planReread(steady(1e7, { remainingRequests: 7 })).runRequests).toBe(7);
    expect(planReread(steady(1e7, { remainingRequests: 0 })).runRequests).toBe(0);
  });

  it('far behind: one uncapped pass from the cursor, which moves the cursor as it goes', () => {
    const plan = planReread(steady(1e7, { readUpToMs: NOW - 3 * 60 * MINUTE, cursorMs: NOW - 3 * 60 * MINUTE - 16 * MINUTE }));
    expect(plan).toMatchObject({ order: 'from_cursor', reason: 'backlog', runRequests: Infinity });
  });

  it('an overgrown look-back is re-read whole from the cursor, so the state stops growing', () => {
    const plan = planReread(steady(1e7, { cursorMs: NOW - 60 * MINUTE, rereadFromMs: NOW - 10 * MINUTE }));
    expect(plan).toMatchObject({ order: 'new_first', reason: 'overgrown', rereadFromMs: NOW - 60 * MINUTE, roundStart: true, runRequests: Infinity });
  });

  it('never starts the re-read outside [cursor, readUpTo), and never plans a negative share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 120 }),
        fc.option(fc.integer({ min: -200, max: 200 }), { nil: undefined }),
        fc.option(fc.double({ min: 0, max: 100_000, noNaN: true }), { nil: undefined }),
        fc.integer({ min: -5, max: 90 }),
        (behind, span, rereadOffset, rate, remaining) => {
          const readUpToMs = NOW - MINUTE - behind * MINUTE;
          const cursorMs = readUpToMs - span * MINUTE;
          const plan = planReread(
            steady(0, {
              cursorMs,
              readUpToMs,
              rereadFromMs: rereadOffset === undefined ? undefined : cursorMs + rereadOffset * MINUTE,
              rowsPerMinute: rate,
              remainingRequests: remaining,
            }),
          );
          expect(plan.rereadFromMs).toBeGreaterThanOrEqual(cursorMs);
          expect(plan.rereadFromMs).toBeLessThanOrEqual(Math.max(cursorMs, readUpToMs));
          expect(plan.runRequests).toBeGreaterThanOrEqual(0);
          // A sliced settling run's band lies inside the look-back, behind the slice.
          if (plan.statusBand) {
            expect(plan.statusBand.fromMs).toBeGreaterThanOrEqual(cursorMs);
            expect(plan.statusBand.untilMs).toBeLessThanOrEqual(plan.rereadFromMs);
          }
          if (plan.order === 'tiered') {
            // The re-read stays inside [cursor, readUpTo]; the settled part ends where the cursor rule allows.
            expect(plan.rereadUntilMs).toBeGreaterThanOrEqual(plan.rereadFromMs);
            expect(plan.rereadUntilMs).toBeLessThanOrEqual(readUpToMs);
            expect(plan.settledEndMs).toBeGreaterThanOrEqual(cursorMs);
            expect(plan.settledEndMs).toBeLessThanOrEqual(Math.max(cursorMs, Math.min(readUpToMs, NOW - MINUTE - 15 * MINUTE)));
            // The settled pass moves the cursor up to its end: the re-read must not start behind it.
            expect(plan.rereadFromMs).toBeGreaterThanOrEqual(plan.settledEndMs as number);
          }
          if (plan.order === 'from_cursor') expect(plan.rereadFromMs).toBe(cursorMs);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
