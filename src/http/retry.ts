/**
 * Retrying one HTTP request: pure verdicts plus a tiny loop that runs them on the engine clock.
 *
 * What is retried: 429 (honouring Retry-After), 500/502/503/504, connection resets and timeouts (judged by
 * undici's stable error codes as error-code.ts finds them, never by message text) and bodies that are not
 * valid JSON (a body cut mid-stream is a transport fault); one try is `sendOnce` (attempt.ts), its outcome is
 * judged here. Backoff is capped, exponential and jittered, except when the server named the wait: then
 * exactly that wait. The loop never sleeps past the run's deadline:
 * when the next wait would pass it, it gives up with IntegrationError('deadline_exceeded') carrying the last
 * error's message, status and request id.
 */
import { engineSleep } from '../engine/clock.js';
import type { Engine } from '../engine/types.js';
import { type ErrorCode, IntegrationError } from '../errors.js';

export type FailureOutcome =
  | { kind: 'status'; status: number; retryAfterMs?: number | undefined }
  | { kind: 'network'; code: string | undefined }
  | { kind: 'invalid_body' };

export type RetryVerdict = { retry: true; delayMs: number; serverNamedWait: boolean } | { retry: false };

export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxTries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the request gives up at once. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxTries: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
};

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** undici and Node socket codes that mean "the connection broke or timed out; the same request may work". */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * The delay before try `attempt + 1` after try `attempt` (1-based) failed with `outcome`. `random` in [0, 1)
 * spreads waits ("equal jitter": half the backoff fixed, half random) so clients do not retry in step.
 */
export function retryVerdict(
  attempt: number,
  outcome: FailureOutcome,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): RetryVerdict {
  if (attempt >= policy.maxTries) return { retry: false };
  switch (outcome.kind) {
    case 'status':
      if (!RETRYABLE_STATUSES.has(outcome.status)) return { retry: false };
      if (outcome.retryAfterMs !== undefined) {
        if (outcome.retryAfterMs > policy.maxRetryAfterMs) return { retry: false };
        return { retry: true, delayMs: outcome.retryAfterMs, serverNamedWait: true };
      }
      break;
    case 'network':
      if (outcome.code === undefined || !RETRYABLE_NETWORK_CODES.has(outcome.code)) return { retry: false };
      break;
    case 'invalid_body':
      break;
  }
  return { retry: true, delayMs: backoffMs(attempt, policy, random), serverNamedWait: false };
}

export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const half = exponential / 2;
  return Math.round(half + half * Math.min(Math.max(random(), 0), 1));
}

export type AttemptResult<T> = { ok: true; value: T } | { ok: false; outcome: FailureOutcome; error: IntegrationError };

export interface RetryLoopOptions {
  engine: Pick<Engine, 'now' | 'sleep'>;
  /** Engine-clock epoch ms; no try starts and no wait ends after it. */
  deadlineMs?: number | undefined;
  signal?: AbortSignal | undefined;
  policy?: RetryPolicy;
  random?: () => number;
  /** Told before each wait, e.g. to log it. */
  onRetry?: (info: { attempt: number; delayMs: number; error: IntegrationError; serverNamedWait: boolean }) => void;
}

function withNote(error: IntegrationError, note: string, code: ErrorCode = error.code): IntegrationError {
  return new IntegrationError(code, `${error.message} ${note}`, {
    upstreamCode: error.upstreamCode,
    requestId: error.requestId,
    status: error.status,
    cause: error,
  });
}

/** Runs `attempt(1)`, `attempt(2)`, … until one succeeds or the verdict or the deadline says stop. */
export async function runWithRetry<T>(
  attempt: (attemptNumber: number) => Promise<AttemptResult<T>>,
  options: RetryLoopOptions,
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  for (let attemptNumber = 1; ; attemptNumber++) {
    options.signal?.throwIfAborted();
    if (options.deadlineMs !== undefined && options.engine.now() >= options.deadlineMs) {
      throw new IntegrationError('deadline_exceeded', "The run's time budget is spent; no further Graph request was started.");
    }
    const result = await attempt(attemptNumber);
    if (result.ok) return result.value;
    const verdict = retryVerdict(attemptNumber, result.outcome, policy, options.random);
    if (!verdict.retry) {
      throw attemptNumber > 1 ? withNote(result.error, `(gave up after ${attemptNumber} tries)`) : result.error;
    }
    if (options.deadlineMs !== undefined && options.engine.now() + verdict.delayMs > options.deadlineMs) {
      // deadline_exceeded, not the mapped error: the wait was worth making, only this run has no time left
      // for it, so a caller can end cleanly and try again next run. Status, Microsoft code and request id stay.
      throw withNote(
        result.error,
        `(not retried: waiting ${Math.ceil(verdict.delayMs / 1000)} s would pass the run's time budget)`,
        'deadline_exceeded',
      );
    }
    options.onRetry?.({
      attempt: attemptNumber,
      delayMs: verdict.delayMs,
      error: result.error,
      serverNamedWait: verdict.serverNamedWait,
    });
    if (verdict.delayMs > 0) await engineSleep(options.engine, verdict.delayMs, options.signal);
  }
}
