/**
 * The fold on its own (src/fetch/fold.ts): random windows, rows inside and around them, duplicates within a
 * read, keys already seen, cursors at or behind the window's start, reads at any time after it. No fake
 * Graph and no engine: the fold is pure, and these are the rules the fetch loop's no-loss rests on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIntegrationError } from '../../src/errors.js';
import { dedupKey, SeenSet } from '../../src/fetch/seen-set.js';
import { foldAbandoned, foldPage, foldWindow, foldWindowEnd, settledBefore } from '../../src/fetch/fold.js';
import type { FetchState } from '../../src/fetch/state.js';
import { DEFAULT_TUNING, type FetchTuning, type PlannedWindow } from '../../src/fetch/window.js';
import type { MessageTraceRow } from '../../src/graph/types.js';

const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const SECOND = 1000;
const MINUTE = 60_000;
const STATUSES = ['gettingStatus', 'pending', 'delivered', 'failed', 'somethingNew'];

interface Case {
  window: PlannedWindow;
  rows: MessageTraceRow[];
  receivedMs: number[];
  state: FetchState;
  readAtMs: number;
  lookbackMs: number;
  tuning: FetchTuning;
  reread: { untilMs: number } | undefined;
}

const caseArb = fc
  .record({
    startSecond: fc.integer({ min: 0, max: 3600 }),
    lengthSeconds: fc.integer({ min: 1, max: 3600 }),
    cursorBehindSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 600 })),
    readAfterEndMs: fc.integer({ min: 0, max: 40 * MINUTE }),
    lookbackMinutes: fc.constantFrom(1, 5, 15),
    safetyMarginMs: fc.constantFrom(0, 1000, 60_000),
    rows: fc.array(
      fc.record({
        id: fc.integer({ min: 0, max: 15 }),
        recipient: fc.integer({ min: 0, max: 2 }),
        status: fc.constantFrom(...STATUSES),
        // Fraction of the window, or a little outside it (Graph compares whole rows).
        at: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
      }),
      { maxLength: 60 },
    ),
    seenFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    rowsPerMinute: fc.option(fc.double({ min: 0, max: 1e5, noNaN: true }), { nil: undefined }),
    reread: fc.boolean(),
  })
  .map((c): Case => {
    const startMs = T0 + c.startSecond * SECOND;
    const endMs = startMs + c.lengthSeconds * SECOND;
    const receivedMs: number[] = [];
    // A message's row for one recipient has one receivedDateTime, whatever its status: the first draw wins.
    const receivedOf = new Map<string, number>();
    const rows = c.rows.map((r) => {
      const pair = `${r.id}/${r.recipient}`;
      const at = receivedOf.get(pair) ?? Math.floor(startMs + r.at * (endMs - startMs));
      receivedOf.set(pair, at);
      receivedMs.push(at);
      return { id: `m${r.id}`, recipientAddress: `u${r.recipient}@example.test`, status: r.status, receivedDateTime: new Date(at).toISOString() };
    });
    const seen = new SeenSet();
    rows.slice(0, Math.floor(rows.length * c.seenFraction)).forEach((row, i) => {
      seen.add(dedupKey(row, receivedMs[i] as number));
    });
    const cursorMs = startMs - c.cursorBehindSeconds * SECOND;
    return {
      window: { startMs, endMs },
      rows,
      receivedMs,
      state: { cursorMs, readUpToMs: Math.max(cursorMs, startMs), rowsPerMinute: c.rowsPerMinute, seen },
      readAtMs: endMs + c.readAfterEndMs,
      lookbackMs: c.lookbackMinutes * MINUTE,
      tuning: { ...DEFAULT_TUNING, safetyMarginMs: c.safetyMarginMs },
      reread: c.reread ? { untilMs: endMs + SECOND * (c.startSecond % 3) } : undefined,
    };
  });

function inside(c: Case, i: number): boolean {
  const ms = c.receivedMs[i] as number;
  return ms >= c.window.startMs && ms < c.window.endMs + SECOND;
}

describe('foldWindow', () => {
  it('sends each key inside the window once, only if not seen before, and counts the rest as outside', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const before = c.rows.map((row, i) => c.state.seen.has(dedupKey(row, c.receivedMs[i] as number)));
        const expected = new Set<string>();
        c.rows.forEach((row, i) => {
          if (inside(c, i) && !before[i]) expected.add(JSON.stringify([row.id, row.recipientAddress, row.status]));
        });
        const folded = foldWindow(c.state, c.window, { rows: c.rows, readAtMs: c.readAtMs }, { lookbackMs: c.lookbackMs, tuning: c.tuning, reread: c.reread });
        const sent = folded.events.map((event) => JSON.stringify([event.id, event.recipientAddress, event.status]));
        expect(new Set(sent).size).toBe(sent.length);
        expect(new Set(sent)).toEqual(expected);
        expect(folded.rowsInside + folded.rowsOutside).toBe(c.rows.length);
        expect(folded.rowsInside).toBe(c.rows.filter((_, i) => inside(c, i)).length);
        for (const event of folded.events) expect(event._time).toBe(event.receivedDateTime);
      }),
      { numRuns: 400 },
    );
  });

  it('moves the cursor only from the window start, never past its end or past the read time less margin and look-back', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const cursorBefore = c.state.cursorMs;
        const readUpToBefore = c.state.readUpToMs;
        const { state } = foldWindow(c.state, c.window, { rows: c.rows, readAtMs: c.readAtMs }, { lookbackMs: c.lookbackMs, tuning: c.tuning, reread: c.reread });
        expect(state.cursorMs).toBeGreaterThanOrEqual(cursorBefore);
        if (cursorBefore !== c.window.startMs) expect(state.cursorMs).toBe(cursorBefore);
        expect(state.cursorMs).toBeLessThanOrEqual(Math.max(cursorBefore, c.window.endMs));
        expect(state.cursorMs).toBeLessThanOrEqual(Math.max(cursorBefore, c.readAtMs - c.tuning.safetyMarginMs - c.lookbackMs));
        expect(state.readUpToMs).toBe(Math.max(readUpToBefore, c.window.endMs));
        if (c.reread === undefined) expect(state.rereadFromMs).toBe(c.state.rereadFromMs);
        else expect(state.rereadFromMs).toBe(c.window.endMs >= c.reread.untilMs ? undefined : c.window.endMs);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps the key of every row at or after the new cursor, so reading the window again sends nothing new', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const context = { lookbackMs: c.lookbackMs, tuning: c.tuning, reread: c.reread };
        const first = foldWindow(c.state, c.window, { rows: c.rows, readAtMs: c.readAtMs }, context);
        c.rows.forEach((row, i) => {
          const ms = c.receivedMs[i] as number;
          if (inside(c, i) && ms >= first.state.cursorMs) expect(first.state.seen.has(dedupKey(row, ms))).toBe(true);
        });
        // The loop never plans a window before the cursor: re-read what is left at or after it.
        const startMs = Math.max(c.window.startMs, Math.floor(first.state.cursorMs / SECOND) * SECOND);
        const again = foldWindow(first.state, { startMs, endMs: c.window.endMs }, { rows: c.rows, readAtMs: c.readAtMs }, context);
        expect(again.events).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('folded page by page, however the rows are split, sends the same events in the same order and ends in the same state', () => {
    fc.assert(
      fc.property(caseArb, fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 10 }), (c, sizes) => {
        const context = { lookbackMs: c.lookbackMs, tuning: c.tuning, reread: c.reread };
        const copy = (state: FetchState): FetchState => ({ ...state, seen: state.seen.clone() });
        const whole = foldWindow(copy(c.state), c.window, { rows: c.rows, readAtMs: c.readAtMs }, context);

        const state = copy(c.state);
        const settledBeforeMs = settledBefore(c.readAtMs, context);
        const events = [];
        const count = { rowsInside: 0, rowsOutside: 0, settledRows: 0 };
        let at = 0;
        for (const size of [...sizes, c.rows.length]) {
          const page = foldPage(state.seen, c.window, c.rows.slice(at, at + size), settledBeforeMs);
          at += size;
          events.push(...page.events);
          count.rowsInside += page.rowsInside;
          count.rowsOutside += page.rowsOutside;
          count.settledRows += page.settledRows;
        }
        const end = foldWindowEnd(state, c.window, count, c.readAtMs, context);
        expect(events).toEqual(whole.events);
        expect(count.rowsInside).toBe(whole.rowsInside);
        expect(count.rowsOutside).toBe(whole.rowsOutside);
        const { seen: endSeen, ...endRest } = end;
        const { seen: wholeSeen, ...wholeRest } = whole.state;
        expect(endRest).toEqual(wholeRest);
        expect(endSeen.serialize()).toBe(wholeSeen.serialize());
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a row whose receivedDateTime is not a time, naming the row', () => {
    const state: FetchState = { cursorMs: T0, readUpToMs: T0, rowsPerMinute: undefined, seen: new SeenSet() };
    const row = { id: 'bad-1', status: 'delivered', receivedDateTime: 'yesterday' };
    try {
      foldWindow(state, { startMs: T0, endMs: T0 + MINUTE }, { rows: [row], readAtMs: T0 + 2 * MINUTE }, { lookbackMs: MINUTE, tuning: DEFAULT_TUNING });
      expect.unreachable();
    } catch (error) {
      expect(isIntegrationError(error) && error.code).toBe('graph_invalid_response');
      expect(String(error)).toMatch(/bad-1/);
    }
  });
});

describe('foldAbandoned', () => {
  it('moves nothing but the density (never down), and plans a window at most half as long from the same start', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom<'too_many_rows' | 'max_fetch'>('too_many_rows', 'max_fetch'),
        (c, rowsSeen, targetRows, cut) => {
          const window = { startMs: c.window.startMs, endMs: c.window.startMs + Math.max(2 * SECOND, c.window.endMs - c.window.startMs) };
          const { state, shorter } = foldAbandoned(c.state, window, rowsSeen, cut, targetRows);
          expect(state.cursorMs).toBe(c.state.cursorMs);
          expect(state.readUpToMs).toBe(c.state.readUpToMs);
          expect(state.seen).toBe(c.state.seen);
          expect(state.rowsPerMinute).toBeGreaterThanOrEqual(c.state.rowsPerMinute ?? 0);
          expect(shorter.startMs).toBe(window.startMs);
          expect(shorter.endMs - shorter.startMs).toBeGreaterThanOrEqual(SECOND);
          expect(shorter.endMs - shorter.startMs).toBeLessThanOrEqual((window.endMs - window.startMs) / 2);
          // Cut at max_fetch, the next plan for the same rows would be no longer than the shorter window.
          if (cut === 'max_fetch') {
            expect(((rowsSeen / (state.rowsPerMinute as number)) * MINUTE) / SECOND).toBeLessThanOrEqual((shorter.endMs - shorter.startMs) / SECOND + 1e-6);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
