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

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/i;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parsed from the fields with arithmetic rather than through `Date.parse`: every row's time is parsed on
 * the collection path, and field checks refuse what Date.parse would roll over (Feb 30, 24:00, :60).
 */
export function parseGraphInstant(text: string): GraphInstant | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const digits = (m[7] ?? '').padEnd(9, '0');
  // Date.UTC reads years 0–99 as 1900–1999; setUTCFullYear does not.
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, Number(digits.slice(0, 3)));
  return { epochMs: utc.getTime() - offsetMinutes * 60_000, subMsNanos: Number(digits.slice(3)) };
}

export function compareGraphInstants(a: GraphInstant, b: GraphInstant): number {
  return a.epochMs - b.epochMs || a.subMsNanos - b.subMsNanos;
}

/** ISO 8601 UTC with milliseconds (`2026-01-01T10:05:23.123Z`): the form `_time` uses. */
export function toIsoUtc(instant: GraphInstant): string {
  return new Date(instant.epochMs).toISOString();
}
