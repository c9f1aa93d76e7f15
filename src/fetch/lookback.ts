/**
 * How a run shares its requests between new data and the look-back re-read: pure arithmetic over the
 * state, the density, the fetch interval and the request budget.
 *
 * Every run reads what is new, from `readUpTo` to now − margin. The look-back, `[cursor, readUpTo]`, is read
 * again to catch late rows and status changes; a read of it that starts at the cursor is what moves the
 * cursor (window.ts). At low volume it costs a request or two, and every run reads it whole, as it always
 * did. At high volume it costs many pages (10,000,000 rows a day, 15 minutes: about 23 pages of 5000), and
 * reading it whole every minute would spend more than the budget allows (90 requests per 5 minutes). So
 * the re-read goes round: each run continues it from where the last one stopped (`rereadFrom`), spending
 * what its share of the budget leaves after the new data, and a round that reaches readUpTo ends; the next
 * starts again at the cursor, and moves it.
 *
 *   share per interval      A = limit × interval / budget window       (90 × 1 min / 5 min = 18)
 *   new data per interval   n = pages of one interval of rows          (about 2 at 10M rows a day)
 *   one round               S = pages of [cursor, readUpTo]            (lookback + a round's intervals)
 *   a round takes about S / (A − n) runs; a late row or a status change waits at most one round.
 *
 * Spending at most A per interval keeps any rolling budget window within the limit without bursts, which
 * re-reading the whole look-back every k-th run would not (three bursts can fall into one window).
 *
 * That round re-reads old minutes as often as young ones, yet rows appear late (Graph: up to about 10
 * minutes) and change status soon after (about 5), so at steady state the plan is tiered instead
 * (planTiered), in rounds of two runs: a young run reads the young part of the look-back and the new data
 * in one listing; a settling run reads the settled part from the cursor (which moves it), and nothing else
 * (why that is enough, and what it costs at 10,000,000 rows a day: planTiered). Requests go by pages, and a
 * listing's last page is seldom full, so the plan also keeps listings few and long: the young part and the
 * new data are one listing, the settled part is read two intervals at a time, and the young listing's
 * windows are planned for the rows visible now (window.ts `visibleRampMs`).
 *
 * At 25,000,000 rows a day the round is as dear as the budget allows: the young listing (about 125,000
 * visible rows, 25 pages) three times and the settling run (7) twice in a rolling 5 minutes is more than
 * 90, so young runs would be cut short and their youngest rows wait a third interval. Two things bring it
 * within 90. The young listing's oldest interval (rows 10 to 11 minutes old, all visible by then) moves to
 * the settling run as a slice: read one interval before the young run would, it still reads every row
 * there within two intervals of showing, and costs no more rows (any wider a split would read a minute of
 * rows twice); a later status may then wait for the settled pass, up to about 7 minutes. And windows are
 * long (window.ts `maxWindowRows`), so the young listing is one window, not six ending in part-full pages.
 * Measured (bench/reread-scaled.ts, 50× and 100×, seed 42): 88 requests per 5 minutes at 25M, 83 at 22M,
 * new rows within 120 s at p99, 0/0.
 * The round's costs are estimates, so they are planned as windows are, for pages 92 % full (window.ts
 * PAGE_FILL): an unsliced round estimated at exactly 90 (the real bench at 25M, in the simulated day's 0.9×
 * hours) left no room for a young listing a few rows longer than estimated, and its rows waited a third
 * interval (new-row lag p99 162 s).
 *
 * None of this decides what is safe: a re-read left unfinished only leaves the cursor, and the dedup keys
 * behind readUpTo, where they are; no-loss rests on the cursor rule alone.
 */
import type { BudgetShape } from '../http/budget.js';
import { floorSecond, MINUTE_MS } from '../graph/limits.js';
import { PAGE_FILL, visibleRows, windowRowsFor } from './window.js';

/** Requests to read `rows` in windows of `windowRows`: full pages per window plus the last one's part. */
export function estimateRequests(rows: number, windowRows: number, pageSize: number): number {
  if (!(rows > 0)) return 1;
  const perWindow = Math.max(1, Math.ceil(windowRows / pageSize));
  const fullWindows = Math.floor(rows / windowRows);
  const rest = rows - fullWindows * windowRows;
  return Math.max(1, fullWindows * perWindow + (rest > 0 ? Math.ceil(rest / pageSize) : 0));
}

/** Requests per interval this integration may spend on average: its share of the rolling budget. */
export function allowancePerInterval(intervalMs: number, budget: BudgetShape): number {
  return (budget.limit * intervalMs) / budget.windowMs;
}

/**
 * Runs one round of the re-read takes at steady state: the smallest k for which k intervals of new data
 * plus a look-back of `lookback + (k − 1) × interval` fit in k shares. `Infinity` past MAX_ROUND_INTERVALS
 * (more volume than the budget can follow).
 */
export const MAX_ROUND_INTERVALS = 10;

export function roundIntervals(input: {
  rowsPerMinute: number;
  lookbackMs: number;
  intervalMs: number;
  allowance: number;
  windowRows: number;
  pageSize: number;
}): number {
  const perMs = input.rowsPerMinute / MINUTE_MS;
  const newRequests = estimateRequests(perMs * input.intervalMs, input.windowRows, input.pageSize);
  for (let k = 1; k <= MAX_ROUND_INTERVALS; k++) {
    const lookbackRequests = estimateRequests(perMs * (input.lookbackMs + (k - 1) * input.intervalMs), input.windowRows, input.pageSize);
    if (k * newRequests + lookbackRequests <= k * input.allowance) return k;
  }
  return Number.POSITIVE_INFINITY;
}

export interface RereadInput {
  cursorMs: number;
  readUpToMs: number;
  /** Where the last run's re-read stopped; `undefined` (or outside the look-back): a round starts. */
  rereadFromMs: number | undefined;
  /** Time between runs (`eventFetchInterval`). */
  intervalMs: number;
  lookbackMs: number;
  /** Where windows may end now (now − margin). */
  latestEndMs: number;
  /** The run's clock, for the rows visible now (default: latestEndMs). */
  nowMs?: number;
  rowsPerMinute: number | undefined;
  /** Rows a window is planned for. */
  windowRows: number;
  pageSize: number;
  budget: BudgetShape;
  /** Requests the budget allows right now (budget.ts `remainingRequests` over the shared log). */
  remainingRequests: number;
}

export type ReadOrder =
  /** One pass from the cursor to now − margin: the look-back and the new data together, no cap. */
  | 'from_cursor'
  /** The new data first, then the look-back from `rereadFromMs` to readUpTo, within `runRequests`. */
  | 'new_first'
  /**
   * In rounds of two runs: a settling run reads the settled part `[cursor, settledEndMs]` (moves the cursor),
   * and at the budget's limit a slice `[rereadFromMs, rereadUntilMs]`; a young run reads the young part and
   * the new data in one pass from `rereadFromMs`.
   */
  | 'tiered';

export type RereadReason =
  /** Nothing between cursor and readUpTo: reading from the cursor is reading the new data. */
  | 'nothing_to_reread'
  | 'density_unknown'
  /** Look-back and new data are a few pages (ONE_LISTING_PAGES): one listing, as every run always did. */
  | 'one_window'
  /** Far behind: a backlog read from the cursor moves the cursor as it goes. */
  | 'backlog'
  /** The look-back has grown past twice its usual span (the budget was short for a while): no cap. */
  | 'overgrown'
  | 'shared';

export interface RereadPlan {
  order: ReadOrder;
  reason: RereadReason;
  /** Where the re-read starts this run: the cursor when a round starts. */
  rereadFromMs: number;
  /** Whether this run starts a new round (the re-read starts at the cursor). */
  roundStart: boolean;
  /** Requests this run may spend in all (new data and re-read); `Infinity`: no cap besides the budget. */
  runRequests: number;
  /** A: this integration's average requests per interval. */
  allowance: number;
  /** Estimated requests of the look-back from `rereadFromMs`, and of one interval of new data. */
  lookbackRequests: number;
  newRequests: number;
  /** Runs a round takes at steady state. */
  roundIntervals: number;
  /** `tiered`: where this run's re-read stops (readUpTo when it ends the round). */
  rereadUntilMs?: number;
  /** `tiered`: end of the settled part read from the cursor (cursor rule: now − margin − lookback). */
  settledEndMs?: number;
  /** `tiered`: the young pass plans its windows for the rows visible now (window.ts `visibleRampMs`). */
  visibleRampMs?: number;
}

/** Pages up to which the look-back and the new data are read whole every run, in one listing. */
export const ONE_LISTING_PAGES = 4;

/** Where an earlier run's re-read stopped, when that is still between the cursor and readUpTo (it goes on from there). */
function rereadStoppedInside(input: Pick<RereadInput, 'rereadFromMs' | 'cursorMs' | 'readUpToMs'>): number | undefined {
  const from = input.rereadFromMs;
  return from !== undefined && from > input.cursorMs && from < input.readUpToMs ? from : undefined;
}

/**
 * How this run reads. One pass from the cursor, uncapped, when there is nothing to re-read, the density is
 * unknown, everything is a few pages, or far behind; else the new data first, then the re-read from
 * where it stopped, within this run's share: min(A, what the budget has left). At least one window of the
 * re-read is read every run, whatever the share, so the cursor always moves eventually.
 */
export function planReread(input: RereadInput): RereadPlan {
  const allowance = allowancePerInterval(input.intervalMs, input.budget);
  const rate = input.rowsPerMinute;
  const rowsIn = (fromMs: number, toMs: number): number => (rate === undefined ? 0 : (rate * Math.max(0, toMs - fromMs)) / MINUTE_MS);
  const rereadFromMs = rereadStoppedInside(input) ?? input.cursorMs;
  const lookbackRequests = estimateRequests(rowsIn(rereadFromMs, input.readUpToMs), input.windowRows, input.pageSize);
  const newRequests = estimateRequests(rowsIn(0, input.intervalMs), input.windowRows, input.pageSize);
  const k =
    rate === undefined
      ? 1
      : roundIntervals({ rowsPerMinute: rate, lookbackMs: input.lookbackMs, intervalMs: input.intervalMs, allowance, windowRows: input.windowRows, pageSize: input.pageSize });
  const base = { allowance, lookbackRequests, newRequests, roundIntervals: k };
  const fromCursor = (reason: RereadReason): RereadPlan => ({
    ...base,
    order: 'from_cursor',
    reason,
    rereadFromMs: input.cursorMs,
    roundStart: true,
    runRequests: Number.POSITIVE_INFINITY,
    lookbackRequests: estimateRequests(rowsIn(input.cursorMs, input.readUpToMs), input.windowRows, input.pageSize),
  });

  if (input.readUpToMs <= input.cursorMs) return fromCursor('nothing_to_reread');
  if (rate === undefined) return fromCursor('density_unknown');
  const newRows = rowsIn(input.readUpToMs, input.latestEndMs);
  // "Small" is a few pages, not a window: windows may be long (window.ts maxWindowRows), and a look-back of
  // 23 pages (10M rows a day) read whole every run costs far more than the tiered plan.
  const smallRows = Math.min(input.windowRows, windowRowsFor(ONE_LISTING_PAGES * input.pageSize, input.pageSize));
  if (rowsIn(input.cursorMs, input.latestEndMs) <= smallRows) return fromCursor('one_window');
  if (newRows > Math.max(smallRows, rowsIn(0, input.lookbackMs))) return fromCursor('backlog');
  const usualSpanMs = input.lookbackMs + (Number.isFinite(k) ? k : MAX_ROUND_INTERVALS) * input.intervalMs;
  if (input.readUpToMs - input.cursorMs > 2 * usualSpanMs) {
    // Overgrown: start over at the cursor, uncapped, so the cursor (and the state with it) moves this run.
    return { ...base, order: 'new_first', reason: 'overgrown', rereadFromMs: input.cursorMs, roundStart: true, runRequests: Number.POSITIVE_INFINITY };
  }
  return { ...base, ...planTiered(input, allowance), reason: 'shared' };
}

/**
 * The young part of the look-back, as a share of it: the last 12 of 15 minutes before now − margin, where rows
 * still appear. It is read every ROUND_RUNS runs in one listing with the new data. Why 12: a row can show up
 * 10 minutes late (look-back 15 = up to 10 to show + up to 5 to settle), and the young listing must reach
 * two intervals past that to read every row within two intervals of showing; and the young listing's last
 * read of a row then comes exactly 5 intervals before the settled pass reads it (see planTiered), so a
 * status that changes after that last read waits at most the 5 minutes a status may take.
 */
export const YOUNG_SHARE = 12 / 15;
/**
 * Rows are taken to show up evenly over the first VISIBLE_SHARE of the look-back (10 of 15 minutes) when the
 * young pass plans its windows: a window there holds fewer rows than the settled density says.
 */
export const VISIBLE_SHARE = 10 / 15;
/** Runs one round takes: one young run, one settling run. A row in the young part is read every this many intervals. */
export const ROUND_RUNS = 2;

/**
 * The tiered re-read at high volume, in rounds of two runs.
 *
 *   settling run   the settled part [cursor, now − margin − lookback] alone: it moves the cursor two intervals
 *                  at a time (a listing of two minutes fills its pages better than two of one);
 *   young run      the young part and the new data in one listing, [now − margin − young, now − margin].
 *
 * Which one a run is follows from the state: a settling run is due when the settled part holds about a
 * round's intervals (a young run leaves the cursor where it was), a young run cut short by its share left
 * where it stopped in `rereadFrom` and goes on from there first.
 *
 * Why no other listing (measured with bench/reread-scaled.ts; the young listing is about 12 pages at 1.16×
 * the mean of 10M rows a day, the settled part 4): the young runs come at even intervals, the settling runs
 * at odd ones, so a row's last young read, at 10 to 12 minutes of age plus the margin, is always five
 * intervals before its settled read at 15 to 17 plus the margin: a later status is delivered within 5 minutes
 * without a status band between them. And with a margin of seconds, not a minute (window.ts), a row that
 * shows up in the settling run's interval waits for the next young run, still within two intervals of when
 * a listing could first return it, so the settling run reads no new data. A round is then 12 + 4 requests:
 * 3 young and 2 settling runs in a rolling 5 minutes are 44 (bench/reread-scaled.ts, 10× and 50×, seeds 42
 * and 1234; 46 at 50× with seed 7, where a listing of 100-row pages now and then ends a page later). The
 * plan before, with a status band, a new-data listing in the settling run and a one-minute margin, made it
 * 50: three listings a settling run, each ending in a part-full page; re-reading the young part half per
 * run took 55, and the whole look-back in rounds 69 to 79.
 *
 * When those runs would take the busiest budget window past the limit, and slicing makes it less (25M rows
 * a day: the young listing is about 25 pages), the young listing's oldest interval (rows 10 to 11 minutes
 * old, all visible by then) moves to the settling run as a slice, whose end it leaves in `rereadFrom`: the
 * young run starts there next run. Every row is still read within two intervals of showing, at no more
 * rows; a later status may then wait for the settled pass, up to about 7 minutes.
 */
function planTiered(
  input: RereadInput,
  allowance: number,
): Pick<RereadPlan, 'order' | 'rereadFromMs' | 'rereadUntilMs' | 'settledEndMs' | 'roundStart' | 'runRequests' | 'roundIntervals' | 'visibleRampMs'> {
  const { cursorMs, readUpToMs, latestEndMs, lookbackMs, intervalMs } = input;
  const common = { order: 'tiered' as const, runRequests: Math.max(0, Math.min(allowance, input.remainingRequests)), roundIntervals: ROUND_RUNS };
  const inLookback = (ms: number): number => Math.max(cursorMs, Math.min(readUpToMs, floorSecond(ms)));
  // Not past readUpTo: the cursor it moves must stay behind where the other passes start.
  const settledEndMs = inLookback(latestEndMs - lookbackMs);
  const cost = roundCost(input);
  // Young runs this dear would take the busiest budget window past the limit: the young listing's oldest
  // interval moves to the settling runs.
  const unsliced = busiestWindow(input, cost.young, cost.settling);
  const sliced = unsliced > input.budget.limit && busiestWindow(input, cost.youngSliced, cost.settling + cost.slice) < unsliced;
  const stoppedAt = rereadStoppedInside(input);
  const youngDue = stoppedAt !== undefined;
  // Half an interval of slack: runs are not exactly an interval apart.
  const settlingDue = !youngDue && settledEndMs - cursorMs > (ROUND_RUNS - 0.5) * intervalMs;
  if (settlingDue) {
    // Sliced: also the interval behind the one the young run starts at next run (where this run's ends).
    // Unsliced: nothing besides the settled part (an empty re-read at its end).
    const sliceFromMs = sliced ? inLookback(slicedYoungFrom(input)) : settledEndMs;
    const sliceUntilMs = sliced ? inLookback(sliceFromMs + intervalMs) : settledEndMs;
    return { ...common, rereadFromMs: sliceFromMs, rereadUntilMs: sliceUntilMs, settledEndMs, roundStart: true };
  }
  // Young run: from the young part's start, or on from where a young run cut short (or a slice) stopped.
  const youngFromMs = inLookback(latestEndMs - YOUNG_SHARE * lookbackMs);
  const rereadFromMs = stoppedAt === undefined ? youngFromMs : Math.max(youngFromMs, stoppedAt);
  // The round's share is two runs' (2A): the young run may take what the settling run leaves of it, so that
  // a young listing a little over one run's share is still read whole every other run (while the budget has
  // room) instead of in three runs.
  const settling = sliced ? cost.settling + cost.slice : cost.settling;
  const runRequests = Math.max(0, Math.min(ROUND_RUNS * allowance - settling, input.remainingRequests));
  return {
    ...common,
    runRequests,
    rereadFromMs,
    rereadUntilMs: readUpToMs,
    settledEndMs: cursorMs,
    roundStart: false,
    visibleRampMs: VISIBLE_SHARE * lookbackMs,
  };
}

/** Estimated requests of a round's listings at the density: each one's windows and its last, part-full page. */
interface RoundCost {
  /** The settling run: the settled part (ROUND_RUNS intervals). */
  settling: number;
  /** One interval of settled rows (the slice). */
  slice: number;
  /** The young part and the new data in one listing, the rows visible now. */
  young: number;
  /** The same without its oldest interval (the slice). */
  youngSliced: number;
}

function roundCost(input: RereadInput): RoundCost {
  const rate = input.rowsPerMinute ?? 0;
  const nowMs = input.nowMs ?? input.latestEndMs;
  // Planned as windows are (window.ts PAGE_FILL): pages a little short of full, so that the usual error of the
  // density estimate does not take the busiest budget window past the limit when the estimate sits just under it.
  const requests = (rows: number): number => estimateRequests(rows / PAGE_FILL, input.windowRows, input.pageSize);
  const rows = (ms: number): number => (rate * ms) / MINUTE_MS;
  const visible = (fromMs: number): number => visibleRows(fromMs, input.latestEndMs, rate, nowMs, VISIBLE_SHARE * input.lookbackMs);
  return {
    settling: requests(rows(ROUND_RUNS * input.intervalMs)),
    slice: requests(rows(input.intervalMs)),
    young: requests(visible(input.latestEndMs - YOUNG_SHARE * input.lookbackMs)),
    youngSliced: requests(visible(slicedYoungFrom(input))),
  };
}

/**
 * Where a sliced young run starts when it runs now: one interval short of the young part, counted from now,
 * not from now − margin, so it ends where a row is at most 10 + 1 minutes old (the margin only serves to keep
 * the unsliced young part's last read five intervals before the settled pass, which a sliced round does not).
 */
function slicedYoungFrom(input: RereadInput): number {
  return floorSecond((input.nowMs ?? input.latestEndMs) - YOUNG_SHARE * input.lookbackMs + input.intervalMs);
}

/** Requests in the busiest budget window of runs alternating between these two costs. */
function busiestWindow(input: RereadInput, oneRun: number, otherRun: number): number {
  const runs = Math.max(1, Math.round(input.budget.windowMs / input.intervalMs));
  return Math.ceil(runs / 2) * Math.max(oneRun, otherRun) + Math.floor(runs / 2) * Math.min(oneRun, otherRun);
}
