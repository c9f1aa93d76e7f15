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
  return parseUtcInstant(text) ?? parseAnyInstant(text);
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's days_from_civil), for any year. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The value of `count` decimal digits at `from`, or -1 when one is not a digit. */
function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

// What readUtc read last (set when it returns true). The collection path reads every row's time twice (the
// page check, the fold) and needs only its milliseconds or whether it is one: no object per row for that.
let readEpochMs = 0;
let readSubMsNanos = 0;

/** The form every row has, as parseUtcInstant, into readEpochMs and readSubMsNanos; false for anything else. */
function readUtc(text: string): boolean {
  const length = text.length;
  if (length < 20 || length > 30 || (text.charCodeAt(length - 1) | 0x20) !== 0x7a /* z */) return false;
  if ((text.charCodeAt(10) | 0x20) !== 0x74 /* t */) return false;
  // - - : :
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return false;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  let ms = 0;
  let subMsNanos = 0;
  const fractionDigits = length - 21;
  if (length !== 20) {
    if (text.charCodeAt(19) !== 0x2e /* . */ || fractionDigits < 1 || fractionDigits > 9) return false;
    const fraction = digitsAt(text, 20, fractionDigits);
    if (fraction < 0) return false;
    const nanos = fraction * 10 ** (9 - fractionDigits);
    ms = Math.floor(nanos / 1_000_000);
    subMsNanos = nanos - ms * 1_000_000;
  }
  readEpochMs = daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms;
  readSubMsNanos = subMsNanos;
  return true;
}

/**
 * The form every row has, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read from its character codes without a
 * regular expression or a Date; `undefined` for anything else (parseAnyInstant then decides).
 */
function parseUtcInstant(text: string): GraphInstant | undefined {
  return readUtc(text) ? { epochMs: readEpochMs, subMsNanos: readSubMsNanos } : undefined;
}

/** parseGraphInstant's epoch milliseconds alone (undefined when it gives undefined), without its object. */
export function graphInstantMs(text: string): number | undefined {
  return readUtc(text) ? readEpochMs : parseAnyInstant(text)?.epochMs;
}

/** Any form Graph may write, offsets included. */
function parseAnyInstant(text: string): GraphInstant | undefined {
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

/** `000Z` … `999Z`: the end of an ISO time for each millisecond. */
const MILLIS_Z = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, '0')}Z`);
// The text up to the milliseconds of the last second formatted: rows come in runs of the same second (at
// 10,000,000 rows a day, a hundred a second), and each then costs one concatenation, not a Date.
let lastSecond = Number.NaN;
let lastPrefix = '';

/** ISO 8601 UTC with milliseconds (`2026-01-01T10:05:23.123Z`): the form `_time` uses. */
export function toIsoUtc(instant: GraphInstant): string {
  return isoUtcOfMs(instant.epochMs);
}

/** toIsoUtc of an instant given by its epoch milliseconds. */
export function isoUtcOfMs(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  const ms = epochMs - second * 1000;
  if (second !== lastSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Years past 9999 (or before 0) are written ±YYYYYY-…: no fixed prefix to keep.
    if (iso.length !== 24) return new Date(epochMs).toISOString();
    lastSecond = second;
    lastPrefix = iso.slice(0, 20);
  }
  return lastPrefix + (MILLIS_Z[ms] as string);
}
