/**
 * Graph `Edm.DateTimeOffset` values as they come in rows: `2026-01-01T10:05:23Z`, `…:23.1Z`,
 * `…:23.1234567Z` (100 ns ticks) or with an offset. Strings of mixed precision do not sort as text
 * (`…:23Z` > `…:23.5Z` because `Z` > `.`), so times are compared as numbers: epoch milliseconds plus the
 * sub-millisecond remainder in nanoseconds (epoch nanoseconds do not fit a double exactly).
 */

export interface GraphInstant {
  epochMs: number;
  /** 0–999 999: what the text said below the millisecond. */
  subMsNanos: number;
}

const DATE_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

export function parseGraphInstant(text: string): GraphInstant | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, wholeSeconds, fraction = '', zone = 'Z'] = match;
  const digits = fraction.padEnd(9, '0');
  const base = Date.parse(`${wholeSeconds}.${digits.slice(0, 3)}${zone.toUpperCase()}`);
  if (Number.isNaN(base)) return undefined;
  // Date.parse accepts e.g. Feb 30; a round trip through the date fields catches it.
  const check = new Date(Date.parse(`${wholeSeconds}Z`));
  if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 19) !== wholeSeconds) return undefined;
  return { epochMs: base, subMsNanos: Number(digits.slice(3)) };
}

export function compareGraphInstants(a: GraphInstant, b: GraphInstant): number {
  return a.epochMs - b.epochMs || a.subMsNanos - b.subMsNanos;
}

/** ISO 8601 UTC with milliseconds (`2026-01-01T10:05:23.123Z`): the form `_time` uses. */
export function toIsoUtc(instant: GraphInstant): string {
  return new Date(instant.epochMs).toISOString();
}
