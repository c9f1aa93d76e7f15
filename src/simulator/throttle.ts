/**
 * The tenant-wide message trace quota: 100 requests per rolling 5 minutes shared by list and details
 * calls (Exchange Team blog; throttling-limits doc). Time comes from the injected clock so tests and
 * benchmarks can run through many windows without waiting.
 */
export interface ThrottleLimit {
  limit: number;
  windowSeconds: number;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RollingThrottle {
  /** Admission times (epoch ms), ascending. */
  private admitted: number[] = [];

  decide(limit: ThrottleLimit | 'off', nowMs: number): ThrottleDecision {
    if (limit === 'off') return { allowed: true };
    const windowMs = limit.windowSeconds * 1000;
    const horizon = nowMs - windowMs;
    let drop = 0;
    while (drop < this.admitted.length && (this.admitted[drop] as number) <= horizon) drop++;
    if (drop > 0) this.admitted.splice(0, drop);
    if (this.admitted.length < limit.limit) {
      this.admitted.push(nowMs);
      return { allowed: true };
    }
    // Rejected requests do not consume quota; the caller may retry once the oldest admission ages out.
    const oldest = this.admitted[this.admitted.length - limit.limit] ?? nowMs;
    const waitMs = oldest + windowMs - nowMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  reset(): void {
    this.admitted = [];
  }
}
