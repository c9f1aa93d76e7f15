import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { createGraphClient } from '../../src/graph/client.js';
import { checkNextLink } from '../../src/graph/pages.js';
import type { MessageTraceRow } from '../../src/graph/types.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { FakeTokens, GRAPH_ORIGIN, LIST_URL, graphError, row, testParams } from './graph-test-kit.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const START = Date.parse('2026-03-01T12:00:00Z');

interface Seen {
  url: URL;
  authorization: string | null;
}

function setup(options: { deadlineMs?: number } = {}) {
  const engine = new MemoryEngine({ startTimeMs: START });
  const tokens = new FakeTokens();
  const client = createGraphClient({
    params: testParams(),
    engine,
    http: createHttpFetch({ proxy: false, insecure: false }),
    tokens,
    random: () => 0.5,
    ...options,
  });
  return { engine, tokens, client };
}

async function readRows(client: ReturnType<typeof createGraphClient>, query = { startMs: START - 3_600_000, endMs: START }) {
  const pages: MessageTraceRow[][] = [];
  for await (const page of client.listMessageTraces(query)) pages.push(page.rows);
  return pages;
}

describe('listMessageTraces paging (msw)', () => {
  it('sends the filter and $top, and follows the full nextLink to the end', async () => {
    const seen: Seen[] = [];
    server.use(
      http.get(LIST_URL, ({ request }) => {
        const url = new URL(request.url);
        seen.push({ url, authorization: request.headers.get('authorization') });
        const token = url.searchParams.get('$skiptoken');
        if (token === null) {
          return HttpResponse.json({
            value: [row('2026-03-01T11:10:00Z'), row('2026-03-01T11:20:00Z')],
            '@odata.nextLink': `${LIST_URL}?$filter=${encodeURIComponent(url.searchParams.get('$filter') ?? '')}&$top=5000&$skiptoken=p2`,
          });
        }
        if (token === 'p2') return HttpResponse.json({ value: [row('2026-03-01T11:30:00Z')], '@odata.nextLink': `${LIST_URL}?$skiptoken=p3` });
        return HttpResponse.json({ value: [] });
      }),
    );
    const { client } = setup();
    const pages = await readRows(client, { startMs: START - 3_600_000 + 250, endMs: START + 999 });
    expect(pages.map((p) => p.length)).toEqual([2, 1, 0]);
    expect(seen).toHaveLength(3);
    expect(seen[0]?.url.searchParams.get('$filter')).toBe('receivedDateTime ge 2026-03-01T11:00:00Z and receivedDateTime le 2026-03-01T12:00:00Z');
    expect(seen[0]?.url.searchParams.get('$top')).toBe('5000');
    expect(seen[1]?.url.searchParams.get('$skiptoken')).toBe('p2');
    expect(seen[1]?.url.searchParams.get('$filter')).toContain('receivedDateTime ge');
    expect(seen[2]?.url.search).toBe('?$skiptoken=p3');
    expect(seen.every((s) => s.authorization === 'Bearer token-1')).toBe(true);
    expect(client.stats.requests).toBe(3);
  });

  it('asks Graph for statuses added to the enum later, so a recalled message shows as recalled', async () => {
    const prefer: (string | null)[] = [];
    server.use(
      http.get(LIST_URL, ({ request }) => {
        prefer.push(request.headers.get('prefer'));
        return HttpResponse.json({ value: [row('2026-03-01T11:10:00Z', { status: 'recalled' })] });
      }),
    );
    const { client } = setup();
    const pages = await readRows(client, { startMs: START - 3_600_000, endMs: START });
    expect(prefer).toEqual(['include-unknown-enum-members']);
    expect(pages[0]?.[0]?.status).toBe('recalled');
  });

  it('lets the consumer stop early without reading further pages', async () => {
    let requests = 0;
    server.use(
      http.get(LIST_URL, () => {
        requests++;
        return HttpResponse.json({ value: [row('2026-03-01T11:10:00Z')], '@odata.nextLink': `${LIST_URL}?$skiptoken=${requests}` });
      }),
    );
    const { client } = setup();
    for await (const _page of client.listMessageTraces({ startMs: START - 1000, endMs: START })) break;
    expect(requests).toBe(1);
  });

  it('refuses a nextLink to another host and never sends the token there', async () => {
    const evil: Seen[] = [];
    server.use(
      http.get(LIST_URL, () =>
        HttpResponse.json({ value: [row('2026-03-01T11:10:00Z')], '@odata.nextLink': 'https://evil.example.test/v1.0/admin/exchange/tracing/messageTraces?$skiptoken=x' }),
      ),
      http.get('https://evil.example.test/*', ({ request }) => {
        evil.push({ url: new URL(request.url), authorization: request.headers.get('authorization') });
        return HttpResponse.json({ value: [] });
      }),
    );
    const { client } = setup();
    await expect(readRows(client)).rejects.toMatchObject({
      code: 'graph_invalid_response',
      message: expect.stringContaining('evil.example.test'),
    });
    expect(evil).toHaveLength(0);
  });

  it('does not follow redirects (the token stays on the Graph origin)', async () => {
    const evil: string[] = [];
    server.use(
      http.get(LIST_URL, () => new HttpResponse(null, { status: 302, headers: { location: 'https://evil.example.test/steal' } })),
      http.get('https://evil.example.test/*', ({ request }) => {
        evil.push(request.headers.get('authorization') ?? '');
        return HttpResponse.json({ value: [] });
      }),
    );
    const { client } = setup();
    await expect(readRows(client)).rejects.toMatchObject({ code: 'graph_invalid_response', status: 302 });
    expect(evil).toHaveLength(0);
  });

  it.each([
    ['http instead of https', `http://graph.example.test/v1.0/x`],
    ['other port', `${GRAPH_ORIGIN}:8443/v1.0/x`],
    ['user info', `https://user@graph.example.test/v1.0/x`],
    ['look-alike host', 'https://graph.example.test.evil.example/v1.0/x'],
    ['protocol-relative', '//evil.example.test/x'],
  ])('checkNextLink refuses %s', (_name, link) => {
    expect(() => checkNextLink(link, `${LIST_URL}?a=1`, GRAPH_ORIGIN, new Set())).toThrow(/outside the configured Graph URL/);
  });

  it('accepts a relative nextLink on the same origin', () => {
    expect(checkNextLink('/v1.0/x?$skiptoken=1', LIST_URL, GRAPH_ORIGIN, new Set())).toBe(`${GRAPH_ORIGIN}/v1.0/x?$skiptoken=1`);
  });

  it('refuses a nextLink that does not advance', async () => {
    let requests = 0;
    server.use(
      http.get(LIST_URL, () => {
        requests++;
        return HttpResponse.json({ value: [row('2026-03-01T11:10:00Z')], '@odata.nextLink': `${LIST_URL}?$skiptoken=same` });
      }),
    );
    const { client } = setup();
    await expect(readRows(client)).rejects.toMatchObject({ code: 'graph_invalid_response', message: expect.stringContaining('does not advance') });
    expect(requests).toBe(2);
  });

  it('on 401 gets a fresh token and retries once', async () => {
    const auth: (string | null)[] = [];
    server.use(
      http.get(LIST_URL, ({ request }) => {
        auth.push(request.headers.get('authorization'));
        if (auth.length === 1) return HttpResponse.json(graphError('InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.'), { status: 401 });
        return HttpResponse.json({ value: [row('2026-03-01T11:10:00Z')] });
      }),
    );
    const { client, tokens } = setup();
    expect((await readRows(client)).flat()).toHaveLength(1);
    expect(auth).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(tokens.calls.map((c) => c.forceRefresh)).toEqual([false, true]);
    expect(client.stats.tokenRefreshes).toBe(1);
  });

  it('a second 401 is reported with Graph’s service principal hint, not retried again', async () => {
    let requests = 0;
    server.use(
      http.get(LIST_URL, () => {
        requests++;
        return HttpResponse.json(
          graphError(
            'Unauthorized',
            'Service principal-less authentication failed: The service principal for App ID 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373 was not found.',
            'rid-401',
          ),
          { status: 401 },
        );
      }),
    );
    const { client } = setup();
    const error = await readRows(client).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'graph_unauthorized', requestId: 'rid-401', upstreamCode: 'Unauthorized', status: 401 });
    expect(String((error as Error).message)).toMatch(/service principal .*missing/);
    expect(String((error as Error).message)).not.toContain('token-');
    expect(requests).toBe(2);
  });

  it('403 → graph_forbidden naming the permission', async () => {
    server.use(http.get(LIST_URL, () => HttpResponse.json(graphError('Authorization_RequestDenied', 'Insufficient privileges'), { status: 403 })));
    const { client } = setup();
    await expect(readRows(client)).rejects.toMatchObject({ code: 'graph_forbidden', message: expect.stringContaining('ExchangeMessageTrace.Read.All') });
  });

  it('a page that is not the documented shape → graph_invalid_response naming the field, not retried', async () => {
    let requests = 0;
    server.use(
      http.get(LIST_URL, () => {
        requests++;
        return HttpResponse.json({ value: [{ ...row('2026-03-01T11:10:00Z'), receivedDateTime: undefined }] });
      }),
    );
    const { client } = setup();
    await expect(readRows(client)).rejects.toMatchObject({ code: 'graph_invalid_response', message: expect.stringContaining('value.0.receivedDateTime') });
    expect(requests).toBe(1);
  });

  it('429 then success through msw, Retry-After honoured on the engine clock', async () => {
    let requests = 0;
    server.use(
      http.get(LIST_URL, () => {
        requests++;
        if (requests === 1) return HttpResponse.json(graphError('TooManyRequests', 'x'), { status: 429, headers: { 'Retry-After': '12' } });
        return HttpResponse.json({ value: [row('2026-03-01T11:10:00Z')] });
      }),
    );
    const { client, engine } = setup();
    expect((await readRows(client)).flat()).toHaveLength(1);
    expect(engine.now()).toBe(START + 12_000);
  });

  it('getDetailsByRecipient builds the function URL with an escaped literal and follows pages', async () => {
    const seen: string[] = [];
    server.use(
      http.get(`${LIST_URL}/:id/:fn`, ({ request }) => {
        seen.push(request.url);
        const detail = { id: 'trace 1', dateTime: '2026-03-01T11:10:00.12Z', event: 'Receive', action: null, description: 'received', data: '<root/>' };
        if (seen.length === 1) return HttpResponse.json({ value: [detail], '@odata.nextLink': `${request.url}?$skiptoken=2` });
        return HttpResponse.json({ value: [{ ...detail, event: 'Deliver' }] });
      }),
    );
    const { client } = setup();
    const details = await client.getDetailsByRecipient('trace 1', "o'brien@contoso.com");
    expect(details.map((d) => d.event)).toEqual(['Receive', 'Deliver']);
    const first = new URL(seen[0] ?? '');
    expect(decodeURIComponent(first.pathname)).toBe(
      "/v1.0/admin/exchange/tracing/messageTraces/trace 1/getDetailsByRecipient(recipientAddress='o''brien@contoso.com')",
    );
  });
});
