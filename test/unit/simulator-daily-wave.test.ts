import { describe, expect, it } from 'vitest';
import { BUCKET_MS, TraceData } from '../../src/simulator/data.js';
import { TICK_EPOCH_MS } from '../../src/simulator/instant.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Messages the tenant received in the hour starting at `hourOfDay` UTC on some day. */
function messagesInHour(data: TraceData, hourOfDay: number): number {
  const first = (100 * DAY + hourOfDay * HOUR) / BUCKET_MS;
  let total = 0;
  for (let bucket = first; bucket < first + HOUR / BUCKET_MS; bucket++) total += data.messageCount(bucket);
  return total;
}

function traceData(dailyWave: boolean | undefined): TraceData {
  return new TraceData({
    seed: 7,
    ratePerDay: 24_000,
    ...(dailyWave === undefined ? {} : { dailyWave }),
    historyStartMs: TICK_EPOCH_MS,
    maxDelayMs: 60_000,
    statusDelayMs: 120_000,
    maxRecipients: 3,
    recalledShare: 0,
    nullShare: 0,
    ipv6Share: 0,
  });
}

describe('the simulated daily wave', () => {
  it('makes 14:00 UTC about three times as busy as 02:00 by default, and keeps the mean all day when turned off', () => {
    const waving = traceData(undefined);
    // 1,000 messages an hour on average: 1.5× at 14:00, 0.5× at 02:00 (±1 per minute of rounding).
    expect(messagesInHour(waving, 14)).toBeGreaterThan(1400);
    expect(messagesInHour(waving, 2)).toBeLessThan(600);
    const flat = traceData(false);
    for (const hour of [2, 8, 14, 20]) {
      expect(Math.abs(messagesInHour(flat, hour) - 1000)).toBeLessThanOrEqual(60);
    }
  });
});
