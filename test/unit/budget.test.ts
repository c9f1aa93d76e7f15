import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import type { JsonObject } from '../../src/engine/types.js';
import { createGraphClient } from '../../src/graph/client.js';
import {
  RequestBudget,
  decodeRequestLog,
  encodeRequestLog,
  nextRoomAt,
  pruneRequestLog,
  remainingRequests,
} from '../../src/http/budget.js';
import type { HttpFetch } from '../../src/http/transport.js';
import { FakeTokens, SharedContextEngine, graphError, row, testParams } from './graph-test-kit.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const W = 300_000;
const opts = { limit: 3, windowMs: W };

describe('window arithmetic', () => {
  it('prunes requests older than the window (and impossible future ones), sorted', () => {
    expect(pruneRequestLog([NOW - W, NOW - W + 1, NOW, NOW - 5, NOW + 2 * W], NOW, W)).toEqual([NOW - W + 1, NOW - 5, NOW]);
  });

  it.each([
    ['empty log', [], NOW],
    ['room left', [NOW - 10, NOW - 5], NOW],
    ['full: the oldest blocking request must leave', [NOW - 100_000, NOW - 50_000, NOW - 10], NOW - 100_000 + W],
    ['over-full (limit lowered): enough must leave', [NOW - 200_000, NOW - 150_000, NOW - 100_000, NOW - 50_000], NOW - 150_000 + W],
    ['expired entries do not count', [NOW - W - 1, NOW - 50_000, NOW - 10], NOW],
  ])('%s', (_name, log, expected) => {
    expect(nextRoomAt(log, NOW, opts)).toBe(expected);
  });

  it('remainingRequests', () => {
    expect(remainingRequests([NOW - 1, NOW - 2], NOW, opts)).toBe(1);
    expect(remainingRequests([NOW - 1, NOW - 2, NOW - 3, NOW - 4], NOW, opts)).toBe(0);
  });

  it('never lets more than limit requests into any window (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2_000_000 }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), (wishes, limit) => {
        // Each wish is a time a request wants to start; it starts at the next room.
        const log: number[] = [];
        let clock = NOW;
        for (const wish of [...wishes].sort((a, b) => a - b)) {
          clock = Math.max(clock, NOW + wish);
          clock = nextRoomAt(log, clock, { limit, windowMs: W });
          log.push(clock);
        }
        for (const t of log) expect(log.filter((u) => u > t - W && u <= t).length).toBeLessThanOrEqual(limit);
      }),
    );
  });

  it('stores compactly and reads back; garbage reads as empty', () => {
    const log = [NOW - 1000, NOW - 250_000, NOW];
    const stored = encodeRequestLog(log);
    expect(stored).toEqual({ v: 1, base: NOW - 250_000, d: [0, 249_000, 250_000] });
    expect(decodeRequestLog(JSON.parse(JSON.stringify(stored)))).toEqual([NOW - 250_000, NOW - 1000, NOW]);
    for (const garbage of [undefined, null, 'x', [], { v: 2, base: 1, d: [] }, { v: 1, base: 'x', d: [] }]) {
      expect(decodeRequestLog(garbage)).toEqual([]);
    }
    expect(JSON.stringify(encodeRequestLog(Array.from({ length: 90 }, (_, i) => NOW - i * 3000))).length).toBeLessThan(800);
  });
});

describe('RequestBudget', () => {
  it('persists every request under requestLog and leaves other keys alone', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW, integrationContext: { msalCache: 'keep' } });
    const budget = new RequestBudget({ engine, options: opts });
    await budget.acquire();
    engine.advance(1000);
    await budget.acquire();
    expect(engine.integrationContext.msalCache).toBe('keep');
    expect(decodeRequestLog(engine.integrationContext.requestLog)).toEqual([NOW, NOW + 1000]);
  });

  it('waits for room when that fits the deadline, on the engine clock', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const budget = new RequestBudget({ engine, options: { ...opts, maxWaitMs: W }, deadlineMs: NOW + W });
    for (let i = 0; i < 3; i++) {
      await budget.acquire();
      engine.advance(10_000);
    }
    await budget.acquire();
    expect(engine.now()).toBe(NOW + W); // the first request left the window
    expect(engine.logs.some((l) => l.message.includes('Waiting for room'))).toBe(true);
  });

  it('throws request_budget_exhausted saying when room frees up, when the wait does not fit', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const budget = new RequestBudget({ engine, options: opts, deadlineMs: NOW + 60_000 });
    for (let i = 0; i < 3; i++) await budget.acquire();
    const error = await budget.acquire().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'request_budget_exhausted' });
    expect(String((error as Error).message)).toContain(new Date(NOW + W).toISOString());
    expect(String((error as Error).message)).toContain('in 300 s');
    expect(engine.now()).toBe(NOW);
  });

  it('is shared by two engine instances over one integration context (runs and commands)', async () => {
    const store: { context: JsonObject } = { context: {} };
    const first = new SharedContextEngine(store, { startTimeMs: NOW });
    const second = new SharedContextEngine(store, { startTimeMs: NOW + 5000 });
    const a = new RequestBudget({ engine: first, options: opts, deadlineMs: NOW });
    const b = new RequestBudget({ engine: second, options: opts, deadlineMs: NOW + 5000 });
    await a.acquire();
    await a.acquire();
    await b.acquire();
    await expect(a.acquire()).rejects.toMatchObject({ code: 'request_budget_exhausted' });
    await expect(b.acquire()).rejects.toMatchObject({ code: 'request_budget_exhausted' });
    expect(decodeRequestLog(store.context.requestLog)).toHaveLength(3);
  });
});

describe('Graph client and the budget', () => {
  const START = NOW;
  const ok = () => new Response(JSON.stringify({ value: [row('2026-03-01T11:30:00Z')] }), { status: 200 });

  async function listOnce(client: ReturnType<typeof createGraphClient>) {
    for await (const _page of client.listMessageTraces({ startMs: START - 3_600_000, endMs: START })) {
      // read to the end
    }
  }

  it('counts every request: pages, retries and the retry after a 401', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const script = [
      new Response(JSON.stringify(graphError('InvalidAuthenticationToken', 'expired')), { status: 401 }),
      new Response(JSON.stringify(graphError('ServiceUnavailable', 'x')), { status: 503, headers: { 'retry-after': '1' } }),
      ok(),
    ];
    const http: HttpFetch = async () => script.shift() ?? ok();
    const client = createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens() });
    await listOnce(client);
    expect(decodeRequestLog(engine.integrationContext.requestLog)).toEqual([START, START, START + 1000]);
  });

  it('a second client (next run) sees the first one’s requests and stops before sending', async () => {
    const store: { context: JsonObject } = { context: {} };
    let sent = 0;
    const http: HttpFetch = async () => {
      sent++;
      return ok();
    };
    const budget = { limit: 2, windowMs: W };
    const run1 = new SharedContextEngine(store, { startTimeMs: START });
    await listOnce(createGraphClient({ params: testParams(), engine: run1, http, tokens: new FakeTokens(), requestBudget: budget }));
    await listOnce(createGraphClient({ params: testParams(), engine: run1, http, tokens: new FakeTokens(), requestBudget: budget }));
    const run2 = new SharedContextEngine(store, { startTimeMs: START + 60_000 });
    const client = createGraphClient({
      params: testParams(),
      engine: run2,
      http,
      tokens: new FakeTokens(),
      requestBudget: budget,
      deadlineMs: START + 120_000,
    });
    await expect(listOnce(client)).rejects.toMatchObject({ code: 'request_budget_exhausted' });
    expect(sent).toBe(2);
  });
});
