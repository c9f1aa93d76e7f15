/**
 * Throttling on the injected clock, every fault kind as a client would observe it, and the control API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, START, startHarness } from './helpers/simulator-client.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ seed: 31, ratePerDay: 500, timeoutHoldMs: 400, slowBodyMs: 600 });
});

afterAll(async () => {
  await h.close();
});

describe('throttling', () => {
  it('applies one rolling budget to list and details calls, with Retry-After on the virtual clock', async () => {
    // Seconds only here: the other Retry-After forms have their own test (simulator-variations.test.ts).
    h.sim.configure({ throttle: { limit: 5, windowSeconds: 60 }, retryAfter: { seconds: 1 } });
    try {
      const row = h.sim.groundTruth(START - 3_600_000, START - 600_000)[0];
      if (!row) throw new Error('no row');
      const details = `${h.sim.graphUrl}/v1.0/admin/exchange/tracing/messageTraces/${row.id}/getDetailsByRecipient(recipientAddress='${row.recipientAddress}')`;
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await h.get(h.listUrl({ $top: '1' }))).status);
      h.clock.advance(20_000);
      for (let i = 0; i < 2; i++) statuses.push((await h.get(details)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      const throttled = await h.get(details);
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('40');
      expect((throttled.body as { error: { code: string } }).error.code).toBe('TooManyRequests');
      h.clock.advance(39_000);
      expect((await h.get(h.listUrl({ $top: '1' }))).status).toBe(429);
      h.clock.advance(1_000);
      expect((await h.get(h.listUrl({ $top: '1' }))).status).toBe(200);
      expect(h.sim.stats().throttled).toBe(2);
    } finally {
      h.sim.configure({ throttle: 'off', retryAfter: { seconds: 1, httpDate: 1, none: 1 } });
      h.clock.set(START);
    }
  });

  it('admits exactly the limit under concurrency (100 per 300 s)', async () => {
    // Start after the previous test's admissions have aged out of the window.
    h.clock.set(START + 400_000);
    h.sim.configure({ throttle: { limit: 100, windowSeconds: 300 } });
    try {
      const url = h.listUrl({ $top: '1' });
      const results = await Promise.all(Array.from({ length: 101 }, () => h.get(url)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(100);
      expect(results.filter((r) => r.status === 429)).toHaveLength(1);
    } finally {
      h.sim.configure({ throttle: 'off' });
      h.clock.set(START);
    }
  });
});

describe('faults', () => {
  const withFault = async <T>(kind: string, run: () => Promise<T>): Promise<T> => {
    h.sim.configure({ faults: { [kind]: 1 } });
    try {
      return await run();
    } finally {
      h.sim.configure({ faults: {} });
    }
  };

  for (const [kind, code] of [
    ['500', 'InternalServerError'],
    ['502', 'BadGateway'],
    ['503', 'ServiceUnavailable'],
    ['504', 'GatewayTimeout'],
    ['429', 'TooManyRequests'],
    ['401', 'InvalidAuthenticationToken'],
  ] as const) {
    it(`${kind} answers with the status and a Graph error body`, async () => {
      const res = await withFault(kind, () => h.get(h.listUrl({ $top: '1' })));
      expect(res.status).toBe(Number(kind));
      expect((res.body as { error: { code: string } }).error.code).toBe(code);
      if (kind === '429' || kind === '503') {
        // Seconds, an HTTP-date after now, or no header at all (chosen per response).
        const retryAfter = res.headers.get('retry-after');
        if (retryAfter !== null && /^\d+$/.test(retryAfter)) expect(Number(retryAfter)).toBeGreaterThan(0);
        else if (retryAfter !== null) expect(Date.parse(retryAfter)).toBeGreaterThan(h.clock.now());
      }
    });
  }

  it('reset destroys the connection', async () => {
    await withFault('reset', async () => {
      await expect(h.get(h.listUrl({ $top: '1' }))).rejects.toThrow();
    });
  });

  it('timeout never sends headers', async () => {
    const token = await h.token();
    await withFault('timeout', async () => {
      const started = Date.now();
      await expect(
        h.fetch(h.listUrl({ $top: '1' }), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(250) }),
      ).rejects.toThrow();
      expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    });
  });

  it('slow trickles a complete body', async () => {
    const started = Date.now();
    const res = await withFault('slow', () => h.get(h.listUrl({ $top: '50' })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(res.status).toBe(200);
    expect((res.body as { value: unknown[] }).value).toHaveLength(50);
  });

  it('truncate cuts the body mid-JSON and closes the connection', async () => {
    const token = await h.token();
    await withFault('truncate', async () => {
      const res = await h.fetch(h.listUrl({ $top: '50' }), { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    });
  });

  it('injects faults with the configured probability and counts them', async () => {
    const before = h.sim.stats().faultsInjected;
    h.sim.configure({ faults: { '503': 0.3 } });
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 40; i++) statuses.push((await h.get(h.listUrl({ $top: '1' }))).status);
    } finally {
      h.sim.configure({ faults: {} });
    }
    const failures = statuses.filter((s) => s === 503).length;
    expect(h.sim.stats().faultsInjected - before).toBe(failures);
    expect(failures).toBeGreaterThan(3);
    expect(failures).toBeLessThan(25);
  });
});

describe('control API', () => {
  it('exposes ground truth, stats and runtime configuration', async () => {
    const start = new Date(START - 3_600_000).toISOString();
    const end = new Date(START).toISOString();
    const rows = (await (await h.fetch(`${h.sim.controlUrl}/rows?start=${start}&end=${end}`)).json()) as {
      count: number;
      rows: { visibleAt: string; statusHistory: unknown[]; finalStatus: string; status: string | null }[];
    };
    expect(rows.count).toBe(h.sim.groundTruth(START - 3_600_000, START).length);
    expect(rows.rows[0]).toHaveProperty('statusHistory');
    expect(rows.rows[0]).toHaveProperty('finalStatus');
    expect(rows.rows[0]).toHaveProperty('visibleAt');
    const ndjson = await (await h.fetch(`${h.sim.controlUrl}/rows?start=${start}&end=${end}&format=ndjson`)).text();
    const lines = ndjson.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual(rows.rows);
    expect([...h.sim.iterateGroundTruth(START - 3_600_000, START)]).toEqual(rows.rows);

    const patch = await h.fetch(`${h.sim.controlUrl}/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order: 'oldest', faults: { '500': 0 } }),
    });
    expect(patch.status).toBe(200);
    const badPatch = await h.fetch(`${h.sim.controlUrl}/config`, { method: 'POST', body: JSON.stringify({ order: 'sideways' }) });
    expect(badPatch.status).toBe(400);

    const stats = (await (await h.fetch(`${h.sim.controlUrl}/stats`)).json()) as Record<string, unknown>;
    for (const k of ['requests', 'graphRequests', 'rowsServed', 'throttled', 'faultsInjected', 'tokensIssued', 'codesRedeemed']) {
      expect(stats).toHaveProperty(k);
    }
    const requests = stats.requests as { byRoute: Record<string, number>; byStatus: Record<string, number> };
    expect(requests.byRoute['graph.messageTraces']).toBeGreaterThan(0);
    expect(requests.byStatus['200']).toBeGreaterThan(0);
    expect((stats.tokensIssued as Record<string, number>).client_credentials).toBeGreaterThan(0);
    h.sim.configure({ order: 'newest' });
  });
});
