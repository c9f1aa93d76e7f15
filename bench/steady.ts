/**
 * Steady state on a virtual clock. The simulator runs in this process with its clock shared with the
 * engine's, so two hours of a busy tenant pass in minutes; HTTP stays real (HTTPS to 127.0.0.1, CA
 * verified, client-secret auth through msal-node). Each interval the engine runs fetch-events (again at
 * once while it answers `nextTrigger: '0'`), then the clock moves to the next interval.
 *
 * Graph requests are recorded from the request budget's log in the integration context (written before
 * each request goes out, with the engine time), and checked against the simulator's own count. Deliveries
 * are recorded per key (id, recipientAddress, status) with the engine time of `sendEvents`, and compared
 * with the simulator's ground truth at the end.
 *
 * `BENCH_RUN_TRACE=<file>` appends one JSON line per run (virtual time, virtual seconds it took, requests,
 * rows, stop reason, the look-back plan): where a figure came from, run by run.
 */
import { appendFileSync } from 'node:fs';
import { decodeRequestLog } from '../src/http/budget.js';
import { isCommandError, type TraceEvent } from '../src/engine/types.js';
import { main } from '../src/main.js';
import { type SimulatedTenant, startSimulatedTenant } from '../src/simulator/index.js';
import { MINUTE, ROWS_PER_MESSAGE, RequestRecorder, SinkEngine, floorSecond, maxInRollingWindow, round, virtualStart } from './common.js';
import { instanceParams as fetchParams } from '../src/simulator/harness.js';

export interface SteadyOptions {
  rowsPerDay: number;
  /** Length of the measured period. */
  virtualMinutes: number;
  /** Extra virtual minutes after it, so rows final by its end have had time to arrive (not measured for lag of new rows). */
  drainMinutes?: number;
  intervalMinutes?: number;
  lookbackMinutes?: number;
  maxDelaySeconds?: number;
  statusDelaySeconds?: number;
  seed?: number;
  /** Wall-clock cap; the run stops (and says so) when it is spent. */
  wallLimitMs?: number;
  /**
   * Virtual minutes at the start whose requests `maxRequestsPer5Min` leaves out: the first run reads the whole
   * look-back from first_fetch at once, a backlog, not the steady state (`maxRequestsPer5MinWithWarmUp` keeps them).
   */
  warmUpMinutes?: number;
  log: (line: string) => void;
}

export interface SteadyResult {
  rowsPerDay: number;
  virtualMinutes: number;
  drainMinutes: number;
  /** Virtual minutes actually run (less than virtualMinutes + drainMinutes when the wall-clock cap hit). */
  virtualMinutesRun: number;
  settleTime: string;
  runs: number;
  immediateReruns: number;
  /** Runs that stopped because the request budget was spent. */
  budgetStops: number;
  stopReasons: Record<string, number>;
  /** The fetch loop's look-back plan per run (`rawResponse.lookback`), counted by reread/reason. */
  lookbackPlans: Record<string, number>;
  graphRequests: number;
  simulatorGraphRequests: number;
  throttled: number;
  tokenRequests: number;
  /** Most requests in any rolling 5 minutes past the warm-up. */
  maxRequestsPer5Min: number;
  maxRequestsPer5MinAt: string | undefined;
  /** The same over the whole run, the warm-up's catch-up included. */
  maxRequestsPer5MinWithWarmUp: number;
  warmUpMinutes: number;
  requestsPerRun: { mean: number; max: number };
  rowsRead: number;
  eventsDelivered: number;
  readAmplification: number;
  maxLagSeconds: number;
  /** Lag percentiles over delivered keys whose status showed after the first run (seconds). */
  lagP50Seconds: number;
  lagP99Seconds: number;
  /** p99 lag of a row's first status from when the row became visible (seconds). */
  newRowLagP99Seconds: number;
  /** p99 lag of a later status from when the row took it (seconds). */
  statusChangeLagP99Seconds: number;
  /** The delivery with the largest lag, to see why. */
  worstLag: { key: string; receivedDateTime: string; visibleAt: string; statusAt: string; deliveredAt: string; history: string } | undefined;
  maxLastRunBytes: number;
  groundTruthRows: number;
  /** Rows whose final status was reached by the settle time (end of the measured period). */
  settledRows: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  missingSample: string[];
  duplicatedSample: string[];
  /** Most virtual time one run took (budget waits move the virtual clock). */
  maxRunVirtualSeconds: number;
  wallSeconds: number;
  stoppedByWallLimit: boolean;
  errors: string[];
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

export async function runSteady(options: SteadyOptions): Promise<SteadyResult> {
  const intervalMs = (options.intervalMinutes ?? 1) * MINUTE;
  const lookbackMinutes = options.lookbackMinutes ?? 15;
  const drainMinutes = options.drainMinutes ?? 20;
  const wallStart = Date.now();
  const wallLimitMs = options.wallLimitMs ?? 300_000;
  const { log } = options;

  const start = virtualStart();
  const firstFetchMs = floorSecond(start - lookbackMinutes * MINUTE);
  const endMs = start + options.virtualMinutes * MINUTE;
  const drainEndMs = endMs + drainMinutes * MINUTE;

  // Deliveries: key → engine time of its first delivery; duplicates counted apart.
  const delivered = new Map<string, number>();
  let duplicated = 0;
  const duplicatedSample: string[] = [];
  const recorder = new RequestRecorder(decodeRequestLog);
  const requestTimes = recorder.times;

  const engine = new SinkEngine({
    startTimeMs: start,
    onEvents: (events: readonly TraceEvent[], atMs: number) => {
      for (const event of events) {
        const key = `${String(event.id)}|${String(event.recipientAddress)}|${String(event.status)}`;
        if (delivered.has(key)) {
          duplicated++;
          if (duplicatedSample.length < 5) duplicatedSample.push(key);
        } else delivered.set(key, atMs);
      }
    },
    onIntegrationContext: recorder.onIntegrationContext,
  });

  const sim: SimulatedTenant = await startSimulatedTenant({
    seed: options.seed ?? 21,
    ratePerDay: options.rowsPerDay / ROWS_PER_MESSAGE,
    historyDays: 1,
    maxDelaySeconds: options.maxDelaySeconds ?? 600,
    statusDelaySeconds: options.statusDelaySeconds ?? 300,
    clock: () => engine.now(),
  });

  const params = fetchParams(sim, {
    first_fetch: new Date(firstFetchMs).toISOString(),
    max_fetch: '1000000',
    lookback_minutes: String(lookbackMinutes),
    eventFetchInterval: String(intervalMs / MINUTE),
  });

  let runs = 0;
  let immediateReruns = 0;
  let budgetStops = 0;
  let rowsRead = 0;
  let eventsDelivered = 0;
  let maxRunVirtualMs = 0;
  let stoppedByWallLimit = false;
  const stopReasons: Record<string, number> = {};
  const lookbackPlans: Record<string, number> = {};
  const requestsPerRun: number[] = [];
  const errors: string[] = [];
  let nextProgress = start + 30 * MINUTE;

  try {
    while (engine.now() < drainEndMs && runs < 5000) {
      if (Date.now() - wallStart > wallLimitMs) {
        stoppedByWallLimit = true;
        log(`  wall-clock limit reached at virtual minute ${round((engine.now() - start) / MINUTE, 1)}`);
        break;
      }
      const runStart = engine.now();
      const requestsBefore = requestTimes.length;
      runs++;
      const outcome = await main('fetch-events', params, {}, engine);
      maxRunVirtualMs = Math.max(maxRunVirtualMs, engine.now() - runStart);
      requestsPerRun.push(requestTimes.length - requestsBefore);
      if (isCommandError(outcome)) {
        errors.push(`${new Date(runStart).toISOString()} ${outcome.error.code}: ${outcome.error.message}`);
        if (outcome.error.code === 'invalid_param' || errors.length > 20) throw new Error(`too many failed runs: ${errors.slice(0, 3).join(' | ')}`);
      } else {
        const summary = outcome.rawResponse as {
          rowsRead: number;
          eventsSent: number;
          stopReason: string;
          lookback?: Record<string, unknown>;
        };
        if (summary.lookback) {
          // The fetch loop's own account of its look-back plan; field names as it reports them.
          const lb = summary.lookback;
          const plan = ['order', 'reason', 'roundIntervals', 'everyIntervals']
            .filter((key) => lb[key] !== undefined)
            .map((key) => `${key}=${String(lb[key])}`)
            .join(' ');
          lookbackPlans[plan] = (lookbackPlans[plan] ?? 0) + 1;
        }
        rowsRead += summary.rowsRead;
        eventsDelivered += summary.eventsSent;
        stopReasons[summary.stopReason] = (stopReasons[summary.stopReason] ?? 0) + 1;
        if (summary.stopReason === 'request_budget') budgetStops++;
        if (process.env.BENCH_RUN_TRACE) {
          appendFileSync(process.env.BENCH_RUN_TRACE, `${JSON.stringify({ at: new Date(runStart).toISOString().slice(11, 19), took: (engine.now() - runStart) / 1000, requests: requestTimes.length - requestsBefore, rows: summary.rowsRead, stop: summary.stopReason, ...summary.lookback })}\n`);
        }
        if (outcome.nextTrigger === '0') {
          immediateReruns++;
          continue;
        }
      }
      // The next scheduled interval after now (a run that overran skips the ticks it covered).
      const elapsed = engine.now() - start;
      engine.setNow(start + (Math.floor(elapsed / intervalMs) + 1) * intervalMs);
      if (engine.now() >= nextProgress) {
        log(
          `  virtual minute ${Math.round((engine.now() - start) / MINUTE)}: runs ${runs}, requests ${requestTimes.length}, rows read ${rowsRead}, events ${eventsDelivered}, wall ${Math.round((Date.now() - wallStart) / 1000)} s`,
        );
        nextProgress += 30 * MINUTE;
      }
    }

    // Ground truth, as of the end of the drain: every row received since first_fetch.
    // Rows final by the settle time have had at least the drain period to be delivered.
    const settleMs = Math.min(endMs, engine.now() - drainMinutes * MINUTE);
    let groundTruthRows = 0;
    let settledRows = 0;
    let matched = 0;
    let missing = 0;
    const missingSample: string[] = [];
    const lags: number[] = [];
    const newRowLags: number[] = [];
    const statusChangeLags: number[] = [];
    let maxLagMs = 0;
    let worstLag: SteadyResult['worstLag'];
    for (const row of sim.iterateGroundTruth(firstFetchMs, engine.now())) {
      groundTruthRows++;
      const receivedMs = Date.parse(row.receivedDateTime);
      // Lag of each delivered status from when it showed, and of the row from when it first showed.
      let firstDeliveryMs = Number.POSITIVE_INFINITY;
      for (const change of row.statusHistory) {
        const at = delivered.get(`${row.id}|${row.recipientAddress}|${change.status}`);
        if (at === undefined) continue;
        matched++;
        firstDeliveryMs = Math.min(firstDeliveryMs, at);
        // What showed before the first run is the initial backlog, not steady-state lag.
        if (Date.parse(change.at) < start) continue;
        const lag = at - Date.parse(change.at);
        lags.push(lag);
        (change.at === row.visibleAt ? newRowLags : statusChangeLags).push(lag);
        if (lag > maxLagMs) {
          maxLagMs = lag;
          worstLag = { key: `${row.id}|${row.recipientAddress}|${change.status}`, receivedDateTime: row.receivedDateTime, visibleAt: row.visibleAt, statusAt: change.at, deliveredAt: new Date(at).toISOString(), history: row.statusHistory.map((h) => `${h.status}@${h.at}`).join(' ') };
        }
      }
      if (Number.isFinite(firstDeliveryMs) && Date.parse(row.visibleAt) >= start && firstDeliveryMs - Date.parse(row.visibleAt) > maxLagMs) {
        maxLagMs = firstDeliveryMs - Date.parse(row.visibleAt);
        worstLag = { key: `${row.id}|${row.recipientAddress}|(first seen)`, receivedDateTime: row.receivedDateTime, visibleAt: row.visibleAt, statusAt: row.visibleAt, deliveredAt: new Date(firstDeliveryMs).toISOString(), history: row.statusHistory.map((h) => `${h.status}@${h.at}`).join(' ') };
      }
      const last = row.statusHistory[row.statusHistory.length - 1];
      if (receivedMs <= settleMs && last !== undefined && Date.parse(last.at) <= settleMs) {
        settledRows++;
        if (!delivered.has(`${row.id}|${row.recipientAddress}|${row.finalStatus}`)) {
          missing++;
          if (missingSample.length < 5) missingSample.push(`${row.id}|${row.recipientAddress}|${row.finalStatus} received ${row.receivedDateTime} final at ${last.at}`);
        }
      }
    }
    const sortedLags = Float64Array.from(lags).sort();
    const stats = sim.stats();
    const sortedTimes = [...requestTimes].sort((a, b) => a - b);
    const warmUpMinutes = options.warmUpMinutes ?? 0;
    const pastWarmUp = sortedTimes.filter((t) => t >= start + warmUpMinutes * MINUTE);
    // A run cut short before its warm-up ended says nothing of the steady state: the whole run's figure then.
    const rolling = maxInRollingWindow(pastWarmUp.length > 0 ? pastWarmUp : sortedTimes, 300_000);
    const result: SteadyResult = {
      rowsPerDay: options.rowsPerDay,
      virtualMinutes: options.virtualMinutes,
      drainMinutes,
      virtualMinutesRun: round((engine.now() - start) / MINUTE, 1),
      settleTime: new Date(settleMs).toISOString(),
      runs,
      immediateReruns,
      budgetStops,
      stopReasons,
      lookbackPlans,
      graphRequests: requestTimes.length,
      simulatorGraphRequests: stats.graphRequests,
      throttled: stats.throttled,
      tokenRequests: stats.tokensIssued.client_credentials,
      maxRequestsPer5Min: rolling.max,
      maxRequestsPer5MinAt: rolling.endingAt === undefined ? undefined : new Date(rolling.endingAt).toISOString(),
      maxRequestsPer5MinWithWarmUp: maxInRollingWindow(sortedTimes, 300_000).max,
      warmUpMinutes,
      requestsPerRun: {
        mean: round(requestsPerRun.reduce((a, b) => a + b, 0) / Math.max(1, requestsPerRun.length), 1),
        max: Math.max(0, ...requestsPerRun),
      },
      rowsRead,
      eventsDelivered,
      readAmplification: round(rowsRead / Math.max(1, eventsDelivered), 2),
      maxLagSeconds: round(maxLagMs / 1000, 1),
      lagP50Seconds: round(percentile(sortedLags, 0.5) / 1000, 1),
      lagP99Seconds: round(percentile(sortedLags, 0.99) / 1000, 1),
      newRowLagP99Seconds: round(percentile(Float64Array.from(newRowLags).sort(), 0.99) / 1000, 1),
      statusChangeLagP99Seconds: round(percentile(Float64Array.from(statusChangeLags).sort(), 0.99) / 1000, 1),
      worstLag,
      maxLastRunBytes: engine.maxLastRunBytes,
      groundTruthRows,
      settledRows,
      missing,
      duplicated,
      unexpected: delivered.size - matched,
      missingSample,
      duplicatedSample,
      maxRunVirtualSeconds: round(maxRunVirtualMs / 1000, 0),
      wallSeconds: Math.round((Date.now() - wallStart) / 1000),
      stoppedByWallLimit,
      errors,
    };
    log(`  ${JSON.stringify({ ...result, errors: result.errors.length })}`);
    return result;
  } finally {
    await sim.stop();
  }
}
