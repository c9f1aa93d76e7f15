/**
 * Graph's limits on message trace listings, and the time forms it takes, in one place
 * (https://learn.microsoft.com/graph/api/messagetracingroot-list-messagetraces): a listing is
 * `receivedDateTime ge start and le end`, both inclusive and in whole seconds, spans at most 10 days,
 * starts at most 90 days back (Graph keeps message traces for 90 days), and returns pages of up to 5000 rows.
 */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** A listing spans at most 10 days. */
export const MAX_LISTING_SPAN_MS = 10 * DAY_MS;
/** A listing starts at most 90 days back: older rows are gone. */
export const RETENTION_MS = 90 * DAY_MS;
/**
 * The oldest listing start to ask Graph for at `nowMs`. Graph counts its 90 days from 00:00 UTC of today, not
 * from now (`Invalid StartDate value. The StartDate can't be older than 90 days from today.`), so this reaches
 * up to a day further back than now − 90 days. `marginMs` keeps the start valid that long after `nowMs` (the
 * limit jumps a day forward at midnight) and absorbs clock skew; 0 gives Graph's own limit.
 */
export function oldestSafeStartMs(nowMs: number, marginMs: number): number {
  return Math.floor((nowMs + marginMs) / DAY_MS) * DAY_MS - RETENTION_MS + marginMs;
}
/** How the 90-day rule reads in messages. */
export const RETENTION_RULE = 'Microsoft Graph keeps message traces for 90 days';
/** Largest page (`$top`) Graph serves; fewer pages spend less of the request budget. */
export const MAX_PAGE_SIZE = 5000;

export function floorSecond(ms: number): number {
  return Math.floor(ms / SECOND_MS) * SECOND_MS;
}

export function ceilSecond(ms: number): number {
  return Math.ceil(ms / SECOND_MS) * SECOND_MS;
}

/** `YYYY-MM-DDThh:mm:ssZ`, the form Graph's filter takes (whole seconds; the instant is floored). */
export function graphTime(ms: number): string {
  return `${new Date(floorSecond(ms)).toISOString().slice(0, 19)}Z`;
}

/** ISO 8601 UTC with milliseconds, as state, logs and events write times. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
