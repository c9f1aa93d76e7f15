/**
 * What the simulated tenant does like Microsoft and a careless client would trip over: Entra ID and Graph on
 * two origins, the status lifecycle past the final status (delivered → recalled, `unknownFutureValue` without
 * `Prefer: include-unknown-enum-members`), CSDL-nullable properties that are null, IPv6 `fromIP`, PascalCase
 * statuses, the three Retry-After forms, a fault seed apart from the data seed, and Entra's refusals of
 * app-only grants on /common and of `resource` on the v2.0 token endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NULLABLE_PROPERTIES } from '../../src/simulator/index.js';
import { type Harness, iso, listAll, rowKey, START, startHarness, type TraceResource } from './helpers/simulator-client.js';

const HOUR = 3_600_000;
const PREFER = { prefer: 'include-unknown-enum-members' };

let h: Harness;

beforeAll(async () => {
  // Rates well above the defaults, so a few hours hold enough of each case to check.
  h = await startHarness({ seed: 23, ratePerDay: 4000, historyDays: 1, recalledShare: 0.2, nullShare: 0.05, ipv6Share: 0.3, pascalCaseShare: 0 });
});
afterAll(async () => {
  await h.close();
});

function range(startMs: number, endMs: number): string {
  return `receivedDateTime ge ${iso(startMs)} and receivedDateTime le ${iso(endMs)}`;
}

async function listWindow(headers: Record<string, string> = {}): Promise<TraceResource[]> {
  const rows: TraceResource[] = [];
  let url: string | undefined = h.listUrl({ $filter: range(START - 4 * HOUR, START - HOUR), $top: '5000' });
  while (url) {
    const res = await h.get(url, undefined, headers);
    expect(res.status).toBe(200);
    const page = res.body as { value: TraceResource[]; '@odata.nextLink'?: string };
    rows.push(...page.value);
    url = page['@odata.nextLink'];
  }
  return rows;
}

describe('two origins', () => {
  it('serves Entra ID and Graph on different origins, each answering only its own routes', async () => {
    const graph = new URL(h.sim.graphUrl);
    const authority = new URL(h.sim.authorityUrl);
    expect(graph.origin).not.toBe(authority.origin);
    expect(new URL(h.sim.controlUrl).origin).toBe(graph.origin);

    // A token request sent to Graph is Graph's unknown segment, with the ids Graph puts on every response.
    const tokenOnGraph = await h.fetch(`${h.sim.graphUrl}/${h.sim.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
      headers: { 'client-request-id': 'abc-123' },
    });
    expect(tokenOnGraph.status).toBe(400);
    expect(tokenOnGraph.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokenOnGraph.headers.get('client-request-id')).toBe('abc-123');
    expect(((await tokenOnGraph.json()) as { error: { code: string } }).error.code).toBe('BadRequest');

    // A Graph call sent to the sign-in host finds nothing there.
    const graphOnAuthority = await h.get(`${h.sim.authorityUrl}/v1.0/admin/exchange/tracing/messageTraces`);
    expect(graphOnAuthority.status).toBe(404);

    const { byListener } = h.sim.stats().requests;
    expect(byListener.graph.unknown).toBeGreaterThan(0);
    expect(byListener.authority.unknown).toBeGreaterThan(0);
    expect(byListener.authority['entra.token']).toBeGreaterThan(0);
    expect(byListener.graph['entra.token']).toBeUndefined();
  });

  it('points every link at its own origin', async () => {
    const res = await h.get(h.listUrl({ $filter: range(START - 2 * HOUR, START - HOUR), $top: '5' }));
    const body = res.body as { '@odata.context': string; '@odata.nextLink': string };
    expect(new URL(body['@odata.nextLink']).origin).toBe(h.sim.graphUrl);
    expect(new URL(body['@odata.context']).origin).toBe(h.sim.graphUrl);
    const discovery = await h.get(`${h.sim.authorityUrl}/${h.sim.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(new URL((discovery.body as { token_endpoint: string }).token_endpoint).origin).toBe(h.sim.authorityUrl);
  });
});

describe('status lifecycle', () => {
  it('recalls some delivered rows after their final status; ground truth keeps every status and when', () => {
    const truth = h.sim.groundTruth(START - 4 * HOUR, START - HOUR);
    const recalled = truth.filter((r) => r.finalStatus === 'recalled');
    expect(recalled.length).toBeGreaterThan(10);
    for (const r of recalled) {
      const statuses = r.statusHistory.map((c) => c.status);
      expect(statuses.at(-2)).toBe('delivered');
      const times = r.statusHistory.map((c) => Date.parse(c.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      // Within the status delay (300 s) of first visibility, like every other change.
      expect((times.at(-1) ?? 0) - Date.parse(r.visibleAt)).toBeLessThanOrEqual(300_000);
    }
    const delivered = truth.filter((r) => r.finalStatus === 'delivered' || r.finalStatus === 'recalled').length;
    expect(recalled.length / delivered).toBeGreaterThan(0.1);
    expect(recalled.length / delivered).toBeLessThan(0.3);
  });

  it('answers unknownFutureValue for recalled rows unless the request has Prefer: include-unknown-enum-members', async () => {
    const truth = new Map(h.sim.groundTruth(START - 4 * HOUR, START - HOUR).map((r) => [rowKey(r), r]));
    const before = h.sim.stats().served;
    const plain = await listWindow();
    const preferring = await listWindow(PREFER);
    const recalledKeys = [...truth.values()].filter((r) => r.status === 'recalled').map(rowKey);
    expect(recalledKeys.length).toBeGreaterThan(0);
    const statusOf = (rows: TraceResource[]) => new Map(rows.map((r) => [rowKey(r), r.status]));
    const plainStatus = statusOf(plain);
    const preferStatus = statusOf(preferring);
    for (const key of recalledKeys) {
      expect(plainStatus.get(key)).toBe('unknownFutureValue');
      expect(preferStatus.get(key)).toBe('recalled');
    }
    expect(plain.filter((r) => r.status === 'recalled')).toEqual([]);
    const after = h.sim.stats().served;
    expect(after.unknownFutureValue - before.unknownFutureValue).toBe(recalledKeys.length);
    expect(after.recalled - before.recalled).toBe(recalledKeys.length);
    expect(after.requestsWithoutPrefer).toBeGreaterThan(before.requestsWithoutPrefer);
  });

  it('filters on status as the request sees it', async () => {
    const filter = `${range(START - 4 * HOUR, START - HOUR)} and status eq 'recalled'`;
    const withPrefer = await h.get(h.listUrl({ $filter: filter, $top: '5000' }), undefined, PREFER);
    const without = await h.get(h.listUrl({ $filter: filter, $top: '5000' }));
    expect((withPrefer.body as { value: unknown[] }).value.length).toBeGreaterThan(0);
    expect((without.body as { value: unknown[] }).value).toEqual([]);
  });
});

describe('row shape', () => {
  it('serves null only for properties the CSDL leaves nullable, and some IPv6 fromIP', async () => {
    const rows = await listWindow(PREFER);
    const nullable = new Set<string>(NULLABLE_PROPERTIES);
    const nulls = new Map<string, number>();
    for (const row of rows) {
      for (const [property, value] of Object.entries(row)) {
        if (value !== null) continue;
        expect(nullable.has(property), property).toBe(true);
        nulls.set(property, (nulls.get(property) ?? 0) + 1);
      }
      expect(typeof row.size).toBe('number');
      expect(typeof row.receivedDateTime).toBe('string');
      expect(typeof row.status).toBe('string');
    }
    for (const property of ['messageId', 'senderAddress', 'subject', 'fromIP', 'toIP']) expect(nulls.get(property), property).toBeGreaterThan(0);
    expect(rows.some((r) => r.fromIP?.includes(':'))).toBe(true);
    // Rows without a recipient are single-recipient messages, so (id, recipient) still names one row.
    const keys = rows.map(rowKey);
    expect(new Set(keys).size).toBe(keys.length);
    // The truth holds the same nulls.
    const truth = new Map(h.sim.groundTruth(START - 4 * HOUR, START - HOUR).map((r) => [rowKey(r), r]));
    for (const row of rows) expect(truth.get(rowKey(row))?.subject).toBe(row.subject);
  });

  it('spells statuses in PascalCase in the configured share of responses', async () => {
    h.sim.configure({ pascalCaseShare: 1 });
    try {
      const pascal = await listWindow(PREFER);
      expect(pascal.every((r) => /^[A-Z]/.test(r.status))).toBe(true);
      expect(new Set(pascal.map((r) => r.status))).toContain('Delivered');
    } finally {
      h.sim.configure({ pascalCaseShare: 0 });
    }
    expect((await listWindow(PREFER)).every((r) => /^[a-z]/.test(r.status))).toBe(true);
  });
});

describe('Retry-After', () => {
  async function throttledResponses(count: number): Promise<{ headers: Headers; body: unknown; at: number }[]> {
    h.sim.configure({ throttle: { limit: 1, windowSeconds: 60 } });
    const out: { headers: Headers; body: unknown; at: number }[] = [];
    try {
      await h.get(h.listUrl({ $top: '1' }));
      for (let i = 0; i < count; i++) {
        const res = await h.get(h.listUrl({ $top: '1' }));
        expect(res.status).toBe(429);
        out.push({ headers: res.headers, body: res.body, at: h.clock.now() });
      }
    } finally {
      h.sim.configure({ throttle: 'off', retryAfter: { seconds: 1, httpDate: 1, none: 1 } });
      h.clock.advance(120_000);
    }
    return out;
  }

  it('mixes seconds, HTTP-dates and no header by default, with Exchange throttling text', async () => {
    const before = h.sim.stats().retryAfterForms;
    const responses = await throttledResponses(30);
    const forms = responses.map(({ headers }) => {
      const value = headers.get('retry-after');
      return value === null ? 'none' : /^\d+$/.test(value) ? 'seconds' : 'httpDate';
    });
    expect(new Set(forms)).toEqual(new Set(['seconds', 'httpDate', 'none']));
    for (const { body } of responses) {
      expect((body as { error: { message: string } }).error.message).toBe('Your recent queries have surpassed the permitted limit, please try again later.');
    }
    const after = h.sim.stats().retryAfterForms;
    for (const form of ['seconds', 'httpDate', 'none'] as const) {
      expect(after[form] - before[form]).toBe(forms.filter((f) => f === form).length);
    }
  });

  it('names the same moment as an HTTP-date as it would in seconds (on the simulator clock)', async () => {
    h.sim.configure({ retryAfter: { httpDate: 1 } });
    const [first] = await throttledResponses(1);
    const value = first?.headers.get('retry-after') ?? '';
    expect(value).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const waitMs = Date.parse(value) - (first?.at ?? 0);
    // The quota's wait is 60 s from the one admitted request, rounded up to a whole second.
    expect(waitMs).toBeGreaterThanOrEqual(59_000);
    expect(waitMs).toBeLessThanOrEqual(61_000);
    h.sim.configure({ retryAfter: { none: 1 } });
    const [none] = await throttledResponses(1);
    expect(none?.headers.get('retry-after')).toBeNull();
  });

  it('applies the mix to injected 503s too', async () => {
    h.sim.configure({ faults: { '503': 1 }, retryAfter: { httpDate: 1 } });
    try {
      const res = await h.get(h.listUrl({ $top: '1' }));
      expect(res.status).toBe(503);
      expect(Date.parse(res.headers.get('retry-after') ?? '')).toBeGreaterThan(h.clock.now());
    } finally {
      h.sim.configure({ faults: {}, retryAfter: { seconds: 1, httpDate: 1, none: 1 } });
    }
  });
});

describe('fault seed', () => {
  /** Statuses of `n` list requests under 30 % injected 503s. */
  async function faultPattern(options: { seed: number; faultSeed?: number }, n = 40): Promise<number[]> {
    const other = await startHarness({ ...options, ratePerDay: 200, historyDays: 1, faults: { '503': 0.3 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) statuses.push((await other.get(other.listUrl({ $top: '1' }))).status);
      expect(other.sim.stats().faultsByKind['503'] ?? 0).toBe(statuses.filter((s) => s === 503).length);
      return statuses;
    } finally {
      await other.close();
    }
  }

  it('puts faults at other requests for another fault seed, the same data seed', async () => {
    const a = await faultPattern({ seed: 21, faultSeed: 1 });
    const b = await faultPattern({ seed: 21, faultSeed: 2 });
    expect(a).toContain(503);
    expect(b).toContain(503);
    expect(a).not.toEqual(b);
    // Reproducible, and the default fault seed is the data seed (runs from before keep their faults).
    expect(await faultPattern({ seed: 21, faultSeed: 1 })).toEqual(a);
    expect(await faultPattern({ seed: 21 })).toEqual(await faultPattern({ seed: 21, faultSeed: 21 }));
  });

  it('keeps the data the same whatever the fault seed', async () => {
    const a = await startHarness({ seed: 21, faultSeed: 1, ratePerDay: 500, historyDays: 1 });
    const b = await startHarness({ seed: 21, faultSeed: 2, ratePerDay: 500, historyDays: 1 });
    try {
      expect(a.sim.groundTruth(START - 6 * HOUR, START)).toEqual(b.sim.groundTruth(START - 6 * HOUR, START));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('Entra ID refusals', () => {
  async function token(tenant: string, extra: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await h.fetch(`${h.sim.authorityUrl}/${tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: h.sim.clientId,
        client_secret: h.sim.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
        ...extra,
      }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  function expectAadError(body: Record<string, unknown>, error: string, code: number): void {
    expect(body.error).toBe(error);
    expect(body.error_codes).toEqual([code]);
    expect(String(body.error_description)).toMatch(new RegExp(`^AADSTS${code}: .+\\r\\nTrace ID: .+\\r\\nCorrelation ID: .+\\r\\nTimestamp: `));
    for (const key of ['timestamp', 'trace_id', 'correlation_id', 'error_uri']) expect(typeof body[key]).toBe('string');
  }

  it('refuses app-only grants on /common and /organizations with AADSTS50059', async () => {
    for (const tenant of ['common', 'organizations']) {
      const res = await token(tenant);
      expect(res.status).toBe(400);
      expectAadError(res.body, 'invalid_request', 50059);
      expect(String(res.body.error_description)).toContain('No tenant-identifying information found');
    }
    expect((await token(h.sim.tenantId)).status).toBe(200);
  });

  it('refuses `resource` beside `scope` on v2.0: AADSTS9010010 when it names another resource, AADSTS901002 otherwise', async () => {
    const before = h.sim.stats().entraErrors;
    const mismatched = await token(h.sim.tenantId, { resource: 'https://outlook.office365.com' });
    expect(mismatched.status).toBe(400);
    expectAadError(mismatched.body, 'invalid_target', 9010010);
    expect(String(mismatched.body.error_description)).toContain("The resource parameter provided in the request doesn't match with the requested scopes.");
    const same = await token(h.sim.tenantId, { resource: 'https://graph.microsoft.com' });
    expect(same.status).toBe(400);
    expectAadError(same.body, 'invalid_request', 901002);
    expect(String(same.body.error_description)).toContain("The 'resource' request parameter is not supported.");
    const after = h.sim.stats().entraErrors;
    expect((after.AADSTS9010010 ?? 0) - (before.AADSTS9010010 ?? 0)).toBe(1);
    expect((after.AADSTS901002 ?? 0) - (before.AADSTS901002 ?? 0)).toBe(1);
  });
});

describe('listing limits in Exchange words', () => {
  it('counts the 90 days from 00:00 UTC today', async () => {
    const oldest = Math.floor(START / (24 * HOUR)) * 24 * HOUR - 90 * 24 * HOUR;
    const refused = await h.get(h.listUrl({ $filter: range(oldest - 1000, oldest + HOUR) }));
    expect(refused.status).toBe(400);
    expect((refused.body as { error: { message: string } }).error.message).toBe(
      "Invalid StartDate value. The StartDate can't be older than 90 days from today.",
    );
    expect((await h.get(h.listUrl({ $filter: range(oldest, oldest + HOUR) }))).status).toBe(200);
    const { rows } = await listAll(h, h.listUrl({ $filter: range(oldest, oldest + HOUR) }));
    expect(rows).toEqual([]);
  });
});
