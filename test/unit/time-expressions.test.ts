/**
 * Relative times in seconds to weeks are computed without luxon (it is slow to start); they must give
 * exactly what luxon's calendar arithmetic gives, including where luxon says the time is out of range.
 */
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parseTimeExpression } from '../../src/time/expressions.js';

const FIXED_UNITS = ['second', 'minute', 'hour', 'day', 'week'] as const;
const ABBREVIATIONS: Record<string, (typeof FIXED_UNITS)[number]> = { s: 'second', min: 'minute', h: 'hour', d: 'day', w: 'week' };

function byLuxon(nowMs: number, amount: number, unit: (typeof FIXED_UNITS)[number]) {
  const at = DateTime.fromMillis(nowMs, { zone: 'utc' }).minus({ [`${unit}s`]: amount });
  return at.isValid ? { ok: true, epochMs: at.toMillis() } : { ok: false, problem: 'is too far in the past' };
}

const nowMs = fc.oneof(
  fc.integer({ min: -8.64e15, max: 8.64e15 }),
  fc.constantFrom(-8.64e15, 8.64e15, 0, Date.UTC(2026, 2, 29, 1, 30), Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
  fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }),
);
const amount = fc.oneof(fc.integer({ min: 0, max: 9_999_999 }), fc.integer({ min: 0, max: 1000 }));

describe('relative times in fixed-length units', () => {
  it('equal luxon, written out or abbreviated, with or without "ago"', () => {
    fc.assert(
      fc.property(nowMs, amount, fc.constantFrom(...FIXED_UNITS, ...Object.keys(ABBREVIATIONS)), fc.boolean(), (now, n, word, ago) => {
        const unit = ABBREVIATIONS[word] ?? (word as (typeof FIXED_UNITS)[number]);
        const text = `${n} ${word}${ABBREVIATIONS[word] === undefined && n !== 1 ? 's' : ''}${ago ? ' ago' : ''}`;
        expect(parseTimeExpression(text, now)).toEqual(byLuxon(now, n, unit));
      }),
      { numRuns: 3000 },
    );
  });

  it('reject a time before the earliest date luxon can hold', () => {
    expect(parseTimeExpression('9999999 weeks ago', -8.64e15 + 1)).toEqual({ ok: false, problem: 'is too far in the past' });
    expect(parseTimeExpression('1 second', -8.64e15)).toEqual({ ok: false, problem: 'is too far in the past' });
    expect(parseTimeExpression('0 seconds', -8.64e15)).toEqual({ ok: true, epochMs: -8.64e15 });
  });
});
