/**
 * Throughput against a floor. The simulator runs in its own process (throttle off); in this process, a
 * floor — a token, then the same window with plain `fetch` + `JSON.parse`, following `@odata.nextLink`,
 * nothing else — and one fetch-events run draining the same window into a counting sink. Interleaved
 * (floor, collector, floor, collector), best of each, because two shared cores are noisy.
 */
import { Agent } from 'undici';
import { isCommandError } from '../src/engine/types.js';
import { DEFAULT_TUNING } from '../src/fetch/window.js';
import { main } from '../src/main.js';
import {
  DAY,
  MINUTE,
  ROWS_PER_MESSAGE,
  SinkEngine,
  type SimulatorProcess,
  floorSecond,
  round,
  simulatorParams,
} from './common.js';

export interface PassResult {
  kind: 'floor' | 'collector';
  events: number;
  requests: number;
  wallMs: number;
  cpuMicros: number;
  simulatorCpuMicros: number | undefined;
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
  /** Warnings and errors the collector logged (retries, budget waits). */
  warnings?: string[];
}

export interface ThroughputResult {
  rowsTarget: number;
  window: { start: string; end: string };
  floorEventsPerSecond: number;
  floorCpuMicrosPerEvent: number;
  collectorEventsPerSecond: number;
  collectorCpuMicrosPerEvent: number;
  collectorRequests: number;
  floorRequests: number;
  /** Simulator process CPU per row served during the best floor pass (the floor's own ceiling). */
  simulatorCpuMicrosPerEventFloor: number | undefined;
  simulatorCpuMicrosPerEventCollector: number | undefined;
  throughputRatio: number;
  /** collectorCpuMicrosPerEvent / floorCpuMicrosPerEvent. */
  cpuPerEventRatio: number;
  passes: PassResult[];
}

/** Simulator flags for ~`rows` rows in the last day. */
export function throughputSimulatorArgs(rows: number, seed = 7): string[] {
  return ['--seed', String(seed), '--rate', String(Math.round(rows / ROWS_PER_MESSAGE)), '--history', '1', '--throttle', 'off'];
}

function graphTime(ms: number): string {
  return `${new Date(floorSecond(ms)).toISOString().slice(0, 19)}Z`;
}

async function floorPass(sim: SimulatorProcess, startMs: number, endMs: number, dispatcher: Agent): Promise<{ events: number; requests: number }> {
  const { info } = sim;
  // As src/http/transport.ts does: global fetch with an undici 7 dispatcher (the global RequestInit type
  // knows Node's bundled undici, not undici 7; the runtime accepts both).
  const withDispatcher = (init: RequestInit): RequestInit => {
    const extended: Omit<RequestInit, 'dispatcher'> & { dispatcher: unknown } = { ...init, dispatcher };
    return extended as RequestInit;
  };
  const tokenResponse = await fetch(
    `${info.authorityUrl}/${info.tenantId}/oauth2/v2.0/token`,
    withDispatcher({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: info.clientId,
        client_secret: info.clientSecret,
        scope: `${info.graphUrl}/.default`,
      }).toString(),
    }),
  );
  const token = (JSON.parse(await tokenResponse.text()) as { access_token?: string }).access_token;
  if (!token) throw new Error(`floor: no token (HTTP ${tokenResponse.status})`);
  const filter = `receivedDateTime ge ${graphTime(startMs)} and receivedDateTime le ${graphTime(endMs)}`;
  let url: string | undefined = `${info.graphUrl}/v1.0/admin/exchange/tracing/messageTraces?$filter=${encodeURIComponent(filter)}&$top=5000`;
  let events = 0;
  let requests = 0;
  while (url !== undefined && requests < 10_000) {
    const response = await fetch(url, withDispatcher({ headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }));
    requests++;
    const page = JSON.parse(await response.text()) as { value?: unknown[]; '@odata.nextLink'?: string };
    if (!response.ok || !Array.isArray(page.value)) throw new Error(`floor: HTTP ${response.status}`);
    events += page.value.length;
    url = page['@odata.nextLink'];
  }
  return { events, requests };
}

async function collectorPass(
  sim: SimulatorProcess,
  startMs: number,
  maxFetch: number,
): Promise<{ events: number; requests: number; warnings?: string[] }> {
  const warnings: string[] = [];
  const note = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    warnings.push(`${level}: ${message} ${JSON.stringify(fields ?? {})}`);
  };
  const engine = new SinkEngine({ logger: { debug() {}, info() {}, warn: note('warn'), error: note('error') } });
  let requests = 0;
  const params = simulatorParams(sim.info, sim.caCertPem, {
    first_fetch: new Date(startMs).toISOString(),
    max_fetch: String(maxFetch),
    lookback_minutes: '15',
  });
  const outcome = await main('fetch-events', params, {}, engine);
  if (isCommandError(outcome)) throw new Error(`collector: ${outcome.error.code}: ${outcome.error.message}`);
  const summary = outcome.rawResponse as { eventsSent: number; rowsRead: number; stopReason: string };
  if (summary.stopReason !== 'caught_up') throw new Error(`collector stopped early: ${summary.stopReason}`);
  const context = (await engine.getIntegrationContext()) as { requestLog?: { d?: unknown[] } };
  requests = context.requestLog?.d?.length ?? 0;
  return { events: engine.events, requests, ...(warnings.length > 0 ? { warnings } : {}) };
}

async function timed(
  kind: PassResult['kind'],
  sim: SimulatorProcess,
  run: () => Promise<{ events: number; requests: number; warnings?: string[] }>,
): Promise<PassResult> {
  const simBefore = await sim.cpuMicros();
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const { events, requests, warnings } = await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpuBefore);
  const simAfter = await sim.cpuMicros();
  const cpuMicros = cpu.user + cpu.system;
  return {
    kind,
    events,
    requests,
    wallMs: round(wallMs, 0),
    cpuMicros,
    simulatorCpuMicros: simBefore === undefined || simAfter === undefined ? undefined : simAfter - simBefore,
    eventsPerSecond: round(events / (wallMs / 1000), 0),
    cpuMicrosPerEvent: round(cpuMicros / Math.max(1, events), 2),
    ...(warnings ? { warnings } : {}),
  };
}

/**
 * Rounds of (floor, collector): two by default, three with --full (the best of three shaves more of the
 * shared cores' noise, on both sides alike); `BENCH_THROUGHPUT_PASSES` overrides either.
 */
export function throughputPasses(full: boolean): number {
  const override = Number(process.env.BENCH_THROUGHPUT_PASSES);
  return Number.isInteger(override) && override > 0 ? override : full ? 3 : 2;
}

export async function runThroughput(sim: SimulatorProcess, rowsTarget: number, log: (line: string) => void, passCount = throughputPasses(false)): Promise<ThroughputResult> {
  // The simulator's history starts one day before it was ready; start a little after that.
  const startMs = floorSecond(sim.readyAtMs - DAY + MINUTE);
  const dispatcher = new Agent({ connect: { ca: sim.caCertPem } });
  const passes: PassResult[] = [];
  try {
    for (let pass = 0; pass < passCount; pass++) {
      // The collector ends its window its safety margin before now; so does the floor.
      passes.push(await timed('floor', sim, () => floorPass(sim, startMs, Date.now() - DEFAULT_TUNING.safetyMarginMs, dispatcher)));
      log(`  floor:     ${JSON.stringify(passes.at(-1))}`);
      passes.push(await timed('collector', sim, () => collectorPass(sim, startMs, 1_000_000)));
      log(`  collector: ${JSON.stringify(passes.at(-1))}`);
    }
  } finally {
    await dispatcher.close();
  }
  const best = (kind: PassResult['kind']): PassResult =>
    passes.filter((p) => p.kind === kind).reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
  const floor = best('floor');
  const collector = best('collector');
  // CPU per event: the least each side needed over its passes.
  const leastCpu = (kind: PassResult['kind']): number => Math.min(...passes.filter((p) => p.kind === kind).map((p) => p.cpuMicrosPerEvent));
  const floorCpu = leastCpu('floor');
  const collectorCpu = leastCpu('collector');
  const simPerEvent = (p: PassResult) => (p.simulatorCpuMicros === undefined ? undefined : round(p.simulatorCpuMicros / Math.max(1, p.events), 2));
  return {
    rowsTarget,
    window: { start: new Date(startMs).toISOString(), end: `now - ${DEFAULT_TUNING.safetyMarginMs / 1000} s at each pass` },
    floorEventsPerSecond: floor.eventsPerSecond,
    floorCpuMicrosPerEvent: floorCpu,
    collectorEventsPerSecond: collector.eventsPerSecond,
    collectorCpuMicrosPerEvent: collectorCpu,
    collectorRequests: collector.requests,
    floorRequests: floor.requests,
    simulatorCpuMicrosPerEventFloor: simPerEvent(floor),
    simulatorCpuMicrosPerEventCollector: simPerEvent(collector),
    throughputRatio: round(collector.eventsPerSecond / floor.eventsPerSecond, 3),
    cpuPerEventRatio: round(collectorCpu / floorCpu, 2),
    passes,
  };
}
