/**
 * The standalone collector: fetch-events through `main`, again and again, every eventFetchInterval minutes,
 * at once while a run reports a backlog (`nextTrigger: '0'`).
 *
 * Stopping. The abort signal goes to fetch-events with the command (CommandContext.signal): the run stops
 * between windows with its state at the last window it sent, its waits and requests end at once, and a
 * window read when the abort came is read again next time. A run that does not end within `abandonAfterMs`
 * (real time) is abandoned; a state write that was already under way is atomic in the file engine. Either
 * way the saved state only ever covers events the engine accepted.
 */
import { engineSleep } from '../engine/clock.js';
import { observeSentEvents } from '../engine/map-sent-events.js';
import { type Engine, isCommandError } from '../engine/types.js';
import { IntegrationError, isIntegrationError } from '../errors.js';
import { parseParams } from '../input/params.js';
import type { FetchEventsResult } from '../commands/fetch-events.js';
import { type FetchEventsOutcome, main } from '../main.js';

export interface CollectorProgress {
  /** Engine time the run started and how long it took (engine clock). */
  startedAtMs: number;
  durationMs: number;
  eventsThisRun: number;
  totalEvents: number;
  /** fetch-events asked to run again at once (backlog left). */
  backlog: boolean;
  /** How far behind the present the reading position is, when the run said so. */
  behindMs?: number | undefined;
  runs: number;
  /** Set when the run failed; the collector tries again after `retryDelayMs`. */
  error?: { code: string; message: string } | undefined;
  /** Runs failed in a row, this one included (0 after a success). */
  consecutiveFailures: number;
  /** What fetch-events reported (its run summary), when it worked. */
  rawResponse?: FetchEventsResult['rawResponse'] | undefined;
}

export interface CollectorOptions {
  /**
   * Raw params, as `main` takes them; or a function giving them for each run (secrets read from files at
   * each use). A function that throws an IntegrationError fails that run like a failed fetch.
   */
  params: Record<string, unknown> | (() => Promise<Record<string, unknown>>);
  /** Time between runs; default eventFetchInterval of `params` (which must then be an object). */
  intervalMs?: number;
  /** Wait after the n-th failed run in a row; default the interval. */
  retryDelayMs?: (consecutiveFailures: number) => number;
  /** Runs each fetch-events run; a caller sharing a limit of concurrent runs between collectors queues it. */
  gate?: <T>(run: () => Promise<T>) => Promise<T>;
  engine: Engine;
  /** Aborting finishes or abandons the current run without corrupting state, then resolves. */
  signal: AbortSignal;
  onProgress?: (progress: CollectorProgress) => void;
  /** Real milliseconds to wait for a run to end after abort before abandoning it (default 10 s). */
  abandonAfterMs?: number;
  /** Stop after this many runs (tests, one-shot use). */
  maxRuns?: number;
}

function abandonTimer(signal: AbortSignal, ms: number): { promise: Promise<'abandoned'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    timer = setTimeout(() => resolve('abandoned'), ms);
  };
  let resolve: (value: 'abandoned') => void = () => {};
  const promise = new Promise<'abandoned'>((r) => {
    resolve = r;
  });
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    promise,
    cancel: () => {
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    },
  };
}

/** One fetch-events run with the params of this run; a failure to produce them is the run's outcome. */
async function fetchOnce(options: CollectorOptions, engine: Engine): Promise<FetchEventsOutcome> {
  let params: Record<string, unknown>;
  try {
    params = typeof options.params === 'function' ? await options.params() : options.params;
  } catch (error) {
    if (!isIntegrationError(error)) throw error;
    return { error: { code: error.code, message: error.fullMessage } };
  }
  return main('fetch-events', params, {}, engine, { signal: options.signal });
}

function intervalOf(options: CollectorOptions): number {
  if (options.intervalMs !== undefined) return options.intervalMs;
  if (typeof options.params === 'function') throw new IntegrationError('internal', 'runCollector needs intervalMs when params is a function.');
  return parseParams(options.params).eventFetchInterval * 60_000;
}

/**
 * Repeats fetch-events every eventFetchInterval minutes (at once when nextTrigger asks) until aborted;
 * after a failed run, waits `retryDelayMs` instead.
 */
export async function runCollector(options: CollectorOptions): Promise<void> {
  const { engine, signal } = options;
  const intervalMs = intervalOf(options);
  const gate = options.gate ?? (<T>(run: () => Promise<T>) => run());
  let totalEvents = 0;
  let runs = 0;
  let consecutiveFailures = 0;

  while (!signal.aborted) {
    // Counted as the engine accepts them: a run that fails or is abandoned half way has delivered some.
    let eventsThisRun = 0;
    const counted = observeSentEvents(engine, (events) => {
      eventsThisRun += events.length;
    });
    let started = engine.now();
    const abandon = abandonTimer(signal, options.abandonAfterMs ?? 10_000);
    const outcome = await Promise.race([
      gate<FetchEventsOutcome | 'stopped'>(() => {
        // Time spent queued behind other collectors is not this run's duration.
        started = engine.now();
        return signal.aborted ? Promise.resolve('stopped') : fetchOnce(options, counted);
      }),
      abandon.promise,
    ]);
    abandon.cancel();
    if (outcome === 'stopped') return;
    runs++;
    totalEvents += eventsThisRun;
    const base = { startedAtMs: started, durationMs: engine.now() - started, eventsThisRun, totalEvents, runs };
    if (outcome === 'abandoned') {
      engine.log.warn('Collector stopped during a run; the run was abandoned before it saved its last window', { eventsThisRun });
      options.onProgress?.({ ...base, backlog: true, consecutiveFailures });
      return;
    }
    const stopping = signal.aborted;
    const failed = isCommandError(outcome) && !stopping;
    const backlog = !isCommandError(outcome) && outcome.nextTrigger === '0';
    if (failed) consecutiveFailures++;
    else if (!isCommandError(outcome)) consecutiveFailures = 0;
    options.onProgress?.({
      ...base,
      backlog,
      behindMs: isCommandError(outcome) ? undefined : outcome.rawResponse.behindMs,
      error: failed && isCommandError(outcome) ? outcome.error : undefined,
      consecutiveFailures,
      rawResponse: isCommandError(outcome) ? undefined : outcome.rawResponse,
    });
    if (stopping || (options.maxRuns !== undefined && runs >= options.maxRuns)) return;
    if (backlog) continue;
    const waitMs = failed
      ? (options.retryDelayMs?.(consecutiveFailures) ?? intervalMs)
      : Math.max(0, started + intervalMs - engine.now());
    try {
      await engineSleep(engine, waitMs, signal);
    } catch (error) {
      if (signal.aborted) return;
      throw error instanceof Error ? error : new IntegrationError('internal', String(error));
    }
  }
}
