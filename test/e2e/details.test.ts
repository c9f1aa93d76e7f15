/**
 * Details for the rows that need them, end to end against the simulated tenant on a virtual clock:
 * fetch-events cycles with details_statuses set, then checks that every trace event is there once (ground
 * truth), every row with a chosen status got its detail events (consistent with the row's final status),
 * no 5 minutes saw more lookups than details_max_per_5min, and every detail event passes the ECS and OCSF
 * checks. Then the same with the run killed at every kind of point while lookups are queued: an engine that
 * dies at its nth durable operation (a write of state, context or events) and does nothing afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DETAIL_EVENT_TYPE } from '../../src/details/event.js';
import { parseQueue } from '../../src/details/queue.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type Engine, type EventMeta, isCommandError, type JsonObject, type TraceEvent } from '../../src/engine/types.js';
import { toEcs } from '../../src/events/ecs.js';
import { toOcsf } from '../../src/events/ocsf.js';
import { parseState } from '../../src/fetch/state.js';
import { main } from '../../src/main.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { checkEcsEvent } from '../helpers/ecs-check.js';
import { compareWithTruth, fetchParams, keyOf } from '../helpers/fetch-e2e.js';
import { OcsfSchema } from '../helpers/ocsf-check.js';
import { busyHourStart } from '../helpers/busy-hour.js';

const MINUTE = 60_000;
const CHOSEN = ['failed', 'quarantined', 'filteredasspam'];
const CAP = 5;

let sim: SimulatedTenant | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

type Operation = { kind: 'state' | 'context' } | { kind: 'events'; events: readonly TraceEvent[] };

/**
 * An engine over a MemoryEngine's storage that dies at the first durable operation `dies` picks (counted
 * from 1): that operation and every later one throw, as if the process had been killed just before it.
 */
class KillableEngine implements Engine {
  ops = 0;
  dead = false;
  diedOn: Operation | undefined;
  constructor(
    private readonly disk: MemoryEngine,
    private readonly dies: (n: number, op: Operation) => boolean,
  ) {}
  get log() {
    return this.disk.log;
  }
  private async durable<T>(op: Operation, write: () => Promise<T>): Promise<T> {
    this.ops++;
    if (this.dead || this.dies(this.ops, op)) {
      if (!this.dead) this.diedOn = op;
      this.dead = true;
      throw new Error('killed');
    }
    return write();
  }
  getLastRun = () => this.disk.getLastRun();
  getIntegrationContext = () => this.disk.getIntegrationContext();
  setLastRun = (state: JsonObject) => this.durable({ kind: 'state' }, () => this.disk.setLastRun(state));
  setIntegrationContext = (context: JsonObject) => this.durable({ kind: 'context' }, () => this.disk.setIntegrationContext(context));
  sendEvents = (events: readonly TraceEvent[], meta: EventMeta) => this.durable({ kind: 'events', events }, () => this.disk.sendEvents(events, meta));
  now = () => this.disk.now();
  sleep = (ms: number, signal?: AbortSignal) => this.disk.sleep(ms, signal);
}

const isDetailSend = (op: Operation) => op.kind === 'events' && op.events.some((event) => event.eventType === DETAIL_EVENT_TYPE);
const isTraceSend = (op: Operation) => op.kind === 'events' && !isDetailSend(op);

function queuedRows(disk: MemoryEngine): number {
  return parseQueue((disk.integrationContext as { detailsQueue?: unknown }).detailsQueue)?.items.length ?? 0;
}

interface Cycle {
  atMs: number;
  lookups: number;
  /** Events this run appended: [from, to) in the engine's events. */
  from: number;
  to: number;
  killed: boolean;
}

async function setUp(seed: number) {
  const start = busyHourStart();
  const disk = new MemoryEngine({ startTimeMs: start });
  sim = await startSimulatedTenant({ seed, ratePerDay: 2000, historyDays: 1, order: 'random', throttle: 'off', clock: () => disk.now() });
  const params = fetchParams(sim, {
    first_fetch: '60 minutes',
    max_fetch: '5000',
    lookback_minutes: '10',
    details_statuses: 'failed, Quarantined,filteredAsSpam',
    details_max_per_5min: String(CAP),
  });
  return { disk, start, params, sim };
}

/** Runs fetch-events cycles a minute apart until the trace is caught up and no row waits for details. */
async function runUntilDrained(disk: MemoryEngine, params: Record<string, unknown>, tenant: SimulatedTenant, cycles: Cycle[], engineFor: () => Engine = () => disk, minCycles = 1) {
  for (let cycle = 0; ; cycle++) {
    expect(cycle, 'cycles until drained').toBeLessThan(400);
    const before = tenant.stats().requests.byRoute['graph.getDetailsByRecipient'] ?? 0;
    const from = disk.events.length;
    const engine = engineFor();
    const outcome = await main('fetch-events', params, {}, engine);
    const after = tenant.stats().requests.byRoute['graph.getDetailsByRecipient'] ?? 0;
    const killed = engine instanceof KillableEngine && engine.dead;
    if (!killed && isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
    cycles.push({ atMs: disk.now(), lookups: after - before, from, to: disk.events.length, killed });
    if (killed) expect(isCommandError(outcome)).toBe(true);
    if (isCommandError(outcome)) continue; // a killed run
    if (outcome.nextTrigger === '0') continue;
    if (queuedRows(disk) === 0 && cycle >= minCycles) return;
    disk.advance(MINUTE);
  }
}

function verify(disk: MemoryEngine, tenant: SimulatedTenant, firstFetchMs: number, cycles: Cycle[]) {
  const traces = disk.events.filter((event) => event.eventType !== DETAIL_EVENT_TYPE);
  const details = disk.events.filter((event) => event.eventType === DETAIL_EVENT_TYPE);
  const cursor = parseState(disk.lastRun)?.cursorMs ?? 0;
  const truth = tenant.groundTruth(firstFetchMs, cursor);
  const comparison = compareWithTruth(truth, traces, firstFetchMs, cursor);
  expect(comparison.missing).toEqual([]);
  expect(comparison.unexpected).toEqual([]);

  // Every trace event with a chosen status has its steps, the last one the row's final status.
  const stepsOf = new Map<string, TraceEvent[]>();
  for (const detail of details) {
    const key = `${String(detail.traceId)}|${String(detail.recipientAddress).toLowerCase()}`;
    stepsOf.set(key, [...(stepsOf.get(key) ?? []), detail]);
  }
  const chosen = traces.filter((event) => CHOSEN.includes(String(event.status).toLowerCase()));
  expect(chosen.length).toBeGreaterThan(CAP * 2);
  const truthById = new Map(tenant.groundTruth(firstFetchMs, disk.now()).map((row) => [keyOf(row.id, String(row.recipientAddress).toLowerCase(), ''), row]));
  const withoutDetails: string[] = [];
  const inconsistent: string[] = [];
  for (const event of chosen) {
    const steps = stepsOf.get(`${String(event.id)}|${String(event.recipientAddress).toLowerCase()}`);
    if (steps === undefined) {
      withoutDetails.push(`${String(event.id)} ${String(event.status)}`);
      continue;
    }
    const row = truthById.get(keyOf(event.id, String(event.recipientAddress).toLowerCase(), ''));
    const unique = new Map(steps.map((step) => [step.detailKey, step]));
    const last = [...unique.values()].sort((a, b) => Number(a.step) - Number(b.step)).at(-1);
    if (row === undefined || unique.size !== 1 + row.statusHistory.length || !String(last?.data).includes(`String="${row.finalStatus}"`)) {
      inconsistent.push(`${String(event.id)}: ${unique.size} steps, last ${String(last?.event)}, truth ${row?.finalStatus}`);
    }
  }
  expect(withoutDetails).toEqual([]);
  expect(inconsistent).toEqual([]);
  // Only chosen rows were looked up.
  const chosenKeys = new Set(chosen.map((event) => `${String(event.id)}|${String(event.recipientAddress).toLowerCase()}`));
  expect([...stepsOf.keys()].filter((key) => !chosenKeys.has(key))).toEqual([]);

  // The cap: no rolling 5 minutes holds more lookups than details_max_per_5min.
  for (const cycle of cycles) {
    const inWindow = cycles.filter((other) => other.atMs <= cycle.atMs && other.atMs > cycle.atMs - 5 * MINUTE);
    expect(inWindow.reduce((sum, other) => sum + other.lookups, 0)).toBeLessThanOrEqual(CAP);
  }
  return { traces, details, chosen, comparison };
}

const ocsf = new OcsfSchema();

describe('details for the rows that need them (simulated tenant, virtual clock)', () => {
  it('every chosen row gets its detail events within the cap; trace events all there once', async () => {
    const { disk, start, params, sim: tenant } = await setUp(1501);
    const cycles: Cycle[] = [];
    await runUntilDrained(disk, params, tenant, cycles);
    const { traces, details, comparison } = verify(disk, tenant, start - 60 * MINUTE, cycles);
    expect(comparison.duplicated).toEqual([]);
    expect(new Set(details.map((event) => event.detailKey)).size).toBe(details.length);
    expect(traces.length).toBeGreaterThan(100);
    // Direction reaches detail events as it reaches their row's trace event.
    const directionOf = new Map(traces.map((event) => [`${String(event.id)}|${String(event.recipientAddress)}`, event.direction]));
    expect(details.filter((event) => event.direction !== directionOf.get(`${String(event.traceId)}|${String(event.recipientAddress)}`))).toEqual([]);
    // The ECS and OCSF views of every event of the run pass their checks.
    const problems = disk.events.flatMap((event) => [...checkEcsEvent(toEcs(event)), ...ocsf.check(toOcsf(event))]);
    expect(problems).toEqual([]);
  }, 120_000);

  it('a run killed at any point while lookups are queued loses no lookup and no trace event', async () => {
    const { disk, start, params, sim: tenant } = await setUp(1502);
    const cycles: Cycle[] = [];
    // Every other run dies: at the send of detail events (looked up, not yet removed from the queue), at
    // the send of a window's trace events (rows queued, position not moved), or at its nth durable
    // operation, n spread over the operations a whole run took.
    let kills = 0;
    let killsWhileQueued = 0;
    let cycle = 0;
    let opsOfFullRun = 10;
    let last: KillableEngine | undefined;
    const killed: KillableEngine[] = [];
    const engineFor = (): Engine => {
      if (last !== undefined && !last.dead) opsOfFullRun = Math.max(1, last.ops);
      cycle++;
      if (cycle % 2 === 1) {
        last = new KillableEngine(disk, () => false);
        return last;
      }
      kills++;
      if (queuedRows(disk) > 0) killsWhileQueued++;
      const nth = 1 + ((kills * 7) % opsOfFullRun);
      // Detail sends happen only while rows wait: aim at them then, on every other kill.
      const dies: (n: number, op: Operation) => boolean =
        queuedRows(disk) > 0 && kills % 2 === 0 ? (_n, op) => isDetailSend(op) : kills % 4 === 1 ? (_n, op) => isTraceSend(op) : (n) => n === nth;
      last = new KillableEngine(disk, dies);
      killed.push(last);
      return last;
    };
    await runUntilDrained(disk, params, tenant, cycles, engineFor, 60);
    const died = killed.filter((engine) => engine.dead);
    expect(died.length).toBeGreaterThan(10);
    expect(killsWhileQueued).toBeGreaterThan(5);
    // Each kind of kill point was met.
    expect(died.filter((engine) => engine.diedOn && isDetailSend(engine.diedOn)).length).toBeGreaterThan(2);
    expect(died.filter((engine) => engine.diedOn && isTraceSend(engine.diedOn)).length).toBeGreaterThan(2);
    expect(died.filter((engine) => engine.diedOn?.kind === 'context').length).toBeGreaterThan(0);
    verify(disk, tenant, start - 60 * MINUTE, cycles);
    // Repeats only from killed runs (a window sent before its state was saved, a lookup before its item was
    // removed): every earlier copy of a repeated trace or detail event was appended by a run that was killed.
    const killedAt = (index: number) => cycles.some((c) => c.killed && index >= c.from && index < c.to);
    const copies = new Map<string, number[]>();
    disk.events.forEach((event, index) => {
      const key = event.eventType === DETAIL_EVENT_TYPE ? String(event.detailKey) : keyOf(event.id, event.recipientAddress, event.status);
      copies.set(key, [...(copies.get(key) ?? []), index]);
    });
    const unexplained = [...copies].flatMap(([key, at]) => at.slice(0, -1).filter((index) => !killedAt(index)).map((index) => `${key} at ${index}`));
    expect(unexplained).toEqual([]);
  }, 120_000);
});
