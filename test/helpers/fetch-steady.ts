/**
 * A quick virtual-clock driver for the fetch loop at volume: the simulated tenant (in process, HTTPS on
 * loopback) and a counting engine share one clock; fetch-events runs every interval (at once when it asks
 * for it) through `main`. Reports requests in any rolling 5 minutes, the lag from a row (or a status)
 * becoming visible to its delivery, the largest last run, missing and duplicated keys.
 *
 *   npx tsx test/helpers/fetch-steady.ts steady [rowsPerDay=10000000] [minutes=120] [startIso]
 *   npx tsx test/helpers/fetch-steady.ts backfill [rowsPerDay=1000000] [days=3]
 */
import { createHash } from 'node:crypto';
import type { Engine, EventMeta, JsonObject, Logger, TraceEvent } from '../../src/engine/types.js';
import { isCommandError } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { main } from '../../src/main.js';
import { startSimulatedTenant, type ThrottleLimit } from '../../src/simulator/index.js';
import { fetchParams } from './fetch-e2e.js';

const MINUTE = 60_000;
const ROWS_PER_MESSAGE = 1.8;
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** 52 bits of SHA-1 of a key: a backfill of millions of keys is counted without holding their text. */
function keyHash(key: string): number {
  return createHash('sha1').update(key).digest().readUIntBE(0, 6) % 2 ** 52;
}

class CountingEngine implements Engine {
  readonly log: Logger = quiet;
  /** Lean mode (backfill): only which key hashes arrived and how many arrived again. */
  lean = false;
  readonly leanSeen = new Set<number>();
  leanDuplicates = 0;
  lastRunText = '{}';
  maxLastRunBytes = 0;
  /** key → engine times it was delivered at. */
  readonly deliveries = new Map<string, number[]>();
  events = 0;
  private context: JsonObject = {};
  constructor(private nowMs: number) {}
  async getLastRun(): Promise<unknown> {
    return JSON.parse(this.lastRunText) as unknown;
  }
  async setLastRun(state: JsonObject): Promise<void> {
    this.lastRunText = JSON.stringify(state);
    this.maxLastRunBytes = Math.max(this.maxLastRunBytes, Buffer.byteLength(this.lastRunText));
  }
  async getIntegrationContext(): Promise<unknown> {
    return structuredClone(this.context);
  }
  async setIntegrationContext(context: JsonObject): Promise<void> {
    this.context = structuredClone(context);
  }
  async sendEvents(events: readonly TraceEvent[], _meta: EventMeta): Promise<void> {
    for (const event of events) {
      const key = `${String(event.id)}|${String(event.recipientAddress)}|${String(event.status)}`;
      if (this.lean) {
        const hash = keyHash(key);
        if (this.leanSeen.has(hash)) this.leanDuplicates++;
        else this.leanSeen.add(hash);
        continue;
      }
      const list = this.deliveries.get(key);
      if (list) list.push(this.nowMs);
      else this.deliveries.set(key, [this.nowMs]);
    }
    this.events += events.length;
  }
  now(): number {
    return this.nowMs;
  }
  async sleep(ms: number): Promise<void> {
    this.nowMs += ms;
  }
  setNow(ms: number): void {
    this.nowMs = Math.max(this.nowMs, ms);
  }
}

export interface DriveOptions {
  rowsPerDay: number;
  /** Virtual minutes to run. */
  minutes: number;
  startMs: number;
  firstFetchMs: number;
  historyDays: number;
  intervalMinutes?: number;
  lookbackMinutes?: number;
  maxFetch?: number;
  throttle?: ThrottleLimit | 'off';
  /** Stop as soon as a run reports no backlog (backfill). */
  untilCaughtUp?: boolean;
  /** Lag and rolling requests are measured from here on (warm-up excluded). */
  measureFromMs?: number;
  log?: (line: string) => void;
}

export interface DriveResult {
  runs: number;
  requests: number;
  maxRequestsPer5Min: number;
  maxLagSeconds: number;
  p99LagSeconds: number;
  maxLastRunBytes: number;
  expected: number;
  missing: number;
  duplicated: number;
  rowsServed: number;
  eventsDelivered: number;
  readAmplification: number;
  throttled: number;
  virtualMinutes: number;
  rereads: number;
  reasons: Record<string, number>;
}

export async function drive(options: DriveOptions): Promise<DriveResult> {
  const engine = new CountingEngine(options.startMs);
  engine.lean = options.untilCaughtUp === true;
  const sim = await startSimulatedTenant({
    seed: 606,
    ratePerDay: options.rowsPerDay / ROWS_PER_MESSAGE,
    historyDays: options.historyDays,
    maxDelaySeconds: 600,
    statusDelaySeconds: 300,
    order: 'random',
    throttle: options.throttle ?? { limit: 100, windowSeconds: 300 },
    clock: () => engine.now(),
  });
  const interval = (options.intervalMinutes ?? 1) * MINUTE;
  const params = fetchParams(sim, {
    first_fetch: new Date(options.firstFetchMs).toISOString(),
    max_fetch: String(options.maxFetch ?? 1_000_000),
    lookback_minutes: String(options.lookbackMinutes ?? 15),
    eventFetchInterval: String(options.intervalMinutes ?? 1),
  });
  const runRequests: { atMs: number; n: number }[] = [];
  const reasons: Record<string, number> = {};
  let runs = 0;
  let rereads = 0;
  const endMs = options.startMs + options.minutes * MINUTE;
  try {
    while (engine.now() < endMs) {
      runs++;
      const runStart = engine.now();
      const before = sim.stats().graphRequests;
      const outcome = await main('fetch-events', params, {}, engine);
      if (isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
      const raw = outcome.rawResponse as { lookback: { reason: string; roundStart: boolean }; windows: number; behindMs: number; backlog: boolean };
      reasons[raw.lookback.reason] = (reasons[raw.lookback.reason] ?? 0) + 1;
      if (raw.lookback.roundStart) rereads++;
      runRequests.push({ atMs: runStart, n: sim.stats().graphRequests - before });
      if (runs % 20 === 0) {
        options.log?.(
          `run ${runs} t+${Math.round((runStart - options.startMs) / MINUTE)}m requests ${sim.stats().graphRequests} events ${engine.events} behind ${Math.round(raw.behindMs / 1000)}s state ${engine.lastRunText.length}`,
        );
      }
      if (outcome.nextTrigger === '0') continue;
      if (options.untilCaughtUp && !raw.backlog) break;
      engine.setNow(runStart + interval);
    }
    const state = parseState(JSON.parse(engine.lastRunText));
    const cursor = state?.cursorMs ?? options.firstFetchMs;
    const measureFrom = options.measureFromMs ?? options.startMs;
    let maxPer5 = 0;
    for (let i = 0; i < runRequests.length; i++) {
      const at = (runRequests[i] as { atMs: number }).atMs;
      if (at < measureFrom) continue;
      let sum = 0;
      for (let j = i; j >= 0 && (runRequests[j] as { atMs: number }).atMs > at - 300_000; j--) sum += (runRequests[j] as { n: number }).n;
      maxPer5 = Math.max(maxPer5, sum);
    }
    let expected = 0;
    let missing = 0;
    const lags: number[] = [];
    for (const row of sim.iterateGroundTruth(options.firstFetchMs, cursor - 1)) {
      expected++;
      const prefix = `${row.id}|${row.recipientAddress}|`;
      if (engine.lean) {
        if (!engine.leanSeen.has(keyHash(prefix + row.finalStatus))) missing++;
        continue;
      }
      const finalTimes = engine.deliveries.get(prefix + row.finalStatus);
      if (!finalTimes) missing++;
      for (const change of row.statusHistory) {
        const times = engine.deliveries.get(prefix + change.status);
        const visibleMs = Math.max(Date.parse(change.at), Date.parse(row.visibleAt));
        if (times && visibleMs >= measureFrom) lags.push(((times[0] as number) - visibleMs) / 1000);
      }
    }
    let duplicated = engine.leanDuplicates;
    for (const times of engine.deliveries.values()) if (times.length > 1) duplicated++;
    lags.sort((a, b) => a - b);
    const stats = sim.stats();
    return {
      runs,
      requests: stats.graphRequests,
      maxRequestsPer5Min: maxPer5,
      maxLagSeconds: lags.length ? (lags[lags.length - 1] as number) : 0,
      p99LagSeconds: lags.length ? (lags[Math.floor(lags.length * 0.99)] as number) : 0,
      maxLastRunBytes: engine.maxLastRunBytes,
      expected,
      missing,
      duplicated,
      rowsServed: stats.rowsServed,
      eventsDelivered: engine.events,
      readAmplification: Math.round((stats.rowsServed / Math.max(1, engine.events)) * 100) / 100,
      throttled: stats.throttled,
      virtualMinutes: Math.round((engine.now() - options.startMs) / MINUTE),
      rereads,
      reasons,
    };
  } finally {
    await sim.stop();
  }
}

if (process.argv[1]?.endsWith('fetch-steady.ts')) {
  const [mode = 'steady', a, b, c] = process.argv.slice(2);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const started = Date.now();
  let result: DriveResult;
  if (mode === 'backfill') {
    const rowsPerDay = Number(a ?? 1_000_000);
    const days = Number(b ?? 3);
    const startMs = Math.floor(Date.now() / MINUTE) * MINUTE;
    result = await drive({
      rowsPerDay,
      minutes: 24 * 60 * days,
      startMs,
      firstFetchMs: startMs - days * 86_400_000,
      historyDays: days + 0.1,
      untilCaughtUp: true,
      log,
    });
    const minRequests = Math.ceil(result.expected / 5000);
    process.stdout.write(`${JSON.stringify({ mode, rowsPerDay, days, ...result, minRequests, ratio: Math.round((result.requests / minRequests) * 1000) / 1000, wallSeconds: Math.round((Date.now() - started) / 1000) })}\n`);
  } else {
    const rowsPerDay = Number(a ?? 10_000_000);
    const minutes = Number(b ?? 120);
    const startMs = c ? Date.parse(c) : Math.floor(Date.now() / MINUTE) * MINUTE;
    result = await drive({
      rowsPerDay,
      minutes,
      startMs,
      firstFetchMs: startMs - 20 * MINUTE,
      historyDays: 0.05,
      measureFromMs: startMs + 20 * MINUTE,
      log,
    });
    process.stdout.write(`${JSON.stringify({ mode, rowsPerDay, minutes, start: new Date(startMs).toISOString(), ...result, wallSeconds: Math.round((Date.now() - started) / 1000) })}\n`);
  }
  process.exit(0);
}
