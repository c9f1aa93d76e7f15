/**
 * Time expressions people type: ISO 8601 (`2024-01-01T00:00:00Z`, `2024-01-01`), `now`, and relative
 * amounts (`10 minutes ago`, `3 days`, `2 hours`, `1 week ago`). A relative amount always means that long
 * before now. The clock is an argument, so every result is a pure function of the input.
 *
 * luxon has no natural-language parsing, so relative amounts are matched here; luxon does the calendar
 * arithmetic (months, years) and ISO parsing. Amounts in fixed-length units (seconds to weeks) are plain
 * subtraction in UTC, done here: the default first_fetch ("1 minute") is one, and the first DateTime luxon
 * builds costs a process about 30 ms and 8 MB (it asks Intl for the system locale).
 */
import { DateTime } from 'luxon';

export type TimeParseResult = { ok: true; epochMs: number } | { ok: false; problem: string };

export const TIME_EXPRESSION_FORMS =
  'an ISO 8601 time such as 2024-01-01T00:00:00Z, "now", or a relative time such as "10 minutes ago" or "3 days"';

const UNITS = {
  second: 'seconds',
  minute: 'minutes',
  hour: 'hours',
  day: 'days',
  week: 'weeks',
  month: 'months',
  year: 'years',
} as const;

/** Units whose length never varies in UTC; luxon's arithmetic for them equals subtraction (a test checks). */
const FIXED_UNIT_MS: Partial<Record<keyof typeof UNITS, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/** The earliest time a JavaScript Date (and so luxon) can hold. */
const EARLIEST_MS = -8.64e15;

const RELATIVE = /^(\d{1,7})\s*(second|minute|hour|day|week|month|year)s?(?:\s+ago)?$/i;
const ABBREVIATED = /^(\d{1,7})\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|w)(?:\s+ago)?$/i;
const ABBREVIATION_UNITS: Record<string, keyof typeof UNITS> = {
  s: 'second',
  sec: 'second',
  secs: 'second',
  m: 'minute',
  min: 'minute',
  mins: 'minute',
  h: 'hour',
  hr: 'hour',
  hrs: 'hour',
  d: 'day',
  w: 'week',
};

export function parseTimeExpression(text: string, nowMs: number): TimeParseResult {
  const input = text.trim();
  if (input === '') return { ok: false, problem: 'is empty' };
  if (/^now$/i.test(input)) return { ok: true, epochMs: nowMs };

  const relative = RELATIVE.exec(input) ?? null;
  const abbreviated = relative ? null : ABBREVIATED.exec(input);
  if (relative || abbreviated) {
    const match = (relative ?? abbreviated) as RegExpExecArray;
    const amount = Number(match[1]);
    const unitWord = (match[2] ?? '').toLowerCase();
    const unit = relative ? (unitWord as keyof typeof UNITS) : ABBREVIATION_UNITS[unitWord];
    if (unit === undefined) return { ok: false, problem: 'has an unknown unit' };
    const unitMs = FIXED_UNIT_MS[unit];
    if (unitMs !== undefined) {
      const epochMs = nowMs - amount * unitMs;
      return epochMs >= EARLIEST_MS ? { ok: true, epochMs } : { ok: false, problem: 'is too far in the past' };
    }
    const at = DateTime.fromMillis(nowMs, { zone: 'utc' }).minus({ [UNITS[unit]]: amount });
    if (!at.isValid) return { ok: false, problem: 'is too far in the past' };
    return { ok: true, epochMs: at.toMillis() };
  }

  // A time without an offset is read as UTC: Graph reports and filters in UTC.
  const iso = DateTime.fromISO(input, { zone: 'utc', setZone: true });
  if (iso.isValid && /^\d{4}-\d{2}-\d{2}/.test(input)) return { ok: true, epochMs: iso.toMillis() };
  return { ok: false, problem: 'is not a time' };
}
