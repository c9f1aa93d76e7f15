/**
 * sendOnce (src/http/attempt.ts), the one try the Graph client and the XSIAM sink share: what each way a
 * request can end becomes for the retry loop (network code, status with Retry-After, invalid body, the
 * caller's verdict on a 2xx), and that an abort stops instead of counting as a failure.
 */
import { describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { type BodyReading, type SendOnceOptions, sendOnce } from '../../src/http/attempt.js';
import type { BodyLimitError } from '../../src/http/body-limits.js';
import type { HttpFetch } from '../../src/http/transport.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const JSON_BODY: BodyReading = {
  kind: 'json',
  limits: { maxBytes: 1024, maxDepth: 4, maxStringLength: 64 },
  refused: (error: BodyLimitError, response: Response) => new IntegrationError('graph_invalid_response', `refused ${error.reason} ${response.status}`),
};
const TEXT_BODY: BodyReading = { kind: 'text', maxBytes: 16 };

function options(http: HttpFetch, body: BodyReading = JSON_BODY, signal?: AbortSignal): SendOnceOptions<string> {
  return {
    http,
    url: 'https://example.test/thing',
    init: { method: 'GET', ...(signal ? { signal } : {}) },
    now: () => NOW,
    body,
    unreachable: (code, _cause, cutOff) => new IntegrationError('network', `unreachable ${code ?? '-'}${cutOff ? ' cut off' : ''}`),
    refused: (response, text, retryAfterMs) => new IntegrationError('graph_unavailable', `refused ${response.status} '${text}' ${retryAfterMs ?? '-'}`),
    accept: (_response, text) => ({ ok: true, value: text }),
  };
}

const answer =
  (response: () => Response): HttpFetch =>
  async () =>
    response();
const coded = (code: string) => Object.assign(new Error('x'), { code });

/** A body that sends `first` and then breaks with `error`, as a dropped connection does. */
function brokenBody(first: string, error: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
      controller.error(error);
    },
  });
}

describe('sendOnce', () => {
  it('a 2xx goes to the caller with its body', async () => {
    const result = await sendOnce(options(answer(() => new Response('{"value":[]}', { status: 200 }))));
    expect(result).toEqual({ ok: true, value: '{"value":[]}' });
  });

  it('a 2xx the caller refuses stays refused', async () => {
    const result = await sendOnce({
      ...options(answer(() => new Response('{"error":"no"}'))),
      accept: () => ({ ok: false, outcome: { kind: 'status', status: 200 }, error: new IntegrationError('sink_failed', 'said no') }),
    });
    expect(result).toMatchObject({ ok: false, outcome: { kind: 'status', status: 200 }, error: { message: 'said no' } });
  });

  it.each([
    ['seconds', '7', 7_000],
    ['an HTTP date', new Date(NOW + 30_000).toUTCString(), 30_000],
    ['nothing', undefined, undefined],
  ])('a non-2xx carries its status, body and Retry-After (%s)', async (_, retryAfter, expectedMs) => {
    const headers = retryAfter === undefined ? undefined : { 'retry-after': retryAfter };
    const result = await sendOnce(options(answer(() => new Response('busy', { status: 429, ...(headers ? { headers } : {}) }))));
    expect(result).toMatchObject({
      ok: false,
      outcome: { kind: 'status', status: 429, retryAfterMs: expectedMs },
      error: { message: `refused 429 'busy' ${expectedMs ?? '-'}` },
    });
  });

  it('no answer is a network failure with the code found in the cause', async () => {
    const http: HttpFetch = async () => {
      throw new TypeError('fetch failed', { cause: coded('ECONNRESET') });
    };
    const result = await sendOnce(options(http));
    expect(result).toMatchObject({ ok: false, outcome: { kind: 'network', code: 'ECONNRESET' }, error: { message: 'unreachable ECONNRESET' } });
  });

  it('a JSON body cut off is a network failure, said to be cut off', async () => {
    const http = answer(() => new Response(brokenBody('{"value":[', new TypeError('terminated', { cause: coded('UND_ERR_SOCKET') }))));
    const result = await sendOnce(options(http));
    expect(result).toMatchObject({ ok: false, outcome: { kind: 'network', code: 'UND_ERR_SOCKET' }, error: { message: 'unreachable UND_ERR_SOCKET cut off' } });
  });

  it.each([
    ['too large', 'x'.repeat(2048), 'too_large'],
    ['too deep', '[[[[[[]]]]]]', 'too_deep'],
    ['a string too long', `"${'y'.repeat(100)}"`, 'string_too_long'],
  ])('a JSON body %s is an invalid body in the caller’s words, never parsed', async (_, text, reason) => {
    let accepted = false;
    const result = await sendOnce({
      ...options(answer(() => new Response(text, { status: 200 }))),
      accept: () => {
        accepted = true;
        return { ok: true, value: '' };
      },
    });
    expect(accepted).toBe(false);
    expect(result).toMatchObject({ ok: false, outcome: { kind: 'invalid_body' }, error: { message: `refused ${reason} 200` } });
  });

  it('a text body that cannot be read reads as empty and the status decides', async () => {
    const tooLarge = await sendOnce(options(answer(() => new Response('z'.repeat(64), { status: 503 })), TEXT_BODY));
    expect(tooLarge).toMatchObject({ ok: false, outcome: { kind: 'status', status: 503 }, error: { message: "refused 503 '' -" } });
    const cutOff = await sendOnce(options(answer(() => new Response(brokenBody('ok', coded('UND_ERR_SOCKET')), { status: 200 })), TEXT_BODY));
    expect(cutOff).toEqual({ ok: true, value: '' });
  });

  it('an abort is thrown, not turned into a failure to retry', async () => {
    const controller = new AbortController();
    const http: HttpFetch = async () => {
      controller.abort();
      throw controller.signal.reason;
    };
    await expect(sendOnce(options(http, JSON_BODY, controller.signal))).rejects.toMatchObject({ name: 'AbortError' });
    const bodyAborted = new AbortController();
    const slowBody = answer(() => {
      bodyAborted.abort();
      return new Response(brokenBody('{', bodyAborted.signal.reason));
    });
    await expect(sendOnce(options(slowBody, JSON_BODY, bodyAborted.signal))).rejects.toMatchObject({ name: 'AbortError' });
  });
});
