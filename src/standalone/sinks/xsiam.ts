/**
 * Posts events to a Cortex XSIAM "Custom - HTTP based Collector": `POST https://api-<tenant fqdn>/logs/v1/event`
 * with `Authorization: <api key>`, one JSON event per line, gzip-compressed, in chunks of at most 1 MiB of
 * uncompressed NDJSON. Chunks go one after another; 429, 500/502/503/504 and broken connections are retried
 * with capped backoff (exactly the Retry-After wait when XSIAM names one), by the same retry verdicts as the
 * Graph calls (src/http/retry.ts); 401/403 and other 4xx are not retried. `send` resolves only when every chunk was
 * accepted, so the fetch position moves only past events XSIAM took.
 *
 * Delivery is at-least-once. If chunk 3 of 5 fails, chunks 1 and 2 are already ingested, but `send` rejects,
 * the fetch position does not move, and the next run fetches and sends the same window again: chunks 1 and 2
 * arrive twice. Duplicates, never loss. Nothing here deduplicates across runs; every event carries Graph's `id`
 * and `recipientAddress`, so duplicates can be recognised in XQL.
 *
 * The collector's vendor and product (hence the dataset, `<vendor>_<product>_raw`) are set on the collector in
 * XSIAM, not per request; use `microsoft` / `o365_message_trace` to land where the integration's dataset would.
 *
 * The API key only ever goes into the Authorization header: never into a message, a log field or an error.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { IntegrationError } from '../../errors.js';
import { sendOnce } from '../../http/attempt.js';
import { TOKEN_BODY_LIMITS } from '../../http/body-limits.js';
import {
  type AttemptResult,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  runWithRetry,
} from '../../http/retry.js';
import { type HttpFetch, createHttpFetch } from '../../http/transport.js';
import type { EventSink } from '../sink.js';
import type { Engine, EventMeta, Logger, TraceEvent } from '../../engine/types.js';

const gzip = promisify(gzipCallback);

export const XSIAM_MAX_CHUNK_BYTES = 1024 * 1024;
export const XSIAM_DEFAULT_MAX_ATTEMPTS = 5;

export interface XsiamSinkOptions {
  /** The collector's full URL, as XSIAM shows it: `https://api-<tenant fqdn>/logs/v1/event`. */
  url: string;
  /** The collector's API key (the token XSIAM generated for it). */
  apiKey: string;
  log: Logger;
  /** Defaults to a direct connection with TLS verification on. */
  http?: HttpFetch;
  /** Largest uncompressed NDJSON body of one request, newlines included. Default 1 MiB. */
  maxChunkBytes?: number;
  /** Tries per chunk, the first included. Default 5. */
  maxAttempts?: number;
  /** Waits between tries; tests record the delays instead of waiting. */
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms, for HTTP-date Retry-After values. Default Date.now. */
  now?: () => number;
  /** Spreads computed backoff (not a server-named wait). Default Math.random. */
  random?: () => number;
}

/** One request's worth of events, as NDJSON lines. */
export interface Chunk {
  lines: string[];
  /** Uncompressed size in bytes, one newline per line included. */
  bytes: number;
  /** Index of the chunk's first event in the batch. */
  firstEvent: number;
}

function eventLabel(event: TraceEvent, index: number): string {
  const id = event.id;
  return typeof id === 'string' || typeof id === 'number' ? `id ${String(id)}` : `at position ${index + 1}`;
}

/**
 * Splits events into chunks of at most `maxBytes` uncompressed NDJSON, in order, never splitting an event.
 * Throws before anything is sent when one event alone is larger than a chunk may be.
 */
export function chunkEvents(events: readonly TraceEvent[], maxBytes: number): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk | undefined;
  events.forEach((event, index) => {
    const line = JSON.stringify(event);
    const size = Buffer.byteLength(line, 'utf8') + 1;
    if (size > maxBytes) {
      throw new IntegrationError(
        'sink_failed',
        `The event ${eventLabel(event, index)} is ${size} bytes as one JSON line, more than the ${maxBytes} bytes one XSIAM request may carry; no event of this batch was sent.`,
      );
    }
    if (current === undefined || current.bytes + size > maxBytes) {
      current = { lines: [], bytes: 0, firstEvent: index };
      chunks.push(current);
    }
    current.lines.push(line);
    current.bytes += size;
  });
  return chunks;
}

/** Checks the collector URL: https (plain http only to this machine, for tests), and no user or password. */
export function parseXsiamUrl(value: string): URL {
  const hint = 'Use the URL XSIAM shows for the Custom - HTTP based Collector, such as https://api-<tenant>.xdr.<region>.paloaltonetworks.com/logs/v1/event.';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new IntegrationError('invalid_param', `The XSIAM URL is not a URL. ${hint}`);
  }
  // Checked before anything quotes the URL: a user or password in it is a secret.
  if (url.username !== '' || url.password !== '') {
    throw new IntegrationError(
      'invalid_param',
      `The XSIAM URL must not contain a user name or password; the API key is passed separately. ${hint}`,
    );
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new IntegrationError('invalid_param', `The XSIAM URL must use https:// (it uses ${url.protocol}). ${hint}`);
  }
  return url;
}

function checkApiKey(apiKey: string): void {
  if (apiKey.trim() === '') {
    throw new IntegrationError('invalid_param', 'The XSIAM API key is empty. Use the key XSIAM generated for the HTTP collector.');
  }
  // XSIAM keys are printable ASCII. Anything else (a line break would even end the header early) is refused
  // here, before fetch could build an error of its own around the value; the value is never quoted.
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new IntegrationError(
      'invalid_param',
      'The XSIAM API key contains a line break, a space or a non-ASCII character. Paste the key alone, on one line.',
    );
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new IntegrationError('internal', `${name} must be a whole number of at least 1 (got ${value}).`);
  }
  return value;
}

/** The non-secret part of the URL, for messages: no query, which could carry a token. */
function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

const WHAT_TO_CHECK =
  'Check the URL (https://api-<tenant>/logs/v1/event, as shown on the collector), the API key, and that the collector is a "Custom - HTTP based Collector" accepting JSON with gzip compression.';

function statusAdvice(status: number): string {
  if (status === 401 || status === 403) {
    return 'XSIAM refused the API key: check that it is the key generated for this HTTP collector and that the collector is enabled.';
  }
  if (status === 404) return 'XSIAM does not know this address: check that the URL ends in /logs/v1/event.';
  if (status === 413) return 'XSIAM refused the request size: lower the chunk size.';
  if (status === 429) return 'XSIAM kept throttling the requests.';
  if (status >= 500) return 'XSIAM kept failing; if it persists, check the collector status in XSIAM.';
  return '';
}

/** A 2xx response whose JSON body says `error` other than false is a refusal, as CommonServerPython treats it. */
function bodyRefusal(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object' || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (error === false || error === 'false' || error === null || error === undefined || error === '') return undefined;
  return typeof error === 'string' ? error.slice(0, 200) : JSON.stringify(error).slice(0, 200);
}

export function createXsiamSink(options: XsiamSinkOptions): EventSink {
  const url = parseXsiamUrl(options.url);
  checkApiKey(options.apiKey);
  const maxChunkBytes = positiveInteger(options.maxChunkBytes, XSIAM_MAX_CHUNK_BYTES, 'maxChunkBytes');
  const maxAttempts = positiveInteger(options.maxAttempts, XSIAM_DEFAULT_MAX_ATTEMPTS, 'maxAttempts');
  const http = options.http ?? createHttpFetch({ proxy: false, insecure: false }, options.log);
  const now = options.now ?? Date.now;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxTries: maxAttempts };
  const sleep = options.sleep;
  const clock: Pick<Engine, 'now' | 'sleep'> = sleep ? { now, sleep: (ms) => sleep(ms) } : { now };
  const { log } = options;
  const where = displayUrl(url);
  const apiKey = options.apiKey;

  function postOnce(body: Buffer, chunkNumber: number, chunkCount: number): Promise<AttemptResult<number>> {
    return sendOnce({
      http,
      url,
      init: {
        method: 'POST',
        headers: {
          Authorization: apiKey,
          'Content-Type': 'application/json',
          'Content-Encoding': 'gzip',
        },
        body,
      },
      now,
      // Read even when only the status matters, as it may explain a refusal; a refusal is a short message.
      body: { kind: 'text', maxBytes: TOKEN_BODY_LIMITS.maxBytes },
      unreachable: (code, cause) => new IntegrationError('sink_failed', `could not reach ${where} (${code ?? 'network error'})`, { cause }),
      refused: (response, _text, retryAfterMs) => {
        log.debug('XSIAM refused a chunk', { chunk: chunkNumber, chunks: chunkCount, status: response.status, retryAfterMs });
        return new IntegrationError(
          'sink_failed',
          retryAfterMs === undefined ? `HTTP ${response.status}` : `HTTP ${response.status} (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)`,
          { status: response.status },
        );
      },
      accept: (response, text) => {
        const refusal = bodyRefusal(text);
        if (refusal === undefined) return { ok: true, value: response.status };
        // Server text is quoted only when it cannot be carrying the key back.
        const quoted = refusal.includes(apiKey) ? '(not shown)' : `'${refusal}'`;
        // Not retried: the status is not a retryable one, and the same body would be refused again.
        return {
          ok: false,
          outcome: { kind: 'status', status: response.status },
          error: new IntegrationError('sink_failed', `XSIAM answered HTTP ${response.status} but reported the error ${quoted}`, {
            status: response.status,
          }),
        };
      },
    });
  }

  async function send(events: readonly TraceEvent[], meta: EventMeta): Promise<void> {
    if (events.length === 0) {
      log.debug('No events to send to XSIAM');
      return;
    }
    const chunks = chunkEvents(events, maxChunkBytes);
    let acceptedChunks = 0;
    let acceptedEvents = 0;
    for (const [index, chunk] of chunks.entries()) {
      const chunkNumber = index + 1;
      const body = await gzip(Buffer.from(chunk.lines.map((line) => `${line}\n`).join(''), 'utf8'));
      try {
        await runWithRetry(() => postOnce(body, chunkNumber, chunks.length), {
          engine: clock,
          policy,
          ...(options.random ? { random: options.random } : {}),
          onRetry: ({ attempt, delayMs, error, serverNamedWait }) =>
            log.warn('Retrying a chunk XSIAM did not accept', {
              chunk: chunkNumber,
              chunks: chunks.length,
              attempt,
              delayMs,
              serverNamedWait,
              reason: error.message,
            }),
        });
      } catch (error) {
        const failure = error instanceof IntegrationError ? error : undefined;
        const status = failure?.status;
        const firstEvent = chunk.firstEvent + 1;
        const lastEvent = chunk.firstEvent + chunk.lines.length;
        const reason = failure?.message ?? (error instanceof Error ? error.message : String(error));
        const message =
          `Sending events to XSIAM (${where}) failed at chunk ${chunkNumber} of ${chunks.length} ` +
          `(events ${firstEvent}-${lastEvent} of ${events.length}): ${reason}. ` +
          `${acceptedChunks} ${acceptedChunks === 1 ? 'chunk' : 'chunks'} (${acceptedEvents} events) were accepted before the failure; ` +
          (acceptedEvents > 0
            ? 'the fetch position did not move, so the next run sends those again (duplicates, not loss). '
            : 'the fetch position did not move, so the next run tries these events again. ') +
          [status === undefined ? '' : statusAdvice(status), WHAT_TO_CHECK].filter(Boolean).join(' ');
        log.error('XSIAM did not accept all events', {
          chunk: chunkNumber,
          chunks: chunks.length,
          acceptedChunks,
          acceptedEvents,
          events: events.length,
          status,
        });
        throw new IntegrationError('sink_failed', message, { status, cause: error });
      }
      acceptedChunks += 1;
      acceptedEvents += chunk.lines.length;
      log.debug('XSIAM accepted a chunk', { chunk: chunkNumber, chunks: chunks.length, events: chunk.lines.length, bytes: chunk.bytes });
    }
    log.info('Sent events to XSIAM', { events: events.length, chunks: chunks.length, vendor: meta.vendor, product: meta.product });
  }

  return { name: 'xsiam', send };
}
