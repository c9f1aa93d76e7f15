/**
 * A virtual start for end-to-end tests against the simulated tenant. Its rate follows the hour of day
 * (busiest at 14:00 UTC), so a start at the wall clock's minute makes how many rows and requests a test meets
 * depend on when the suite runs: after 19:00 UTC the details test met too few kill points, and the fetch test
 * once never met a 'Retry-After seconds' response. The most recent 14:00 UTC, at most a day back, keeps token
 * lifetimes and the 90-day rule as real as now does.
 */
const MINUTE = 60_000;
const DAY = 1440 * MINUTE;

export function busyHourStart(nowMs = Date.now()): number {
  const today = Math.floor(nowMs / DAY) * DAY + 14 * 60 * MINUTE;
  return today <= nowMs ? today : today - DAY;
}
