/**
 * The simulated tenant's Graph message trace surface, driven with plain fetch over verified TLS:
 * paging in every order mode against ground truth, determinism, visibility and status changes over
 * virtual time, filters, documented errors, details, and the CSDL shape of every row.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruthRow } from '../../src/simulator/index.js';
import {
  type Harness,
  iso,
  listAll,
  odataString,
  rowKey,
  START,
  startHarness,
  type TraceResource,
} from './helpers/simulator-client.js';

const HOUR = 3_600_000;
const MIN = 60_000;

/** Exact 100 ns comparison of Graph timestamps (string order is wrong with mixed precision). */
function ticks(s: string): bigint {
  const m = /^(.{19})(?:\.(\d{1,7}))?Z$/.exec(s);
  if (!m) throw new Error(`bad timestamp ${s}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 10_000n + BigInt((m[2] ?? '').padEnd(7, '0') || '0');
}

function rangeFilter(startMs: number, endMs: number): string {
  return `receivedDateTime ge ${iso(startMs)} and receivedDateTime le ${iso(endMs)}`;
}

/** A ground-truth row of this file's tenant, which has no null properties (nullShare 0). */
type Row = GroundTruthRow & { messageId: string; senderAddress: string; recipientAddress: string; subject: string; fromIP: string; toIP: string };

function truthOf(h: Harness, startMs: number, endMs: number): Row[] {
  const rows = h.sim.groundTruth(startMs, endMs);
  const nullable = ['messageId', 'senderAddress', 'recipientAddress', 'subject', 'fromIP', 'toIP'] as const;
  if (rows.some((r) => nullable.some((p) => r[p] === null))) throw new Error('this file expects a tenant without null properties');
  return rows as Row[];
}

function visibleTruth(h: Harness, startMs: number, endMs: number): Row[] {
  return truthOf(h, startMs, endMs).filter((r) => r.status !== null);
}

interface GraphErrorBody {
  error: { code: string; message: string; innerError: { date: string; 'request-id': string; 'client-request-id': string } };
}

function expectGraphError(body: unknown, code?: string): GraphErrorBody['error'] {
  const e = (body as GraphErrorBody).error;
  expect(typeof e.code).toBe('string');
  expect(typeof e.message).toBe('string');
  expect(Object.keys(e.innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
  if (code) expect(e.code).toBe(code);
  return e;
}

let h: Harness;

beforeAll(async () => {
  // Exact comparisons of the base model: the variations (recalls, nulls, PascalCase, Retry-After forms)
  // have their own file, simulator-variations.test.ts.
  h = await startHarness({ seed: 11, ratePerDay: 2000, historyDays: 2, recalledShare: 0, nullShare: 0, pascalCaseShare: 0 });
});

afterAll(async () => {
  await h.close();
});

describe('paging', () => {
  const windowStart = START - 6 * HOUR;
  const windowEnd = START - 1 * HOUR;

  for (const order of ['newest', 'oldest', 'random'] as const) {
    it(`returns every visible row of the window exactly once (${order})`, async () => {
      h.sim.configure({ order });
      const { rows, pages } = await listAll(h, h.listUrl({ $filter: rangeFilter(windowStart, windowEnd), $top: '137' }));
      const truth = visibleTruth(h, windowStart, windowEnd);
      expect(truth.length).toBeGreaterThan(500);
      expect(pages).toBe(Math.ceil(truth.length / 137));
      const keys = rows.map(rowKey);
      expect(new Set(keys).size).toBe(keys.length);
      expect(new Set(keys)).toEqual(new Set(truth.map(rowKey)));
      const byKey = new Map(truth.map((r) => [rowKey(r), r]));
      for (const row of rows) {
        const t = byKey.get(rowKey(row));
        expect(row.status).toBe(t?.status);
        expect(row.receivedDateTime).toBe(t?.receivedDateTime);
      }
      const diffs = rows.slice(1).map((r, i) => ticks(r.receivedDateTime) - ticks((rows[i] as TraceResource).receivedDateTime));
      if (order === 'newest') expect(diffs.every((d) => d <= 0n)).toBe(true);
      if (order === 'oldest') expect(diffs.every((d) => d >= 0n)).toBe(true);
      if (order === 'random') {
        expect(diffs.some((d) => d > 0n)).toBe(true);
        expect(diffs.some((d) => d < 0n)).toBe(true);
      }
    });
  }

  it('keeps the first page snapshot while rows arrive and change', async () => {
    h.sim.configure({ order: 'newest' });
    const start = START - 20 * MIN;
    const first = await h.get(h.listUrl({ $filter: rangeFilter(start, START), $top: '5' }));
    const body = first.body as { value: TraceResource[]; '@odata.nextLink': string };
    const expected = visibleTruth(h, start, START);
    h.clock.advance(10 * MIN); // more rows become visible, statuses move on
    const rest = await listAll(h, body['@odata.nextLink']);
    const all = [...body.value, ...rest.rows];
    expect(all.map(rowKey).sort()).toEqual(expected.map(rowKey).sort());
    h.clock.set(START);
  });

  it('nextLink keeps the original query and adds an opaque $skiptoken', async () => {
    const filter = rangeFilter(START - HOUR, START);
    const res = await h.get(h.listUrl({ $filter: filter, $top: '10' }));
    const link = new URL((res.body as { '@odata.nextLink': string })['@odata.nextLink']);
    expect(link.origin).toBe(h.sim.graphUrl);
    expect(link.pathname).toBe('/v1.0/admin/exchange/tracing/messageTraces');
    expect(link.searchParams.get('$filter')).toBe(filter);
    expect(link.searchParams.get('$top')).toBe('10');
    expect(link.searchParams.get('$skiptoken')).toMatch(/^[A-Za-z0-9_-]+$/);
    expect((res.body as { '@odata.context': string })['@odata.context']).toContain('$metadata#admin/exchange/tracing/messageTraces');
  });

  it('defaults to 1000 rows per page and the last 48 hours without a filter', async () => {
    const first = await h.get(h.listUrl());
    expect((first.body as { value: unknown[] }).value).toHaveLength(1000);
    const { rows } = await listAll(h, h.listUrl({ $top: '5000' }));
    const truth = visibleTruth(h, START - 48 * HOUR, START);
    expect(rows.length).toBe(truth.length);
    for (const r of rows) expect(Date.parse(r.receivedDateTime)).toBeGreaterThanOrEqual(START - 48 * HOUR);
  });
});

describe('data', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const [a, b] = await Promise.all([startHarness({ seed: 5 }), startHarness({ seed: 5 })]);
    const c = h; // seed 11
    try {
      const url = (x: Harness) => x.listUrl({ $filter: rangeFilter(START - 3 * HOUR, START), $top: '50' });
      const pa = (await a.get(url(a))).body as { value: TraceResource[] };
      const pb = (await b.get(url(b))).body as { value: TraceResource[] };
      const pc = (await c.get(url(c))).body as { value: TraceResource[] };
      expect(pa.value).toEqual(pb.value);
      expect(pa.value.map((r) => r.id)).not.toEqual(pc.value.map((r) => r.id));
      expect(a.sim.groundTruth(START - 6 * HOUR, START)).toEqual(b.sim.groundTruth(START - 6 * HOUR, START));
      // Injected faults follow the seed too.
      const faultSequence = async (x: Harness): Promise<number[]> => {
        x.sim.configure({ faults: { '503': 0.3 } });
        const out: number[] = [];
        for (let i = 0; i < 30; i++) out.push((await x.get(x.listUrl({ $top: '1' }))).status);
        return out;
      };
      const fa = await faultSequence(a);
      expect(await faultSequence(b)).toEqual(fa);
      expect(fa.filter((s) => s === 503).length).toBeGreaterThan(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('has realistic, varied rows', () => {
    const truth = truthOf(h, START - 24 * HOUR, START);
    const perMessage = new Map<string, Row[]>();
    for (const r of truth) perMessage.set(r.id, [...(perMessage.get(r.id) ?? []), r]);
    const multi = [...perMessage.values()].filter((rows) => rows.length > 1);
    expect(multi.length).toBeGreaterThan(10);
    for (const rows of multi) {
      expect(new Set(rows.map((r) => r.messageId)).size).toBe(1);
      expect(new Set(rows.map((r) => r.recipientAddress)).size).toBe(rows.length);
    }
    expect(truth.some((r) => /:\d\dZ$/.test(r.receivedDateTime))).toBe(true);
    expect(truth.some((r) => /\.\d{6,7}Z$/.test(r.receivedDateTime))).toBe(true);
    expect(truth.some((r) => r.subject.includes("'"))).toBe(true);
    expect(truth.some((r) => r.subject.includes('"'))).toBe(true);
    expect(truth.some((r) => [...r.subject].some((ch) => (ch.codePointAt(0) ?? 0) > 127))).toBe(true);
    const inbound = truth.filter((r) => r.direction === 'inbound');
    expect(inbound.length).toBeGreaterThan(0);
    expect(inbound.every((r) => r.toIP === '')).toBe(true);
    expect(truth.filter((r) => r.direction === 'outbound').every((r) => /^\d+\.\d+\.\d+\.\d+$/.test(r.toIP))).toBe(true);
    const finals = new Set(truth.map((r) => r.finalStatus));
    for (const s of ['delivered', 'failed', 'quarantined', 'filteredAsSpam', 'expanded']) expect(finals).toContain(s);
    expect(truth.some((r) => r.statusHistory.length === 1)).toBe(true);
    expect(truth.some((r) => r.statusHistory[0]?.status === 'gettingStatus')).toBe(true);
    expect(truth.some((r) => r.statusHistory[0]?.status === 'pending')).toBe(true);
    for (const r of truth.slice(0, 2000)) {
      const visible = Date.parse(r.visibleAt);
      expect(visible - Date.parse(r.receivedDateTime)).toBeLessThanOrEqual(120_000 + 1);
      expect(visible).toBeGreaterThanOrEqual(Date.parse(r.receivedDateTime));
      const last = r.statusHistory[r.statusHistory.length - 1];
      expect(last?.status).toBe(r.finalStatus);
      expect(Date.parse(last?.at ?? '') - visible).toBeLessThanOrEqual(300_000);
    }
  });

  it('shows rows only after their visibility delay', async () => {
    const start = START - 5 * MIN;
    const all = truthOf(h, start, START);
    const hidden = all.filter((r) => r.status === null);
    expect(hidden.length).toBeGreaterThan(0);
    const { rows } = await listAll(h, h.listUrl({ $filter: rangeFilter(start, START) }));
    const seen = new Set(rows.map(rowKey));
    for (const r of hidden) expect(seen.has(rowKey(r))).toBe(false);
    h.clock.advance(121_000);
    try {
      const later = await listAll(h, h.listUrl({ $filter: rangeFilter(start, START) }));
      expect(new Set(later.rows.map(rowKey))).toEqual(new Set(all.map(rowKey)));
    } finally {
      h.clock.set(START);
    }
  });

  it('changes status over time while receivedDateTime stays fixed', async () => {
    const truth = truthOf(h, START - 3 * HOUR, START - 2 * HOUR);
    const row = truth.find((r) => r.statusHistory.length >= 2 && r.finalStatus === 'delivered');
    expect(row).toBeDefined();
    if (!row) return;
    const first = row.statusHistory[0];
    const last = row.statusHistory[row.statusHistory.length - 1];
    if (!first || !last) throw new Error('history');
    const filter = (): string =>
      `${rangeFilter(START - 3 * HOUR, h.clock.now())} and id eq ${odataString(row.id)} and recipientAddress eq ${odataString(row.recipientAddress)}`;
    try {
      // Going back in virtual time needs a token issued then (the current one is not yet valid there).
      h.clock.set(Date.parse(first.at));
      const before = await listAll(h, h.listUrl({ $filter: filter() }), await h.newToken());
      h.clock.set(Date.parse(last.at));
      const after = await listAll(h, h.listUrl({ $filter: filter() }), await h.newToken());
      expect(before.rows).toHaveLength(1);
      expect(after.rows).toHaveLength(1);
      expect(before.rows[0]?.status).toBe(first.status);
      expect(after.rows[0]?.status).toBe('delivered');
      expect(before.rows[0]?.receivedDateTime).toBe(after.rows[0]?.receivedDateTime);
    } finally {
      h.clock.set(START);
    }
  });
});

describe('filters', () => {
  const start = START - 24 * HOUR;
  const range = rangeFilter(start, START);
  const truth = (): Row[] => visibleTruth(h, start, START);

  async function expectFilter(extra: string, predicate: (r: Row) => boolean, min = 1): Promise<void> {
    const { rows } = await listAll(h, h.listUrl({ $filter: `${range} and ${extra}`, $top: '5000' }));
    const expected = truth().filter(predicate);
    expect(expected.length).toBeGreaterThanOrEqual(min);
    expect(rows.map(rowKey).sort()).toEqual(expected.map(rowKey).sort());
  }

  it('eq on an address containing an apostrophe (doubled in the literal), case-insensitively', async () => {
    const sender = truth().find((r) => r.senderAddress.includes("'"))?.senderAddress;
    expect(sender).toBeDefined();
    await expectFilter(`senderAddress eq ${odataString((sender ?? '').toUpperCase())}`, (r) => r.senderAddress.toLowerCase() === sender?.toLowerCase());
  });

  it('eq on status, recipient, messageId, fromIP and toIP', async () => {
    const sample = truth().find((r) => r.direction === 'outbound');
    if (!sample) throw new Error('no outbound row');
    await expectFilter(`status eq 'delivered'`, (r) => r.status === 'delivered', 100);
    await expectFilter(`recipientAddress eq ${odataString(sample.recipientAddress)}`, (r) => r.recipientAddress.toLowerCase() === sample.recipientAddress.toLowerCase());
    await expectFilter(`messageId eq ${odataString(sample.messageId)}`, (r) => r.messageId === sample.messageId);
    await expectFilter(`fromIP eq ${odataString(sample.fromIP)}`, (r) => r.fromIP === sample.fromIP);
    await expectFilter(`toIP eq ${odataString(sample.toIP)}`, (r) => r.toIP === sample.toIP);
  });

  it('startswith/contains on subject with quotes and non-ASCII', async () => {
    await expectFilter(`startswith(subject,${odataString("O'Reilly's \"weekly\"")})`, (r) => r.subject.startsWith("O'Reilly's \"weekly\""));
    await expectFilter(`contains(subject,${odataString('Привет')})`, (r) => r.subject.includes('Привет'));
    await expectFilter(`contains(subject,${odataString('会議')})`, (r) => r.subject.includes('会議'));
    await expectFilter(`contains(subject,${odataString('"roadmap"')}) and status eq 'delivered'`, (r) => r.subject.includes('"roadmap"') && r.status === 'delivered');
  });

  it('compares receivedDateTime bounds at full 100 ns precision', async () => {
    const row = truth().find((r) => /\.\d{7}Z$/.test(r.receivedDateTime));
    if (!row) throw new Error('no 7-digit row');
    const f = `receivedDateTime ge ${row.receivedDateTime} and receivedDateTime le ${row.receivedDateTime}`;
    const { rows } = await listAll(h, h.listUrl({ $filter: f }));
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((r) => r.receivedDateTime === row.receivedDateTime)).toBe(true);
    const bumped = row.receivedDateTime.replace(/(\d)Z$/, (_, d: string) => `${(Number(d) + 1) % 10}Z`);
    if (!bumped.endsWith('0Z')) {
      const after = await listAll(h, h.listUrl({ $filter: `receivedDateTime ge ${bumped} and receivedDateTime le ${bumped}` }));
      expect(after.rows.some((r) => r.id === row.id)).toBe(false);
    }
  });
});

describe('documented errors', () => {
  const bad = async (query: Record<string, string>, fragment?: RegExp): Promise<void> => {
    const res = await h.get(h.listUrl(query));
    expect(res.status).toBe(400);
    const e = expectGraphError(res.body);
    if (fragment) expect(e.message).toMatch(fragment);
  };

  it('rejects windows over 10 days, starts over 90 days back and ends in the future', async () => {
    await bad({ $filter: rangeFilter(START - 11 * 24 * HOUR, START) }, /^The interval between StartDate and EndDate can't be longer than 10 days\.$/);
    await bad({ $filter: rangeFilter(START - 91 * 24 * HOUR, START - 85 * 24 * HOUR) }, /^Invalid StartDate value\. The StartDate can't be older than 90 days from today\.$/);
    // The 90 days count from 00:00 UTC of today (START is 12:00): 90 × 24 h + 11 h back is still accepted.
    const graphOldest = Math.floor(START / (24 * HOUR)) * 24 * HOUR - 90 * 24 * HOUR;
    await bad({ $filter: rangeFilter(graphOldest - 1000, graphOldest + 24 * HOUR) }, /older than 90 days from today/);
    const oldest = await h.get(h.listUrl({ $filter: rangeFilter(graphOldest, graphOldest + 24 * HOUR), $top: '1' }));
    expect(oldest.status).toBe(200);
    await bad({ $filter: rangeFilter(START - HOUR, START + 60_000) }, /future/);
    const ok = await h.get(h.listUrl({ $filter: rangeFilter(START - 10 * 24 * HOUR, START) , $top: '1' }));
    expect(ok.status).toBe(200);
  });

  it('rejects malformed or unsupported filters', async () => {
    await bad({ $filter: `receivedDateTime ge ${iso(START - HOUR)}` }, /^EndDate is required when a StartDate is entered\.$/);
    await bad({ $filter: `receivedDateTime le ${iso(START - HOUR)}` }, /both/);
    await bad({ $filter: `receivedDateTime gt ${iso(START - HOUR)} and receivedDateTime le ${iso(START)}` });
    await bad({ $filter: `receivedDateTime ge '${iso(START - HOUR)}' and receivedDateTime le ${iso(START)}` });
    await bad({ $filter: "senderAddress eq 'a@b.com' or senderAddress eq 'c@d.com'" }, /or/);
    await bad({ $filter: "senderAddress eq 'unterminated" });
    await bad({ $filter: "nosuchProperty eq 'x'" });
    await bad({ $filter: "status eq 'Delivered'" });
    await bad({ $filter: "startswith(senderAddress,'x')" });
    await bad({ $filter: "size eq '5'" });
    await bad({ $filter: "senderAddress eq 'x' and" });
  });

  it('rejects bad $top and bad skiptokens', async () => {
    for (const top of ['0', '5001', 'abc', '-1', '1.5']) await bad({ $top: top }, /^ResultSize is invalid$/);
    const filter = rangeFilter(START - HOUR, START);
    const first = await h.get(h.listUrl({ $filter: filter, $top: '3' }));
    const link = new URL((first.body as { '@odata.nextLink': string })['@odata.nextLink']);
    const token = link.searchParams.get('$skiptoken') ?? '';
    await bad({ $filter: filter, $skiptoken: `${token.slice(0, -2)}xx` }, /skiptoken/);
    await bad({ $filter: filter, $skiptoken: 'garbage' }, /skiptoken/);
    await bad({ $filter: rangeFilter(START - 2 * HOUR, START), $skiptoken: token }, /skiptoken/);
  });

  it('answers 401 for missing, malformed, foreign-signed and expired tokens', async () => {
    const none = await h.fetch(h.listUrl());
    expect(none.status).toBe(401);
    expectGraphError(await none.json(), 'InvalidAuthenticationToken');
    const garbage = await h.get(h.listUrl(), 'not-a-jwt');
    expect(garbage.status).toBe(401);
    expectGraphError(garbage.body, 'InvalidAuthenticationToken');
    const token = await h.token();
    const [head, payload] = token.split('.');
    const forged = await h.get(h.listUrl(), `${head}.${payload}.${Buffer.from('nope').toString('base64url')}`);
    expect(forged.status).toBe(401);
    h.clock.advance(3601_000);
    try {
      const expired = await h.get(h.listUrl(), token);
      expect(expired.status).toBe(401);
      expect(expectGraphError(expired.body, 'InvalidAuthenticationToken').message).toMatch(/expired/);
    } finally {
      h.clock.set(START);
    }
  });

  it('answers the service-principal 401 and the missing-permission 403', async () => {
    const token = await h.token();
    h.sim.configure({ servicePrincipalProvisioned: false });
    try {
      const res = await h.get(h.listUrl(), token);
      expect(res.status).toBe(401);
      expect(expectGraphError(res.body).message).toBe(
        'Service principal-less authentication failed: The service principal for App ID 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373 was not found. Please create a service principal for this app in your tenant. Provisioning may take several hours to complete.',
      );
    } finally {
      h.sim.configure({ servicePrincipalProvisioned: true });
    }
    h.sim.configure({ grantedRoles: [] });
    try {
      const res = await h.fetch(`${h.sim.authorityUrl}/${h.sim.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: h.sim.clientId, client_secret: h.sim.clientSecret, scope: 'https://graph.microsoft.com/.default' }),
      });
      const { access_token } = (await res.json()) as { access_token: string };
      const denied = await h.get(h.listUrl(), access_token);
      expect(denied.status).toBe(403);
      expectGraphError(denied.body, 'Authorization_RequestDenied');
    } finally {
      h.sim.configure({ grantedRoles: ['ExchangeMessageTrace.Read.All'] });
    }
  });

  it('echoes client-request-id', async () => {
    const res = await h.get(h.listUrl({ $top: 'x' }), undefined, { 'client-request-id': 'abc-123' });
    expect(res.headers.get('client-request-id')).toBe('abc-123');
    expect(expectGraphError(res.body).innerError['client-request-id']).toBe('abc-123');
  });
});

describe('getDetailsByRecipient', () => {
  const detailsUrl = (id: string, recipient: string): string =>
    `${h.sim.graphUrl}/v1.0/admin/exchange/tracing/messageTraces/${id}/getDetailsByRecipient(recipientAddress=${encodeURIComponent(odataString(recipient))})`;

  it('returns detail events for a known (id, recipient) and 404 otherwise', async () => {
    const row = visibleTruth(h, START - 2 * HOUR, START - HOUR).find((r) => r.statusHistory.length > 1);
    if (!row) throw new Error('no row');
    const res = await h.get(detailsUrl(row.id, row.recipientAddress.toUpperCase()));
    expect(res.status).toBe(200);
    const body = res.body as { '@odata.context': string; value: Record<string, unknown>[] };
    expect(body['@odata.context']).toContain('exchangeMessageTraceDetail');
    expect(body.value.length).toBe(1 + row.statusHistory.length);
    expect(body.value[0]?.event).toBe('Receive');
    for (const d of body.value) expect(d.id).toBe(row.id);
    const wrongRecipient = await h.get(detailsUrl(row.id, 'nobody@contoso.com'));
    expect(wrongRecipient.status).toBe(404);
    expectGraphError(wrongRecipient.body);
    const unknown = await h.get(detailsUrl('00000000-0000-4000-8000-000000000000', row.recipientAddress));
    expect(unknown.status).toBe(404);
  });

  it('handles an apostrophe in the recipient', async () => {
    const row = visibleTruth(h, START - 24 * HOUR, START).find((r) => r.recipientAddress.includes("'"));
    if (!row) throw new Error("no recipient with '");
    const res = await h.get(detailsUrl(row.id, row.recipientAddress));
    expect(res.status).toBe(200);
  });
});

describe('CSDL conformance', () => {
  const xml = readFileSync(new URL('../fixtures/exchange-message-trace.csdl.xml', import.meta.url), 'utf8');

  function entity(name: string): Map<string, { type: string; nullable: boolean }> {
    const block = new RegExp(`<EntityType Name="${name}"[^>]*>([\\s\\S]*?)</EntityType>`).exec(xml)?.[1] ?? '';
    const props = new Map<string, { type: string; nullable: boolean }>();
    for (const m of block.matchAll(/<Property Name="(\w+)" Type="([\w.]+)"( Nullable="false")?/g)) {
      props.set(m[1] as string, { type: m[2] as string, nullable: !m[3] });
    }
    props.set('id', { type: 'Edm.String', nullable: false }); // key inherited from graph.entity
    return props;
  }
  const statusMembers = [...(/<EnumType Name="exchangeMessageTraceStatus">([\s\S]*?)<\/EnumType>/.exec(xml)?.[1] ?? '').matchAll(/Member Name="(\w+)"/g)].map((m) => m[1]);

  /** Returns a problem description, or null when the value fits the CSDL property. */
  function problem(value: unknown, spec: { type: string; nullable: boolean }): string | null {
    if (value === null) return spec.nullable ? null : 'null in a non-nullable property';
    switch (spec.type) {
      case 'Edm.String':
        return typeof value === 'string' ? null : `not a string: ${String(value)}`;
      case 'Edm.Int32':
        return Number.isInteger(value) && Math.abs(value as number) < 2 ** 31 ? null : `not an Int32: ${String(value)}`;
      case 'Edm.DateTimeOffset':
        return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/.test(value)
          ? null
          : `not a UTC DateTimeOffset: ${String(value)}`;
      case 'graph.exchangeMessageTraceStatus':
        return statusMembers.includes(value as string) ? null : `not an enum member: ${String(value)}`;
      default:
        return `unhandled type ${spec.type}`;
    }
  }

  function problems(rows: Record<string, unknown>[], props: Map<string, { type: string; nullable: boolean }>): string[] {
    const expectedKeys = [...props.keys()].sort().join(',');
    const found: string[] = [];
    for (const row of rows) {
      const keys = Object.keys(row).sort().join(',');
      if (keys !== expectedKeys) found.push(`keys ${keys}`);
      for (const [name, spec] of props) {
        const p = problem(row[name], spec);
        if (p) found.push(`${name}: ${p}`);
      }
    }
    return found;
  }

  it('list rows carry exactly the exchangeMessageTrace properties with CSDL types', async () => {
    const props = entity('exchangeMessageTrace');
    expect(props.size).toBe(10);
    expect(statusMembers).toHaveLength(8);
    const { rows } = await listAll(h, h.listUrl({ $top: '5000' }));
    expect(rows.length).toBeGreaterThan(1000);
    expect(problems(rows as unknown as Record<string, unknown>[], props)).toEqual([]);
  });

  it('detail rows carry exactly the exchangeMessageTraceDetail properties', async () => {
    const props = entity('exchangeMessageTraceDetail');
    const row = visibleTruth(h, START - 2 * HOUR, START).at(0);
    if (!row) throw new Error('no row');
    const res = await h.get(
      `${h.sim.graphUrl}/v1.0/admin/exchange/tracing/messageTraces/${row.id}/getDetailsByRecipient(recipientAddress=${encodeURIComponent(odataString(row.recipientAddress))})`,
    );
    const details = (res.body as { value: Record<string, unknown>[] }).value;
    expect(details.length).toBeGreaterThan(1);
    expect(problems(details, props)).toEqual([]);
  });
});
