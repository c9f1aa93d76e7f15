/**
 * The collector as a service: one collector loop (collector-loop.ts) per instance, each on its own engine
 * (its own state directory, lock, token cache, request budget and position) and its own interval, with at
 * most `concurrency` fetch runs at a time. A failing instance (bad secret, missing permission, Graph down,
 * a state directory locked by another process) is retried with a growing delay up to a cap and reported
 * in the log, the metrics, /readyz and its collector-status.json; the others never wait for it.
 */
import { runCollector, type CollectorProgress } from './collector-loop.js';
import { readContextKey } from '../engine/context-store.js';
import { realSleep } from '../engine/clock.js';
import { withLogFields } from '../standalone/stderr-logger.js';
import type { Engine, EventMeta, Logger, TraceEvent } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import { DEFAULT_REQUEST_BUDGET, decodeRequestLog } from '../http/budget.js';
import { observeGraphRequests } from './graph-requests.js';
import { type HealthServer, type InstanceHealth, type ListenAddress, readiness, startHealthServer } from './health.js';
import { ServiceMetrics } from './metrics.js';
import { type CollectorStatus, emptyStatus, nextStatus, parseRunSummary, writeCollectorStatus } from './run-report.js';

/** The event field naming the instance an event came from, when a run serves more than one. */
export const INSTANCE_EVENT_FIELD = 'collector_instance';
/** The metric label of the single-tenant form. */
export const DEFAULT_INSTANCE_LABEL = 'default';

export interface ServiceInstance {
  /** undefined in the single-tenant form (events then carry no instance field). */
  name: string | undefined;
  /** The state directory, for collector-status.json; undefined for engines without one (benchmarks). */
  dir: string | undefined;
  /** The params of one run, secrets read from their files now. */
  params: () => Promise<Record<string, unknown>>;
  intervalMs: number;
}

export type ClosableEngine = Engine & { close(): Promise<void> };

export interface RetryDelays {
  /** Wait after the first failure in a row. */
  initialMs: number;
  /** The wait doubles with each failure in a row up to this. */
  maxMs: number;
}

export const DEFAULT_RETRY_DELAYS: RetryDelays = { initialMs: 30_000, maxMs: 900_000 };

export interface ServiceOptions {
  instances: readonly ServiceInstance[];
  /** Opens an instance's engine; the service closes it when that instance stops. */
  openEngine: (instance: ServiceInstance, log: Logger) => Promise<ClosableEngine>;
  log: Logger;
  signal: AbortSignal;
  /** Most fetch runs at a time over all instances. */
  concurrency: number;
  retry?: RetryDelays;
  /** /readyz: a success within this many intervals. */
  readyIntervals: number;
  metricsListen?: ListenAddress | undefined;
  /** Called with host:port once /metrics listens. */
  onListening?: (address: string) => void;
  /** Wall clock for metrics and readiness (engines may run on their own clock). */
  now?: () => number;
  /** Stop each instance after this many runs (tests, benchmarks). */
  maxRuns?: number;
  /** Called after each run of an instance, after it was recorded. */
  onRun?: (label: string, progress: CollectorProgress) => void;
}

export function retryDelayMs(consecutiveFailures: number, delays: RetryDelays): number {
  const doubled = delays.initialMs * 2 ** Math.min(30, Math.max(0, consecutiveFailures - 1));
  return Math.min(delays.maxMs, doubled);
}

/** A FIFO limit of concurrent runs. */
export function createGate(limit: number): <T>(run: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(run: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await run();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

export function labelOf(instance: ServiceInstance): string {
  return instance.name ?? DEFAULT_INSTANCE_LABEL;
}

/** The engine an instance's runs see: events tagged with the instance name when there are several. */
function taggedEngine(engine: ClosableEngine, name: string | undefined): Engine {
  if (name === undefined) return engine;
  return {
    getLastRun: () => engine.getLastRun(),
    setLastRun: (state) => engine.setLastRun(state),
    getIntegrationContext: () => engine.getIntegrationContext(),
    setIntegrationContext: (context) => engine.setIntegrationContext(context),
    sendEvents: (events: readonly TraceEvent[], meta: EventMeta) =>
      engine.sendEvents(
        events.map((event) => ({ ...event, [INSTANCE_EVENT_FIELD]: name })),
        meta,
      ),
    log: engine.log,
    now: () => engine.now(),
    ...(engine.sleep ? { sleep: engine.sleep.bind(engine) } : {}),
  };
}

export interface ServiceHandle {
  /** Resolves when every instance has stopped and the HTTP side is closed. */
  done: Promise<void>;
  health(): InstanceHealth[];
}

export async function startService(options: ServiceOptions): Promise<ServiceHandle> {
  const now = options.now ?? Date.now;
  const delays = options.retry ?? DEFAULT_RETRY_DELAYS;
  const labels = options.instances.map(labelOf);
  const metrics = new ServiceMetrics(labels, { now, budget: DEFAULT_REQUEST_BUDGET });
  const observer = observeGraphRequests((instance, status) => metrics.recordGraphResponse(instance, status));
  const healthByLabel = new Map<string, InstanceHealth>();
  const statusByLabel = new Map<string, CollectorStatus>();
  for (const instance of options.instances) {
    const label = labelOf(instance);
    healthByLabel.set(label, { instance: label, intervalMs: instance.intervalMs, lastSuccessAtMs: undefined, lastError: undefined, consecutiveFailures: 0 });
    statusByLabel.set(label, emptyStatus(instance.name, instance.intervalMs));
  }
  const health = () => [...healthByLabel.values()];
  const ready = () => readiness(health(), now(), options.readyIntervals);

  let server: HealthServer | undefined;
  if (options.metricsListen) {
    try {
      server = await startHealthServer({
        listen: options.metricsListen,
        metrics: async () => ({ contentType: metrics.contentType, body: await metrics.exposition() }),
        readiness: ready,
        log: options.log,
      });
    } catch (error) {
      observer.close();
      throw error;
    }
    options.log.info('Serving /metrics, /healthz and /readyz', { address: server.address });
    options.onListening?.(server.address);
  }

  const gate = createGate(options.concurrency);

  async function record(instance: ServiceInstance, log: Logger, progress: CollectorProgress, engine: Engine | undefined): Promise<void> {
    const label = labelOf(instance);
    const summary = parseRunSummary(progress.rawResponse);
    metrics.recordRun(label, progress, summary);
    if (engine) {
      const requestLog = await readContextKey(engine, 'requestLog').catch(() => undefined);
      metrics.recordRequestLog(label, decodeRequestLog(requestLog));
    }
    const entry = healthByLabel.get(label) as InstanceHealth;
    entry.consecutiveFailures = progress.consecutiveFailures;
    if (progress.error) entry.lastError = progress.error;
    else entry.lastSuccessAtMs = now();
    const status = nextStatus(statusByLabel.get(label) as CollectorStatus, progress);
    statusByLabel.set(label, status);
    // Only with the engine open, i.e. the lock held: a directory another process holds keeps its own status.
    if (engine && instance.dir !== undefined) {
      await writeCollectorStatus(instance.dir, status).catch((error: unknown) => {
        log.warn('Could not save collector-status.json (status shows older facts)', { message: error instanceof Error ? error.message : String(error) });
      });
    }
    const facts = {
      cycle: progress.runs,
      events: progress.eventsThisRun,
      total: progress.totalEvents,
      backlog: progress.backlog,
      behindMinutes: progress.behindMs === undefined ? undefined : Math.round(progress.behindMs / 60_000),
    };
    if (progress.error) {
      const waitMs = retryDelayMs(progress.consecutiveFailures, delays);
      log.warn(`Fetch cycle failed; trying again in ${Math.round(waitMs / 1000)} s: ${progress.error.message}`, {
        ...facts,
        code: progress.error.code,
        failuresInARow: progress.consecutiveFailures,
      });
    } else log.info('Fetch cycle finished', facts);
    options.onRun?.(label, progress);
  }

  /** Opens the engine, retrying with the growing delay; undefined once stopping. */
  async function openWithRetry(instance: ServiceInstance, log: Logger): Promise<ClosableEngine | undefined> {
    let failures = 0;
    while (!options.signal.aborted) {
      const startedAtMs = now();
      try {
        return await options.openEngine(instance, log);
      } catch (error) {
        if (!isIntegrationError(error)) throw error;
        failures++;
        await record(
          instance,
          log,
          {
            startedAtMs,
            durationMs: now() - startedAtMs,
            eventsThisRun: 0,
            totalEvents: 0,
            backlog: false,
            runs: failures,
            error: { code: error.code, message: error.fullMessage },
            consecutiveFailures: failures,
          },
          undefined,
        );
        if (options.maxRuns !== undefined && failures >= options.maxRuns) return undefined;
        await realSleep(retryDelayMs(failures, delays), options.signal).catch(() => undefined);
      }
    }
    return undefined;
  }

  async function serve(instance: ServiceInstance): Promise<void> {
    const label = labelOf(instance);
    const log = instance.name === undefined ? options.log : withLogFields(options.log, { instance: instance.name });
    const engine = await openWithRetry(instance, log);
    if (engine === undefined) return;
    let pending: Promise<void> = Promise.resolve();
    try {
      await runCollector({
        params: instance.params,
        intervalMs: instance.intervalMs,
        retryDelayMs: (failures) => retryDelayMs(failures, delays),
        gate: (run) => gate(() => observer.runAs(label, run)),
        engine: taggedEngine(engine, instance.name),
        signal: options.signal,
        ...(options.maxRuns === undefined ? {} : { maxRuns: options.maxRuns }),
        onProgress: (progress) => {
          // Reported in order; the loop does not wait for the status file.
          pending = pending
            .then(() => record(instance, log, progress, engine))
            .catch((error: unknown) => log.warn('Could not record a run', { message: error instanceof Error ? error.message : String(error) }));
        },
      });
      await pending;
    } finally {
      await engine.close().catch((error: unknown) => {
        log.warn('Could not close the state directory cleanly', { message: error instanceof Error ? error.message : String(error) });
      });
    }
  }
  const done = Promise.allSettled(options.instances.map(serve)).then(async (results) => {
    observer.close();
    await server?.close();
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  });
  return { done, health };
}
