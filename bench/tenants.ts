/**
 * Many tenants in one collector process, on a virtual clock: `tenants` collectors (each its own engine
 * state, token cache and request budget, as `run` gives every instance) read `simulators` simulated
 * tenants (several collectors per simulated tenant; its throttle off) at `rowsPerDay` each. Every
 * virtual minute each collector runs fetch-events (again at once while it reports a backlog), at most
 * `concurrency` at a time through the service's gate; then the clock moves on.
 *
 * The simulators run in a worker thread (tenants-simulators.ts), so the collector's CPU is the main
 * thread's, read from /proc (Linux). Memory is the process RSS above the baseline taken once the
 * simulators were ready and before any collector ran, divided by the tenants. Every delivery is checked:
 * each row whose final status showed by the end of the measured period must be delivered, and no event
 * twice (as 53-bit key hashes, so the check weighs a few MB).
 *
 * tenantsPerCore = tenants × virtual seconds / collector CPU seconds: how many tenants at this rate one
 * core keeps up with, the way `run` schedules them.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { isCommandError, type EventMeta, type JsonObject, type Logger, type TraceEvent, type Engine } from '../src/engine/types.js';
import { main } from '../src/main.js';
import { createGate } from '../src/service/instances.js';
import { MINUTE, ROWS_PER_MESSAGE, floorSecond, round, simulatorParams, virtualStart } from './common.js';
import { eventKey, keyHash } from './key-hash.js';
import type { SimulatorIdentity } from './tenants-simulators.js';

export interface TenantsOptions {
  tenants: number;
  simulators: number;
  rowsPerDay: number;
  virtualMinutes: number;
  drainMinutes?: number;
  concurrency?: number;
  lookbackMinutes?: number;
  wallLimitMs?: number;
  log: (line: string) => void;
}

export interface TenantsResult {
  tenants: number;
  simulators: number;
  rowsPerDay: number;
  virtualMinutes: number;
  drainMinutes: number;
  virtualMinutesRun: number;
  concurrency: number;
  runs: number;
  failedRuns: number;
  eventsDelivered: number;
  /** Main-thread CPU (the collectors) over the whole loop. */
  collectorCpuSeconds: number;
  /** Whole-process CPU, simulators' worker and helper threads included. */
  processCpuSeconds: number;
  /** The simulators' busy time (their worker's event loop). */
  simulatorBusySeconds: number;
  cpuSecondsPerTenantHour: number;
  tenantsPerCore: number;
  /** The same from the whole process's CPU (simulators, GC and helper threads counted as collector): a floor. */
  tenantsPerCoreLowerBound: number;
  baselineRssMb: number;
  peakRssMb: number;
  /** Peak RSS above the baseline, per tenant: what a machine must have for each tenant at this rate. */
  rssMbPerTenant: number;
  /** JS heap still used after a full GC, above the baseline, per tenant (state, token caches, clients). */
  retainedHeapMbPerTenant: number | null;
  missing: number;
  duplicated: number;
  tenantsWithGaps: number;
  expectedKeys: number;
  wallSeconds: number;
  stoppedByWallLimit: boolean;
  errors: string[];
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Main-thread CPU seconds from /proc (the main thread's task id is the pid); undefined off Linux. */
function mainThreadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** One tenant's engine: state as JSON text, deliveries as key hashes, time from the shared clock. */
class TenantEngine implements Engine {
  lastRunText = '{}';
  private context: JsonObject = {};
  delivered = new Float64Array(1024);
  count = 0;
  readonly log = silent;

  constructor(
    private readonly clock: Float64Array,
    readonly params: Record<string, unknown>,
  ) {}

  async getLastRun(): Promise<unknown> {
    return JSON.parse(this.lastRunText) as unknown;
  }
  async setLastRun(state: JsonObject): Promise<void> {
    this.lastRunText = JSON.stringify(state);
  }
  async getIntegrationContext(): Promise<unknown> {
    return structuredClone(this.context);
  }
  async setIntegrationContext(context: JsonObject): Promise<void> {
    this.context = structuredClone(context);
  }
  async sendEvents(events: readonly TraceEvent[], _meta: EventMeta): Promise<void> {
    if (this.count + events.length > this.delivered.length) {
      const grown = new Float64Array(Math.max(this.delivered.length * 2, this.count + events.length));
      grown.set(this.delivered.subarray(0, this.count));
      this.delivered = grown;
    }
    for (const event of events) this.delivered[this.count++] = keyHash(eventKey(event.id, event.recipientAddress, event.status));
  }
  now(): number {
    return this.clock[0] as number;
  }
  /** Waits (budget room, retry backoff) move the shared clock; at this rate they are rare. */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.clock[0] = (this.clock[0] as number) + ms;
  }
}

function request<T>(worker: Worker, message: unknown, type: string): Promise<T> {
  return new Promise<T>((resolve) => {
    const onMessage = (reply: { type: string }) => {
      if (reply.type !== type) return;
      worker.off('message', onMessage);
      resolve(reply as T);
    };
    worker.on('message', onMessage);
    worker.postMessage(message);
  });
}

function countGaps(engine: TenantEngine, truth: Float64Array): { missing: number; duplicated: number } {
  const delivered = engine.delivered.slice(0, engine.count).sort();
  let duplicated = 0;
  for (let i = 1; i < delivered.length; i++) if (delivered[i] === delivered[i - 1]) duplicated++;
  let missing = 0;
  for (const hash of truth) {
    let lo = 0;
    let hi = delivered.length - 1;
    let found = false;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = delivered[mid] as number;
      if (value === hash) {
        found = true;
        break;
      }
      if (value < hash) lo = mid + 1;
      else hi = mid - 1;
    }
    if (!found) missing++;
  }
  return { missing, duplicated };
}

export async function runTenants(options: TenantsOptions): Promise<TenantsResult> {
  const { log } = options;
  const drainMinutes = options.drainMinutes ?? 15;
  const concurrency = options.concurrency ?? 8;
  const lookbackMinutes = options.lookbackMinutes ?? 15;
  const wallStart = Date.now();
  const wallLimitMs = options.wallLimitMs ?? 300_000;
  const start = virtualStart();
  const clock = new Float64Array(new SharedArrayBuffer(8));
  clock[0] = start;

  log(`  starting ${options.simulators} simulated tenants in a worker thread`);
  // Node 20 refuses a .ts file as a worker's entry: a tiny script registers tsx in the worker, then imports it.
  const entry = new URL('./tenants-simulators.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  const worker = new Worker(bootstrap, {
    eval: true,
    execArgv: [],
    workerData: {
      seeds: Array.from({ length: options.simulators }, (_, i) => 101 + i),
      ratePerDay: options.rowsPerDay / ROWS_PER_MESSAGE,
      maxDelaySeconds: 120,
      statusDelaySeconds: 300,
      clock: clock.buffer,
    },
  });
  const { identities } = await request<{ identities: SimulatorIdentity[] }>(worker, { type: 'hello' }, 'ready');

  const firstFetchMs = floorSecond(start - lookbackMinutes * MINUTE);
  const engines = Array.from({ length: options.tenants }, (_, i) => {
    const sim = identities[i % identities.length] as SimulatorIdentity;
    const params = simulatorParams(sim, sim.caCertPem, {
      first_fetch: new Date(firstFetchMs).toISOString(),
      max_fetch: '1000000',
      lookback_minutes: String(lookbackMinutes),
      eventFetchInterval: '1',
    });
    return new TenantEngine(clock, params);
  });

  // With --expose-gc (run.ts passes it) retained memory is measured after full collections.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baselineRss = process.memoryUsage.rss();
  const baselineHeap = v8.getHeapStatistics().used_heap_size;
  let peakRss = baselineRss;
  let retainedHeap = baselineHeap;
  const cpuStart = mainThreadCpuSeconds() ?? 0;
  const processCpuStart = process.cpuUsage();
  const eluStart = await request<{ activeMs: number }>(worker, { type: 'elu' }, 'elu');
  const gate = createGate(concurrency);
  const endMs = start + options.virtualMinutes * MINUTE;
  const drainEndMs = endMs + drainMinutes * MINUTE;
  let runs = 0;
  let failedRuns = 0;
  const errors: string[] = [];
  let stoppedByWallLimit = false;
  let tick = 0;

  while ((clock[0] as number) < drainEndMs) {
    if (Date.now() - wallStart > wallLimitMs) {
      stoppedByWallLimit = true;
      log(`  wall-clock limit reached at virtual minute ${round(((clock[0] as number) - start) / MINUTE, 1)}`);
      break;
    }
    await Promise.all(
      engines.map((engine) =>
        gate(async () => {
          for (let again = 0; again < 50; again++) {
            runs++;
            const outcome = await main('fetch-events', engine.params, {}, engine);
            if (isCommandError(outcome)) {
              failedRuns++;
              if (errors.length < 5) errors.push(`${outcome.error.code}: ${outcome.error.message}`);
              return;
            }
            if (outcome.nextTrigger !== '0') return;
          }
        }),
      ),
    );
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    tick++;
    if (gc && tick % 5 === 0) {
      gc();
      retainedHeap = Math.max(retainedHeap, v8.getHeapStatistics().used_heap_size);
    }
    clock[0] = Math.max(clock[0] as number, start + tick * MINUTE);
    if (tick % 10 === 0) log(`  virtual minute ${tick}: runs ${runs}, wall ${Math.round((Date.now() - wallStart) / 1000)} s, rss ${Math.round(peakRss / 2 ** 20)} MB`);
  }
  const collectorCpu = (mainThreadCpuSeconds() ?? 0) - cpuStart;
  const processCpu = process.cpuUsage(processCpuStart);
  const eluEnd = await request<{ activeMs: number }>(worker, { type: 'elu' }, 'elu');
  const virtualSeconds = ((clock[0] as number) - start) / 1000;

  // Rows final by the end of the measured period (or of the run, when the wall-clock cap hit first).
  const settleMs = Math.min(endMs, (clock[0] as number) - drainMinutes * MINUTE);
  let missing = 0;
  let duplicated = 0;
  let tenantsWithGaps = 0;
  let expectedKeys = 0;
  const truths = new Map<number, Float64Array>();
  for (let s = 0; s < identities.length; s++) {
    const reply = await request<{ hashes: Float64Array }>(worker, { type: 'truth', index: s, fromMs: firstFetchMs, settleMs }, 'truth');
    truths.set(s, reply.hashes);
  }
  let eventsDelivered = 0;
  engines.forEach((engine, i) => {
    const truth = truths.get(i % identities.length) as Float64Array;
    expectedKeys += truth.length;
    eventsDelivered += engine.count;
    const gaps = countGaps(engine, truth);
    missing += gaps.missing;
    duplicated += gaps.duplicated;
    if (gaps.missing + gaps.duplicated > 0) tenantsWithGaps++;
  });
  await request(worker, { type: 'stop' }, 'stopped');
  await worker.terminate();

  const mb = (bytes: number) => bytes / 2 ** 20;
  return {
    tenants: options.tenants,
    simulators: options.simulators,
    rowsPerDay: options.rowsPerDay,
    virtualMinutes: options.virtualMinutes,
    drainMinutes,
    virtualMinutesRun: round(virtualSeconds / 60, 1),
    concurrency,
    runs,
    failedRuns,
    eventsDelivered,
    collectorCpuSeconds: round(collectorCpu, 2),
    processCpuSeconds: round((processCpu.user + processCpu.system) / 1e6, 2),
    simulatorBusySeconds: round((eluEnd.activeMs - eluStart.activeMs) / 1000, 2),
    cpuSecondsPerTenantHour: round((collectorCpu / options.tenants) * (3600 / virtualSeconds), 3),
    tenantsPerCore: collectorCpu > 0 ? Math.floor((options.tenants * virtualSeconds) / collectorCpu) : 0,
    tenantsPerCoreLowerBound: Math.floor((options.tenants * virtualSeconds) / ((processCpu.user + processCpu.system) / 1e6)),
    baselineRssMb: round(mb(baselineRss), 1),
    peakRssMb: round(mb(peakRss), 1),
    rssMbPerTenant: round(mb(peakRss - baselineRss) / options.tenants, 3),
    retainedHeapMbPerTenant: gc ? round(mb(retainedHeap - baselineHeap) / options.tenants, 3) : null,
    missing,
    duplicated,
    tenantsWithGaps,
    expectedKeys,
    wallSeconds: Math.round((Date.now() - wallStart) / 1000),
    stoppedByWallLimit,
    errors,
  };
}
