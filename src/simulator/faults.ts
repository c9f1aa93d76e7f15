/**
 * Fault injection for Graph requests. One seeded roll per request decides at most one fault, so a given
 * seed and request sequence reproduces the same failures. Probabilities are per kind (they should sum to
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

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

export class FaultPicker {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed, 0xfa17);
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

  /** Seconds to put in Retry-After for injected 429/503s. */
  retryAfterSeconds(): number {
    return this.rng.int(1, 5);
  }
}
