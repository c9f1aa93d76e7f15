/**
 * SipHash (Aumasson and Bernstein, 2012) over the UTF-16LE code units of a string, in 32-bit halves because
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

// The state v0..v3 as 32-bit halves (v0 high, v0 low, v1 high, …): a typed array holds them unboxed, and
// the rounds work on locals, so a hash allocates nothing.
const state = new Int32Array(8);

/** `rounds` SipRounds on `state`. */
function sipRounds(rounds: number): void {
  let v0h = state[0] as number, v0l = state[1] as number, v1h = state[2] as number, v1l = state[3] as number; // prettier-ignore
  let v2h = state[4] as number, v2l = state[5] as number, v3h = state[6] as number, v3l = state[7] as number; // prettier-ignore
  for (let r = 0; r < rounds; r++) {
    // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
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
  }
  state[0] = v0h;
  state[1] = v0l;
  state[2] = v1h;
  state[3] = v1l;
  state[4] = v2h;
  state[5] = v2l;
  state[6] = v3h;
  state[7] = v3l;
}

/** One message word (8 bytes, as high and low halves) through `rounds` compression rounds. */
function compress(mh: number, ml: number, rounds: number): void {
  state[6] = (state[6] as number) ^ mh;
  state[7] = (state[7] as number) ^ ml;
  sipRounds(rounds);
  state[0] = (state[0] as number) ^ mh;
  state[1] = (state[1] as number) ^ ml;
}

let lowBits = 0;

/**
 * SipHash-c-d of `text`'s UTF-16LE bytes; returns the high 32 bits of the 64-bit result (unsigned) and
 * leaves the low 32 for `low()`.
 */
export function sipHash(key: SipKey, text: string, c: number, d: number): number {
  const k0l = key[0] as number;
  const k0h = key[1] as number;
  const k1l = key[2] as number;
  const k1h = key[3] as number;
  state[0] = k0h ^ 0x736f6d65;
  state[1] = k0l ^ 0x70736575;
  state[2] = k1h ^ 0x646f7261;
  state[3] = k1l ^ 0x6e646f6d;
  state[4] = k0h ^ 0x6c796765;
  state[5] = k0l ^ 0x6e657261;
  state[6] = k1h ^ 0x74656462;
  state[7] = k1l ^ 0x79746573;
  const units = text.length;
  const whole = units - (units % 4);
  let i = 0;
  for (; i < whole; i += 4) {
    compress(text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16), text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16), c);
  }
  // The last block: the 0–3 code units left, and the length in bytes (mod 256) in the top byte.
  const left = units - whole;
  const bl = left === 0 ? 0 : left === 1 ? text.charCodeAt(i) : text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
  const bh = (left === 3 ? text.charCodeAt(i + 2) : 0) | (((units * 2) & 0xff) << 24);
  compress(bh, bl, c);
  state[5] = (state[5] as number) ^ 0xff;
  sipRounds(d);
  lowBits = ((state[1] as number) ^ (state[3] as number) ^ (state[5] as number) ^ (state[7] as number)) >>> 0;
  return ((state[0] as number) ^ (state[2] as number) ^ (state[4] as number) ^ (state[6] as number)) >>> 0;
}

/** The low 32 bits of the last sipHash result. */
export function low(): number {
  return lowBits;
}

/** The top 48 bits of SipHash-1-3 of `text`, as a number below 2^48. */
export function sipHash48(key: SipKey, text: string): number {
  return sipHash(key, text, 1, 3) * 0x10000 + (lowBits >>> 16);
}
