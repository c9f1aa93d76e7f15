/**
 * The standalone collector: fetch-events through `main`, again and again, every eventFetchInterval minutes,
 * at once while a run reports a backlog (`nextTrigger: '0'`).
 *
 * Stopping. On abort no new event is handed to the engine: `sendEvents` refuses, so the current run ends at
 * its next window with the state of its last completed window, and engine waits end at once. A run that does
 * not end within `abandonAfterMs` (real time) is abandoned: whatever it still does afterwards cannot send
 * events, and a state write that was already under way is atomic in the file engine. Either way the saved
 * state only ever covers events the engine accepted.
 */
import { engineSleep } from '../engine/clock.js';
import { type CommandOutcome, type Engine, type EventMeta, isCommandError, type TraceEvent } from '../engine/types.js';
import { IntegrationError, isIntegrationError } from '../errors.js';
import { parseParams } from '../input/params.js';
import { main } from '../main.js';

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
  rawResponse?: unknown;
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

class StoppedError extends Error {
  constructor() {
    super('The collector is stopping: no more events are sent in this run.');
    this.name = 'StoppedError';
  }
}

/** The engine as one run sees it: counts accepted events and refuses new ones once stopping. */
function runEngine(engine: Engine, signal: AbortSignal, accepted: { count: number }): Engine {
  return {
    getLastRun: () => engine.getLastRun(),
    setLastRun: (state) => engine.setLastRun(state),
    getIntegrationContext: () => engine.getIntegrationContext(),
    setIntegrationContext: (context) => engine.setIntegrationContext(context),
    async sendEvents(events: readonly TraceEvent[], meta: EventMeta) {
      if (signal.aborted) throw new StoppedError();
      await engine.sendEvents(events, meta);
      accepted.count += events.length;
    },
    log: engine.log,
    now: () => engine.now(),
    sleep: (ms, sleepSignal) => engineSleep(engine, ms, sleepSignal ? AbortSignal.any([signal, sleepSignal]) : signal),
  };
}

function behindOf(outcome: CommandOutcome): number | undefined {
  if (isCommandError(outcome)) return undefined;
  const raw = outcome.rawResponse;
  if (typeof raw === 'object' && raw !== null && 'behindMs' in raw && typeof raw.behindMs === 'number') {
    return raw.behindMs;
  }
  return undefined;
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
async function fetchOnce(options: CollectorOptions, engine: Engine): Promise<CommandOutcome> {
  let params: Record<string, unknown>;
  try {
    params = typeof options.params === 'function' ? await options.params() : options.params;
  } catch (error) {
    if (!isIntegrationError(error)) throw error;
    return { error: { code: error.code, message: error.fullMessage } };
  }
  return main('fetch-events', params, {}, engine);
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
    const accepted = { count: 0 };
    let started = engine.now();
    const abandon = abandonTimer(signal, options.abandonAfterMs ?? 10_000);
    const outcome = await Promise.race([
      gate<CommandOutcome | 'stopped'>(() => {
        // Time spent queued behind other collectors is not this run's duration.
        started = engine.now();
        return signal.aborted ? Promise.resolve('stopped') : fetchOnce(options, runEngine(engine, signal, accepted));
      }),
      abandon.promise,
    ]);
    abandon.cancel();
    if (outcome === 'stopped') return;
    runs++;
    totalEvents += accepted.count;
    const base = { startedAtMs: started, durationMs: engine.now() - started, eventsThisRun: accepted.count, totalEvents, runs };
    if (outcome === 'abandoned') {
      engine.log.warn('Collector stopped during a run; the run was abandoned before it saved its last window', {
        eventsThisRun: accepted.count,
      });
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
      behindMs: behindOf(outcome),
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
