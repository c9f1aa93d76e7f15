/**
 * The XSIAM sink against a real HTTP server on 127.0.0.1: what goes over the wire (method, headers, gzip
 * NDJSON body), how events are chunked, which failures are retried, and that the API key never leaks.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_META, type Logger, type TraceEvent } from '../../src/engine/types.js';
import { IntegrationError } from '../../src/errors.js';
import { XSIAM_MAX_CHUNK_BYTES, chunkEvents, createXsiamSink } from '../../src/standalone/sinks/xsiam.js';

const API_KEY = 'xsiam-test-key-7f3a9c1e5b';

interface Received {
  method: string | undefined;
  path: string | undefined;
  headers: IncomingMessage['headers'];
  /** Uncompressed body. */
  ndjson: string;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'destroy';

/** A collector stand-in: records each request, answers from a script, then 200 {"error":"false"}. */
class FakeCollector {
  readonly received: Received[] = [];
  private script: Reply[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/logs/v1/event`;
  }

  answer(...replies: Reply[]): void {
    this.script.push(...replies);
  }

  reset(): void {
    this.received.length = 0;
    this.script = [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const raw = Buffer.concat(parts);
    const ndjson = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    this.received.push({ method: req.method, path: req.url, headers: req.headers, ndjson });
    const reply = this.script.shift() ?? { status: 200, body: '{"error":"false"}' };
    if (reply === 'destroy') {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body ?? '');
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** Everything the sink logs, as text, to search for the key. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

function makeEvents(count: number, padBytes = 0, from = 0): TraceEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `trace-${from + i}`,
    recipientAddress: `user${from + i}@contoso.com`,
    senderAddress: 'sender@fabrikam.com',
    subject: `Subject ${from + i} ünïcödé ${'x'.repeat(padBytes)}`,
    status: 'delivered',
    receivedDateTime: '2026-11-25T10:00:00Z',
    _time: '2026-11-25T10:00:00Z',
  }));
}

function parseLines(ndjson: string): unknown[] {
  expect(ndjson.endsWith('\n')).toBe(true);
  return ndjson
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
}

/** Every text an error carries: message, stack and causes. */
function errorText(error: unknown): string {
  const texts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (current instanceof Error) {
      texts.push(current.message, current.stack ?? '', String(current));
      if (current instanceof IntegrationError) texts.push(current.fullMessage);
      current = current.cause;
    } else {
      texts.push(String(current));
      break;
    }
  }
  return texts.join('\n');
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IntegrationError);
  return error as IntegrationError;
}

const collector = new FakeCollector();
let log: ReturnType<typeof recordingLogger>;
let delays: number[];

function sink(overrides: Partial<Parameters<typeof createXsiamSink>[0]> = {}) {
  return createXsiamSink({
    url: collector.url,
    apiKey: API_KEY,
    log,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
}

beforeAll(() => collector.start());
beforeEach(() => {
  log = recordingLogger();
  delays = [];
});
afterAll(() => collector.stop());
afterEach(() => {
  // Whatever a test did, the key never reached a log line.
  for (const line of log.lines) expect(line).not.toContain(API_KEY);
  collector.reset();
});

describe('createXsiamSink', () => {
  it('posts one gzip NDJSON request with the collector headers', async () => {
    const events = makeEvents(3);
    await sink().send(events, EVENT_META);

    expect(collector.received).toHaveLength(1);
    const [request] = collector.received;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/logs/v1/event');
    expect(request?.headers.authorization).toBe(API_KEY);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['content-encoding']).toBe('gzip');
    expect(parseLines(request?.ndjson ?? '')).toEqual(events);
    expect(delays).toEqual([]);
  });

  it('sends nothing for an empty batch', async () => {
    await sink().send([], EVENT_META);
    expect(collector.received).toHaveLength(0);
  });

  it('splits a large batch into chunks of at most 1 MiB uncompressed, in order, never splitting an event', async () => {
    // About 2.6 MB of NDJSON: three chunks at the default size.
    const events = makeEvents(2500, 1000);
    await sink().send(events, EVENT_META);

    expect(collector.received.length).toBeGreaterThanOrEqual(3);
    const all: unknown[] = [];
    for (const request of collector.received) {
      expect(Buffer.byteLength(request.ndjson, 'utf8')).toBeLessThanOrEqual(XSIAM_MAX_CHUNK_BYTES);
      all.push(...parseLines(request.ndjson));
    }
    expect(all).toEqual(events);
  });

  it('fills chunks up to the limit exactly (pure chunking)', () => {
    const events = makeEvents(10);
    const lineBytes = events.map((e) => Buffer.byteLength(JSON.stringify(e), 'utf8') + 1);
    const limit = (lineBytes[0] ?? 0) * 3 + 2; // three lines fit, four do not
    const chunks = chunkEvents(events, limit);
    expect(chunks.map((c) => c.lines.length)).toEqual([3, 3, 3, 1]);
    expect(chunks.map((c) => c.firstEvent)).toEqual([0, 3, 6, 9]);
    for (const chunk of chunks) expect(chunk.bytes).toBeLessThanOrEqual(limit);
  });

  it('refuses, before sending anything, a single event larger than a chunk, naming its id', async () => {
    const events = [...makeEvents(2), { ...makeEvents(1, 5000, 7)[0], id: 'huge-one' } as TraceEvent];
    const error = await rejection(sink({ maxChunkBytes: 4096 }).send(events, EVENT_META));
    expect(error.code).toBe('sink_failed');
    expect(error.message).toContain('huge-one');
    expect(collector.received).toHaveLength(0);
  });

  it('retries a chunk after a 500 and resolves once it is accepted', async () => {
    collector.answer({ status: 500, body: '{"error":"internal"}' });
    const events = makeEvents(5);
    await sink().send(events, EVENT_META);

    expect(collector.received).toHaveLength(2);
    expect(collector.received[0]?.ndjson).toBe(collector.received[1]?.ndjson);
    expect(delays).toHaveLength(1);
    // Capped exponential backoff: first wait between half and all of the 1 s base.
    expect(delays[0]).toBeGreaterThanOrEqual(500);
    expect(delays[0]).toBeLessThanOrEqual(1000);
  });

  it('retries after a dropped connection', async () => {
    collector.answer('destroy');
    await sink().send(makeEvents(2), EVENT_META);
    expect(collector.received).toHaveLength(2);
    expect(delays).toHaveLength(1);
  });

  it('honours Retry-After in seconds and as an HTTP date, without jitter', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    collector.answer(
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 503, headers: { 'retry-after': 'Wed, 25 Nov 2026 12:00:42 GMT' } },
    );
    await sink({ now: () => now }).send(makeEvents(2), EVENT_META);
    expect(collector.received).toHaveLength(3);
    expect(delays).toEqual([7000, 42_000]);
  });

  it('gives up at once when Retry-After asks for longer than it will wait, and says so', async () => {
    collector.answer({ status: 429, headers: { 'retry-after': '3600' } });
    const error = await rejection(sink().send(makeEvents(1), EVENT_META));
    expect(collector.received).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(error.message).toContain('HTTP 429 (Retry-After 3600 s)');
  });

  it('does not retry a 401, and says to check the API key', async () => {
    collector.answer({ status: 401, body: '{"error":"unauthorized"}' });
    const error = await rejection(sink().send(makeEvents(3), EVENT_META));

    expect(collector.received).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(error.code).toBe('sink_failed');
    expect(error.status).toBe(401);
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain('API key');
    expect(error.message).toContain('0 chunks (0 events) were accepted');
    expect(errorText(error)).not.toContain(API_KEY);
  });

  it('does not retry a 403 either', async () => {
    collector.answer({ status: 403 });
    const error = await rejection(sink().send(makeEvents(1), EVENT_META));
    expect(collector.received).toHaveLength(1);
    expect(error.status).toBe(403);
    expect(error.message).toContain('API key');
  });

  it('rejects after a persistent 503, naming the progress, and sends no later chunk', async () => {
    const events = makeEvents(9);
    const lineBytes = Buffer.byteLength(JSON.stringify(events[0]), 'utf8') + 1;
    // Chunk 1 is accepted; chunk 2 fails on every try.
    collector.answer({ status: 200 }, ...Array.from({ length: 3 }, () => ({ status: 503 })));
    const error = await rejection(sink({ maxChunkBytes: lineBytes * 3 + 10, maxAttempts: 3 }).send(events, EVENT_META));

    expect(collector.received).toHaveLength(1 + 3);
    expect(delays).toHaveLength(2);
    expect(error.code).toBe('sink_failed');
    expect(error.status).toBe(503);
    expect(error.message).toContain('chunk 2 of 3');
    expect(error.message).toContain('1 chunk (3 events) were accepted');
    expect(error.message).toContain('HTTP 503');
    expect(error.message).toContain('gave up after 3 tries');
    expect(error.message).toMatch(/URL/);
    expect(error.message).toMatch(/API key/);
    expect(error.message).toContain('Custom - HTTP based Collector');
    expect(error.message).toContain('duplicates, not loss');
    expect(errorText(error)).not.toContain(API_KEY);
    // The events of the accepted chunk arrived once; the failed chunk was never reported as accepted.
    expect(parseLines(collector.received[0]?.ndjson ?? '')).toEqual(events.slice(0, 3));
  });

  it('treats a 2xx whose body reports an error as a refusal, without retrying', async () => {
    collector.answer({ status: 200, body: '{"error":"true"}' });
    const error = await rejection(sink().send(makeEvents(1), EVENT_META));
    expect(collector.received).toHaveLength(1);
    expect(error.message).toContain("reported the error 'true'");
  });

  it('rejects with a network error when nothing listens, after retrying', async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/logs/v1/event`;

    const error = await rejection(sink({ url, maxAttempts: 2 }).send(makeEvents(1), EVENT_META));
    expect(error.code).toBe('sink_failed');
    expect(delays).toHaveLength(1);
    expect(error.message).toContain(`could not reach ${url} (ECONNREFUSED)`);
    expect(errorText(error)).not.toContain(API_KEY);
  });

  describe('configuration', () => {
    it('requires https, except to this machine', () => {
      expect(() => sink({ url: 'http://api-tenant.example.com/logs/v1/event' })).toThrow(/https/);
      expect(() => sink({ url: 'https://api-tenant.example.com/logs/v1/event' })).not.toThrow();
      expect(() => sink({ url: 'not a url' })).toThrow(/not a URL/);
    });

    it('refuses credentials in the URL without quoting them', () => {
      let thrown: unknown;
      try {
        sink({ url: 'https://admin:hunter2-secret@api-tenant.example.com/logs/v1/event' });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(IntegrationError);
      expect(errorText(thrown)).not.toContain('hunter2-secret');
      expect((thrown as IntegrationError).message).toContain('user name or password');
    });

    it('refuses an empty key or one with a line break, without quoting it', () => {
      expect(() => sink({ apiKey: '  ' })).toThrow(/empty/);
      let thrown: unknown;
      try {
        sink({ apiKey: `${API_KEY}\r\nX-Injected: 1` });
      } catch (error) {
        thrown = error;
      }
      expect(errorText(thrown)).toContain('line break');
      expect(errorText(thrown)).not.toContain(API_KEY);
    });
  });
});
