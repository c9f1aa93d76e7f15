import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { IntegrationError } from '../../src/errors.js';
import { createGraphClient } from '../../src/graph/client.js';
import {
  DEFAULT_RETRY_POLICY,
  type FailureOutcome,
  backoffMs,
  retryVerdict,
  runWithRetry,
} from '../../src/http/retry.js';
import type { HttpFetch } from '../../src/http/transport.js';
import { FakeTokens, graphError, row, testParams } from './graph-test-kit.js';

const START = Date.parse('2026-03-01T12:00:00Z');
const half = () => 0.5;

describe('retryVerdict', () => {
  it.each<[string, FailureOutcome, boolean]>([
    ['429', { kind: 'status', status: 429 }, true],
    ['500', { kind: 'status', status: 500 }, true],
    ['502', { kind: 'status', status: 502 }, true],
    ['503', { kind: 'status', status: 503 }, true],
    ['504', { kind: 'status', status: 504 }, true],
    ['400', { kind: 'status', status: 400 }, false],
    ['401', { kind: 'status', status: 401 }, false],
    ['403', { kind: 'status', status: 403 }, false],
    ['404', { kind: 'status', status: 404 }, false],
    ['501', { kind: 'status', status: 501 }, false],
    ['socket closed', { kind: 'network', code: 'UND_ERR_SOCKET' }, true],
    ['headers timeout', { kind: 'network', code: 'UND_ERR_HEADERS_TIMEOUT' }, true],
    ['body timeout', { kind: 'network', code: 'UND_ERR_BODY_TIMEOUT' }, true],
    ['connect timeout', { kind: 'network', code: 'UND_ERR_CONNECT_TIMEOUT' }, true],
    ['reset', { kind: 'network', code: 'ECONNRESET' }, true],
    ['refused', { kind: 'network', code: 'ECONNREFUSED' }, true],
    ['unknown host (configuration)', { kind: 'network', code: 'ENOTFOUND' }, false],
    ['TLS failure (configuration)', { kind: 'network', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, false],
    ['no code', { kind: 'network', code: undefined }, false],
    ['truncated JSON', { kind: 'invalid_body' }, true],
  ])('%s → retry %s', (_name, outcome, retry) => {
    expect(retryVerdict(1, outcome, DEFAULT_RETRY_POLICY, half).retry).toBe(retry);
  });

  it('backs off exponentially with equal jitter, capped', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, maxTries: 20 };
    const low = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, policy, () => 0));
    const high = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, policy, () => 0.999999));
    expect(low).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
    expect(high).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('takes the server’s wait exactly, without jitter', () => {
    expect(retryVerdict(1, { kind: 'status', status: 429, retryAfterMs: 7000 }, DEFAULT_RETRY_POLICY, () => 0.1)).toEqual({
      retry: true,
      delayMs: 7000,
      serverNamedWait: true,
    });
    expect(retryVerdict(1, { kind: 'status', status: 503, retryAfterMs: 0 }, DEFAULT_RETRY_POLICY, half)).toMatchObject({ delayMs: 0 });
  });

  it('gives up when the server asks for longer than the policy accepts', () => {
    expect(retryVerdict(1, { kind: 'status', status: 429, retryAfterMs: 3_600_000 }).retry).toBe(false);
  });

  it('stops after maxTries', () => {
    const outcome: FailureOutcome = { kind: 'status', status: 503 };
    expect(retryVerdict(4, outcome).retry).toBe(true);
    expect(retryVerdict(5, outcome).retry).toBe(false);
  });
});

describe('runWithRetry on a virtual clock', () => {
  const failure = (outcome: FailureOutcome) => ({ ok: false as const, outcome, error: new IntegrationError('graph_unavailable', 'down') });

  it('sleeps on the engine clock and returns the first success', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const at: number[] = [];
    const value = await runWithRetry(
      async (n) => {
        at.push(engine.now() - START);
        return n < 3 ? failure({ kind: 'status', status: 503 }) : { ok: true, value: 'done' };
      },
      { engine, random: half },
    );
    expect(value).toBe('done');
    expect(at).toEqual([0, 750, 750 + 1500]);
  });

  it('does not wait past the deadline: gives up with the last error', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const promise = runWithRetry(async () => failure({ kind: 'status', status: 429, retryAfterMs: 60_000 }), {
      engine,
      deadlineMs: START + 30_000,
    });
    await expect(promise).rejects.toMatchObject({ code: 'deadline_exceeded', message: expect.stringContaining("run's time budget") });
    expect(engine.now()).toBe(START);
  });

  it('starts no try after the deadline', async () => {
    const engine = new MemoryEngine({ startTimeMs: START + 10 });
    await expect(runWithRetry(async () => ({ ok: true, value: 1 }), { engine, deadlineMs: START })).rejects.toMatchObject({
      code: 'deadline_exceeded',
    });
  });
});

/** A fetch that plays a script of responses (or thrown errors) and records when each request came. */
function scriptedFetch(engine: MemoryEngine, script: Array<Response | Error | (() => Response)>) {
  const requests: { atMs: number; url: string; authorization: string | null }[] = [];
  const http: HttpFetch = async (url, init) => {
    requests.push({ atMs: engine.now() - START, url: String(url), authorization: new Headers(init?.headers).get('authorization') });
    const next = script.shift();
    if (next === undefined) throw new Error('script ran out');
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next() : next;
  };
  return { http, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const socketError = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code }) });
const okPage = () => json(200, { value: [row('2026-03-01T11:30:00Z')] });

async function readAll(client: ReturnType<typeof createGraphClient>) {
  const rows = [];
  for await (const page of client.listMessageTraces({ startMs: START - 3_600_000, endMs: START })) rows.push(...page.rows);
  return rows;
}

describe('Graph client retries (scripted fetch, virtual clock)', () => {
  it('retries 429 after Retry-After, 5xx and resets with backoff, truncated JSON, then succeeds', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http, requests } = scriptedFetch(engine, [
      json(429, graphError('TooManyRequests', 'slow down'), { 'retry-after': '7' }),
      json(503, graphError('ServiceUnavailable', 'later')),
      socketError('ECONNRESET'),
      new Response('{"value":[{"id":"x", "recei', { status: 200 }),
      okPage(),
    ]);
    const client = createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens(), random: half });
    const rows = await readAll(client);
    expect(rows).toHaveLength(1);
    // 7 s named by the server (no jitter); then 1.5 s (attempt 2), 3 s (attempt 3), 6 s (attempt 4) at jitter 0.5.
    expect(requests.map((r) => r.atMs)).toEqual([0, 7000, 8500, 11500, 17500]);
    expect(client.stats).toMatchObject({ requests: 5, retries: 4 });
    expect(engine.logs.filter((l) => l.level === 'warn')).toHaveLength(4);
  });

  it('malformed Retry-After falls back to normal backoff', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http, requests } = scriptedFetch(engine, [json(429, graphError('TooManyRequests', 'x'), { 'retry-after': 'soon' }), okPage()]);
    await readAll(createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens(), random: half }));
    expect(requests.map((r) => r.atMs)).toEqual([0, 750]);
  });

  it('gives up after 5 tries with the mapped error and the request id', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http, requests } = scriptedFetch(engine, Array.from({ length: 5 }, () => () => json(502, graphError('BadGateway', 'upstream', 'rid-502'))));
    const client = createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens(), random: half });
    await expect(readAll(client)).rejects.toMatchObject({ code: 'graph_unavailable', requestId: 'rid-502', status: 502 });
    expect(requests).toHaveLength(5);
  });

  it('429 that outlasts the deadline ends as deadline_exceeded (status kept) without sleeping past it', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http, requests } = scriptedFetch(engine, [
      json(429, graphError('TooManyRequests', 'x'), { 'retry-after': '10' }),
      json(429, graphError('TooManyRequests', 'x'), { 'retry-after': '30' }),
    ]);
    const client = createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens(), deadlineMs: START + 20_000 });
    await expect(readAll(client)).rejects.toMatchObject({ code: 'deadline_exceeded', status: 429, message: expect.stringContaining('throttling') });
    expect(requests.map((r) => r.atMs)).toEqual([0, 10_000]);
    expect(engine.now()).toBe(START + 10_000);
  });

  it('429 on every try ends as graph_throttled after 5 tries, each wait as the server named it', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http, requests } = scriptedFetch(
      engine,
      Array.from({ length: 5 }, () => () => json(429, graphError('TooManyRequests', 'x', 'rid-429'), { 'retry-after': '2' })),
    );
    const client = createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens() });
    await expect(readAll(client)).rejects.toMatchObject({ code: 'graph_throttled', status: 429, requestId: 'rid-429' });
    expect(requests.map((r) => r.atMs)).toEqual([0, 2000, 4000, 6000, 8000]);
  });

  it('does not retry 400 and reports Graph’s message', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http, requests } = scriptedFetch(engine, [
      json(400, graphError('BadRequest', 'The start date cannot be more than 90 days in the past.', 'rid-400')),
    ]);
    const error = await readAll(createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens() })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrationError);
    expect(error).toMatchObject({ code: 'graph_bad_request', requestId: 'rid-400', upstreamCode: 'BadRequest' });
    expect((error as IntegrationError).message).toContain('90 days in the past');
    expect(requests).toHaveLength(1);
  });

  it('does not retry configuration-type network failures', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http, requests } = scriptedFetch(engine, [socketError('ENOTFOUND')]);
    await expect(readAll(createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens() }))).rejects.toMatchObject({
      code: 'network',
      message: expect.stringContaining('ENOTFOUND'),
    });
    expect(requests).toHaveLength(1);
  });

  it('a body cut mid-stream (undici “terminated”) is retried', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const cut = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"value":['));
            controller.error(new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }));
          },
        }),
        { status: 200 },
      );
    const { http, requests } = scriptedFetch(engine, [cut, okPage()]);
    expect(await readAll(createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens(), random: half }))).toHaveLength(1);
    expect(requests).toHaveLength(2);
  });

  it('never puts the token in errors or logs', async () => {
    const engine = new MemoryEngine({ startTimeMs: START });
    const { http } = scriptedFetch(engine, Array.from({ length: 5 }, () => () => json(503, graphError('x', 'y'))));
    const error = await readAll(createGraphClient({ params: testParams(), engine, http, tokens: new FakeTokens(), random: half })).catch(
      (e: unknown) => e,
    );
    const text = JSON.stringify({ error: String(error), full: (error as IntegrationError).fullMessage, logs: engine.logs });
    expect(text).not.toContain('token-');
  });
});
