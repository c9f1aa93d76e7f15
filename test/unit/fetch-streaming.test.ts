/**
 * Pages streamed to the sink: a window of many pages reaches the engine page by page, while the state (the
 * position) is saved only once the window was read whole. Random row layouts, page sizes and stopping
 * points (fast-check, random seeds): a run that stops inside a window (time or request budget, max_fetch, a
 * window holding too many rows) saves the keys of the pages it sent, so the next runs send every event and
 * none twice; a run that crashes after page k leaves the last saved state, so the next run sends every event
 * and repeats at most that window's pages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import type { Engine, EventMeta, JsonObject, TraceEvent } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { runFetch } from '../../src/fetch/run.js';
import type { MessageTracePage, MessageTraceQuery } from '../../src/graph/types.js';
import { FakeGraph, FaultyEngine, type ListingFault, type TruthRow } from '../helpers/fetch-fake-graph.js';

const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const MINUTE = 60_000;

/** Final, visible rows spread over ten minutes: one window an hour later holds them all. */
function truthOf(receivedSeconds: readonly number[]): TruthRow[] {
  return receivedSeconds.map((second, i) => ({
    id: `msg-${i}`,
    recipientAddress: 'user@example.test',
    receivedMs: T0 + second * 1000,
    subTicks: 0,
    precision: 0,
    visibleAtMs: T0 + second * 1000 + 1,
    history: [{ status: 'delivered', atMs: T0 + second * 1000 + 1 }],
  }));
}

function setUp(truth: TruthRow[], pageSize: number, maxWindowRows: number) {
  const memory = new MemoryEngine({ startTimeMs: T0 + 60 * MINUTE });
  const engine = new FaultyEngine(memory);
  const graph = new FakeGraph({ rows: truth, clock: memory, seed: 1, maxPageSize: pageSize, maxPageLatencyMs: 0, fullPages: true });
  const base = {
    engine,
    graph,
    firstFetch: new Date(T0).toISOString(),
    lookbackMinutes: 1,
    tuning: { pageSize, maxWindowRows, initialWindowMs: 60 * MINUTE },
  };
  return { memory, engine, graph, base };
}

const layoutArb = fc.record({
  receivedSeconds: fc.array(fc.integer({ min: 0, max: 599 }), { minLength: 12, maxLength: 60 }),
  pageSize: fc.integer({ min: 2, max: 5 }),
});

describe('pages streamed to the sink', () => {
  it('a window of many pages reaches the engine page by page, and its state is saved once, after the last page', async () => {
    const truth = truthOf(Array.from({ length: 40 }, (_, i) => i * 10));
    const { memory, graph, base } = setUp(truth, 5, 1000);
    const timeline: string[] = [];
    const listing = graph.listMessageTraces.bind(graph);
    graph.listMessageTraces = async function* (query: MessageTraceQuery): AsyncGenerator<MessageTracePage> {
      for await (const page of listing(query)) {
        timeline.push('page');
        yield page;
      }
    };
    const engine: Engine = {
      log: memory.log,
      now: () => memory.now(),
      getLastRun: () => memory.getLastRun(),
      getIntegrationContext: () => memory.getIntegrationContext(),
      setIntegrationContext: (context: JsonObject) => memory.setIntegrationContext(context),
      async setLastRun(state: JsonObject) {
        timeline.push('save');
        await memory.setLastRun(state);
      },
      async sendEvents(events: readonly TraceEvent[], meta: EventMeta) {
        timeline.push(`send ${events.length}`);
        await memory.sendEvents(events, meta);
      },
    };
    const summary = await runFetch({ ...base, engine, maxFetch: 1000, deadlineMs: memory.now() + 240_000 });

    expect(summary.windows).toBe(1);
    expect(summary.eventsSent).toBe(40);
    // The first run pins its start (a save before any page); then eight pages, each sent before the next
    // is asked for, and one save once the window was read whole.
    expect(timeline).toEqual(['save', ...Array.from({ length: 8 }, () => ['page', 'send 5']).flat(), 'save']);
    expect(parseState(memory.lastRun)?.readUpToMs).toBeGreaterThan(T0 + 599_000);
  });

  it('a run stopped inside a window after some pages were sent: the next runs send every event, none twice', async () => {
    const stopArb = fc.oneof(
      fc.record({ kind: fc.constantFrom<ListingFault>('deadline', 'budget'), page: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('max_fetch' as const), rows: fc.integer({ min: 1, max: 11 }) }),
      fc.record({ kind: fc.constant('too_many_rows' as const), windowRows: fc.integer({ min: 1, max: 5 }) }),
    );
    await fc.assert(
      fc.asyncProperty(layoutArb, stopArb, async ({ receivedSeconds, pageSize }, stop) => {
        const truth = truthOf(receivedSeconds);
        const { memory, engine, graph, base } = setUp(truth, pageSize, stop.kind === 'too_many_rows' ? stop.windowRows : 1000);
        if (stop.kind === 'deadline' || stop.kind === 'budget') graph.failNextListing(Math.min(stop.page, Math.ceil(truth.length / pageSize) - 1), stop.kind);
        engine.startRun(1);
        const first = await runFetch({ ...base, maxFetch: stop.kind === 'max_fetch' ? stop.rows : 1000, deadlineMs: memory.now() + 240_000 });
        // max_fetch cuts the window only when a page past the limit is still to come (full pages of pageSize
        // rows); a listing whose last page brings it past the limit is read whole, as the help says.
        if (stop.kind === 'max_fetch') expect(first.windows).toBe(Math.ceil(stop.rows / pageSize) * pageSize < truth.length ? 0 : 1);
        else if (stop.kind !== 'too_many_rows') expect(first.windows).toBe(0);
        // Pages before the stop reached the sink in this run.
        expect(first.eventsSent).toBe(engine.deliveries.length);
        if (stop.kind !== 'max_fetch') expect(engine.deliveries.length).toBeGreaterThan(0);

        for (let run = 2; ; run++) {
          expect(run, 'caught up').toBeLessThan(200);
          memory.advance(MINUTE);
          engine.startRun(run);
          const summary = await runFetch({ ...base, maxFetch: 1000, deadlineMs: memory.now() + 240_000 });
          const state = parseState(memory.lastRun);
          if (summary.stopReason === 'caught_up' && state && state.cursorMs > T0 + 600_000) break;
        }
        const keys = engine.deliveries.map((delivery) => delivery.key);
        expect(new Set(keys).size).toBe(keys.length);
        expect(new Set(keys)).toEqual(new Set(truth.map((row) => `${row.id}|${row.recipientAddress}|delivered`)));
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('a crash after page k: the next run sends every event, repeating only what that window had sent', async () => {
    await fc.assert(
      fc.asyncProperty(layoutArb, fc.integer({ min: 0, max: 5 }), async ({ receivedSeconds, pageSize }, k) => {
        const truth = truthOf(receivedSeconds);
        const { memory, engine, base } = setUp(truth, pageSize, 1000);
        const pages = Math.ceil(truth.length / pageSize);
        engine.startRun(1, { fault: 'send-delivers-then-throws', at: Math.min(k, pages - 1) });
        await expect(runFetch({ ...base, maxFetch: 1000, deadlineMs: memory.now() + 240_000 })).rejects.toThrow(/simulated crash/);
        const sentBeforeCrash = new Set(engine.deliveries.map((delivery) => delivery.key));
        // The crash came after page k: that page and the ones before it reached the sink, no more.
        expect(sentBeforeCrash.size).toBe(Math.min(truth.length, (Math.min(k, pages - 1) + 1) * pageSize));

        memory.advance(MINUTE);
        engine.startRun(2);
        await runFetch({ ...base, maxFetch: 1000, deadlineMs: memory.now() + 240_000 });
        const afterCrash = engine.deliveries.filter((delivery) => delivery.run === 2).map((delivery) => delivery.key);
        expect(new Set(afterCrash).size).toBe(afterCrash.length);
        expect(new Set([...sentBeforeCrash, ...afterCrash])).toEqual(new Set(truth.map((row) => `${row.id}|${row.recipientAddress}|delivered`)));
        // Whatever run 2 sent again, run 1 had sent in the window it crashed in; a third run sends nothing.
        memory.advance(MINUTE);
        engine.startRun(3);
        await runFetch({ ...base, maxFetch: 1000, deadlineMs: memory.now() + 240_000 });
        expect(engine.deliveries.filter((delivery) => delivery.run === 3)).toEqual([]);
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
