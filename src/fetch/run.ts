/**
 * One fetch-events run: open the state, plan the passes, then window after window read → fold → send →
 * save, until caught up, `max_fetch` rows read, the deadline passed, or the request budget spent.
 *
 * Windows come in passes (lookback.ts decides which): one pass from the cursor to now − margin (low
 * volume, a backlog, a first run), or, at high volume, the new data from readUpTo first and then the
 * look-back re-read from where the last run left it, within this run's share of the request budget.
 * Either way the cursor moves only by a window that starts at it (window.ts), so which pass a window
 * belongs to never matters for what is sent or lost.
 *
 * At-least-once: state is saved only after `sendEvents` resolved for the events it covers, and a window is
 * passed only once it was read completely (fold.ts). A failure or a crash at any point leaves the last saved
 * state, from which the next run reads the same windows again; the dedup keys saved with it mean only
 * events of the unsaved window can be sent twice.
 */
import { EVENT_META, type Engine, type TraceEvent } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import { floorSecond, isoUtc, MINUTE_MS, SECOND_MS } from '../graph/limits.js';
import type { GraphClient, MessageTraceRow } from '../graph/types.js';
import { DEFAULT_REQUEST_BUDGET, type RequestBudgetView } from '../http/budget.js';
import { foldAbandoned, foldWindow, type ReadCut } from './fold.js';
import { planReread, type RereadPlan } from './lookback.js';
import { SeenSet } from './dedup.js';
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

/** `pages`: requests the listing took (retries aside). */
type WindowRead =
  | { complete: true; rows: MessageTraceRow[]; readAtMs: number; pages: number }
  | { complete: false; cut: ReadCut; rowsSeen: number; pages: number };

interface ReadLimits {
  /** Rows beyond which the window is given up and planned again, shorter. */
  abandonAbove: number;
  /** Rows left of max_fetch: no page is asked for once this many are read (pages are no larger). */
  rowsLeft: number;
  pageSize: number;
}

/**
 * Reads one window's pages. A window of one second (the least Graph lists) is always read whole.
 * `progress.pages` counts the pages received so far, so a read that fails still tells what it spent.
 */
async function readWindow(
  graph: GraphClient,
  engine: Engine,
  window: PlannedWindow,
  limits: ReadLimits,
  signal: AbortSignal | undefined,
  progress: { pages: number },
): Promise<WindowRead> {
  const readAtMs = engine.now();
  const rows: MessageTraceRow[] = [];
  const top = Math.max(1, Math.min(limits.pageSize, limits.rowsLeft));
  const pages = graph.listMessageTraces({ startMs: window.startMs, endMs: window.endMs, top }, signal);
  const divisible = window.endMs - window.startMs > SECOND_MS;
  for await (const page of pages) {
    progress.pages++;
    rows.push(...page.rows);
    if (!divisible) continue;
    if (rows.length > limits.abandonAbove) return { complete: false, cut: 'too_many_rows', rowsSeen: rows.length, pages: progress.pages };
    if (page.more && rows.length >= limits.rowsLeft) return { complete: false, cut: 'max_fetch', rowsSeen: rows.length, pages: progress.pages };
  }
  return { complete: true, rows, readAtMs, pages: progress.pages };
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
  // Tiered: the settled part first (it moves the cursor and prunes the keys); then a young run reads the young
  // part and the new data in one pass (they meet at readUpTo, and a listing's last page is seldom full), its
  // windows planned for the rows visible now; a settling run reads the new data, then the status band.
  const settledEndMs = plan.settledEndMs ?? state.cursorMs;
  const settled: Pass[] = settledEndMs > state.cursorMs ? [{ fromMs: state.cursorMs, untilMs: settledEndMs, reread: undefined }] : [];
  const untilMs = plan.rereadUntilMs ?? state.readUpToMs;
  if (untilMs >= state.readUpToMs) {
    const young: Pass = { fromMs: plan.rereadFromMs, untilMs: undefined, reread: round };
    return [...settled, plan.visibleRampMs === undefined ? young : { ...young, visibleRampMs: plan.visibleRampMs }];
  }
  return [...settled, newData, { fromMs: plan.rereadFromMs, untilMs, reread: round }];
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

export async function runFetch(options: FetchRunOptions): Promise<FetchRunSummary> {
  const { engine, graph, signal } = options;
  const tuning: FetchTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const lookbackMs = options.lookbackMinutes * MINUTE_MS;
  const startedAt = engine.now();

  let state = await openState(engine, options.firstFetch, startedAt, tuning);
  let unsaved = false;
  const targetRows = Math.max(1, Math.min(tuning.maxWindowRows, options.maxFetch));
  const windowRows = windowRowsFor(targetRows, tuning.pageSize);
  const { plan, passes, waitForRoom } = await planRun(options, state, startedAt, windowRows, tuning);
  const tally: Tally = {
    rowsRead: 0,
    eventsSent: 0,
    windows: 0,
    abandonedWindows: 0,
    requestsSpent: 0,
    rereadStopped: false,
    stateChars: JSON.stringify(serializeState(state)).length,
  };
  let stopReason: StopReason = waitForRoom ? 'request_budget' : 'caught_up';
  let position = state.cursorMs;

  const save = async (): Promise<void> => {
    const document = serializeState(state);
    await engine.setLastRun(document);
    unsaved = false;
    tally.stateChars = JSON.stringify(document).length;
  };

  reading: for (const pass of passes) {
    position = pass.fromMs;
    let previousWindowMs: number | undefined;
    // Rows per minute of the previous window of this pass: neighbouring windows are alike, and near now
    // fewer rows are visible yet than the settled density says, so windows there are planned longer.
    let passRowsPerMinute: number | undefined;
    if (pass.reread && pass.fromMs === state.cursorMs) state.rereadFromMs = undefined;
    for (;;) {
      const rowsLeft = options.maxFetch - tally.rowsRead;
      const stop: StopReason | undefined = signal?.aborted
        ? 'aborted'
        : rowsLeft <= 0
          ? 'max_fetch'
          : engine.now() >= options.deadlineMs
            ? 'time_budget'
            : undefined;
      if (stop !== undefined) {
        stopReason = stop;
        break reading;
      }
      const window = planWindow(
        {
          startMs: position,
          nowMs: engine.now(),
          targetRows: Math.min(windowRows, rowsLeft),
          rowsPerMinute: pass.visibleRampMs !== undefined ? state.rowsPerMinute : (passRowsPerMinute ?? state.rowsPerMinute),
          visibleRampMs: pass.visibleRampMs,
          previousWindowMs,
          untilMs: pass.untilMs,
        },
        tuning,
      );
      if (window === null) {
        // The round of the re-read reached its end: the next starts again at its beginning.
        if (pass.reread && position >= pass.reread.roundEndMs && state.rereadFromMs !== undefined) {
          state.rereadFromMs = undefined;
          unsaved = true;
        }
        break;
      }
      // This run's share of the budget is spent: the re-read continues here next run. The first window of
      // the re-read is always read, so the cursor moves even when the share is smaller than a window.
      if (pass.reread && position !== pass.fromMs && position < pass.reread.roundEndMs) {
        // A window planned by the visibility ramp holds about the rows it was planned for, not the settled density's.
        const estimatedRows =
          pass.visibleRampMs !== undefined
            ? Math.min(windowRows, rowsLeft)
            : ((passRowsPerMinute ?? state.rowsPerMinute ?? 0) * (window.endMs - window.startMs)) / MINUTE_MS;
        const estimatedRequests = Math.max(1, Math.ceil(estimatedRows / tuning.pageSize));
        if (tally.requestsSpent + estimatedRequests > plan.runRequests) {
          tally.rereadStopped = true;
          break;
        }
      }
      const windowText = `${isoUtc(window.startMs)}/${isoUtc(window.endMs)}`;

      // Read.
      let read: WindowRead;
      const progress = { pages: 0 };
      try {
        read = await readWindow(graph, engine, window, { abandonAbove: abandonThreshold(targetRows, tuning), rowsLeft, pageSize: tuning.pageSize }, signal, progress);
      } catch (error) {
        const reason = stopReasonOf(error, signal);
        if (reason === undefined) throw error;
        if (reason === 'request_budget') {
          // One more than this run spent, the cut window's pages included (see planRun).
          state.requestsNeeded = Math.max(state.requestsNeeded ?? 0, tally.requestsSpent + progress.pages + 1);
          unsaved = true;
          engine.log.warn('Request budget spent: stopping this run, state saved; the next run continues', { window: windowText });
        } else if (reason === 'time_budget') {
          engine.log.info('Time budget spent while reading a window: it is read again next run', { window: windowText });
        }
        stopReason = reason;
        break reading;
      }
      tally.requestsSpent += read.pages;

      if (!read.complete) {
        // Given up: fold what was learnt, and save it even if the run ends before the next window (cursor and
        // keys are unchanged, so saving is safe, and the next run does not repeat the same oversized window).
        const abandoned = foldAbandoned(state, window, read.rowsSeen, read.cut, targetRows);
        state = abandoned.state;
        tally.abandonedWindows++;
        tally.rowsRead += read.rowsSeen;
        previousWindowMs = Math.max(SECOND_MS, Math.floor((abandoned.shorter.endMs - abandoned.shorter.startMs) / tuning.maxGrowth));
        await save();
        engine.log.info(
          read.cut === 'max_fetch'
            ? 'max_fetch reached inside a window: it is read again, whole, next run'
            : 'Window holds more rows than planned: reading it again in shorter windows',
          { window: windowText, rowsSeen: read.rowsSeen },
        );
        continue;
      }

      // Fold → (queue details) → send → save, in that order.
      const folded = foldWindow(state, window, read, { lookbackMs, tuning, reread: pass.reread ? { untilMs: pass.reread.roundEndMs } : undefined });
      if (folded.events.length > 0) {
        await options.beforeSend?.(folded.events);
        await engine.sendEvents(folded.events, EVENT_META);
      }
      state = folded.state;
      await save();

      tally.windows++;
      tally.rowsRead += read.rows.length;
      tally.eventsSent += folded.events.length;
      previousWindowMs = window.endMs - window.startMs;
      // A handful of rows says little about the next window: keep the run's estimate then.
      passRowsPerMinute =
        folded.rowsInside >= Math.min(windowRows, tuning.pageSize) / 2 ? folded.rowsInside / (previousWindowMs / MINUTE_MS) : undefined;
      position = window.endMs;
      engine.log.info('Window fetched', {
        window: windowText,
        rows: read.rows.length,
        events: folded.events.length,
        ...(folded.rowsOutside > 0 ? { rowsOutsideWindow: folded.rowsOutside } : {}),
        ...(pass.reread || pass.untilMs !== undefined ? {} : { newOnly: true }),
        cursor: isoUtc(state.cursorMs),
      });
    }
  }

  if (stopReason !== 'request_budget' && state.requestsNeeded !== undefined) {
    state.requestsNeeded = undefined;
    unsaved = true;
  }
  if (unsaved) await save();
  // Where reading stands: the end of what has been read (a look-back pass ends behind it).
  position = Math.max(position, state.readUpToMs);
  const behindMs = Math.max(0, latestEnd(engine.now(), tuning) - position);
  const backlog = stopReason !== 'caught_up' && behindMs > 0;
  if (stopReason === 'max_fetch' && backlog && position <= state.cursorMs + lookbackMs) {
    engine.log.warn('max_fetch is smaller than the rows of one look-back period; raise it to keep up', {
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
      // Stopped at its share, or a settling run done and the young run next: either way the re-read goes on from rereadFrom.
      continuesNextRun: tally.rereadStopped || state.rereadFromMs !== undefined,
      ...(state.rereadFromMs !== undefined ? { rereadFrom: isoUtc(state.rereadFromMs) } : {}),
      roundIntervals: plan.roundIntervals,
      requestsSpent: tally.requestsSpent,
      requestShare: Number.isFinite(plan.runRequests) ? Number(plan.runRequests.toFixed(2)) : null,
    },
  };
  engine.log.info('fetch-events run finished', { ...summary });
  return summary;
}
