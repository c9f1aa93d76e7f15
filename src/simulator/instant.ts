/**
 * Instants with Graph's 100-nanosecond precision. `receivedDateTime` carries up to seven fractional
 * digits, which a JS millisecond timestamp cannot hold, and a filter bound like `…:56.1234567Z` must
 * compare exactly. Ticks are counted from 2020-01-01 so they stay below 2^53 until 2048.
 */

export const TICK_EPOCH_MS = Date.UTC(2020, 0, 1);
export const TICKS_PER_MS = 10_000;

export function msToTicks(ms: number): number {
  return (ms - TICK_EPOCH_MS) * TICKS_PER_MS;
}

/** Milliseconds (floored) for a tick count. */
export function ticksToMs(ticks: number): number {
  return TICK_EPOCH_MS + Math.floor(ticks / TICKS_PER_MS);
}

/** ISO 8601 UTC with the fraction trimmed of trailing zeros, as OData serialises DateTimeOffset. */
export function formatTicks(ticks: number): string {
  const ms = ticksToMs(ticks);
  const seconds = new Date(ms - (ms % 1000)).toISOString().slice(0, 19);
  const fraction = ticks - msToTicks(ms - (ms % 1000)); // 0..9_999_999
  if (fraction === 0) return `${seconds}Z`;
  return `${seconds}.${String(fraction).padStart(7, '0').replace(/0+$/, '')}Z`;
}

const ISO_LITERAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?Z$/;

/** Parses `YYYY-MM-DDThh:mm:ss(.f{1,7})Z` into ticks; null if malformed or not a real date. */
export function parseIsoToTicks(text: string): number | null {
  const m = ISO_LITERAL.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  ) {
    return null;
  }
  const fraction = frac ? Number(frac.padEnd(7, '0')) : 0;
  return msToTicks(ms) + fraction;
}

/** Lenient ISO parse for the control API and options (anything Date.parse accepts). */
export function parseLooseIsoMs(text: string): number | null {
  const ticks = parseIsoToTicks(text);
  if (ticks !== null) return ticksToMs(ticks);
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}
