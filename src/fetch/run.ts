/**
 * One fetch-events run: read state → plan a window → read all its pages → dedup → send → save state, window
 * after window, until caught up, `max_fetch` rows read, the time budget spent, or the request budget spent.
 *
 * Windows come in passes (lookback.ts decides which): one pass from the cursor to now − margin (low
 * volume, a backlog, a first run), or, at high volume, the new data from readUpTo first and then the
 * look-back re-read from where the last run left it, within this run's share of the request budget.
 * Either way the cursor moves only by a window that starts at it (window.ts), so which pass a window
 * belongs to never matters for what is sent or lost.
 *
 * At-least-once: state is saved only after `sendEvents` resolved for the events it covers, and a window is
 * passed only once it was read completely. A failure or a crash at any point leaves the last saved state,
 * from which the next run reads the same windows again; the dedup keys saved with it mean only events of
 * the unsaved window can be sent twice.
 */
import { readContextKey } from '../engine/context-store.js';
import { EVENT_META, type Engine, type TraceEvent } from '../engine/types.js';
import { IntegrationError, isIntegrationError } from '../errors.js';
import { rowToEvent } from '../graph/event.js';
import { parseGraphInstant } from '../graph/instant.js';
import type { GraphClient, MessageTraceRow } from '../graph/types.js';
import { DEFAULT_REQUEST_BUDGET, decodeRequestLog, type RequestBudgetOptions, remainingRequests } from '../http/budget.js';
import { parseTimeExpression } from '../time/expressions.js';
import { dedupKey, SeenSet } from './dedup.js';
import { planReread, type RereadPlan } from './lookback.js';
import { type FetchState, parseState, serializeState } from './state.js';
import {
  abandonThreshold,
  advanceCursor,
  DEFAULT_TUNING,
  type FetchTuning,
  earliestStart,
  firstFetchStart,
  floorSecond,
  latestEnd,
  MINUTE_MS,
  nextDensity,
  type PlannedWindow,
  planWindow,
  SECOND_MS,
  shrinkWindow,
  windowRowsFor,
} from './window.js';

export const DEFAULT_TIME_BUDGET_MS = 240_000;

export interface FetchRunOptions {
  engine: Engine;
  graph: GraphClient;
  maxFetch: number;
  /** `first_fetch` as typed. */
  firstFetch: string;
  lookbackMinutes: number;
  /** Time between runs (`eventFetchInterval`); paces the look-back re-reads at high volume. Default 1 min. */
  intervalMs?: number;
  /** The Graph client's request budget (its log is read from the integration context). */
  requestBudget?: Partial<Pick<RequestBudgetOptions, 'limit' | 'windowMs'>>;
  /** Engine-clock milliseconds after the start when no new window starts (default 240 s). */
  timeBudgetMs?: number;
  tuning?: Partial<FetchTuning>;
  signal?: AbortSignal;
}

export type StopReason = 'caught_up' | 'max_fetch' | 'time_budget' | 'request_budget' | 'aborted';

export interface FetchRunSummary {
  eventsSent: number;
  rowsRead: number;
  windows: number;
  abandonedWindows: number;
  stopReason: StopReason;
  /** Rows are left between where this run stopped reading and now. */
  backlog: boolean;
  /** How far the reading position is behind the latest readable instant. */
  behindMs: number;
  cursor: string;
  readUpTo: string;
  seenRows: number;
  stateChars: number;
  /** How this run read the look-back (lookback.ts). */
  lookback: {
    order: RereadPlan['order'];
    reason: RereadPlan['reason'];
    /** The re-read started at the cursor this run. */
    roundStart: boolean;
    /** The re-read stopped at this run's share of the budget; it continues from `rereadFrom` next run. */
    continuesNextRun: boolean;
    rereadFrom?: string;
    /** Runs a round of the re-read takes at this density (1: every run reads the whole look-back). */
    roundIntervals: number;
    requestsSpent: number;
    requestShare: number | null;
  };
}

/** One pass of windows: from `fromMs` to `untilMs` (or now − margin), re-reading the look-back or not. */
interface Pass {
  fromMs: number;
  untilMs: number | undefined;
  lookback: boolean;
}

/**
 * `pages`: requests the listing took (retries aside). An incomplete read was given up: `too_many_rows`, the
 * window holds far more rows than planned; `max_fetch`, reading on would take the run past max_fetch.
 */
type WindowRead =
  | { complete: true; rows: MessageTraceRow[]; readAtMs: number; pages: number }
  | { complete: false; cut: 'too_many_rows' | 'max_fetch'; rowsSeen: number; pages: number };

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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function initialState(options: FetchRunOptions, nowMs: number, tuning: FetchTuning): FetchState {
  const accepted =
    'Use an ISO 8601 time such as 2024-01-01T00:00:00Z or a relative time such as "3 days", at most 90 days back.';
  const parsed = parseTimeExpression(options.firstFetch, nowMs);
  if (!parsed.ok) {
    throw new IntegrationError('invalid_param', `Invalid parameter first_fetch: '${options.firstFetch}' ${parsed.problem}. ${accepted}`);
  }
  const start = firstFetchStart(parsed.epochMs, nowMs, tuning);
  if (!start.ok) {
    throw new IntegrationError('invalid_param', `Invalid parameter first_fetch: '${options.firstFetch}' ${start.problem}. ${accepted}`);
  }
  return { cursorMs: start.startMs, readUpToMs: start.startMs, rowsPerMinute: undefined, seen: new SeenSet() };
}

function stopReasonOf(error: unknown, signal: AbortSignal | undefined): StopReason | undefined {
  if (signal?.aborted) return 'aborted';
  if (isIntegrationError(error)) {
    if (error.code === 'request_budget_exhausted') return 'request_budget';
    if (error.code === 'deadline_exceeded') return 'time_budget';
  }
  return undefined;
}

export async function runFetch(options: FetchRunOptions): Promise<FetchRunSummary> {
  const { engine, graph, signal } = options;
  const tuning: FetchTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const lookbackMs = options.lookbackMinutes * MINUTE_MS;
  const startedAt = engine.now();
  const deadline = startedAt + (options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS);

  const saved = parseState(await engine.getLastRun());
  const state = saved ?? initialState(options, startedAt, tuning);
  // A first run, or a cursor moved over what Graph no longer keeps, must be saved even if no window is read:
  // a relative first_fetch resolved again next run would leave a gap.
  let unsaved = saved === undefined;
  // Windows start on whole seconds; a cursor that does not (a hand-edited state) would never move.
  state.cursorMs = floorSecond(state.cursorMs);
  const earliest = earliestStart(startedAt, tuning);
  if (state.cursorMs < earliest) {
    // Graph no longer has these rows: nothing can fetch them. Say so, and go on from what it still has.
    engine.log.warn('Rows older than 90 days can no longer be read from Graph; skipping them', {
      from: iso(state.cursorMs),
      to: iso(earliest),
    });
    state.cursorMs = earliest;
    state.readUpToMs = Math.max(state.readUpToMs, earliest);
    state.seen.pruneBefore(earliest);
    unsaved = true;
  }
  if (unsaved) {
    // Saved before any request: a first run that fails on its first window must still pin its start, or a
    // relative first_fetch ("1 minute") resolved again by the next run would skip the rows in between. The
    // state covers no event yet, so saving it moves nothing forward.
    await engine.setLastRun(serializeState(state));
    unsaved = false;
  }

  const targetRows = Math.max(1, Math.min(tuning.maxWindowRows, options.maxFetch));
  const windowRows = windowRowsFor(targetRows, tuning.pageSize);
  const budget = { ...DEFAULT_REQUEST_BUDGET, ...options.requestBudget };
  const intervalMs = Math.max(MINUTE_MS, options.intervalMs ?? MINUTE_MS);

  // How this run shares its requests between new data and the look-back re-read (lookback.ts); the
  // request log is the Graph client's, shared by every command of this instance.
  const requestLog = decodeRequestLog(await readContextKey(engine, 'requestLog'));
  // The request budget cut the last run short. A window is read whole or not at all, so starting again with
  // less room than that run spent would most likely be cut at the same point, and every such try spends the
  // room that was building up: a window needing more requests than a run finds free would never be read.
  // So read nothing until the budget has room for what the cut run needed (at most the whole budget).
  const roomAtStart = remainingRequests(requestLog, startedAt, budget);
  const waitForRoom = state.requestsNeeded !== undefined && roomAtStart < Math.min(state.requestsNeeded, budget.limit);
  if (waitForRoom) {
    engine.log.info('Waiting for room in the request budget: the last run was cut short by it', {
      requestsNeeded: state.requestsNeeded,
      requestsFree: roomAtStart,
    });
  }
  const readUpToAtStart = state.readUpToMs;
  const plan = planReread({
    cursorMs: state.cursorMs,
    readUpToMs: state.readUpToMs,
    rereadFromMs: state.rereadFromMs,
    intervalMs,
    lookbackMs,
    latestEndMs: latestEnd(startedAt, tuning),
    rowsPerMinute: state.rowsPerMinute,
    windowRows,
    pageSize: tuning.pageSize,
    budget,
    remainingRequests: roomAtStart,
  });
  const passes: Pass[] = waitForRoom
    ? []
    : plan.order === 'from_cursor'
      ? [{ fromMs: state.cursorMs, untilMs: undefined, lookback: true }]
      : [
          { fromMs: readUpToAtStart, untilMs: undefined, lookback: false },
          { fromMs: plan.rereadFromMs, untilMs: readUpToAtStart, lookback: true },
        ];
  if (plan.reason === 'overgrown') {
    engine.log.warn('The look-back has grown past twice its usual span: re-reading it whole this run', {
      cursor: iso(state.cursorMs),
      readUpTo: iso(state.readUpToMs),
    });
  }
  let requestsSpent = 0;
  let rereadStopped = false;
  let stopReason: StopReason = waitForRoom ? 'request_budget' : 'caught_up';

  let position = state.cursorMs;
  let previousWindowMs: number | undefined;
  let rowsRead = 0;
  let eventsSent = 0;
  let windows = 0;
  let abandonedWindows = 0;
  let stateChars = JSON.stringify(serializeState(state)).length;

  reading: for (const pass of passes) {
    position = pass.fromMs;
    previousWindowMs = undefined;
    // Rows per minute of the previous window of this pass: neighbouring windows are alike, and near now
    // fewer rows are visible yet than the settled density says, so windows there are planned longer.
    let passRowsPerMinute: number | undefined;
    if (pass.lookback && pass.fromMs === state.cursorMs) state.rereadFromMs = undefined;
    for (;;) {
      if (signal?.aborted) {
        stopReason = 'aborted';
        break reading;
      }
      const nowMs = engine.now();
      const rowsLeft = options.maxFetch - rowsRead;
      if (rowsLeft <= 0) {
        stopReason = 'max_fetch';
        break reading;
      }
      if (nowMs >= deadline) {
        stopReason = 'time_budget';
        break reading;
      }
      const window = planWindow(
        { startMs: position, nowMs, targetRows: Math.min(windowRows, rowsLeft), rowsPerMinute: passRowsPerMinute ?? state.rowsPerMinute, previousWindowMs, untilMs: pass.untilMs },
        tuning,
      );
      if (window === null) {
        // The round of the re-read reached readUpTo: the next starts again at the cursor.
        if (pass.lookback && state.rereadFromMs !== undefined) {
          state.rereadFromMs = undefined;
          unsaved = true;
        }
        break;
      }
      // This run's share of the budget is spent: the re-read continues here next run. The first window of
      // the re-read is always read, so the cursor moves even when the share is smaller than a window.
      if (pass.lookback && position !== pass.fromMs) {
        const estimatedRows = ((passRowsPerMinute ?? state.rowsPerMinute ?? 0) * (window.endMs - window.startMs)) / MINUTE_MS;
        const estimatedRequests = Math.max(1, Math.ceil(estimatedRows / tuning.pageSize));
        if (requestsSpent + estimatedRequests > plan.runRequests) {
          rereadStopped = true;
          break;
        }
      }

      let read: WindowRead;
      const progress = { pages: 0 };
      try {
        const limits = { abandonAbove: abandonThreshold(targetRows, tuning), rowsLeft, pageSize: tuning.pageSize };
        read = await readWindow(graph, engine, window, limits, signal, progress);
      } catch (error) {
        const reason = stopReasonOf(error, signal);
        if (reason === undefined) throw error;
        if (reason === 'request_budget') {
          // One more than this run spent, the cut window's pages included (see the check before the passes).
          state.requestsNeeded = Math.max(state.requestsNeeded ?? 0, requestsSpent + progress.pages + 1);
          unsaved = true;
          engine.log.warn('Request budget spent: stopping this run, state saved; the next run continues', {
            window: `${iso(window.startMs)}/${iso(window.endMs)}`,
          });
        } else if (reason === 'time_budget') {
          engine.log.info('Time budget spent while reading a window: it is read again next run', {
            window: `${iso(window.startMs)}/${iso(window.endMs)}`,
          });
        }
        stopReason = reason;
        break reading;
      }

      requestsSpent += read.pages;
      if (!read.complete) {
        abandonedWindows++;
        rowsRead += read.rowsSeen;
        const shorter = shrinkWindow(window, read.rowsSeen, targetRows) as PlannedWindow;
        // Cut at max_fetch, the window holds more than the rows seen: as dense as if they filled the shorter
        // one, so the next run plans that (at least half as long) and does not stop at the same point again.
        const lengthMs = read.cut === 'max_fetch' ? shorter.endMs - shorter.startMs : window.endMs - window.startMs;
        state.rowsPerMinute = Math.max(state.rowsPerMinute ?? 0, read.rowsSeen / (lengthMs / MINUTE_MS));
        previousWindowMs = Math.max(SECOND_MS, Math.floor((shorter.endMs - shorter.startMs) / tuning.maxGrowth));
        // Keep what was learnt even if the run ends before the next window: cursor and keys are unchanged,
        // so saving is safe, and the next run does not repeat the same oversized window.
        await engine.setLastRun(serializeState(state));
        unsaved = false;
        engine.log.info(
          read.cut === 'max_fetch'
            ? 'max_fetch reached inside a window: it is read again, whole, next run'
            : 'Window holds more rows than planned: reading it again in shorter windows',
          { window: `${iso(window.startMs)}/${iso(window.endMs)}`, rowsSeen: read.rowsSeen },
        );
        continue;
      }

      const events: TraceEvent[] = [];
      let outside = 0;
      // Rows received before this are at least lookback old: all visible, so they measure the density.
      const settledBeforeMs = floorSecond(read.readAtMs - tuning.safetyMarginMs - lookbackMs);
      let settledRows = 0;
      for (const row of read.rows) {
        const received = parseGraphInstant(row.receivedDateTime);
        if (received === undefined) {
          throw new IntegrationError(
            'graph_invalid_response',
            `Graph returned a message trace (id ${row.id}) whose receivedDateTime is not an ISO 8601 time.`,
          );
        }
        const receivedMs = received.epochMs;
        // Graph compares whole rows; a row outside [start, end] belongs to another window.
        if (receivedMs < window.startMs || receivedMs >= window.endMs + SECOND_MS) {
          outside++;
          continue;
        }
        if (receivedMs < settledBeforeMs) settledRows++;
        const key = dedupKey(row, receivedMs);
        if (state.seen.has(key)) continue;
        state.seen.add(key);
        events.push(rowToEvent(row, received));
      }

      if (events.length > 0) await engine.sendEvents(events, EVENT_META);

      state.cursorMs = advanceCursor(state.cursorMs, window, read.readAtMs, lookbackMs, tuning);
      state.readUpToMs = Math.max(state.readUpToMs, window.endMs);
      state.rowsPerMinute = nextDensity(state.rowsPerMinute, read.rows.length - outside, window, {
        beforeMs: settledBeforeMs,
        rows: settledRows,
      });
      // Where the re-read continues if this run stops here; at readUpTo the round is done.
      if (pass.lookback) state.rereadFromMs = window.endMs >= readUpToAtStart ? undefined : window.endMs;
      state.seen.pruneBefore(state.cursorMs);
      const document = serializeState(state);
      await engine.setLastRun(document);
      unsaved = false;
      stateChars = JSON.stringify(document).length;

      windows++;
      rowsRead += read.rows.length;
      eventsSent += events.length;
      previousWindowMs = window.endMs - window.startMs;
      const windowRowsSeen = read.rows.length - outside;
      // A handful of rows says little about the next window: keep the run's estimate then.
      passRowsPerMinute = windowRowsSeen >= Math.min(windowRows, tuning.pageSize) / 2 ? windowRowsSeen / (previousWindowMs / MINUTE_MS) : undefined;
      position = window.endMs;
      engine.log.info('Window fetched', {
        window: `${iso(window.startMs)}/${iso(window.endMs)}`,
        rows: read.rows.length,
        events: events.length,
        ...(outside > 0 ? { rowsOutsideWindow: outside } : {}),
        ...(pass.lookback ? {} : { newOnly: true }),
        cursor: iso(state.cursorMs),
      });
    }
  }
  // Where reading stands: the end of what has been read (a look-back pass ends behind it).
  position = Math.max(position, state.readUpToMs);
  if (stopReason !== 'request_budget' && state.requestsNeeded !== undefined) {
    state.requestsNeeded = undefined;
    unsaved = true;
  }

  if (unsaved) await engine.setLastRun(serializeState(state));
  const behindMs = Math.max(0, latestEnd(engine.now(), tuning) - position);
  const backlog = stopReason !== 'caught_up' && behindMs > 0;
  if (stopReason === 'max_fetch' && backlog && position <= state.cursorMs + lookbackMs) {
    engine.log.warn('max_fetch is smaller than the rows of one look-back period; raise it to keep up', {
      maxFetch: options.maxFetch,
      lookbackMinutes: options.lookbackMinutes,
    });
  }
  const summary: FetchRunSummary = {
    eventsSent,
    rowsRead,
    windows,
    abandonedWindows,
    stopReason,
    backlog,
    behindMs,
    cursor: iso(state.cursorMs),
    readUpTo: iso(state.readUpToMs),
    seenRows: state.seen.size,
    stateChars,
    lookback: {
      order: plan.order,
      reason: plan.reason,
      roundStart: plan.roundStart,
      continuesNextRun: rereadStopped,
      ...(state.rereadFromMs !== undefined ? { rereadFrom: iso(state.rereadFromMs) } : {}),
      roundIntervals: plan.roundIntervals,
      requestsSpent,
      requestShare: Number.isFinite(plan.runRequests) ? Number(plan.runRequests.toFixed(2)) : null,
    },
  };
  engine.log.info('fetch-events run finished', { ...summary });
  return summary;
}

/** Human-readable summary for the war room / CLI. */
export function describeRun(summary: FetchRunSummary): string {
  const reason: Record<StopReason, string> = {
    caught_up: 'caught up',
    max_fetch: 'max_fetch rows read',
    time_budget: 'time budget spent',
    request_budget: 'request budget spent',
    aborted: 'stopped',
  };
  const behindMinutes = Math.round(summary.behindMs / MINUTE_MS);
  const lines = [
    `Sent ${summary.eventsSent} events from ${summary.rowsRead} rows in ${summary.windows} windows (${reason[summary.stopReason]}).`,
    `Cursor ${summary.cursor}, read up to ${summary.readUpTo}.`,
    summary.backlog
      ? `Backlog: about ${behindMinutes} minutes left${summary.stopReason === 'request_budget' ? '; continuing at the next interval.' : '; running again at once.'}`
      : 'No backlog.',
  ];
  if (summary.abandonedWindows > 0) lines.push(`${summary.abandonedWindows} windows were shortened because they held more rows than planned.`);
  return lines.join('\n');
}
