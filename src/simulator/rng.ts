/**
 * Deterministic randomness. Every generated value is a pure function of (seed, coordinates), so any
 * time bucket, fault decision or id can be reproduced on demand without keeping state around — the
 * data set is never materialised.
 */

/** 32-bit avalanche mix (Murmur3 finaliser); good enough to decorrelate neighbouring coordinates. */
function mix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes a list of integers (each reduced to 32 bits, plus the high part for large ones). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    const lo = part >>> 0;
    const hi = Math.floor(part / 0x1_0000_0000) >>> 0;
    h = mix32(h ^ lo) + 0x6d2b79f5;
    h = mix32(h ^ hi) + 0x27d4eb2f;
  }
  return mix32(h);
}

/** Hashes a string (UTF-16 code units) to 32 bits. */
export function hashString(text: string, seed = 0): number {
  let h = mix32(seed ^ 0x5bd1e995);
  for (let i = 0; i < text.length; i++) {
    h = mix32(h ^ text.charCodeAt(i)) + i;
  }
  return mix32(h);
}

/** Small fast PRNG (sfc32) seeded from a hash of coordinates. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...coordinates: number[]) {
    const h = hash32(...coordinates);
    this.a = h;
    this.b = hash32(h, 1);
    this.c = hash32(h, 2);
    this.d = 1;
    for (let i = 0; i < 8; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from empty list');
    return item;
  }

  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.next() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    const last = entries[entries.length - 1];
    if (last === undefined) throw new Error('weighted pick from empty list');
    return last[0];
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.nextUint32().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }
}

/** A GUID (lowercase, 8-4-4-4-12) derived from coordinates; version-4 shaped. */
export function guidFrom(...coordinates: number[]): string {
  const rng = new Rng(...coordinates, 0x61d);
  const h = rng.hex(32);
  const variant = ((Number.parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
