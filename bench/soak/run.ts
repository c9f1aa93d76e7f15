/**
 * `npm run soak`: one hour of virtual time at 1,000,000 rows a day, with 5 % of Graph requests failing
 * (5xx, 429, resets, cut-off and slow bodies, held connections) and the tenant's throttle on. Every virtual
 * minute the engine runs fetch-events (again at once while it answers `nextTrigger: '0'`), as XSIAM would.
 *
 * Checks, in bounded memory: deliveries are kept per received-minute and compared with the simulator's
 * ground truth once that minute is settled and behind the cursor, then dropped. Memory: RSS and heap after
 * a full GC, sampled every 10 virtual minutes of the measured hour. The simulator runs in this process too
 * (it shares the virtual clock) and caches up to 60,000 generated rows, which at this rate fills in about
 * 90 virtual minutes; so the measured hour follows a warm-up of 100 virtual minutes (also checked for
 * delivery), and growth within it is the collector's.
 *
 * The simulator's defaults add recalls, null fields, IPv6 fromIP, PascalCase statuses and every Retry-After
 * form; the summary counts each from `/_simulator/stats`, and the run fails when one of them, or one of the
 * fault kinds it injects, never fired.
 *
 * Prints one JSON summary on stdout; exits 1 when a row was lost or delivered twice, or memory grew.
 * Options: --minutes N (measured virtual minutes, default 60), --warmup-minutes N (default 100),
 * --rows-per-day N (default 1000000).
 * Not part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseState } from '../../src/fetch/state.js';
import type { Engine, EventMeta, JsonObject, Logger, TraceEvent } from '../../src/engine/types.js';
import { isCommandError } from '../../src/engine/types.js';
import { main } from '../../src/main.js';
import { type GroundTruthRow, startSimulatedTenant } from '../../src/simulator/index.js';
import { exercisedSummary, instanceParams as fetchParams, notYetExercised } from '../../src/simulator/harness.js';

// A full GC before each sample needs --expose-gc: run again with it when it is missing.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const MINUTE = 60_000;
const ROWS_PER_MESSAGE = 1.8;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

const VIRTUAL_MINUTES = option('--minutes', 60);
const WARMUP_MINUTES = option('--warmup-minutes', 100);
const ROWS_PER_DAY = option('--rows-per-day', 1_000_000);
const LOOKBACK_MINUTES = 15;
const MAX_DELAY_SECONDS = 120;
const STATUS_DELAY_SECONDS = 300;
const WALL_LIMIT_MS = 20 * MINUTE;
/** A received-minute is compared once it is this far behind the clock (rows visible, statuses final). */
const SETTLE_MS = (MAX_DELAY_SECONDS + STATUS_DELAY_SECONDS) * 1000 + 2 * MINUTE;

const FAULTS = { '500': 0.01, '502': 0.005, '503': 0.01, '504': 0.005, '429': 0.01, reset: 0.004, truncate: 0.004, timeout: 0.001, slow: 0.001 };

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Deliveries per received-minute: key (id|recipient|status) → times delivered. */
class DeliveryBook {
  private readonly open = new Map<number, Map<string, number>>();
  private readonly checked = new Set<number>();
  delivered = 0;
  recalledEvents = 0;
  lateRepeats = 0;

  add(events: readonly TraceEvent[]): void {
    for (const event of events) {
      this.delivered++;
      if (event.status === 'recalled') this.recalledEvents++;
      const minute = Math.floor(Date.parse(String(event.receivedDateTime)) / MINUTE);
      if (this.checked.has(minute)) {
        this.lateRepeats++;
        continue;
      }
      let keys = this.open.get(minute);
      if (keys === undefined) {
        keys = new Map();
        this.open.set(minute, keys);
      }
      const key = `${String(event.id)}|${String(event.recipientAddress)}|${String(event.status)}`;
      keys.set(key, (keys.get(key) ?? 0) + 1);
    }
  }

  /** Compares one minute with its ground truth and forgets its keys. */
  settle(minute: number, truth: readonly GroundTruthRow[], totals: Totals): void {
    const keys = this.open.get(minute) ?? new Map<string, number>();
    const valid = new Set<string>();
    for (const row of truth) {
      totals.expected++;
      for (const change of row.statusHistory) valid.add(`${row.id}|${row.recipientAddress}|${change.status}`);
      const finalKey = `${row.id}|${row.recipientAddress}|${row.finalStatus}`;
      if (!keys.has(finalKey)) {
        totals.missing++;
        if (totals.missingSample.length < 5) totals.missingSample.push(finalKey);
      }
    }
    for (const [key, count] of keys) {
      if (count > 1) {
        totals.duplicated += count - 1;
        if (totals.duplicatedSample.length < 5) totals.duplicatedSample.push(key);
      }
      if (!valid.has(key)) {
        totals.unexpected++;
        if (totals.unexpectedSample.length < 5) totals.unexpectedSample.push(key);
      }
    }
    this.open.delete(minute);
    this.checked.add(minute);
  }

  get openMinutes(): number {
    return this.open.size;
  }
}

interface Totals {
  expected: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  missingSample: string[];
  duplicatedSample: string[];
  unexpectedSample: string[];
}

/** An engine that keeps state and context in memory and hands events to the book; its clock is virtual. */
class SoakEngine implements Engine {
  private lastRun = '{}';
  private context: JsonObject = {};
  readonly log = silent;
  constructor(
    private nowMs: number,
    private readonly book: DeliveryBook,
  ) {}
  async getLastRun(): Promise<unknown> {
    return JSON.parse(this.lastRun) as unknown;
  }
  async setLastRun(state: JsonObject): Promise<void> {
    this.lastRun = JSON.stringify(state);
  }
  async getIntegrationContext(): Promise<unknown> {
    return structuredClone(this.context);
  }
  async setIntegrationContext(context: JsonObject): Promise<void> {
    this.context = structuredClone(context);
  }
  async sendEvents(events: readonly TraceEvent[], _meta: EventMeta): Promise<void> {
    this.book.add(events);
  }
  now(): number {
    return this.nowMs;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.nowMs += ms;
  }
  setNow(ms: number): void {
    this.nowMs = Math.max(this.nowMs, ms);
  }
  get lastRunBytes(): number {
    return Buffer.byteLength(this.lastRun);
  }
  get cursorMs(): number | undefined {
    return parseState(JSON.parse(this.lastRun))?.cursorMs;
  }
}

interface MemorySample {
  virtualMinute: number;
  rssMb: number;
  heapUsedMb: number;
}

function sample(virtualMinute: number): MemorySample {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { virtualMinute, rssMb: round(usage.rss / 1_048_576), heapUsedMb: round(usage.heapUsed / 1_048_576) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

async function soak() {
  const wallStart = Date.now();
  const start = Math.floor(Date.now() / MINUTE) * MINUTE;
  const book = new DeliveryBook();
  const engine = new SoakEngine(start, book);
  const sim = await startSimulatedTenant({
    seed: 77,
    ratePerDay: ROWS_PER_DAY / ROWS_PER_MESSAGE,
    historyDays: 1,
    maxDelaySeconds: MAX_DELAY_SECONDS,
    statusDelaySeconds: STATUS_DELAY_SECONDS,
    order: 'random',
    throttle: { limit: 100, windowSeconds: 300 },
    // 5 % of Graph requests fail; held connections and slow bodies are short so the soak stays quick.
    faults: FAULTS,
    timeoutHoldMs: 200,
    slowBodyMs: 200,
    clock: () => engine.now(),
  });
  const firstFetchMs = start - LOOKBACK_MINUTES * MINUTE;
  const params = fetchParams(sim, {
    first_fetch: new Date(firstFetchMs).toISOString(),
    max_fetch: '100000',
    lookback_minutes: String(LOOKBACK_MINUTES),
  });
  const totals: Totals = { expected: 0, missing: 0, duplicated: 0, unexpected: 0, missingSample: [], duplicatedSample: [], unexpectedSample: [] };
  const errors: Record<string, number> = {};
  const memory: MemorySample[] = [];
  let runs = 0;
  let maxLastRunBytes = 0;
  let settledUpTo = Math.floor(firstFetchMs / MINUTE);
  const measuredFrom = start + WARMUP_MINUTES * MINUTE;
  const endMs = measuredFrom + VIRTUAL_MINUTES * MINUTE;
  let stoppedByWallLimit = false;

  try {
    for (let interval = 0; engine.now() < endMs; interval++) {
      if (Date.now() - wallStart > WALL_LIMIT_MS) {
        stoppedByWallLimit = true;
        break;
      }
      const intervalStart = start + interval * MINUTE;
      engine.setNow(intervalStart);
      for (let again = 0; again < 20; again++) {
        runs++;
        const outcome = await main('fetch-events', params, {}, engine);
        maxLastRunBytes = Math.max(maxLastRunBytes, engine.lastRunBytes);
        if (isCommandError(outcome)) {
          errors[outcome.error.code] = (errors[outcome.error.code] ?? 0) + 1;
          break;
        }
        if (outcome.nextTrigger !== '0') break;
      }
      // Settle minutes that are behind the cursor and old enough for their rows to be final.
      const cursor = engine.cursorMs ?? firstFetchMs;
      const settleBefore = Math.floor(Math.min(cursor, engine.now() - SETTLE_MS) / MINUTE);
      for (; settledUpTo < settleBefore; settledUpTo++) {
        const minuteStart = settledUpTo * MINUTE;
        // Rows are put in the minute of their receivedDateTime read at millisecond precision, as deliveries
        // are; a bound at minuteStart + 59 999 ms would leave out rows in the last 0.1–0.9 ms of the minute.
        const minute = settledUpTo;
        const truth = sim.groundTruth(minuteStart, minuteStart + MINUTE).filter((row) => Math.floor(Date.parse(row.receivedDateTime) / MINUTE) === minute);
        book.settle(settledUpTo, truth, totals);
      }
      const measuredMinute = interval - WARMUP_MINUTES;
      if (measuredMinute >= 0 && measuredMinute % 10 === 0) {
        memory.push(sample(measuredMinute));
        process.stderr.write(
          `measured minute ${measuredMinute}: ${book.delivered} events, ${totals.expected} rows checked, missing ${totals.missing}, rss ${memory.at(-1)?.rssMb} MB\n`,
        );
      }
    }
    memory.push(sample(Math.round((engine.now() - measuredFrom) / MINUTE)));
  } finally {
    await sim.stop();
  }

  const stats = sim.stats();
  const warm = memory[0];
  const last = memory.at(-1);
  const heapGrowthMb = round((last?.heapUsedMb ?? 0) - (warm?.heapUsedMb ?? 0));
  const rssGrowthMb = round((last?.rssMb ?? 0) - (warm?.rssMb ?? 0));
  const memoryFlat = heapGrowthMb < 10 && rssGrowthMb < 64;
  const summary = {
    warmupMinutes: WARMUP_MINUTES,
    measuredMinutes: Math.round((engine.now() - measuredFrom) / MINUTE),
    rowsPerDay: ROWS_PER_DAY,
    runs,
    errors,
    eventsDelivered: book.delivered,
    groundTruthRowsChecked: totals.expected,
    missing: totals.missing,
    duplicated: totals.duplicated + book.lateRepeats,
    unexpected: totals.unexpected,
    missingSample: totals.missingSample,
    duplicatedSample: totals.duplicatedSample,
    unexpectedSample: totals.unexpectedSample,
    minutesStillOpen: book.openMinutes,
    graphRequests: stats.graphRequests,
    faultsInjected: stats.faultsInjected,
    faultsByKind: stats.faultsByKind,
    throttled: stats.throttled,
    recalledEvents: book.recalledEvents,
    exercised: exercisedSummary(stats),
    neverMet: notYetExercised(stats, Object.keys(FAULTS)),
    maxLastRunBytes,
    memory: {
      startRssMb: warm?.rssMb,
      endRssMb: last?.rssMb,
      startHeapAfterGcMb: warm?.heapUsedMb,
      endHeapAfterGcMb: last?.heapUsedMb,
      rssGrowthMb,
      heapGrowthMb,
      flat: memoryFlat,
      samples: memory,
    },
    stoppedByWallLimit,
    wallSeconds: Math.round((Date.now() - wallStart) / 1000),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  const lost = totals.missing > 0 || totals.unexpected > 0 || totals.expected === 0;
  return lost || summary.duplicated > 0 || !memoryFlat || stoppedByWallLimit || summary.neverMet.length > 0 ? 1 : 0;
}

process.exitCode = await soak();
