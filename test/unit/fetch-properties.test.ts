/**
 * Property tests of the fetch loop (planning + dedup + state) against a fake Graph over a generated ground
 * truth: random arrival times and bursts, late visibility, status changes, random page order and sizes,
 * random run schedules, max_fetch, time budgets, and failures at every point (mid-pages, sink refusing, sink
 * delivering then crashing, crash before setLastRun, request budget spent, deadline).
 *
 * Claims: every ground-truth (id, recipient, final status) reaches the sink; nothing outside the ground
 * truth does; a key is delivered twice only when its earlier delivery was in a run that crashed; the saved
 * state always parses; every listing obeys Graph's rules (the fake refuses otherwise).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CodedGroup, encodeSeen } from '../../src/fetch/seen-codec.js';
import { dedupKey, keyText, SeenSet } from '../../src/fetch/seen-set.js';
import { parseState } from '../../src/fetch/state.js';
import { DEFAULT_TUNING, planWindow } from '../../src/fetch/window.js';
import { runFetch } from '../../src/fetch/run.js';
import { RequestBudget } from '../../src/http/budget.js';
import {
  type EngineFault,
  FakeGraph,
  FaultyEngine,
  finalStatusOf,
  type ListingFault,
  type TruthRow,
} from '../helpers/fetch-fake-graph.js';

const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const MINUTE = 60_000;
const STATUSES = ['gettingStatus', 'pending', 'delivered', 'failed', 'quarantined', 'recalled', 'somethingNew'];

const messageArb = fc.record({
  offsetMs: fc.oneof(fc.integer({ min: 0, max: 60 * MINUTE }), fc.constantFrom(0, 1000, 1_800_000, 1_800_500)),
  precision: fc.constantFrom<0 | 3 | 7>(0, 3, 7),
  subTicks: fc.integer({ min: 0, max: 9999 }),
  recipients: fc.array(
    fc.record({
      visibleFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      statuses: fc.array(fc.constantFrom(...STATUSES), { minLength: 1, maxLength: 3 }),
      changeFractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

const faultArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom<EngineFault>('send-rejects', 'send-delivers-then-throws', 'save-fails'),
      at: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom<ListingFault>('error', 'budget', 'deadline'),
      at: fc.integer({ min: 0, max: 2 }),
    }),
  },
);

const scenarioArb = fc.record({
  seed: fc.integer(),
  lookbackMinutes: fc.constantFrom(1, 5, 15),
  messages: fc.array(messageArb, { maxLength: 40 }),
  firstRunDelayMs: fc.oneof(fc.integer({ min: 0, max: 20 * MINUTE }), fc.integer({ min: 0, max: 3 * 60 * MINUTE })),
  runs: fc.array(
    fc.record({
      gapMs: fc.oneof(fc.integer({ min: 1000, max: 3 * MINUTE }), fc.integer({ min: 1000, max: 40 * MINUTE })),
      maxFetch: fc.integer({ min: 1, max: 60 }),
      timeBudgetMs: fc.integer({ min: 1000, max: 240_000 }),
      fault: faultArb,
    }),
    { minLength: 1, maxLength: 30 },
  ),
  tuning: fc.record({
    maxWindowRows: fc.integer({ min: 1, max: 40 }),
    initialWindowMs: fc.integer({ min: 1000, max: 3 * 60 * MINUTE }),
    maxGrowth: fc.constantFrom(2, 4, 8),
    pageSize: fc.integer({ min: 1, max: 10 }),
    safetyMarginMs: fc.constantFrom(0, 1000, 60_000),
  }),
  maxPageSize: fc.integer({ min: 1, max: 10 }),
  maxPageLatencyMs: fc.oneof(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 120_000 })),
  // The fetch interval paces the look-back re-reads against the request budget; a small budget makes the
  // re-reads alternate with new-data-only runs and cuts runs short.
  intervalMinutes: fc.constantFrom(1, 1, 2, 5),
  budget: fc.option(
    fc.record({
      limit: fc.integer({ min: 2, max: 40 }),
      windowMs: fc.constantFrom(60_000, 300_000),
      maxWaitMs: fc.constantFrom(0, 30_000),
    }),
    { nil: undefined },
  ),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Ground truth: every visibility and status delay stays under the lookback (the collector's contract). */
function buildTruth(scenario: Scenario): TruthRow[] {
  const lookbackMs = scenario.lookbackMinutes * MINUTE;
  const rows: TruthRow[] = [];
  scenario.messages.forEach((message, m) => {
    const receivedMs =
      T0 + (message.precision === 0 ? Math.floor(message.offsetMs / 1000) * 1000 : message.offsetMs);
    message.recipients.forEach((recipient, r) => {
      const room = lookbackMs - 1000;
      const visibleAtMs = receivedMs + 1 + Math.floor(recipient.visibleFraction * room * 0.5);
      const times = recipient.changeFractions
        .slice(0, recipient.statuses.length - 1)
        .map((f) => visibleAtMs + 1 + Math.floor(f * (receivedMs + room - visibleAtMs - 1)))
        .sort((a, b) => a - b);
      const history = [{ status: recipient.statuses[0] as string, atMs: visibleAtMs }];
      recipient.statuses.slice(1).forEach((status, i) => {
        // Consecutive equal statuses are no change.
        if (status !== history[history.length - 1]?.status) history.push({ status, atMs: times[i] as number });
      });
      rows.push({
        id: `msg-${m}`,
        recipientAddress: `user${r}@example.test`,
        receivedMs,
        subTicks: message.precision === 7 ? message.subTicks : 0,
        precision: message.precision,
        visibleAtMs,
        history,
      });
    });
  });
  return rows;
}

/** Rows the fullest one-second listing [s, s + 1 s] returns (Graph's bounds are inclusive). */
function rowsInBusiestSecond(truth: readonly TruthRow[]): number {
  let most = 0;
  for (const row of truth) {
    const startMs = Math.floor(row.receivedMs / 1000) * 1000;
    for (const s of [startMs, startMs - 1000]) {
      const inside = truth.filter((r) => r.receivedMs >= s && (r.receivedMs < s + 1000 || (r.receivedMs === s + 1000 && r.subTicks === 0)));
      most = Math.max(most, inside.length);
    }
  }
  return most;
}

const PLANNED = /simulated/;

/** Longest a random-seed property may run (shrinking included) before it fails with its seed. */
const PROPERTY_TIME_LIMIT_MS = 100_000;

/** The look-back decisions, read orders and stops the loop properties must have gone through. */
const LOOKBACK_PATHS = ['one_window', 'backlog', 'shared', 'overgrown', 'continues', 'new_first', 'tiered', 'from_cursor', 'request_budget'];

/** Which look-back decisions and read orders the generated runs went through (checked at the end). */
const exercised = new Set<string>();

/**
 * The state version 2 would have saved instead of `document`: the same fields, no seed, and the keys it
 * holds as version 2 hashed them (the first 48 bits of SHA-256), found by asking the set about every key of
 * the ground truth. `undefined` when nothing was saved yet.
 */
function asVersion2(document: Record<string, unknown>, truth: readonly TruthRow[]): Record<string, unknown> | undefined {
  const state = parseState(document);
  if (!state) return undefined;
  const seconds = new Map<number, Map<number, number>>();
  for (const row of truth) {
    for (const { status } of row.history) {
      const key = dedupKey({ id: row.id, recipientAddress: row.recipientAddress, status }, row.receivedMs);
      if (!state.seen.has(key)) continue;
      const hash = createHash('sha256').update(keyText(key), 'utf8').digest().readUIntBE(0, 6);
      const entries = seconds.get(key.second) ?? new Map<number, number>();
      // A status outside the table is a whole-key hash of its own, without flags.
      const id = key.flag === 0 ? -1 - hash : hash;
      entries.set(id, (entries.get(id) ?? 0) | key.flag);
      seconds.set(key.second, entries);
    }
  }
  const groups: CodedGroup[] = [...seconds.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([second, entries]) => ({
      second,
      legacy: false,
      entries: [...entries.entries()].map(([id, flags]) => [id < 0 ? -1 - id : id, flags] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]),
    }));
  const { seenSeed: _seed, ...rest } = document;
  return { ...rest, version: 2, seen: encodeSeen(groups) };
}

interface ScenarioOptions {
  /** After this run, the saved state is replaced by what version 2 would have saved (an upgrade). */
  downgradeAfterRun?: number;
}

/** Runs a scenario to the end and checks delivery; returns the look-back decisions and read orders it went through. */
async function runScenario(scenario: Scenario, options: ScenarioOptions = {}): Promise<Set<string>> {
  const paths = new Set<string>();
  const truth = buildTruth(scenario);
  const memory = new MemoryEngine({ startTimeMs: T0 + scenario.firstRunDelayMs });
  const engine = new FaultyEngine(memory);
  // Room for the largest window, so a window can always complete once the budget refills; below that no
  // collector could progress. Pages of one row at worst; a window is abandoned beyond twice its rows, but one
  // of a single second (the least Graph lists) never is: it holds every row received in that second.
  const budgetOptions = scenario.budget && {
    ...scenario.budget,
    limit: scenario.budget.limit + Math.max(2 * scenario.tuning.maxWindowRows, rowsInBusiestSecond(truth)) + 10,
  };
  const budget = budgetOptions && new RequestBudget({ engine: memory, options: budgetOptions });
  const graph = new FakeGraph({
    rows: truth,
    clock: memory,
    seed: scenario.seed,
    maxPageSize: scenario.maxPageSize,
    maxPageLatencyMs: scenario.maxPageLatencyMs,
    ...(budget ? { budget } : {}),
  });
  const crashedRuns = new Set<number>();
  const base = {
    engine,
    graph,
    firstFetch: new Date(T0).toISOString(),
    lookbackMinutes: scenario.lookbackMinutes,
    tuning: scenario.tuning,
    intervalMs: scenario.intervalMinutes * MINUTE,
  };

  let run = 0;
  for (const planned of scenario.runs) {
    run++;
    const fault = planned.fault;
    graph.clearFaults();
    if (fault && (fault.kind === 'error' || fault.kind === 'budget' || fault.kind === 'deadline')) {
      graph.failNextListing(fault.at, fault.kind);
      engine.startRun(run);
    } else {
      engine.startRun(run, fault ? { fault: fault.kind as EngineFault, at: fault.at } : undefined);
    }
    try {
      const summary = await runFetch({ ...base, maxFetch: planned.maxFetch, deadlineMs: memory.now() + planned.timeBudgetMs });
      paths.add(summary.lookback.reason).add(summary.lookback.order).add(summary.stopReason);
      if (summary.lookback.continuesNextRun) paths.add('continues');
    } catch (error) {
      if (!(error instanceof Error) || !PLANNED.test(error.message)) throw error;
      crashedRuns.add(run);
    }
    expect(() => parseState(memory.lastRun)).not.toThrow();
    if (options.downgradeAfterRun === run) {
      const older = asVersion2(memory.lastRun, truth);
      if (older) {
        memory.lastRun = older as typeof memory.lastRun;
        if ((parseState(older)?.seen.legacySeconds ?? 0) > 0) paths.add('version_2_keys');
      }
    }
    memory.advance(planned.gapMs);
  }

  // Drain: runs every interval (at once while a backlog is left, unless the request budget is spent), no
  // failures, until everything has settled behind the cursor.
  graph.clearFaults();
  const lastReceived = Math.max(T0, ...truth.map((row) => row.receivedMs));
  for (let drain = 0; ; drain++) {
    if (drain > 3000) throw new Error('the collector did not catch up');
    run++;
    engine.startRun(run);
    const summary = await runFetch({ ...base, maxFetch: 1000, deadlineMs: memory.now() + 240_000 });
    paths.add(summary.lookback.reason).add(summary.lookback.order).add(summary.stopReason);
    const state = parseState(memory.lastRun);
    // Past the cursor every row was read in its final state and sent.
    if (state && state.cursorMs > lastReceived + 1000) break;
    if (!summary.backlog || summary.stopReason === 'request_budget') memory.advance(scenario.intervalMinutes * MINUTE);
  }

  const valid = new Set<string>();
  for (const row of truth) {
    for (const change of row.history) valid.add(`${row.id}|${row.recipientAddress}|${change.status}`);
  }
  const lastDeliveryRun = new Map<string, number>();
  for (const delivery of engine.deliveries) {
    expect(valid.has(delivery.key), `unexpected key ${delivery.key}`).toBe(true);
    const previous = lastDeliveryRun.get(delivery.key);
    if (previous !== undefined) {
      expect(crashedRuns.has(previous), `${delivery.key} delivered again after a clean run ${previous}`).toBe(true);
    }
    lastDeliveryRun.set(delivery.key, delivery.run);
  }
  for (const row of truth) {
    const key = `${row.id}|${row.recipientAddress}|${finalStatusOf(row)}`;
    expect(lastDeliveryRun.has(key), `final status never delivered: ${key}`).toBe(true);
  }
  // Every event carries _time = receivedDateTime in ISO UTC.
  for (const event of memory.events) expect(event._time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  for (const path of paths) exercised.add(path);
  return paths;
}

/** Rows arriving while runs happen, slow pages: reads land inside the lookback, where the cursor rule matters. */
const busyScenarioArb = scenarioArb.chain((scenario) =>
  fc
    .record({
      messages: fc.array(
        messageArb.map((message) => ({ ...message, offsetMs: message.offsetMs % (10 * MINUTE) })),
        { minLength: 5, maxLength: 40 },
      ),
      runs: fc.array(
        fc.record({
          gapMs: fc.integer({ min: 1000, max: 2 * MINUTE }),
          maxFetch: fc.integer({ min: 1, max: 60 }),
          timeBudgetMs: fc.integer({ min: 1000, max: 240_000 }),
          fault: faultArb,
        }),
        { minLength: 5, maxLength: 30 },
      ),
      maxPageLatencyMs: fc.integer({ min: 0, max: 120_000 }),
    })
    .map((busy): Scenario => ({ ...scenario, ...busy, lookbackMinutes: 1, firstRunDelayMs: 0 })),
);

describe('fetch loop properties', () => {
  it('delivers every final status, nothing twice except after a crash, whatever the order, schedule and failures', async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, async (scenario) => void (await runScenario(scenario))), {
      numRuns: 500,
      interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
      // Interrupted without a counterexample (a slow, loaded machine) passes with the runs it made; a
      // counterexample found before the limit still fails, with its seed.
      markInterruptAsFailure: false,
    });
  }, PROPERTY_TIME_LIMIT_MS + 20_000);

  it('holds when reads land inside the lookback and pages are slow', async () => {
    // Random seeds; fast-check prints the seed (and the path to the counterexample) when it fails. Shrinking
    // these scenarios can take minutes, so it is cut off before the test's own timeout would hide the seed.
    await fc.assert(fc.asyncProperty(busyScenarioArb, async (scenario) => void (await runScenario(scenario))), {
      numRuns: 300,
      interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
      // Interrupted without a counterexample (a slow, loaded machine) passes with the runs it made; a
      // counterexample found before the limit still fails, with its seed.
      markInterruptAsFailure: false,
    });
  }, PROPERTY_TIME_LIMIT_MS + 20_000);

  it('catches up when the request budget cut the same one-second window short run after run (seed 1168944076)', async () => {
    // Found by the property above: 23 rows in the first second, one row per page, 28 requests per 5 minutes.
    // Every run began that window with the room the last one left, was cut short, and threw its pages away,
    // so the room never built up to what the window needs and the cursor stayed put for good.
    const scenario = JSON.parse(readFileSync(new URL('../fixtures/fetch-busy-counterexample-1168944076.json', import.meta.url), 'utf8')) as Scenario;
    await runScenario(scenario);
  }, 60_000);

  it('four fixed scenarios, drawn from the generators above, go through every look-back decision and read order', async () => {
    // Random runs reach some paths (a re-read continued next run, an overgrown look-back) only once in a
    // hundred or more scenarios; these always do, so the check below does not depend on the seed.
    const scenarios = JSON.parse(readFileSync(new URL('../fixtures/fetch-path-scenarios.json', import.meta.url), 'utf8')) as Scenario[];
    const reached = new Set<string>();
    for (const scenario of scenarios) for (const path of await runScenario(scenario)) reached.add(path);
    for (const path of LOOKBACK_PATHS) expect(reached, path).toContain(path);
  }, 60_000);

  it('the tiered re-read never starts behind the cursor its settled pass just moved (seed 222842779)', async () => {
    // Found by the property above: a settled pass reaching past readUpTo moved the cursor beyond where the
    // young part's re-read then started, whose rows' keys had just been pruned, and sent them again.
    const scenario = JSON.parse(readFileSync(new URL('../fixtures/fetch-tiered-counterexample-222842779.json', import.meta.url), 'utf8')) as Scenario;
    await runScenario(scenario);
  }, 60_000);

  it('picks up a state saved by version 2 (SHA-256 keys) at any point, and still delivers every final status once', async () => {
    const withUpgrade = scenarioArb.chain((scenario) =>
      fc.integer({ min: 1, max: scenario.runs.length }).map((at) => ({ scenario, at })),
    );
    await fc.assert(
      fc.asyncProperty(withUpgrade, async ({ scenario, at }) => void (await runScenario(scenario, { downgradeAfterRun: at }))),
      { numRuns: 150, interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
  }, PROPERTY_TIME_LIMIT_MS + 20_000);

  it('the fixed scenarios, upgraded from version 2 after each of their first runs, hold and reuse its keys', async () => {
    // So the check that version 2 keys were found and kept never depends on what the random runs drew.
    const scenarios = JSON.parse(readFileSync(new URL('../fixtures/fetch-path-scenarios.json', import.meta.url), 'utf8')) as Scenario[];
    const reached = new Set<string>();
    for (const scenario of scenarios) {
      for (let at = 1; at <= Math.min(3, scenario.runs.length); at++) {
        for (const path of await runScenario(scenario, { downgradeAfterRun: at })) reached.add(path);
      }
    }
    expect(reached).toContain('version_2_keys');
  }, 120_000);

  it('the generated runs and fixed scenarios went through every look-back decision and read order', () => {
    for (const path of LOOKBACK_PATHS) {
      expect(exercised, path).toContain(path);
    }
  });
});

describe('planning and dedup properties', () => {
  it('every planned window obeys Graph: ≤ 10 days, start ≤ 90 days back, end before now, at least a second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -200 * 86_400_000, max: 86_400_000 }),
        fc.option(fc.double({ min: 0, max: 1e7, noNaN: true }), { nil: undefined }),
        fc.option(fc.integer({ min: 1000, max: 20 * 86_400_000 }), { nil: undefined }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (offset, rowsPerMinute, previousWindowMs, targetRows) => {
          const nowMs = T0 + 123_456;
          const w = planWindow({ startMs: nowMs + offset, nowMs, targetRows, rowsPerMinute, previousWindowMs }, DEFAULT_TUNING);
          if (w === null) return;
          expect(w.endMs - w.startMs).toBeGreaterThanOrEqual(1000);
          expect(w.endMs - w.startMs).toBeLessThanOrEqual(10 * 86_400_000);
          // Graph's limit: 90 days before 00:00 UTC of today.
          expect(w.startMs).toBeGreaterThan(Math.floor(nowMs / 86_400_000) * 86_400_000 - 90 * 86_400_000);
          expect(w.endMs).toBeLessThanOrEqual(nowMs - DEFAULT_TUNING.safetyMarginMs);
          expect(w.startMs % 1000 + (w.endMs % 1000)).toBe(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the seen set answers the same after a serialize/parse round trip', () => {
    const keyArb = fc.record({
      id: fc.string({ maxLength: 6 }),
      recipientAddress: fc.option(fc.string({ maxLength: 6 }), { nil: null }),
      status: fc.constantFrom(...STATUSES, 'Delivered', 'x'),
      at: fc.integer({ min: T0, max: T0 + 600_000 }),
    });
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 60 }), fc.array(keyArb, { maxLength: 20 }), (added, probes) => {
        const seen = new SeenSet();
        for (const k of added) seen.add(dedupKey(k, k.at));
        const back = SeenSet.parse(seen.serialize(), 3, seen.seed);
        for (const k of [...added, ...probes]) expect(back.has(dedupKey(k, k.at))).toBe(seen.has(dedupKey(k, k.at)));
        for (const k of added) expect(back.has(dedupKey(k, k.at))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
