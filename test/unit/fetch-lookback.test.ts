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

/** The safety margin (window.ts DEFAULT_TUNING) and where windows may end at NOW. */
const MARGIN = DEFAULT_TUNING.safetyMarginMs;
const END = NOW - MARGIN;

function steady(rowsPerDay: number, overrides: Partial<RereadInput> = {}): RereadInput {
  // Just after a young run: the cursor lookback + two intervals behind now − margin (the settling run is
  // due), readUpTo one interval behind it.
  return {
    cursorMs: END - 17 * MINUTE,
    readUpToMs: END - MINUTE,
    rereadFromMs: undefined,
    intervalMs: MINUTE,
    lookbackMs: 15 * MINUTE,
    latestEndMs: END,
    nowMs: NOW,
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
    expect(planReread(steady(1e7, { readUpToMs: END - 17 * MINUTE }))).toMatchObject({ order: 'from_cursor', reason: 'nothing_to_reread', runRequests: Infinity });
    expect(planReread(steady(1e7, { rowsPerMinute: undefined }))).toMatchObject({ order: 'from_cursor', reason: 'density_unknown' });
  });

  it('long windows do not make a large look-back "one window": 10M rows a day stays tiered', () => {
    // Windows of up to 120,000 rows (window.ts) hold the whole 15-minute look-back at 10M (104,000 rows), but
    // reading it whole every run would cost 21 requests a run; one listing is for a few pages only.
    const long = windowRowsFor(DEFAULT_TUNING.maxWindowRows, 5000);
    expect(planReread(steady(1e7, { windowRows: long, cursorMs: END - 16 * MINUTE })).order).toBe('tiered');
    expect(planReread(steady(1e6, { windowRows: long, cursorMs: END - 16 * MINUTE }))).toMatchObject({ order: 'from_cursor', reason: 'one_window' });
  });

  it('a small tenant: one listing from the cursor, as every run always did', () => {
    const plan = planReread(steady(20_000));
    expect(plan).toMatchObject({ order: 'from_cursor', reason: 'one_window', roundStart: true, rereadFromMs: END - 17 * MINUTE, roundIntervals: 1 });
  });

  it('10M rows a day: with two intervals settled since the last settling run, the run reads the settled part alone', () => {
    const plan = planReread(steady(1e7));
    expect(plan).toMatchObject({ order: 'tiered', reason: 'shared', roundStart: true, runRequests: 18, roundIntervals: ROUND_RUNS });
    // Settled: what is lookback + margin old now, from the cursor (two intervals of it, one round's worth).
    expect(plan.settledEndMs).toBe(END - 15 * MINUTE);
    // No re-read besides: no status band, no new data (the next young run reads it).
    expect(plan.rereadFromMs).toBe(plan.settledEndMs);
    expect(plan.rereadUntilMs).toBe(plan.settledEndMs);
    expect(plan.visibleRampMs).toBeUndefined();
    // Not quite two intervals settled (a run sooner than planned) is not enough either: that run is a young run.
    expect(planReread(steady(1e7, { cursorMs: END - 16 * MINUTE - 20_000 })).roundStart).toBe(false);
  });

  it('the run after it reads the young part and the new data in one listing', () => {
    const plan = planReread(steady(1e7, { cursorMs: END - 16 * MINUTE }));
    // Young part: the last YOUNG_SHARE × 15 = 12 minutes before now − margin, up to readUpTo (and on to now − margin).
    expect(plan).toMatchObject({ order: 'tiered', roundStart: false, rereadFromMs: END - 12 * MINUTE, rereadUntilMs: END - MINUTE });
    expect(YOUNG_SHARE * 15).toBeCloseTo(12, 10);
    // No settled pass: the cursor moves in the settling runs.
    expect(plan.settledEndMs).toBe(END - 16 * MINUTE);
    // Its windows are planned for the rows visible now: 10 of 15 minutes for a row to show up.
    expect(plan.visibleRampMs).toBeCloseTo(VISIBLE_SHARE * 15 * MINUTE, 6);
    expect(VISIBLE_SHARE * 15).toBeCloseTo(10, 10);
    // Its share: the round's two (2 × 18) less the settling run's estimate (settled 2 minutes, planned for
    // pages 92 % full: 4 requests), so a young listing needing more than one run's share is still read whole.
    expect(plan.runRequests).toBe(2 * 18 - 4);
    expect(planReread(steady(1e7, { cursorMs: END - 16 * MINUTE, remainingRequests: 20 })).runRequests).toBe(20);
  });

  it('a young run cut short goes on where it stopped, before the settling run; a rereadFrom outside the look-back does not count', () => {
    const middle = END - 8 * MINUTE;
    expect(planReread(steady(1e7, { rereadFromMs: middle }))).toMatchObject({ rereadFromMs: middle, rereadUntilMs: END - MINUTE, roundStart: false });
    for (const outside of [END - 17 * MINUTE, END - 30 * MINUTE, END - MINUTE, NOW]) {
      expect(planReread(steady(1e7, { rereadFromMs: outside }))).toMatchObject({ settledEndMs: END - 15 * MINUTE, roundStart: true });
    }
  });

  it('with the cursor already inside the young part, the young run starts at the cursor', () => {
    const plan = planReread(steady(1e7, { cursorMs: END - 10 * MINUTE }));
    expect(plan).toMatchObject({ order: 'tiered', rereadFromMs: END - 10 * MINUTE, rereadUntilMs: END - MINUTE, settledEndMs: END - 10 * MINUTE });
  });

  it("25M rows a day: the settling run takes the young part's oldest minute (a slice), so the round fits the budget", () => {
    // Planned for pages 92 % full: 3 young runs (young listing: about 126,000 visible rows, 30 requests in
    // windows of 4 pages) and 2 settling runs (9) in 5 minutes would be 108 of 90: the slice, rows 11 to 10
    // minutes old (all visible), moves to the settling run (3 × 25 + 2 × 14 = 103, the lesser).
    const settling = planReread(steady(2.5e7));
    expect(settling).toMatchObject({ order: 'tiered', roundStart: true, settledEndMs: END - 15 * MINUTE });
    expect(settling.rereadFromMs).toBe(NOW - 11 * MINUTE);
    expect(settling.rereadUntilMs).toBe(NOW - 10 * MINUTE);
    // The young run starts where the slice ended, one interval later: rows up to 11 minutes old, not 12 + margin.
    const young = planReread(steady(2.5e7, { cursorMs: END - 16 * MINUTE, rereadFromMs: NOW - 10 * MINUTE }));
    expect(young).toMatchObject({ roundStart: false, rereadFromMs: NOW - 10 * MINUTE, rereadUntilMs: END - MINUTE });
    // Its share: the round's two less the settling run's (settled 9, slice 5).
    expect(young.runRequests).toBe(2 * 18 - (9 + 5));
    // Where the rounds fit, there is no slice: 10M (above), and 25M with a budget to match.
    expect(planReread(steady(2.5e7, { budget: { limit: 200, windowMs: 300_000 } }))).toMatchObject({ rereadFromMs: END - 15 * MINUTE, rereadUntilMs: END - 15 * MINUTE });
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
          const readUpToMs = END - behind * MINUTE;
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
          if (plan.order === 'tiered') {
            // The re-read stays inside [cursor, readUpTo]; the settled part ends where the cursor rule allows.
            expect(plan.rereadUntilMs).toBeGreaterThanOrEqual(plan.rereadFromMs);
            expect(plan.rereadUntilMs).toBeLessThanOrEqual(readUpToMs);
            expect(plan.settledEndMs).toBeGreaterThanOrEqual(cursorMs);
            expect(plan.settledEndMs).toBeLessThanOrEqual(Math.max(cursorMs, Math.min(readUpToMs, END - 15 * MINUTE)));
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
