/**
 * SipHash (Aumasson and Bernstein, 2012) over UTF-16 code units (as UTF-16LE bytes), in 32-bit halves because
 * JavaScript has no fast 64-bit integers. A keyed hash built against hash flooding: without the 128-bit key,
 * which inputs collide cannot be told, however the inputs are chosen. The dedup keys use SipHash-1-3 (one
 * compression round per 8 bytes, three to finish; the rounds Rust's and Python's hash tables use), about
 * 0.3 µs for a row's id and recipient against 3–4 µs for a SHA-256 digest object from node:crypto.
 */

/** A 128-bit SipHash key: k0 low, k0 high, k1 low, k1 high (each half of k0 and k1 little-endian). */
export type SipKey = Uint32Array;

/** The key of 16 bytes `bytes` as SipHash reads them (k0 = bytes 0–7, k1 = bytes 8–15, little-endian). */
export function sipKey(bytes: Uint8Array): SipKey {
  if (bytes.length !== 16) throw new RangeError('a SipHash key is 16 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return Uint32Array.of(view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true));
}

let lowBits = 0;

/**
 * SipHash-c-d of the first `length` code units of `units` as UTF-16LE bytes; returns the high 32 bits of
 * the 64-bit result (unsigned) and leaves the low 32 for `low()`. One round body serves the compression of
 * every 8-byte word and the finalization, on locals, so a hash allocates nothing.
 */
export function sipHash(key: SipKey, units: Uint16Array, length: number, c: number, d: number): number {
  const k0l = key[0] as number;
  const k0h = key[1] as number;
  const k1l = key[2] as number;
  const k1h = key[3] as number;
  let v0h = k0h ^ 0x736f6d65;
  let v0l = k0l ^ 0x70736575;
  let v1h = k1h ^ 0x646f7261;
  let v1l = k1l ^ 0x6e646f6d;
  let v2h = k0h ^ 0x6c796765;
  let v2l = k0l ^ 0x6e657261;
  let v3h = k1h ^ 0x74656462;
  let v3l = k1l ^ 0x79746573;
  const whole = length - (length % 4);
  // Words are taken one after another: each whole 4 code units, then the last block (0–3 units left and
  // the length in bytes, mod 256, in the top byte); after it the finalization's d rounds.
  let next = 0;
  let mh = 0;
  let ml = 0;
  let roundsLeft = 0;
  let stage = 0; // 0: compressing words, 1: the last block taken, 2: finalizing
  for (;;) {
    if (roundsLeft === 0) {
      if (stage < 2 && next > 0) {
        v0h ^= mh;
        v0l ^= ml;
      }
      if (stage === 0) {
        if (next < whole) {
          ml = (units[next] as number) | ((units[next + 1] as number) << 16);
          mh = (units[next + 2] as number) | ((units[next + 3] as number) << 16);
        } else {
          const left = length - whole;
          ml = left === 0 ? 0 : left === 1 ? (units[next] as number) : (units[next] as number) | ((units[next + 1] as number) << 16);
          mh = (left === 3 ? (units[next + 2] as number) : 0) | (((length * 2) & 0xff) << 24);
          stage = 1;
        }
        next += 4;
        v3h ^= mh;
        v3l ^= ml;
        roundsLeft = c;
      } else if (stage === 1) {
        v2l ^= 0xff;
        roundsLeft = d;
        stage = 2;
      } else {
        break;
      }
    }
    // SipRound. v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    let lo = (v0l + v1l) | 0;
    v0h = (v0h + v1h + (lo >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = lo;
    let h = v1h;
    v1h = ((h << 13) | (v1l >>> 19)) ^ v0h;
    v1l = ((v1l << 13) | (h >>> 19)) ^ v0l;
    h = v0h;
    v0h = v0l;
    v0l = h;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    lo = (v2l + v3l) | 0;
    v2h = (v2h + v3h + (lo >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = lo;
    h = v3h;
    v3h = ((h << 16) | (v3l >>> 16)) ^ v2h;
    v3l = ((v3l << 16) | (h >>> 16)) ^ v2l;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    lo = (v0l + v3l) | 0;
    v0h = (v0h + v3h + (lo >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = lo;
    h = v3h;
    v3h = ((h << 21) | (v3l >>> 11)) ^ v0h;
    v3l = ((v3l << 21) | (h >>> 11)) ^ v0l;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    lo = (v2l + v1l) | 0;
    v2h = (v2h + v1h + (lo >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = lo;
    h = v1h;
    v1h = ((h << 17) | (v1l >>> 15)) ^ v2h;
    v1l = ((v1l << 17) | (h >>> 15)) ^ v2l;
    h = v2h;
    v2h = v2l;
    v2l = h;
    roundsLeft--;
  }
  lowBits = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  return (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
}

/** The low 32 bits of the last sipHash result. */
export function low(): number {
  return lowBits;
}

/** The top 48 bits of SipHash-1-3 of the first `length` code units of `units`, as a number below 2^48. */
export function sipHash48(key: SipKey, units: Uint16Array, length: number): number {
  return sipHash(key, units, length, 1, 3) * 0x10000 + (lowBits >>> 16);
}
