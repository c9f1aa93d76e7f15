/**
 * Hostile or broken responses are bounded (http/body-limits.ts) and outside text cannot steer a terminal
 * (engine/terminal-safe.ts): body size by Content-Length and while streaming, JSON depth and string length
 * before JSON.parse, the Graph client and the MSAL network module reporting each as a clear error, and log
 * lines, error lines and markdown cells that stay one line with no control character.
 */
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mapAuthError } from '../../src/auth/errors.js';
import { type TransportFailure, createMsalNetworkClient } from '../../src/auth/network.js';
import { errorLine } from '../../src/cli/output.js';
import { escapeCell, markdownTable } from '../../src/commands/markdown.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { formatLogLine } from '../../src/standalone/stderr-logger.js';
import { IntegrationError } from '../../src/errors.js';
import { createGraphClient } from '../../src/graph/client.js';
import { BodyLimitError, jsonShapeProblem, readBodyWithin } from '../../src/http/body-limits.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { FakeTokens, LIST_URL, row, testParams } from './graph-test-kit.js';
import { rejectionOf } from '../helpers/rejection.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const START = Date.parse('2026-03-01T12:00:00Z');
/** A body stream that counts how much of it was pulled, so a test can see the reader stopped early. */
function countingStream(chunk: Uint8Array, chunks: number) {
  const pulled = { count: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled.count++;
      if (pulled.count > chunks) controller.close();
      else controller.enqueue(chunk);
    },
    cancel() {
      pulled.cancelled = true;
    },
  });
  return { stream, pulled };
}

const limitError = (promise: Promise<unknown>) => rejectionOf(promise, BodyLimitError);

describe('readBodyWithin', () => {
  it('refuses by Content-Length without reading the body', async () => {
    const { stream, pulled } = countingStream(new Uint8Array(1024), 1000);
    const response = new Response(stream, { headers: { 'content-length': String(1024 * 1000) } });
    const error = await limitError(readBodyWithin(response, 64 * 1024));
    expect(error.reason).toBe('too_large');
    expect(error.message).toBe('a body larger than 65536 bytes');
    expect(pulled.count).toBeLessThanOrEqual(1);
  });

  it('stops reading a body without Content-Length as soon as it passes the limit', async () => {
    const { stream, pulled } = countingStream(new Uint8Array(1024 * 1024), 10_000);
    const error = await limitError(readBodyWithin(new Response(stream), 4 * 1024 * 1024));
    expect(error.message).toBe('a body larger than 4 MiB');
    expect(pulled.count).toBeLessThan(10);
    expect(pulled.cancelled).toBe(true);
  });

  it('reads a body within the limit as UTF-8 text, as Response.text() would', async () => {
    const text = '\ufeff{"subject":"Grüße 👋"}';
    expect(await readBodyWithin(new Response(text), 1024)).toBe('{"subject":"Grüße 👋"}');
  });

  it('decodes characters split between chunks, drops a leading BOM and replaces invalid bytes, as Response.text() does', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"s":"Grüße 👋'), 0xff, ...new TextEncoder().encode('"}')]);
    // One byte per chunk: every multi-byte character (the BOM, ü, ß, the emoji) arrives in pieces.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    const text = await readBodyWithin(new Response(stream), 1024);
    expect(text).toBe('{"s":"Grüße 👋\uFFFD"}');
    expect(text).toBe(await new Response(bytes).text());
  });
});

describe('readBodyWithin, from a byte stream (as fetch gives), read into one buffer', () => {
  /** A byte stream that hands over `bytes` in chunks of `size`, counting pulls and seeing a cancel. */
  function byteStream(bytes: Uint8Array, size: number) {
    const pulled = { count: 0, cancelled: false };
    let at = 0;
    const stream = new ReadableStream({
      type: 'bytes',
      pull(controller) {
        pulled.count++;
        if (at >= bytes.length) {
          controller.close();
          // A BYOB read waiting when the stream closes must be answered with an empty view.
          controller.byobRequest?.respond(0);
          return;
        }
        controller.enqueue(bytes.slice(at, at + size));
        at += size;
      },
      cancel() {
        pulled.cancelled = true;
      },
    });
    return { stream, pulled };
  }
  const utf8 = (text: string) => new TextEncoder().encode(text);

  it('decodes characters split between chunks, drops a leading BOM and replaces invalid bytes, as Response.text() does', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{"s":"Grüße 👋'), 0xff, ...utf8('"}')]);
    const { stream } = byteStream(bytes, 1);
    const text = await readBodyWithin(new Response(stream), 1024);
    expect(text).toBe('{"s":"Grüße 👋\uFFFD"}');
    expect(text).toBe(await new Response(bytes).text());
  });

  it('reads bodies larger than its first buffer whole, and a shorter one after them without the longer one\'s bytes', async () => {
    const long = `{"value":"${'é'.repeat(300_000)}"}`;
    const short = '{"value":"ok"}';
    expect(await readBodyWithin(new Response(byteStream(utf8(long), 16 * 1024).stream), 4 * 1024 * 1024)).toBe(long);
    expect(await readBodyWithin(new Response(byteStream(utf8(short), 16 * 1024).stream), 1024)).toBe(short);
    // A Content-Length that says less than what comes (a proxy that got it wrong) still gives the whole body.
    const lying = new Response(byteStream(utf8(long), 64 * 1024).stream, { headers: { 'content-length': '10' } });
    expect(await readBodyWithin(lying, 4 * 1024 * 1024)).toBe(long);
  });

  it('stops reading a body without Content-Length as soon as it passes the limit', async () => {
    const { stream, pulled } = byteStream(new Uint8Array(64 * 1024 * 1024), 1024 * 1024);
    const error = await limitError(readBodyWithin(new Response(stream), 4 * 1024 * 1024));
    expect(error.message).toBe('a body larger than 4 MiB');
    expect(pulled.count).toBeLessThan(10);
    expect(pulled.cancelled).toBe(true);
  });
});

describe('jsonShapeProblem', () => {
  const limits = { maxDepth: 8, maxStringLength: 100 };
  it.each([
    ['nesting deeper than the limit', `${'['.repeat(9)}${']'.repeat(9)}`, 'JSON nested deeper than 8 levels'],
    ['objects deeper than the limit', `${'{"a":'.repeat(9)}1${'}'.repeat(9)}`, 'JSON nested deeper than 8 levels'],
    ['a string longer than the limit', JSON.stringify({ value: [{ subject: 'x'.repeat(101) }] }), 'a JSON string longer than 100 characters'],
    ['a long string of escaped quotes', JSON.stringify({ s: '"'.repeat(60) }), 'a JSON string longer than 100 characters'],
  ])('finds %s', (_case, text, message) => {
    expect(jsonShapeProblem(text, limits)?.message).toBe(message);
  });

  it.each([
    ['brackets and braces inside strings', JSON.stringify({ s: '[[[[[[[[[[{{{{{{{{{{', t: ']]]}}}' })],
    ['escaped quotes and backslashes', JSON.stringify({ s: 'a \\" [[[[[[[[[[ \\\\', t: '\\' })],
    ['exactly the limits', `${'['.repeat(7)}${JSON.stringify('y'.repeat(100))}${']'.repeat(7)}`],
    ['a Graph page', JSON.stringify({ value: [row('2026-03-01T11:00:00Z')], '@odata.nextLink': 'https://x/?$skiptoken=abc' })],
  ])('accepts %s', (_case, text) => {
    expect(jsonShapeProblem(text, limits)).toBeUndefined();
  });
});

describe('the Graph client', () => {
  function client() {
    const engine = new MemoryEngine({ startTimeMs: START });
    return createGraphClient({
      params: testParams(),
      engine,
      http: createHttpFetch({ proxy: false, insecure: false }),
      tokens: new FakeTokens(),
      random: () => 0.5,
      bodyLimits: { maxBytes: 256 * 1024, maxDepth: 16, maxStringLength: 4096 },
    });
  }
  async function failure(): Promise<IntegrationError> {
    try {
      for await (const _ of client().listMessageTraces({ startMs: START - 3_600_000, endMs: START })) {
        // reading
      }
    } catch (error) {
      if (error instanceof IntegrationError) return error;
      throw error;
    }
    throw new Error('expected an IntegrationError');
  }

  it.each([
    ['an oversized page', () => ({ value: Array.from({ length: 2000 }, () => row('2026-03-01T11:00:00Z')) }), /larger than 262144 bytes/],
    ['a deeply nested page', () => JSON.parse(`{"value":[{"x":${'['.repeat(40)}${']'.repeat(40)}}]}`), /nested deeper than 16 levels/],
    ['a row with an absurdly long subject', () => ({ value: [row('2026-03-01T11:00:00Z', { subject: 's'.repeat(5000) })] }), /string longer than 4096 characters/],
  ])('refuses %s with graph_invalid_response after the usual retries', async (_case, page, message) => {
    let requests = 0;
    server.use(
      http.get(LIST_URL, () => {
        requests++;
        return HttpResponse.json(page());
      }),
    );
    const error = await failure();
    expect(error.code).toBe('graph_invalid_response');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/refused unread\. Graph never sends such responses/);
    expect(requests).toBe(5);
  });
});

describe('token responses', () => {
  it('an oversized or deeply nested token response is a refused_body failure with a clear message', async () => {
    server.use(
      http.post('https://login.example.test/tenant/oauth2/v2.0/token', () => HttpResponse.text(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`)),
      http.get('https://login.example.test/big', () => new HttpResponse(new Uint8Array(2 * 1024 * 1024))),
    );
    const network = createMsalNetworkClient(createHttpFetch({ proxy: false, insecure: false }));
    const failures: TransportFailure[] = [];
    for (const attempt of [
      () => network.sendPostRequestAsync('https://login.example.test/tenant/oauth2/v2.0/token', { body: 'grant_type=x' }),
      () => network.sendGetRequestAsync('https://login.example.test/big'),
    ]) {
      await attempt().then(
        () => expect.fail('expected a refusal'),
        (error: unknown) => failures.push(error as TransportFailure),
      );
    }
    expect(failures.map((f) => [f.kind, f.causeCode])).toEqual([
      ['refused_body', 'JSON nested deeper than 32 levels'],
      ['refused_body', 'a body larger than 1 MiB'],
    ]);
    const mapped = mapAuthError(failures[1], { method: 'client_secret', phase: 'client_credential', url: 'https://graph.example.test' });
    expect(mapped.message).toMatch(/Entra ID at login\.example\.test sent a body larger than 1 MiB; it was refused unread\..*authority_url/);
  });
});

describe('text for people cannot be steered by the data', () => {
  const hostile = 'Invoice\r\n2026-01-01T00:00:00.000Z error forged line\u001b[2J\u001b]0;owned\u0007 \u009b31m \u202eexe.pdf\u2028x';
  /** Control characters (line feed aside), line separators and bidi overrides, by code point. */
  const unsafe = {
    asymmetricMatch: (text: string) =>
      [...text].some((char) => {
        const code = char.codePointAt(0) ?? 0;
        return (code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f) || [0x2028, 0x2029, 0x202e, 0x2066].includes(code);
      }),
  };

  it('log lines stay one line with no control character, whether the text is the message or a field', () => {
    for (const line of [
      formatLogLine(START, 'info', hostile),
      formatLogLine(START, 'warn', 'Row skipped', { subject: hostile, sender: 'a\u001b[31m@b.com', n: 1 }),
    ]) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toMatch(/[\r\n]/);
      expect(line).not.toEqual(unsafe);
      expect(line).toContain('\\u001b');
    }
  });

  it('error lines and markdown cells too', () => {
    const line = errorLine('graph_bad_request', `Graph said: ${hostile}`);
    expect(line.slice(0, -1)).not.toMatch(/[\r\n]/);
    expect(line).not.toEqual(unsafe);
    const table = markdownTable('Events', [{ subject: hostile }], [{ header: 'Subject', value: (r) => r.subject }]);
    expect(table).not.toEqual(unsafe);
    expect(table.split('\n')).toHaveLength(5);
    expect(escapeCell(hostile)).toContain('<br>');
  });
});
