/**
 * One try of one request, as `runWithRetry` wants it: fetch → on failure the failure's code → the body, read
 * within limits → Retry-After → an AttemptResult. The Graph client and the XSIAM sink both send through it, so
 * what makes a try retryable (a network code, a status, a cut-off or oversized body) is decided here once;
 * the callers bring only their words and what a 2xx answer means to them.
 *
 * An abort is not a failure of the try: when the request's signal fired (or fetch says AbortError) the error
 * is rethrown as it is, so the caller stops instead of retrying.
 */
import type { IntegrationError } from '../errors.js';
import { BodyLimitError, type BodyLimits, readBodyWithin, readJsonTextWithin } from './body-limits.js';
import { networkErrorCode } from './error-code.js';
import { parseRetryAfter } from './retry-after.js';
import type { AttemptResult } from './retry.js';
import type { HttpFetch } from './transport.js';

/** How the answer's body is read. */
export type BodyReading =
  /**
   * A body the caller parses: within every bound (size, nesting, string length). One over a bound fails the
   * try as an invalid body (retried like a cut-off one) with `refused`'s words; one cut off, as a network failure.
   */
  | { kind: 'json'; limits: BodyLimits; refused(error: BodyLimitError, response: Response): IntegrationError }
  /** A body that can only explain the status: up to `maxBytes`; one that cannot be read reads as ''. */
  | { kind: 'text'; maxBytes: number };

export interface SendOnceOptions<T> {
  http: HttpFetch;
  url: string | URL;
  init: RequestInit;
  /** Epoch ms, for a Retry-After given as an HTTP date. */
  now: () => number;
  body: BodyReading;
  /** The request did not get an answer (`cutOff`: the answer's body broke off). `code`: see error-code.ts. */
  unreachable(code: string | undefined, cause: unknown, cutOff: boolean): IntegrationError;
  /** A non-2xx answer, with its body and the wait the server named (if any). */
  refused(response: Response, text: string, retryAfterMs: number | undefined): IntegrationError;
  /** A 2xx answer: the value, or a failure the caller sees in the body. */
  accept(response: Response, text: string): AttemptResult<T>;
}

function isAbort(error: unknown, signal: AbortSignal | null | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

export async function sendOnce<T>(options: SendOnceOptions<T>): Promise<AttemptResult<T>> {
  const { init } = options;
  const unreachable = (error: unknown, cutOff: boolean): AttemptResult<T> => {
    const code = networkErrorCode(error);
    return { ok: false, outcome: { kind: 'network', code }, error: options.unreachable(code, error, cutOff) };
  };

  let response: Response;
  try {
    response = await options.http(options.url, init);
  } catch (error) {
    if (isAbort(error, init.signal)) throw error;
    return unreachable(error, false);
  }

  let text: string;
  const { body } = options;
  if (body.kind === 'text') {
    // Always read, so the connection can be reused; bounded, so a broken endpoint cannot fill memory.
    text = await readBodyWithin(response, body.maxBytes).catch(() => '');
  } else {
    try {
      text = await readJsonTextWithin(response, body.limits);
    } catch (error) {
      if (isAbort(error, init.signal)) throw error;
      if (error instanceof BodyLimitError) return { ok: false, outcome: { kind: 'invalid_body' }, error: body.refused(error, response) };
      return unreachable(error, true);
    }
  }

  if (response.ok) return options.accept(response, text);
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), options.now());
  return {
    ok: false,
    outcome: { kind: 'status', status: response.status, retryAfterMs },
    error: options.refused(response, text, retryAfterMs),
  };
}
