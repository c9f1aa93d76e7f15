/**
 * The last-run document of fetch-events: versioned, parsed once with zod at the edge, precise afterwards.
 *
 * {
 *   "version": 3,
 *   "cursor": "2026-11-25T16:00:00.000Z",   every row received before it was read, and its events sent, at a
 *                                           time when it was at least lookback old (so in its final state);
 *                                           the next run starts reading here
 *   "readUpTo": "2026-11-25T16:14:00.000Z", end of the last window read completely (≥ cursor)
 *   "rowsPerMinute": 12.5,                  observed density, sizes the next windows
 *   "rereadFrom": "2026-11-25T16:05:00.000Z",  where the re-read of the look-back continues next run
 *                                           (lookback.ts: at high volume a round takes several runs);
 *                                           optional (added late in version 1): absent means "at the
 *                                           cursor". It only paces reading: no-loss never depends on it
 *   "requestsNeeded": 24,                   optional: the last run was cut short by the request budget after
 *                                           spending 23 requests; the next starts reading only when the
 *                                           budget has room for this many (run.ts). Paces, never decides
 *   "seen": "base64…",                      dedup keys of rows received at or after the cursor (seen-set.ts)
 *   "seenSeed": "32 hex digits"             the key of their hash, drawn at random for this state
 * }
 *
 * Earlier versions are read and migrated (the next save writes version 3). Version 2 had no seenSeed: its
 * keys were SHA-256 hashes, which a version 3 set keeps for the seconds they cover until the cursor passes
 * them (seen-set.ts). Version 1 was version 2 with `seen` in a fixed-width form.
 *
 * Anything else is refused with an error that says how to reset; a silent restart would either lose
 * events or send them all again.
 */
import * as z from 'zod';
import type { JsonObject } from '../engine/types.js';
import { IntegrationError } from '../errors.js';
import { isoUtc } from '../graph/limits.js';
import { SeenSet } from './seen-set.js';

export const STATE_VERSION = 3;

export interface FetchState {
  cursorMs: number;
  readUpToMs: number;
  /** `undefined` until a window has been read. */
  rowsPerMinute: number | undefined;
  /** Where the re-read of the look-back continues; `undefined`: at the cursor (a new round). */
  rereadFromMs?: number | undefined;
  /**
   * Set when the request budget cut a run short: one more than the requests that run had spent. The next
   * run reads nothing until the budget has room for this many, so room builds up instead of being spent
   * again on a read cut at the same point (a window is read whole or not at all).
   */
  requestsNeeded?: number | undefined;
  seen: SeenSet;
}

const isoInstant = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/, 'must be an ISO 8601 UTC time')
  .transform((text, ctx) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'is not a real time' });
      return z.NEVER;
    }
    return ms;
  });

const stateDocument = z
  .object({
    version: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    cursor: isoInstant,
    readUpTo: isoInstant,
    rowsPerMinute: z.number().nonnegative().optional(),
    rereadFrom: isoInstant.optional(),
    requestsNeeded: z.number().int().positive().optional(),
    seen: z.string(),
    seenSeed: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits')
      .optional(),
  })
  .refine((state) => state.readUpTo >= state.cursor, { message: 'readUpTo is before cursor' })
  .refine((state) => state.version < 3 || state.seenSeed !== undefined, { message: 'seenSeed is missing', path: ['seenSeed'] });

export const RESET_HINT =
  'To start over, reset the last run of this instance (in XSIAM: "Reset the last run"; with the standalone collector: delete last-run.json in the state directory). The next fetch then starts at first_fetch, and events after it may be sent again.';

function invalid(problem: string): IntegrationError {
  return new IntegrationError('state_invalid', `The saved fetch state cannot be used: ${problem}. ${RESET_HINT}`);
}

/** `undefined` for an empty document (first run); the state otherwise; throws `state_invalid`. */
export function parseState(raw: unknown): FetchState | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('it is not a JSON object');
  if (Object.keys(raw).length === 0) return undefined;
  const version = (raw as Record<string, unknown>).version;
  if (typeof version === 'number' && version > STATE_VERSION) {
    throw invalid(`it was written by a newer version of this integration (state version ${version}, this one reads ${STATE_VERSION})`);
  }
  const parsed = stateDocument.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'state'} ${issue.message}`);
    throw invalid(problems.join('; '));
  }
  let seen: SeenSet;
  try {
    seen = SeenSet.parse(parsed.data.seen, parsed.data.version, parsed.data.seenSeed);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : 'seen keys are unreadable');
  }
  return {
    cursorMs: parsed.data.cursor,
    readUpToMs: parsed.data.readUpTo,
    rowsPerMinute: parsed.data.rowsPerMinute,
    rereadFromMs: parsed.data.rereadFrom,
    requestsNeeded: parsed.data.requestsNeeded,
    seen,
  };
}

export function serializeState(state: FetchState): JsonObject {
  const document: JsonObject = {
    version: STATE_VERSION,
    cursor: isoUtc(state.cursorMs),
    readUpTo: isoUtc(state.readUpToMs),
    seen: state.seen.serialize(),
    seenSeed: state.seen.seed,
  };
  if (state.rowsPerMinute !== undefined) document.rowsPerMinute = Number(state.rowsPerMinute.toPrecision(6));
  if (state.rereadFromMs !== undefined) document.rereadFrom = isoUtc(state.rereadFromMs);
  if (state.requestsNeeded !== undefined) document.requestsNeeded = state.requestsNeeded;
  return document;
}
