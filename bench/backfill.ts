/**
 * Backfill on a virtual clock: first_fetch 3 days back at 1,000,000 rows a day, the simulator's tenant
 * quota on (100 requests per 300 s), fetch-events run again at once on `nextTrigger: '0'`, else at the next
 * interval, until a run ends caught up. Requests are the simulator's count of Graph requests (429s
 * included); the minimum is one request per 5,000 distinct rows.
 */
import { isCommandError } from '../src/engine/types.js';
import { main } from '../src/main.js';
import { startSimulatedTenant } from '../src/simulator/index.js';
import { decodeRequestLog } from '../src/http/budget.js';
import { DAY, MINUTE, ROWS_PER_MESSAGE, RequestRecorder, SinkEngine, round, virtualStart } from './common.js';
import { instanceParams as fetchParams } from '../src/simulator/harness.js';

export interface BackfillOptions {
  rowsPerDay: number;
  days: number;
  intervalMinutes?: number;
  lookbackMinutes?: number;
  seed?: number;
  wallLimitMs?: number;
  log: (line: string) => void;
}

export interface BackfillResult {
  rowsPerDay: number;
  days: number;
  caughtUp: boolean;
  runs: number;
  immediateReruns: number;
  stopReasons: Record<string, number>;
  backfillRequests: number;
  /** Requests the collector's own budget recorded (a cross-check of the simulator's count). */
  collectorBudgetRequests: number;
  throttled: number;
  distinctRows: number;
  eventsDelivered: number;
  rowsRead: number;
  backfillMinRequests: number;
  backfillRatio: number;
  backfillMinutes: number;
  /** minRequests at the tenant's 100 per 5 minutes. */
  backfillThrottleFloorMinutes: number;
  /** minRequests at the collector's own 90 per 5 minutes. */
  backfillBudgetFloorMinutes: number;
  windows: number;
  abandonedWindows: number;
  maxLastRunBytes: number;
  wallSeconds: number;
  errors: string[];
}

export async function runBackfill(options: BackfillOptions): Promise<BackfillResult> {
  const intervalMs = (options.intervalMinutes ?? 1) * MINUTE;
  const wallStart = Date.now();
  const wallLimitMs = options.wallLimitMs ?? 300_000;
  const start = virtualStart();
  const distinct = new Set<string>();
  const recorder = new RequestRecorder(decodeRequestLog);
  const engine = new SinkEngine({
    startTimeMs: start,
    onIntegrationContext: recorder.onIntegrationContext,
    onEvents: (events) => {
      for (const event of events) distinct.add(`${String(event.id)}|${String(event.recipientAddress)}`);
    },
  });
  const sim = await startSimulatedTenant({
    seed: options.seed ?? 31,
    ratePerDay: options.rowsPerDay / ROWS_PER_MESSAGE,
    historyDays: options.days + 0.1,
    clock: () => engine.now(),
  });
  const params = fetchParams(sim, {
    first_fetch: `${Math.round(options.days * 24)} hours`,
    max_fetch: '1000000',
    lookback_minutes: String(options.lookbackMinutes ?? 15),
    eventFetchInterval: String(intervalMs / MINUTE),
  });
  let runs = 0;
  let immediateReruns = 0;
  let rowsRead = 0;
  let eventsDelivered = 0;
  let windows = 0;
  let abandonedWindows = 0;
  let caughtUp = false;
  const stopReasons: Record<string, number> = {};
  const errors: string[] = [];
  let nextProgress = start + 10 * MINUTE;
  try {
    while (!caughtUp && runs < 2000 && engine.now() < start + 2 * DAY) {
      if (Date.now() - wallStart > wallLimitMs) {
        options.log(`  wall-clock limit reached after ${runs} runs`);
        break;
      }
      runs++;
      const outcome = await main('fetch-events', params, {}, engine);
      if (isCommandError(outcome)) {
        errors.push(`${new Date(engine.now()).toISOString()} ${outcome.error.code}: ${outcome.error.message}`);
        if (outcome.error.code === 'invalid_param' || errors.length > 20) throw new Error(`too many failed runs: ${errors.slice(0, 3).join(' | ')}`);
      } else {
        const summary = outcome.rawResponse as {
          rowsRead: number;
          eventsSent: number;
          stopReason: string;
          backlog: boolean;
          windows: number;
          abandonedWindows: number;
        };
        rowsRead += summary.rowsRead;
        eventsDelivered += summary.eventsSent;
        windows += summary.windows;
        abandonedWindows += summary.abandonedWindows;
        stopReasons[summary.stopReason] = (stopReasons[summary.stopReason] ?? 0) + 1;
        if (summary.stopReason === 'caught_up' && !summary.backlog) {
          caughtUp = true;
          break;
        }
        if (outcome.nextTrigger === '0') {
          immediateReruns++;
          continue;
        }
      }
      const elapsed = engine.now() - start;
      engine.setNow(start + (Math.floor(elapsed / intervalMs) + 1) * intervalMs);
      if (engine.now() >= nextProgress) {
        options.log(
          `  virtual minute ${Math.round((engine.now() - start) / MINUTE)}: runs ${runs}, Graph requests ${sim.stats().graphRequests}, rows read ${rowsRead}, wall ${Math.round((Date.now() - wallStart) / 1000)} s`,
        );
        nextProgress += 10 * MINUTE;
      }
    }
    const stats = sim.stats();
    const backfillMinRequests = Math.ceil(distinct.size / 5000);
    const result: BackfillResult = {
      rowsPerDay: options.rowsPerDay,
      days: options.days,
      caughtUp,
      runs,
      immediateReruns,
      stopReasons,
      backfillRequests: stats.graphRequests,
      collectorBudgetRequests: recorder.times.length,
      throttled: stats.throttled,
      distinctRows: distinct.size,
      eventsDelivered,
      rowsRead,
      backfillMinRequests,
      backfillRatio: round(stats.graphRequests / Math.max(1, backfillMinRequests), 3),
      backfillMinutes: round((engine.now() - start) / MINUTE, 1),
      backfillThrottleFloorMinutes: round((backfillMinRequests / 100) * 5, 1),
      backfillBudgetFloorMinutes: round((backfillMinRequests / 90) * 5, 1),
      windows,
      abandonedWindows,
      maxLastRunBytes: engine.maxLastRunBytes,
      wallSeconds: Math.round((Date.now() - wallStart) / 1000),
      errors,
    };
    options.log(`  ${JSON.stringify(result)}`);
    return result;
  } finally {
    await sim.stop();
  }
}
