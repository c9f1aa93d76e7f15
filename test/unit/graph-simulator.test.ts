/**
 * The Graph client against the simulated tenant over real HTTPS on loopback (no msw): the real transport
 * with the simulator's CA, real tokens from its Entra endpoint, its own paging, filter reader, throttling
 * and injected faults. The engine's clock is the simulator's virtual clock, so Retry-After waits move both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenProvider } from '../../src/auth/types.js';
import { runGetEvents } from '../../src/commands/get-events.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { createGraphClient } from '../../src/graph/client.js';
import { compareRowsByReceived } from '../../src/graph/event.js';
import type { MessageTraceRow } from '../../src/graph/types.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { parseArgs } from '../../src/input/args.js';
import { type Harness, START, startHarness } from '../e2e/helpers/simulator-client.js';
import { testParams } from './graph-test-kit.js';

const HOUR = 3_600_000;

/** A memory engine whose clock is the simulator's virtual clock. */
class SimulatorClockEngine extends MemoryEngine {
  constructor(private readonly h: Harness) {
    super();
  }
  override now(): number {
    return this.h.clock.now();
  }
  override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.h.clock.advance(ms);
  }
}

function tokensFor(h: Harness): TokenProvider & { refreshes: number } {
  let cached: string | undefined;
  return {
    method: 'client_secret',
    refreshes: 0,
    async getAccessToken(options = {}) {
      if (options.forceRefresh) this.refreshes++;
      if (options.forceRefresh || cached === undefined) cached = await h.newToken();
      return cached;
    },
  };
}

function clientFor(h: Harness, engine: MemoryEngine) {
  const params = testParams({ url: h.sim.graphUrl, caCertificate: h.sim.caCertPem });
  const http = createHttpFetch({ proxy: false, insecure: false, caCertificate: h.sim.caCertPem, headersTimeoutMs: 500, bodyTimeoutMs: 500 });
  return { params, client: createGraphClient({ params, engine, http, tokens: tokensFor(h), random: () => 0.5 }) };
}

const key = (r: { id: string; recipientAddress?: string | null | undefined }) => `${r.id}|${(r.recipientAddress ?? '').toLowerCase()}`;

let h: Harness;

beforeAll(async () => {
  h = await startHarness(
    {
      seed: 7,
      ratePerDay: 3000,
      historyDays: 2,
      order: 'random',
      throttle: { limit: 6, windowSeconds: 300 },
      faults: { '500': 0.05, '502': 0.03, '503': 0.05, '504': 0.03, '429': 0.05, '401': 0.03, reset: 0.05, truncate: 0.05, timeout: 0.02 },
      timeoutHoldMs: 1500,
    },
    START,
  );
});

afterAll(async () => {
  await h?.close();
});

describe('Graph client against the simulated tenant', () => {
  it('reads a window completely through faults, throttling and random page order', async () => {
    const engine = new SimulatorClockEngine(h);
    const { client } = clientFor(h, engine);
    const endMs = START - HOUR;
    const startMs = endMs - 10 * HOUR;
    const rows: MessageTraceRow[] = [];
    let pages = 0;
    for await (const page of client.listMessageTraces({ startMs, endMs, top: 200 })) {
      rows.push(...page.rows);
      pages++;
    }
    const truth = h.sim.groundTruth(startMs, endMs).filter((r) => r.status !== null);
    expect(truth.length).toBeGreaterThan(500);
    expect(new Set(rows.map(key))).toEqual(new Set(truth.map(key)));
    expect(rows).toHaveLength(truth.length);
    expect(pages).toBeGreaterThan(3);
    // Faults and the simulator's 6-per-5-minutes throttle were met and survived.
    expect(client.stats.retries).toBeGreaterThan(0);
    const stats = h.sim.stats();
    expect(stats.faultsInjected, JSON.stringify(stats.faultsByKind)).toBeGreaterThan(0);
    expect(stats.throttled).toBeGreaterThan(0);
    // Waits the server named (Retry-After as seconds or as an HTTP-date) were honoured as named.
    expect(engine.logs.some((l) => l.level === 'warn' && l.fields?.serverNamedWait === true)).toBe(true);
  }, 60_000);

  it('get-events returns the earliest rows of the simulator’s ground truth, ascending', async () => {
    h.sim.configure({ faults: {} });
    const engine = new SimulatorClockEngine(h);
    const { params, client } = clientFor(h, engine);
    const start = new Date(h.clock.now() - 30 * HOUR).toISOString();
    const end = new Date(h.clock.now() - 20 * HOUR).toISOString();
    const result = await runGetEvents(
      { params, args: parseArgs('o365-message-trace-get-events', { limit: '25', start_time: start, end_time: end }), engine },
      client,
    );
    // Rows of one message share a receivedDateTime; ties are ordered by id and recipient, as get-events does.
    const truth = (h.sim.groundTruth(Date.parse(start), Date.parse(end)).filter((r) => r.status !== null) as unknown as MessageTraceRow[])
      .sort(compareRowsByReceived)
      .slice(0, 25);
    const events = result.outputs as MessageTraceRow[];
    expect(events.map(key)).toEqual(truth.map(key));
  }, 60_000);
});
