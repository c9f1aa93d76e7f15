import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGraphInstant } from '../../src/graph/instant.js';

describe('parseGraphInstant', () => {
  it('agrees with Date for any valid time, in every precision and offset Graph may send', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 999_999_999 }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (date, precision, nanos, offsetMinutes) => {
          const wholeSecondsMs = Math.floor(date.getTime() / 1000) * 1000;
          const fraction = String(nanos).padStart(9, '0').slice(0, precision);
          const local = new Date(wholeSecondsMs + offsetMinutes * 60_000).toISOString().slice(0, 19);
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const zone = offsetMinutes === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const text = `${local}${precision > 0 ? `.${fraction}` : ''}${zone}`;
          const parsed = parseGraphInstant(text);
          const digits = fraction.padEnd(9, '0');
          expect(parsed).toEqual({ epochMs: wholeSecondsMs + Number(digits.slice(0, 3)), subMsNanos: Number(digits.slice(3)) });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each(['2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T10:60:00Z', '2026-01-01T10:00:60Z', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00+24:00', '2026-01-01T00:00:00', 'yesterday'])(
    'refuses %s',
    (text) => {
      expect(parseGraphInstant(text)).toBeUndefined();
    },
  );

  it('accepts a leap day and years before 100', () => {
    expect(parseGraphInstant('2024-02-29T12:00:00Z')?.epochMs).toBe(Date.parse('2024-02-29T12:00:00Z'));
    expect(parseGraphInstant('0050-06-01T00:00:00Z')?.epochMs).toBe(Date.parse('0050-06-01T00:00:00Z'));
  });
});
