/**
 * One fetch-events run: open the state, plan the passes, then window after window read → fold → send →
 * save (page by page: each page's events go to the sink as it arrives, the state is saved once the window
 * was read whole), until caught up, `max_fetch` rows read, the deadline passed, or the request budget spent.
 *
 * Windows come in passes (lookback.ts decides which): one pass from the cursor to now − margin (low
 * volume, a backlog, a first run), or, at high volume, runs that take turns: a young run re-reads the young
 * part of the look-back with the new data, within its share of the request budget, and a settling run
 * reads the settled part from the cursor.
 * Either way the cursor moves only by a window that starts at it (window.ts), so which pass a window
 * belongs to never matters for what is sent or lost.
 *
 * At-least-once: state is saved only after `sendEvents` resolved for the events it covers, and a window is
 * passed only once it was read completely (fold.ts). A failure or a crash at any point leaves the last saved
 * state, from which the next run reads the same windows again; the dedup keys saved with it mean only
 * events of the unsaved window can be sent twice. A window given up part-way (too many rows, max_fetch) or
 * a run stopped inside one (time or request budget, abort) saves the keys of the pages it already sent, but
 * not the position: the window is read again, and those events are not sent twice.
 */
import { EVENT_META, type Engine, type TraceEvent } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import { floorSecond, isoUtc, MINUTE_MS, SECOND_MS } from '../graph/limits.js';
import type { GraphClient, MessageTracePage } from '../graph/types.js';
import { DEFAULT_REQUEST_BUDGET, type RequestBudgetView } from '../http/budget.js';
import { foldAbandoned, foldPage, foldWindowEnd, type ReadCut, settledBefore } from './fold.js';
import { planReread, type RereadPlan } from './lookback.js';
import { SeenSet } from './seen-set.js';
import { type FetchState, parseState, serializeState } from './state.js';
import type { FetchRunSummary, StopReason } from './summary.js';
import {
  abandonThreshold,
  DEFAULT_TUNING,
  earliestStart,
  type FetchTuning,
  latestEnd,
  type PlannedWindow,
  planWindow,
  resolveFirstFetch,
  windowRowsFor,
} from './window.js';

export { describeRun, type FetchRunSummary, type StopReason } from './summary.js';

/** How long a fetch-events run may take: it ends before the engine's 5-minute command limit. */
export const DEFAULT_TIME_BUDGET_MS = 240_000;

export interface FetchRunOptions {
  engine: Engine;
  /** Its `budget` is the request budget the run plans with (none: nothing limits requests). */
  graph: GraphClient;
  maxFetch: number;
  /** `first_fetch` as typed. */
  firstFetch: string;
  lookbackMinutes: number;
  /** Time between runs (`eventFetchInterval`); paces the look-back re-reads at high volume. Default 1 min. */
  intervalMs?: number;
  /** Engine-clock epoch ms after which no new window starts: the same deadline the Graph client keeps. */
  deadlineMs: number;
  tuning?: Partial<FetchTuning>;
  signal?: AbortSignal;
  /**
   * Called with a window's new events before they are sent (and so before the state moves): the details
   * queue saves its rows here, so a crash after it leaves at worst a lookup queued twice, never one lost.
   */
  beforeSend?: (events: readonly TraceEvent[]) => Promise<void>;
}

/**
 * One pass of windows: from `fromMs` to `untilMs` (or now − margin). `reread`: it re-reads the look-back,
 * within the run's share, and keeps the re-read's position (`roundEndMs`: where its round ends).
 */
interface Pass {
  fromMs: number;
  untilMs: number | undefined;
  reread: { roundEndMs: number } | undefined;
  /** Windows planned for the rows visible now (window.ts `visibleRampMs`): a pass reaching into the young minutes. */
  visibleRampMs?: number;
}

interface ReadLimits {
  /** Rows beyond which the window is given up and planned again, shorter. */
  abandonAbove: number;
  /** Rows left of max_fetch: no page is asked for once this many are read (pages are no larger). */
  rowsLeft: number;
}

/** Why reading a window stops before its last page (a window of one second, the least Graph lists, never does). */
function cutOf(window: PlannedWindow, rowsSoFar: number, more: boolean, limits: ReadLimits): ReadCut | undefined {
  if (window.endMs - window.startMs <= SECOND_MS) return undefined;
  if (rowsSoFar > limits.abandonAbove) return 'too_many_rows';
  if (more && rowsSoFar >= limits.rowsLeft) return 'max_fetch';
  return undefined;
}

/** The next page of a listing, or the error the listing failed with (the sink's errors are not caught here). */
async function nextPage(pages: AsyncIterator<MessageTracePage>): Promise<IteratorResult<MessageTracePage> | { failed: unknown }> {
  try {
    return await pages.next();
  } catch (error) {
    return { failed: error };
  }
}

function initialState(firstFetch: string, nowMs: number, tuning: FetchTuning): FetchState {
  const startMs = resolveFirstFetch(firstFetch, nowMs, tuning);
  return { cursorMs: startMs, readUpToMs: startMs, rowsPerMinute: undefined, seen: new SeenSet() };
}

/**
 * The saved state, or the first run's from first_fetch; past what Graph keeps, moved up to it. Saved at once
 * when new or moved: a first run that fails on its first window must still pin its start, or a relative
 * first_fetch ("1 minute") resolved again by the next run would skip the rows in between. Such a state covers
 * no event yet, so saving it moves nothing forward.
 */
async function openState(engine: Engine, firstFetch: string, nowMs: number, tuning: FetchTuning): Promise<FetchState> {
  const saved = parseState(await engine.getLastRun());
  const state = saved ?? initialState(firstFetch, nowMs, tuning);
  let unsaved = saved === undefined;
  // Windows start on whole seconds; a cursor that does not (a hand-edited state) would never move.
  state.cursorMs = floorSecond(state.cursorMs);
  const earliest = earliestStart(nowMs, tuning);
  if (state.cursorMs < earliest) {
    // Graph no longer has these rows: nothing can fetch them. Say so, and go on from what it still has.
    engine.log.warn('Rows older than 90 days can no longer be read from Graph; skipping them', { from: isoUtc(state.cursorMs), to: isoUtc(earliest) });
    state.cursorMs = earliest;
    state.readUpToMs = Math.max(state.readUpToMs, earliest);
    state.seen.pruneBefore(earliest);
    unsaved = true;
  }
  if (unsaved) await engine.setLastRun(serializeState(state));
  return state;
}

function stopReasonOf(error: unknown, signal: AbortSignal | undefined): StopReason | undefined {
  if (signal?.aborted) return 'aborted';
  if (isIntegrationError(error)) {
    if (error.code === 'request_budget_exhausted') return 'request_budget';
    if (error.code === 'deadline_exceeded') return 'time_budget';
  }
  return undefined;
}

/** A graph without a budget spends none: plan with the default shape and all of it free. */
function budgetOf(graph: GraphClient): RequestBudgetView {
  if (graph.budget) return graph.budget;
  const shape = { limit: DEFAULT_REQUEST_BUDGET.limit, windowMs: DEFAULT_REQUEST_BUDGET.windowMs };
  return { shape, remaining: async () => shape.limit };
}

interface RunPlan {
  plan: RereadPlan;
  passes: Pass[];
  /** The request budget cut the last run short and has not enough room yet: read nothing this run. */
  waitForRoom: boolean;
}

async function planRun(options: FetchRunOptions, state: FetchState, startedAt: number, windowRows: number, tuning: FetchTuning): Promise<RunPlan> {
  const { engine } = options;
  const budget = budgetOf(options.graph);
  const roomAtStart = await budget.remaining();
  // The request budget cut the last run short. A window is read whole or not at all, so starting again with
  // less room than that run spent would most likely be cut at the same point, and every such try spends the
  // room that was building up: a window needing more requests than a run finds free would never be read.
  // So read nothing until the budget has room for what the cut run needed (at most the whole budget).
  const waitForRoom = state.requestsNeeded !== undefined && roomAtStart < Math.min(state.requestsNeeded, budget.shape.limit);
  if (waitForRoom) {
    engine.log.info('Waiting for room in the request budget: the last run was cut short by it', {
      requestsNeeded: state.requestsNeeded,
      requestsFree: roomAtStart,
    });
  }
  // How this run shares its requests between new data and the look-back re-read (lookback.ts).
  const plan = planReread({
    cursorMs: state.cursorMs,
    readUpToMs: state.readUpToMs,
    rereadFromMs: state.rereadFromMs,
    intervalMs: Math.max(MINUTE_MS, options.intervalMs ?? MINUTE_MS),
    lookbackMs: options.lookbackMinutes * MINUTE_MS,
    latestEndMs: latestEnd(startedAt, tuning),
    nowMs: startedAt,
    rowsPerMinute: state.rowsPerMinute,
    windowRows,
    pageSize: tuning.pageSize,
    budget: budget.shape,
    remainingRequests: roomAtStart,
  });
  if (plan.reason === 'overgrown') {
    engine.log.warn('The look-back has grown past twice its usual span: re-reading it whole this run', {
      cursor: isoUtc(state.cursorMs),
      readUpTo: isoUtc(state.readUpToMs),
    });
  }
  return { plan, passes: waitForRoom ? [] : passesOf(plan, state), waitForRoom };
}

function passesOf(plan: RereadPlan, state: FetchState): Pass[] {
  const round = { roundEndMs: state.readUpToMs };
  const newData: Pass = { fromMs: state.readUpToMs, untilMs: undefined, reread: undefined };
  if (plan.order === 'from_cursor') return [{ fromMs: state.cursorMs, untilMs: undefined, reread: round }];
  if (plan.order === 'new_first') return [newData, { fromMs: plan.rereadFromMs, untilMs: state.readUpToMs, reread: round }];
  // Tiered: the settled part first (it moves the cursor and prunes the keys); a young run then reads the young
  // part and the new data in one pass (they meet at readUpTo, and a listing's last page is seldom full), its
  // windows planned for the rows visible now; a settling run reads nothing more, or a slice at the budget's
  // limit (whose end, left in rereadFrom, is where the next young run starts).
  const settledEndMs = plan.settledEndMs ?? state.cursorMs;
  const settled: Pass[] = settledEndMs > state.cursorMs ? [{ fromMs: state.cursorMs, untilMs: settledEndMs, reread: undefined }] : [];
  const untilMs = plan.rereadUntilMs ?? state.readUpToMs;
  if (untilMs >= state.readUpToMs) {
    const young: Pass = { fromMs: plan.rereadFromMs, untilMs: undefined, reread: round };
    return [...settled, plan.visibleRampMs === undefined ? young : { ...young, visibleRampMs: plan.visibleRampMs }];
  }
  return untilMs > plan.rereadFromMs ? [...settled, { fromMs: plan.rereadFromMs, untilMs, reread: round }] : settled;
}

/** What the run did so far, for the summary. */
interface Tally {
  rowsRead: number;
  eventsSent: number;
  windows: number;
  abandonedWindows: number;
  requestsSpent: number;
  rereadStopped: boolean;
  stateChars: number;
}

/** One run as it goes: what it was given, what it planned, the state it moves and what it did so far. */
interface Run {
  options: FetchRunOptions;
  tuning: FetchTuning;
  lookbackMs: number;
  /** Rows a window is planned for (max_fetch, at most the tuning's), and the share of it pages fill. */
  targetRows: number;
  windowRows: number;
  plan: RereadPlan;
  passes: Pass[];
  waitForRoom: boolean;
  /** The state as folded so far; `unsaved`: it changed since it was last saved. */
  state: FetchState;
  unsaved: boolean;
  /** Where reading stands: the start of the next window of the current pass. */
  positionMs: number;
  tally: Tally;
}

/** Where a pass stands, besides the run's position. */
interface PassWalk {
  pass: Pass;
  previousWindowMs: number | undefined;
  /**
   * Rows per minute of the previous window of this pass: neighbouring windows are alike, and near now
   * fewer rows are visible yet than the settled density says, so windows there are planned longer.
   */
  rowsPerMinute: number | undefined;
}

export async function runFetch(options: FetchRunOptions): Promise<FetchRunSummary> {
  const run = await openRun(options);
  const stopReason = await readPasses(run);
  await closeRun(run, stopReason);
  return summarize(run, stopReason);
}

/** For each pass, for each window: stop? → plan → read → fold → send → save. */
async function readPasses(run: Run): Promise<StopReason> {
  if (run.waitForRoom) return 'request_budget';
  for (const pass of run.passes) {
    const walk = startPass(run, pass);
    for (;;) {
      const stop = stopBeforeWindow(run);
      if (stop !== undefined) return stop;
      const window = planNextWindow(run, walk);
      if (window === undefined) break;
      const cut = await fetchWindow(run, walk, window);
      if (cut !== undefined) return cut;
    }
  }
  return 'caught_up';
}

async function openRun(options: FetchRunOptions): Promise<Run> {
  const tuning: FetchTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const startedAt = options.engine.now();
  const state = await openState(options.engine, options.firstFetch, startedAt, tuning);
  // A window given up past twice its rows then needs at most two thirds of the request budget's limit in
  // full pages: once the budget has room, it completes.
  const budgetRows = tuning.pageSize * Math.max(1, Math.floor(budgetOf(options.graph).shape.limit / 3));
  const targetRows = Math.max(1, Math.min(tuning.maxWindowRows, options.maxFetch, budgetRows));
  const windowRows = windowRowsFor(targetRows, tuning.pageSize);
  const { plan, passes, waitForRoom } = await planRun(options, state, startedAt, windowRows, tuning);
  return {
    options,
    tuning,
    lookbackMs: options.lookbackMinutes * MINUTE_MS,
    targetRows,
    windowRows,
    plan,
    passes,
    waitForRoom,
    state,
    unsaved: false,
    positionMs: state.cursorMs,
    tally: {
      rowsRead: 0,
      eventsSent: 0,
      windows: 0,
      abandonedWindows: 0,
      requestsSpent: 0,
      rereadStopped: false,
      stateChars: JSON.stringify(serializeState(state)).length,
    },
  };
}

async function save(run: Run): Promise<void> {
  const document = serializeState(run.state);
  await run.options.engine.setLastRun(document);
  run.unsaved = false;
  run.tally.stateChars = JSON.stringify(document).length;
}

function startPass(run: Run, pass: Pass): PassWalk {
  run.positionMs = pass.fromMs;
  // A re-read pass from the cursor begins a new round.
  if (pass.reread && pass.fromMs === run.state.cursorMs) run.state.rereadFromMs = undefined;
  return { pass, previousWindowMs: undefined, rowsPerMinute: undefined };
}

function rowsLeft(run: Run): number {
  return run.options.maxFetch - run.tally.rowsRead;
}

/** Why no further window may start now, if one may not. */
function stopBeforeWindow(run: Run): StopReason | undefined {
  if (run.options.signal?.aborted) return 'aborted';
  if (rowsLeft(run) <= 0) return 'max_fetch';
  if (run.options.engine.now() >= run.options.deadlineMs) return 'time_budget';
  return undefined;
}

/** The pass's next window; `undefined` once the pass is done (its end reached, or the re-read's share spent). */
function planNextWindow(run: Run, walk: PassWalk): PlannedWindow | undefined {
  const { state, tuning } = run;
  const { pass } = walk;
  const window = planWindow(
    {
      startMs: run.positionMs,
      nowMs: run.options.engine.now(),
      targetRows: Math.min(run.windowRows, rowsLeft(run)),
      rowsPerMinute: pass.visibleRampMs !== undefined ? state.rowsPerMinute : (walk.rowsPerMinute ?? state.rowsPerMinute),
      visibleRampMs: pass.visibleRampMs,
      previousWindowMs: walk.previousWindowMs,
      untilMs: pass.untilMs,
    },
    tuning,
  );
  if (window === null) {
    // The round of the re-read reached its end: the next starts again at its beginning.
    if (pass.reread && run.positionMs >= pass.reread.roundEndMs && state.rereadFromMs !== undefined) {
      state.rereadFromMs = undefined;
      run.unsaved = true;
    }
    return undefined;
  }
  if (rereadShareSpent(run, walk, window)) {
    run.tally.rereadStopped = true;
    return undefined;
  }
  return window;
}

/**
 * This run's share of the budget is spent: the re-read continues here next run. The first window of the
 * re-read is always read, so the cursor moves even when the share is smaller than a window.
 */
function rereadShareSpent(run: Run, walk: PassWalk, window: PlannedWindow): boolean {
  const { pass } = walk;
  if (!pass.reread || run.positionMs === pass.fromMs || run.positionMs >= pass.reread.roundEndMs) return false;
  // A window planned by the visibility ramp holds about the rows it was planned for, not the settled density's.
  const estimatedRows =
    pass.visibleRampMs !== undefined
      ? Math.min(run.windowRows, rowsLeft(run))
      : ((walk.rowsPerMinute ?? run.state.rowsPerMinute ?? 0) * (window.endMs - window.startMs)) / MINUTE_MS;
  const estimatedRequests = Math.max(1, Math.ceil(estimatedRows / run.tuning.pageSize));
  return run.tally.requestsSpent + estimatedRequests > run.plan.runRequests;
}

function windowText(window: PlannedWindow): string {
  return `${isoUtc(window.startMs)}/${isoUtc(window.endMs)}`;
}

/**
 * One window, page by page: read → fold → (queue details) → send; once read whole, fold its end → save.
 * Each page's events go to the sink as they arrive, so at most a page of rows is held; the position moves
 * only with a window read whole. Returns why the run stops, if it does.
 */
async function fetchWindow(run: Run, walk: PassWalk, window: PlannedWindow): Promise<StopReason | undefined> {
  const { options, tuning } = run;
  const { pass } = walk;
  const limits: ReadLimits = { abandonAbove: abandonThreshold(run.targetRows, tuning), rowsLeft: rowsLeft(run) };
  const readAtMs = options.engine.now();
  const context = { lookbackMs: run.lookbackMs, tuning, reread: pass.reread ? { untilMs: pass.reread.roundEndMs } : undefined };
  const settledBeforeMs = settledBefore(readAtMs, context);
  const read = { pages: 0, rows: 0, rowsInside: 0, rowsOutside: 0, settledRows: 0, events: 0 };
  const top = Math.max(1, Math.min(tuning.pageSize, limits.rowsLeft));
  const pages = options.graph.listMessageTraces({ startMs: window.startMs, endMs: window.endMs, top }, options.signal)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await nextPage(pages);
      if ('failed' in next) return readStopped(run, window, next.failed);
      if (next.done === true) break;
      read.pages++;
      run.tally.requestsSpent++;
      const page = foldPage(run.state.seen, window, next.value.rows, settledBeforeMs);
      read.rows += next.value.rows.length;
      read.rowsInside += page.rowsInside;
      read.rowsOutside += page.rowsOutside;
      read.settledRows += page.settledRows;
      await sendEvents(run, page.events);
      read.events += page.events.length;
      const cut = cutOf(window, read.rows, next.value.more, limits);
      if (cut !== undefined) {
        await abandonWindow(run, walk, window, read.rows, cut);
        return undefined;
      }
    }
  } finally {
    // Stopped early (a cut, a failed page or send): the listing asks for no further page.
    await pages.return?.();
  }

  run.state = foldWindowEnd(run.state, window, read, readAtMs, context);
  await save(run);

  run.tally.windows++;
  run.tally.rowsRead += read.rows;
  walk.previousWindowMs = window.endMs - window.startMs;
  // A handful of rows says little about the next window: keep the run's estimate then.
  walk.rowsPerMinute =
    read.rowsInside >= Math.min(run.windowRows, tuning.pageSize) / 2 ? read.rowsInside / (walk.previousWindowMs / MINUTE_MS) : undefined;
  run.positionMs = window.endMs;
  options.engine.log.info('Window fetched', {
    window: windowText(window),
    rows: read.rows,
    events: read.events,
    ...(read.pages > 1 ? { pages: read.pages } : {}),
    ...(read.rowsOutside > 0 ? { rowsOutsideWindow: read.rowsOutside } : {}),
    ...(pass.reread || pass.untilMs !== undefined ? {} : { newOnly: true }),
    cursor: isoUtc(run.state.cursorMs),
  });
  return undefined;
}

/**
 * Hands a page's events to the engine, the details queue first. Their keys are in the seen set from now on,
 * so whatever the run saves next keeps them: a window given up or a run stopped part-way never sends them
 * again. A failed send throws out of the run before anything is saved.
 */
async function sendEvents(run: Run, events: TraceEvent[]): Promise<void> {
  if (events.length === 0) return;
  await run.options.beforeSend?.(events);
  await run.options.engine.sendEvents(events, EVENT_META);
  run.tally.eventsSent += events.length;
  run.unsaved = true;
}

/**
 * The listing failed: a spent request budget, the deadline or an abort ends the run (the window is read
 * again next run; the events of its pages already sent keep their keys); anything else is thrown on.
 */
function readStopped(run: Run, window: PlannedWindow, error: unknown): StopReason {
  const { engine, signal } = run.options;
  const reason = stopReasonOf(error, signal);
  if (reason === undefined) throw error;
  if (reason === 'request_budget') {
    // One more than this run spent, the cut window's pages included (see planRun).
    run.state.requestsNeeded = Math.max(run.state.requestsNeeded ?? 0, run.tally.requestsSpent + 1);
    run.unsaved = true;
    engine.log.warn('Request budget spent: stopping this run, state saved; the next run continues', { window: windowText(window) });
  } else if (reason === 'time_budget') {
    engine.log.info('Time budget spent while reading a window: it is read again next run', { window: windowText(window) });
  }
  return reason;
}

/**
 * A window given up part-way: fold what was learnt, and save it even if the run ends before the next window
 * (cursor and keys are unchanged, so saving is safe, and the next run does not repeat the same oversized window).
 */
async function abandonWindow(run: Run, walk: PassWalk, window: PlannedWindow, rowsSeen: number, cut: ReadCut): Promise<void> {
  const abandoned = foldAbandoned(run.state, window, rowsSeen, cut, run.targetRows);
  run.state = abandoned.state;
  run.tally.abandonedWindows++;
  run.tally.rowsRead += rowsSeen;
  walk.previousWindowMs = Math.max(SECOND_MS, Math.floor((abandoned.shorter.endMs - abandoned.shorter.startMs) / run.tuning.maxGrowth));
  await save(run);
  run.options.engine.log.info(
    cut === 'max_fetch'
      ? 'max_fetch reached inside a window: it is read again, whole, next run'
      : 'Window holds more rows than planned: reading it again in shorter windows',
    { window: windowText(window), rowsSeen },
  );
}

/** A run not cut by the request budget clears the wait it set; whatever changed since the last save is saved. */
async function closeRun(run: Run, stopReason: StopReason): Promise<void> {
  if (stopReason !== 'request_budget' && run.state.requestsNeeded !== undefined) {
    run.state.requestsNeeded = undefined;
    run.unsaved = true;
  }
  if (run.unsaved) await save(run);
}

function summarize(run: Run, stopReason: StopReason): FetchRunSummary {
  const { options, state, plan, tally } = run;
  // Where reading stands: the end of what has been read (a look-back pass ends behind it).
  const positionMs = Math.max(run.positionMs, state.readUpToMs);
  const behindMs = Math.max(0, latestEnd(options.engine.now(), run.tuning) - positionMs);
  const backlog = stopReason !== 'caught_up' && behindMs > 0;
  if (stopReason === 'max_fetch' && backlog && positionMs <= state.cursorMs + run.lookbackMs) {
    options.engine.log.warn('max_fetch is smaller than the rows of one look-back period; raise it to keep up', {
      maxFetch: options.maxFetch,
      lookbackMinutes: options.lookbackMinutes,
    });
  }
  const summary: FetchRunSummary = {
    eventsSent: tally.eventsSent,
    rowsRead: tally.rowsRead,
    windows: tally.windows,
    abandonedWindows: tally.abandonedWindows,
    stopReason,
    backlog,
    behindMs,
    cursor: isoUtc(state.cursorMs),
    readUpTo: isoUtc(state.readUpToMs),
    seenRows: state.seen.size,
    stateChars: tally.stateChars,
    lookback: {
      order: plan.order,
      reason: plan.reason,
      roundStart: plan.roundStart,
      // Stopped at its share (it goes on from rereadFrom), or a settling run done and the young run next.
      continuesNextRun: tally.rereadStopped || state.rereadFromMs !== undefined || (plan.order === 'tiered' && plan.roundStart),
      ...(state.rereadFromMs !== undefined ? { rereadFrom: isoUtc(state.rereadFromMs) } : {}),
      roundIntervals: plan.roundIntervals,
      requestsSpent: tally.requestsSpent,
      requestShare: Number.isFinite(plan.runRequests) ? Number(plan.runRequests.toFixed(2)) : null,
    },
  };
  options.engine.log.info('fetch-events run finished', { ...summary });
  return summary;
}
