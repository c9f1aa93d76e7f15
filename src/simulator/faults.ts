/**
 * Fault injection for Graph requests, and the per-response variations Graph shows (Retry-After forms,
 * status spelling). One seeded roll per request decides at most one fault, so a given fault seed and request
 * sequence reproduces the same failures. The fault seed is its own (`faultSeed`, by default the data seed), so
 * the same data can be served with faults at other requests. Probabilities are per kind (they should sum to
 * at most 1; beyond that the later kinds in FAULT_KINDS get what is left).
 */
import { Rng } from './rng.js';

export const FAULT_KINDS = [
  '500',
  '502',
  '503',
  '504',
  '429',
  '401',
  'reset',
  'timeout',
  'slow',
  'truncate',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultProbabilities = Partial<Record<FaultKind, number>>;

/** How a 429 or 503 says when to come back: `Retry-After: 7`, `Retry-After: <HTTP-date>`, or no header. */
export const RETRY_AFTER_FORMS = ['seconds', 'httpDate', 'none'] as const;
export type RetryAfterForm = (typeof RETRY_AFTER_FORMS)[number];
/** Relative weights; all zero means seconds. */
export type RetryAfterMix = Record<RetryAfterForm, number>;
export const DEFAULT_RETRY_AFTER_MIX: RetryAfterMix = { seconds: 1, httpDate: 1, none: 1 };

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

export class FaultPicker {
  private readonly rng: Rng;
  /** Separate from the fault rolls, so adding a variation never moves which requests fail. */
  private readonly variation: Rng;

  constructor(faultSeed: number) {
    this.rng = new Rng(faultSeed, 0xfa17);
    this.variation = new Rng(faultSeed, 0x7a41);
  }

  pick(faults: FaultProbabilities): FaultKind | null {
    const roll = this.rng.next();
    let cumulative = 0;
    for (const kind of FAULT_KINDS) {
      const p = faults[kind] ?? 0;
      if (p <= 0) continue;
      cumulative += p;
      if (roll < cumulative) return kind;
    }
    return null;
  }

  /** Seconds to wait after injected 429/503s. */
  retryAfterSeconds(): number {
    return this.rng.int(1, 5);
  }

  retryAfterForm(mix: RetryAfterMix): RetryAfterForm {
    const total = mix.seconds + mix.httpDate + mix.none;
    if (total <= 0) return 'seconds';
    return this.variation.weighted(RETRY_AFTER_FORMS.map((form) => [form, mix[form]] as const));
  }

  /** True for the share of responses that should spell statuses in PascalCase. */
  pascalCase(share: number): boolean {
    return share > 0 && this.variation.chance(share);
  }
}

/** The Retry-After header for a wait of `seconds` from `nowMs` in the given form (none: no header). */
export function retryAfterHeader(form: RetryAfterForm, seconds: number, nowMs: number): Record<string, string> {
  if (form === 'none') return {};
  if (form === 'seconds') return { 'retry-after': String(seconds) };
  // An HTTP-date has whole seconds: round up, so the date never names an earlier moment than the wait.
  const at = Math.ceil((nowMs + seconds * 1000) / 1000) * 1000;
  return { 'retry-after': new Date(at).toUTCString() };
}
