import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/http/retry-after.js';

const NOW = Date.parse('2026-10-21T07:28:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['delay-seconds', '120', 120_000],
    ['zero seconds', '0', 0],
    ['surrounding spaces', '  7 ', 7_000],
    ['IMF-fixdate in the future', 'Wed, 21 Oct 2026 07:28:30 GMT', 30_000],
    ['IMF-fixdate in the past', 'Wed, 21 Oct 2026 07:27:00 GMT', 0],
    ['RFC 850 date', 'Wednesday, 21-Oct-26 07:28:10 GMT', 10_000],
    ['asctime date', 'Wed Oct 21 07:28:05 2026', 5_000],
  ])('%s: %j → %d ms', (_name, header, expected) => {
    expect(parseRetryAfter(header, NOW)).toBe(expected);
  });

  it.each([
    ['absent', null],
    ['undefined', undefined],
    ['empty', ''],
    ['negative', '-5'],
    ['fractional', '1.5'],
    ['unit', '10s'],
    ['garbage', 'soon'],
    ['ISO date (not an HTTP-date)', '2026-10-21T07:29:00Z'],
    ['date with a non-GMT zone', 'Wed, 21 Oct 2026 07:28:30 +0200'],
    ['huge number', '99999999999999999999'],
  ])('%s → undefined (normal backoff)', (_name, header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });
});
