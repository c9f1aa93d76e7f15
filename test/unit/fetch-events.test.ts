/**
 * fetch-events through `main` with the memory engine (virtual clock) and a fake Graph client in place of
 * the shared clients.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, type CommandResult, isCommandError } from '../../src/engine/types.js';
import { IntegrationError } from '../../src/errors.js';
import { parseState } from '../../src/fetch/state.js';
import { DEFAULT_TUNING } from '../../src/fetch/window.js';
import { main } from '../../src/main.js';
import { FakeGraph, type TruthRow } from '../helpers/fetch-fake-graph.js';

let graph: FakeGraph | undefined;
vi.mock('../../src/commands/clients.js', () => ({
  buildClients: () => ({ graph, tokens: undefined, http: undefined }),
}));

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const MINUTE = 60_000;
const DAY = 86_400_000;
/** Windows end this long before now (15 s). */
const MARGIN = DEFAULT_TUNING.safetyMarginMs;
const params = {
  tenant_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
  client_id: '11111111-2222-4333-8444-555555555555',
  client_secret: 's3cret',
};

function rowsEvery(fromMs: number, toMs: number, stepMs: number, status = 'delivered'): TruthRow[] {
  const rows: TruthRow[] = [];
  for (let at = fromMs, i = 0; at < toMs; at += stepMs, i++) {
    rows.push({
      id: `m${i}`,
      recipientAddress: `u${i % 3}@contoso.test`,
      receivedMs: Math.floor(at),
      subTicks: 0,
      precision: 3,
      visibleAtMs: Math.floor(at),
      history: [{ status, atMs: Math.floor(at) }],
    });
  }
  return rows;
}

function setup(rows: TruthRow[], engine: MemoryEngine, latencyMs = 0): FakeGraph {
  graph = new FakeGraph({ rows, clock: engine, seed: 7, maxPageSize: 5000, maxPageLatencyMs: latencyMs });
  return graph;
}

function ok(outcome: CommandOutcome): CommandResult {
  if (isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
  return outcome;
}

beforeEach(() => {
  graph = undefined;
});

describe('fetch-events', () => {
  it('first run: starts at first_fetch, sends rows as events with _time, saves a versioned state', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    setup(rowsEvery(NOW - 30 * MINUTE, NOW - 2 * MINUTE, 10_000), engine);
    const result = ok(await main('fetch-events', { ...params, first_fetch: '1 hour' }, {}, engine));
    expect(engine.events).toHaveLength(168);
    expect(engine.events[0]).toMatchObject({ id: expect.any(String), status: 'delivered', size: 1234, toIP: '' });
    for (const event of engine.events) expect(event._time).toBe(new Date(Date.parse(String(event.receivedDateTime))).toISOString());
    expect(engine.sends.every((send) => send.meta.product === 'o365_message_trace')).toBe(true);
    expect(engine.lastRun).toMatchObject({ version: 3, cursor: new Date(NOW - MARGIN - 15 * MINUTE).toISOString() });
    expect(result.nextTrigger).toBeUndefined();
    expect(result.readableOutput).toMatch(/Sent 168 events/);
    expect(graph?.requests[0]?.startMs).toBe(NOW - 60 * MINUTE);
  });

  it('saves the first-run start even when nothing could be read yet, so a relative first_fetch leaves no gap', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    setup(rowsEvery(NOW - 30 * MINUTE, NOW + 10 * MINUTE, 10_000), engine);
    // 15 seconds back is where windows may end now (the safety margin): nothing can be read yet.
    ok(await main('fetch-events', { ...params, first_fetch: '15 seconds' }, {}, engine));
    expect(engine.events).toHaveLength(0);
    expect(engine.lastRun).toMatchObject({ version: 3, cursor: new Date(NOW - MARGIN).toISOString() });
    engine.advance(5 * MINUTE);
    ok(await main('fetch-events', { ...params, first_fetch: '15 seconds' }, {}, engine));
    expect(graph?.requests[0]?.startMs).toBe(NOW - MARGIN);
    expect(engine.events).toHaveLength(30); // NOW − 10 s to NOW + 4 min 40 s (before NOW + 5 min − margin), every 10 s
  });

  it('pins the first-run start even when the first run fails on its first page, so no rows are skipped', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const fake = setup(rowsEvery(NOW - 30 * MINUTE, NOW + 10 * MINUTE, 10_000), engine);
    fake.failNextListing(0, 'error');
    const failed = await main('fetch-events', { ...params, first_fetch: '10 minutes' }, {}, engine);
    expect(isCommandError(failed)).toBe(true);
    expect(engine.events).toHaveLength(0);
    expect(engine.lastRun).toMatchObject({ cursor: new Date(NOW - 10 * MINUTE).toISOString() });
    // Resolved again now, "10 minutes" would mean NOW − 5 min; the pinned start keeps NOW − 10 min to NOW − 5 min.
    engine.advance(5 * MINUTE);
    ok(await main('fetch-events', { ...params, first_fetch: '10 minutes' }, {}, engine));
    expect(engine.events).toHaveLength(89); // NOW − 10 min to NOW + 5 min − margin (the last row at NOW + 4 min 40 s), every 10 s
  });

  it('a second run re-reads the lookback and sends only what is new or changed', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const rows = rowsEvery(NOW - 30 * MINUTE, NOW - 2 * MINUTE, 60_000, 'pending');
    setup(rows, engine);
    ok(await main('fetch-events', { ...params, first_fetch: '1 hour' }, {}, engine));
    expect(engine.events).toHaveLength(28);
    // Two rows change status, one late row appears.
    const changed = rows.slice(-2).map((row) => ({ ...row, history: [...row.history, { status: 'delivered', atMs: NOW + 1 }] }));
    const late = { ...(rows[0] as TruthRow), id: 'late', receivedMs: NOW - 5 * MINUTE, visibleAtMs: NOW + 1 };
    engine.advance(MINUTE);
    setup([...rows.slice(0, -2), ...changed, late], engine);
    ok(await main('fetch-events', { ...params, first_fetch: '1 hour' }, {}, engine));
    expect(engine.events.slice(28).map((event) => `${event.id}:${event.status}`).sort()).toEqual(
      ['late:pending', `${changed[0]?.id}:delivered`, `${changed[1]?.id}:delivered`].sort(),
    );
    expect(graph?.requests[0]?.startMs).toBe(NOW - MARGIN - 15 * MINUTE); // the cursor the first run left
  });

  it('reports an invalid state with how to reset, and does not touch it', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW, lastRun: { last_fetch: 'x' } });
    setup([], engine);
    const outcome = await main('fetch-events', params, {}, engine);
    expect(isCommandError(outcome) && outcome.error.code).toBe('state_invalid');
    expect(isCommandError(outcome) && outcome.error.message).toMatch(/last-run\.json/);
    expect(engine.lastRun).toEqual({ last_fetch: 'x' });
    expect(graph?.requests).toHaveLength(0);
  });

  it('leaves last run unchanged when sendEvents fails (at-least-once)', async () => {
    const engine = new MemoryEngine({
      startTimeMs: NOW,
      lastRun: {},
      failSendEvents: () => new IntegrationError('sink_failed', 'sink down'),
    });
    setup(rowsEvery(NOW - 30 * MINUTE, NOW - 2 * MINUTE, 60_000), engine);
    const outcome = await main('fetch-events', { ...params, first_fetch: '1 hour' }, {}, engine);
    expect(isCommandError(outcome) && outcome.error.code).toBe('sink_failed');
    // Only the empty window before the rows was saved: nothing the sink refused is behind the cursor.
    const state = parseState(engine.lastRun);
    expect(state?.cursorMs ?? 0).toBeLessThanOrEqual(NOW - 30 * MINUTE);
    expect(state?.seen.size ?? 0).toBe(0);
  });

  it('works a backlog through over several runs with nextTrigger, windows of at most 10 days', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    setup(rowsEvery(NOW - 30 * DAY, NOW - 2 * MINUTE, 20 * MINUTE), engine);
    let runs = 0;
    for (;;) {
      runs++;
      const result = ok(await main('fetch-events', { ...params, first_fetch: '30 days', max_fetch: '300' }, {}, engine));
      if (result.nextTrigger !== '0') break;
      expect(runs).toBeLessThan(50);
    }
    expect(runs).toBeGreaterThan(3);
    expect(new Set(engine.events.map((event) => event.id)).size).toBe(engine.events.length);
    expect(engine.events).toHaveLength(2160);
    for (const query of graph?.requests ?? []) expect(query.endMs - query.startMs).toBeLessThanOrEqual(10 * DAY);
  });

  it('reads at most max_fetch rows a run, with pages as full as Graph sends them, and still delivers each row once', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    // Uneven density, so windows planned from the last one's density hold more (or fewer) rows than planned.
    const rows = [...rowsEvery(NOW - 2 * 60 * MINUTE, NOW - 60 * MINUTE, 7_000), ...rowsEvery(NOW - 60 * MINUTE, NOW - 2 * MINUTE, 3_000)].map(
      (row, i) => ({ ...row, id: `r${i}` }),
    );
    graph = new FakeGraph({ rows, clock: engine, seed: 7, maxPageSize: 5000, maxPageLatencyMs: 0, fullPages: true });
    const rowsPerRun: number[] = [];
    for (let run = 0; run < 40; run++) {
      const result = ok(await main('fetch-events', { ...params, first_fetch: '2 hours', max_fetch: '400' }, {}, engine));
      rowsPerRun.push(Number(/from (\d+) rows/.exec(result.readableOutput ?? '')?.[1]));
      if (result.nextTrigger !== '0') break;
    }
    expect(rowsPerRun.length).toBeGreaterThan(3);
    for (const read of rowsPerRun) expect(read).toBeLessThanOrEqual(400);
    expect(rowsPerRun[0]).toBe(400);
    expect(engine.events.map((event) => event.id).sort()).toEqual(rows.map((row) => row.id).sort());
  });

  it('reads a single second with more rows than max_fetch whole, so the cursor still moves past it', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const second = NOW - 30 * MINUTE;
    const rows = [...rowsEvery(second, second + 1000, 1), ...rowsEvery(second + 5000, NOW - 2 * MINUTE, 60_000)].map((row, i) => ({ ...row, id: `s${i}` }));
    graph = new FakeGraph({ rows, clock: engine, seed: 7, maxPageSize: 5000, maxPageLatencyMs: 0, fullPages: true });
    for (let run = 0; run < 20; run++) {
      const result = ok(await main('fetch-events', { ...params, first_fetch: new Date(second).toISOString(), max_fetch: '50' }, {}, engine));
      if (result.nextTrigger !== '0') break;
    }
    expect(new Set(engine.events.map((event) => event.id)).size).toBe(rows.length);
    expect(parseState(engine.lastRun)?.cursorMs).toBeGreaterThan(second + 1000);
  });

  it('refuses a first_fetch more than 90 days back, naming it', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    setup([], engine);
    const outcome = await main('fetch-events', { ...params, first_fetch: '91 days' }, {}, engine);
    expect(isCommandError(outcome) && outcome.error.code).toBe('invalid_param');
    expect(isCommandError(outcome) && outcome.error.message).toMatch(/first_fetch.*90 days/);
    expect(engine.lastRun).toEqual({});
  });

  it('skips what Graph no longer keeps when the cursor fell behind 90 days, and says so', async () => {
    const engine = new MemoryEngine({
      startTimeMs: NOW,
      lastRun: { version: 1, cursor: new Date(NOW - 100 * DAY).toISOString(), readUpTo: new Date(NOW - 100 * DAY).toISOString(), seen: '' },
    });
    setup([], engine);
    ok(await main('fetch-events', { ...params, max_fetch: '10' }, {}, engine));
    // Graph keeps 90 days counted from 00:00 UTC today.
    for (const query of graph?.requests ?? []) expect(query.startMs).toBeGreaterThan(Date.UTC(2026, 10, 25) - 90 * DAY);
    expect(engine.logs.some((log) => log.level === 'warn' && /90 days/.test(log.message))).toBe(true);
  });

  it('stops within the time budget with state saved and asks to run again', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    // Every page takes up to 30 s of engine time.
    setup(rowsEvery(NOW - 5 * DAY, NOW - 2 * MINUTE, 10 * MINUTE), engine, 30_000);
    const started = engine.now();
    const result = ok(await main('fetch-events', { ...params, first_fetch: '5 days', max_fetch: '100000' }, {}, engine));
    expect(result.nextTrigger).toBe('0');
    expect(result.readableOutput).toMatch(/time budget/);
    expect(engine.now() - started).toBeLessThan(240_000 + 30_000);
    const state = parseState(engine.lastRun);
    expect(state?.cursorMs).toBeGreaterThan(NOW - 5 * DAY);
    expect(engine.events.length).toBeGreaterThan(0);
  });

  it('ends cleanly when the request budget is spent: state saved, a log line, no immediate re-run', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const fake = setup(rowsEvery(NOW - 5 * DAY, NOW - 2 * MINUTE, 10 * MINUTE), engine);
    ok(await main('fetch-events', { ...params, first_fetch: '5 days', max_fetch: '50' }, {}, engine));
    const before = engine.lastRun;
    const sent = engine.events.length;
    fake.failNextListing(0, 'budget');
    const result = ok(await main('fetch-events', { ...params, first_fetch: '5 days', max_fetch: '50' }, {}, engine));
    expect(result.nextTrigger).toBeUndefined();
    expect(result.readableOutput).toMatch(/request budget spent/);
    // Cursor, keys and density as before; only the room the next run waits for (one request: none was spent).
    expect(engine.lastRun).toEqual({ ...before, requestsNeeded: 1 });
    expect(engine.events).toHaveLength(sent);
    expect(engine.logs.some((log) => log.level === 'warn' && /Request budget spent/.test(log.message))).toBe(true);
  });

  it('keeps last run under 256 KB at 1,000,000 rows a day with a 15-minute lookback', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    const rows = rowsEvery(NOW - 40 * MINUTE, NOW + 10 * MINUTE, 86_400_000 / 1_000_000).map((row, i) => ({
      ...row,
      visibleAtMs: row.receivedMs + (i % 90) * 1000,
      history: [
        { status: 'gettingStatus', atMs: row.receivedMs + (i % 90) * 1000 },
        { status: 'delivered', atMs: row.receivedMs + (i % 90) * 1000 + 120_000 },
      ],
    }));
    setup(rows, engine);
    let largest = 0;
    for (let run = 0; run < 8; run++) {
      ok(await main('fetch-events', { ...params, first_fetch: '40 minutes', max_fetch: '1000000' }, {}, engine));
      largest = Math.max(largest, JSON.stringify(engine.lastRun).length);
      engine.advance(MINUTE);
    }
    expect(parseState(engine.lastRun)?.seen.size).toBeGreaterThan(9000);
    expect(largest).toBeLessThan(256 * 1024);
  }, 60_000);
});
