/**
 * A request budget for Graph: the message trace API allows about 100 requests per rolling 5 minutes per
 * tenant, shared with every other tool there, so this integration keeps to a share (default 90 per 300 s).
 *
 * The start times of recent requests live in the integration context under `requestLog`, so the budget
 * holds across runs and commands. The log is written before each request goes out: a crash right after
 * still counts the request, and the next run cannot overspend. Window arithmetic is pure; the I/O is a
 * small class around it.
 */
import { engineSleep } from '../engine/clock.js';
import { readContextKey, writeContextKey } from '../engine/context-store.js';
import type { Engine, JsonObject } from '../engine/types.js';
import { IntegrationError } from '../errors.js';

/** How much a budget allows: `limit` requests in any rolling `windowMs`. */
export interface BudgetShape {
  limit: number;
  windowMs: number;
}

/** What a reader of the budget needs to plan with it (the Graph client offers it as `budget`). */
export interface RequestBudgetView {
  readonly shape: BudgetShape;
  /** Requests the budget allows right now, over the log shared by every run and command. */
  remaining(): Promise<number>;
}

export interface RequestBudgetOptions {
  /** Requests allowed in any rolling window. */
  limit: number;
  windowMs: number;
  /** Longest wait for room when no deadline says otherwise. */
  maxWaitMs: number;
}

export const DEFAULT_REQUEST_BUDGET: RequestBudgetOptions = { limit: 90, windowMs: 300_000, maxWaitMs: 60_000 };

// --- pure window arithmetic ----------------------------------------------------------------------

/** The requests that still count at `nowMs`, ascending. A request at t counts while t > now - window. */
export function pruneRequestLog(timestamps: readonly number[], nowMs: number, windowMs: number): number[] {
  // Times far in the future come from a clock that jumped back; keeping them would block the budget for good.
  return timestamps.filter((t) => t > nowMs - windowMs && t <= nowMs + windowMs).sort((a, b) => a - b);
}

/** When the next request may start: `nowMs` if there is room, else when enough old requests expire. */
export function nextRoomAt(timestamps: readonly number[], nowMs: number, options: Pick<RequestBudgetOptions, 'limit' | 'windowMs'>): number {
  const live = pruneRequestLog(timestamps, nowMs, options.windowMs);
  if (live.length < options.limit) return nowMs;
  // Room opens once all but limit - 1 requests have left the window.
  const blocking = live[live.length - options.limit] as number;
  return Math.max(nowMs, blocking + options.windowMs);
}

/** Requests still allowed right now. */
export function remainingRequests(timestamps: readonly number[], nowMs: number, options: Pick<RequestBudgetOptions, 'limit' | 'windowMs'>): number {
  return Math.max(0, options.limit - pruneRequestLog(timestamps, nowMs, options.windowMs).length);
}

/**
 * Stored form: `{v: 1, base: <epoch ms of the oldest>, d: [offsets in ms, ascending]}`, about 6 characters per
 * request instead of 14. Anything unreadable is treated as an empty log (the log is advisory; Graph's own
 * 429 still protects the tenant), never as an error that would stop a run.
 */
export function encodeRequestLog(timestamps: readonly number[]): JsonObject {
  const sorted = [...timestamps].sort((a, b) => a - b);
  const base = sorted[0] ?? 0;
  return { v: 1, base, d: sorted.map((t) => t - base) };
}

export function decodeRequestLog(stored: unknown): number[] {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return [];
  const { v, base, d } = stored as { v?: unknown; base?: unknown; d?: unknown };
  if (v !== 1 || typeof base !== 'number' || !Number.isFinite(base) || !Array.isArray(d)) return [];
  return d.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).map((x) => base + x);
}

// --- I/O -----------------------------------------------------------------------------------------

export interface RequestBudgetDeps {
  engine: Engine;
  options?: Partial<RequestBudgetOptions>;
  /** Engine-clock epoch ms: no wait for room ends after it. */
  deadlineMs?: number | undefined;
}

export class RequestBudget implements RequestBudgetView {
  readonly options: RequestBudgetOptions;
  private readonly engine: Engine;
  private readonly deadlineMs: number | undefined;

  constructor(deps: RequestBudgetDeps) {
    this.engine = deps.engine;
    this.options = { ...DEFAULT_REQUEST_BUDGET, ...deps.options };
    this.deadlineMs = deps.deadlineMs;
    if (!Number.isInteger(this.options.limit) || this.options.limit < 1) throw new RangeError('The request budget limit must be a whole number of at least 1.');
    if (!(this.options.windowMs > 0)) throw new RangeError('The request budget window must be positive.');
  }

  get shape(): BudgetShape {
    return { limit: this.options.limit, windowMs: this.options.windowMs };
  }

  async remaining(): Promise<number> {
    return remainingRequests(decodeRequestLog(await readContextKey(this.engine, 'requestLog')), this.engine.now(), this.options);
  }

  /**
   * Takes one request from the budget and records it, waiting for room when that fits (before the deadline
   * and within `maxWaitMs`). Throws IntegrationError('request_budget_exhausted') saying when room frees up.
   * The log is re-read each time, so another run or command spending the same budget is seen.
   */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.engine.now();
      const log = decodeRequestLog(await readContextKey(this.engine, 'requestLog'));
      const roomAt = nextRoomAt(log, now, this.options);
      if (roomAt <= now) {
        const live = pruneRequestLog(log, now, this.options.windowMs);
        live.push(now);
        await writeContextKey(this.engine, 'requestLog', encodeRequestLog(live));
        return;
      }
      const waitMs = roomAt - now;
      const fitsDeadline = this.deadlineMs === undefined || roomAt <= this.deadlineMs;
      if (!fitsDeadline || waitMs > this.options.maxWaitMs) {
        throw new IntegrationError(
          'request_budget_exhausted',
          `This integration's Graph request budget (${this.options.limit} requests per ${Math.round(this.options.windowMs / 1000)} s, ` +
            `shared by every command and run of this instance) is spent; room frees up at ${new Date(roomAt).toISOString()} ` +
            `(in ${Math.ceil(waitMs / 1000)} s).`,
        );
      }
      this.engine.log.info('Waiting for room in the Graph request budget', { waitMs, limit: this.options.limit });
      await engineSleep(this.engine, waitMs, signal);
    }
  }
}
