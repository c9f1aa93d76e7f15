import { describe, expect, it, vi } from 'vitest';
import { type CollectorProgress, runCollector } from '../../src/service/collector-loop.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { main } from '../../src/main.js';
import { FakeGraph, type TruthRow } from '../helpers/fetch-fake-graph.js';

let graph: FakeGraph | undefined;
vi.mock('../../src/commands/clients.js', () => ({
  buildClients: () => ({ graph, tokens: undefined, http: undefined }),
}));

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const MINUTE = 60_000;
const params = {
  tenant_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
  client_id: '11111111-2222-4333-8444-555555555555',
  client_secret: 's3cret',
  eventFetchInterval: '5',
};

function rows(fromMs: number, count: number, stepMs: number): TruthRow[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `m${i}`,
    recipientAddress: 'u@contoso.test',
    receivedMs: fromMs + i * stepMs,
    subTicks: 0,
    precision: 0 as const,
    visibleAtMs: fromMs + i * stepMs,
    history: [{ status: 'delivered', atMs: fromMs + i * stepMs }],
  }));
}

describe('runCollector', () => {
  it('runs at once while there is a backlog, then every eventFetchInterval minutes, reporting progress', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    graph = new FakeGraph({ rows: rows(NOW - 3 * 60 * MINUTE, 180, MINUTE), clock: engine, seed: 1, maxPageSize: 5000, maxPageLatencyMs: 0 });
    const progress: CollectorProgress[] = [];
    const times: number[] = [];
    await runCollector({
      params: { ...params, first_fetch: '3 hours', max_fetch: '40' },
      engine,
      signal: new AbortController().signal,
      maxRuns: 9,
      onProgress: (p) => {
        progress.push(p);
        times.push(engine.now());
      },
    });
    expect(progress).toHaveLength(9);
    expect(progress[0]?.backlog).toBe(true);
    const caughtUp = progress.findIndex((p) => !p.backlog);
    expect(caughtUp).toBeGreaterThan(0);
    // Backlog runs follow at once; afterwards runs are an interval apart.
    expect((times[caughtUp + 1] ?? 0) - (times[caughtUp] ?? 0)).toBe(5 * MINUTE);
    expect(progress.at(-1)?.totalEvents).toBe(engine.events.length);
    expect(new Set(engine.events.map((e) => e.id)).size).toBe(180);
  });

  it('on abort sends nothing more, keeps a readable state and resolves', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    graph = new FakeGraph({ rows: rows(NOW - 3 * 60 * MINUTE, 180, MINUTE), clock: engine, seed: 1, maxPageSize: 5000, maxPageLatencyMs: 0 });
    const controller = new AbortController();
    const original = engine.sendEvents.bind(engine);
    let sends = 0;
    engine.sendEvents = async (events, meta) => {
      sends++;
      if (sends === 3) controller.abort();
      await original(events, meta);
    };
    const progress: CollectorProgress[] = [];
    await runCollector({
      params: { ...params, first_fetch: '3 hours', max_fetch: '1000' },
      engine,
      signal: controller.signal,
      onProgress: (p) => progress.push(p),
    });
    const state = parseState(engine.lastRun);
    expect(state).toBeDefined();
    // The window whose events were accepted when the abort came is saved; nothing after it was sent.
    const sent = engine.events.length;
    expect(sent).toBeGreaterThan(0);
    expect(progress).toHaveLength(1);
    expect(progress[0]?.error).toBeUndefined();
    const lastSent = Math.max(...engine.events.map((e) => Date.parse(String(e.receivedDateTime))));
    expect(state?.readUpToMs ?? 0).toBeGreaterThanOrEqual(lastSent);
  });

  it('resolves at once when aborted between runs', async () => {
    const engine = new MemoryEngine();
    graph = new FakeGraph({ rows: [], clock: { now: () => Date.now(), advance: () => {} }, seed: 1, maxPageSize: 10, maxPageLatencyMs: 0 });
    const controller = new AbortController();
    const done = runCollector({ params, engine, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(done).resolves.toBeUndefined();
  });

  it('an aborted fetch-events run stops between windows with its state at the last window it sent; the next run loses nothing', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const truth = rows(NOW - 3 * 60 * MINUTE, 180, MINUTE);
    graph = new FakeGraph({ rows: truth, clock: engine, seed: 1, maxPageSize: 5000, maxPageLatencyMs: 0 });
    const controller = new AbortController();
    const original = engine.sendEvents.bind(engine);
    let sends = 0;
    engine.sendEvents = async (events, meta) => {
      sends++;
      // The abort comes while the second window's events are being handed over: they are accepted.
      if (sends === 2) controller.abort();
      await original(events, meta);
    };
    const p = { ...params, first_fetch: '3 hours', max_fetch: '1000' };
    const outcome = await main('fetch-events', p, {}, engine, { signal: controller.signal });
    if (isCommandError(outcome)) throw new Error(outcome.error.message);
    expect(outcome.rawResponse.stopReason).toBe('aborted');
    expect(sends).toBe(2);
    const state = parseState(engine.lastRun);
    const sentIds = new Set(engine.events.map((e) => e.id));
    expect(sentIds.size).toBeLessThan(truth.length);
    // Saved at the second window: everything before the cursor was sent, and everything sent is covered.
    const cursorMs = state?.cursorMs ?? 0;
    expect(truth.filter((row) => row.receivedMs < cursorMs).every((row) => sentIds.has(row.id))).toBe(true);
    const lastSent = Math.max(...engine.events.map((e) => Date.parse(String(e.receivedDateTime))));
    expect(state?.readUpToMs ?? 0).toBeGreaterThanOrEqual(lastSent);
    // The next run, not aborted, continues from there: every row once.
    engine.sendEvents = original;
    for (let run = 0; run < 10 && new Set(engine.events.map((e) => e.id)).size < truth.length; run++) {
      expect(isCommandError(await main('fetch-events', p, {}, engine))).toBe(false);
    }
    expect(new Set(engine.events.map((e) => e.id)).size).toBe(truth.length);
  });
});
