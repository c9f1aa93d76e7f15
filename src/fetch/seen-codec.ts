/**
 * The bit-level form of the seen set (seen-set.ts) in the state document: base64 of groups of 48-bit
 * hashes with 8 status-flag bits each, one group per received second. Knows nothing of rows or hashing.
 *
 * Version 3 (written): as version 2, with bit 7 of a group's Rice-parameter byte set when the group holds
 * version 2's hashes (seen-set.ts keeps those until they age out).
 *
 * Version 2: per second ascending, varint second (the first absolute, then the step from the
 * previous), varint entry count, u8 Rice parameter k, then a bit stream padded to a whole byte: per entry in
 * ascending (hash, flags) order, the step from the previous hash (the first from 0) as q ones, a zero and k
 * low bits, then the flags: 0 and a 3-bit index for one status, or 1 and 8 bits. Sorted uniform hashes step
 * by about 2^48 / n, so an entry costs 48 − log2(n) + about 2 bits plus 4 for its status instead of 56: at
 * 130 rows a second (10,000,000 a day at the daily peak) about 47 bits, 16 % less.
 *
 * Version 1 (read only): per second ascending, u32 second, u16 count, then count × (48-bit hash, u8 flags).
 */

export const HASH_BITS = 48;
export const HASH_LIMIT = 2 ** HASH_BITS;
const HASH_BYTES = HASH_BITS / 8;
const ENTRY_BYTES = HASH_BYTES + 1;
const GROUP_HEADER_BYTES = 6; // version 1: u32 epoch second, u16 entry count

/** One second's entries: [hash, flags] in ascending (hash, flags) order, none repeated. */
export interface CodedGroup {
  second: number;
  entries: readonly (readonly [hash: number, flags: number])[];
  /** Marked (version 3): its hashes are of the older kind. */
  legacy: boolean;
}

/** Receives each decoded entry; `legacy` as marked in version 3, always false before. */
export type EntrySink = (second: number, hash: number, flags: number, legacy: boolean) => void;

export type SeenFormat = 1 | 2 | 3;

const LEGACY_BIT = 0x80;

/** Flags with one bit set → the bit's index. */
const SINGLE_FLAG = new Map<number, number>(Array.from({ length: 8 }, (_, i) => [1 << i, i]));

/** Version 3 text of `groups` (ascending seconds; empty groups are left out). */
export function encodeSeen(groups: Iterable<CodedGroup>): string {
  const out = new BitWriter();
  let previousSecond = 0;
  for (const { second, entries, legacy } of groups) {
    if (entries.length === 0) continue;
    out.varint(second - previousSecond);
    previousSecond = second;
    out.varint(entries.length);
    const k = riceParameter(entries.length);
    out.bits(legacy ? k | LEGACY_BIT : k, 8);
    let previousHash = 0;
    for (const [hash, flags] of entries) {
      const step = hash - previousHash;
      previousHash = hash;
      const quotient = Math.floor(step / 2 ** k);
      for (let i = 0; i < quotient; i++) out.bits(1, 1);
      out.bits(0, 1);
      out.bits(step - quotient * 2 ** k, k);
      const index = SINGLE_FLAG.get(flags);
      if (index !== undefined) {
        out.bits(0, 1);
        out.bits(index, 3);
      } else {
        out.bits(1, 1);
        out.bits(flags, 8);
      }
    }
    out.align();
  }
  return out.toBuffer().toString('base64');
}

/** The inverse of encodeSeen (`format` 3), or of an earlier version's form; throws on anything else. */
export function decodeSeen(text: string, format: SeenFormat, add: EntrySink): void {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('seen keys are not base64');
  const bytes = Buffer.from(text, 'base64');
  if (format === 1) decodeFixedWidth(bytes, add);
  else decodeRice(bytes, format === 3, add);
}

/** The Rice parameter for n uniform hashes: log2 of the mean step times ln 2, rounded down. */
function riceParameter(count: number): number {
  return Math.max(0, Math.min(HASH_BITS - 1, Math.floor(Math.log2((HASH_LIMIT / count) * Math.LN2))));
}

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  /** Writes the `width` low bits of `value` (width ≤ 48), most significant first. */
  bits(value: number, width: number): void {
    for (let left = width; left > 0; ) {
      const take = Math.min(left, 8 - this.used);
      left -= take;
      const chunk = Math.floor(value / 2 ** left) % 2 ** take;
      this.current = (this.current << take) | chunk;
      this.used += take;
      if (this.used === 8) {
        this.bytes.push(this.current);
        this.current = 0;
        this.used = 0;
      }
    }
  }

  varint(value: number): void {
    this.align();
    let rest = value;
    while (rest >= 0x80) {
      this.bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.bytes.push(rest);
  }

  align(): void {
    if (this.used > 0) this.bits(0, 8 - this.used);
  }

  toBuffer(): Buffer {
    this.align();
    return Buffer.from(this.bytes);
  }
}

class BitReader {
  private at = 0;
  private bit = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  bits(width: number): number {
    let value = 0;
    for (let left = width; left > 0; ) {
      if (this.at >= this.bytes.length) throw new Error('seen keys end inside a group');
      const take = Math.min(left, 8 - this.bit);
      const chunk = ((this.bytes[this.at] as number) >> (8 - this.bit - take)) & ((1 << take) - 1);
      value = value * 2 ** take + chunk;
      left -= take;
      this.bit += take;
      if (this.bit === 8) {
        this.at++;
        this.bit = 0;
      }
    }
    return value;
  }

  varint(): number {
    this.align();
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.at >= this.bytes.length || shift > 35) throw new Error('seen keys end inside a group header');
      const byte = this.bytes[this.at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  }

  align(): void {
    if (this.bit > 0) {
      this.at++;
      this.bit = 0;
    }
  }
}

function decodeRice(bytes: Buffer, marked: boolean, add: EntrySink): void {
  const reader = new BitReader(bytes);
  let second = 0;
  while (!reader.done) {
    second += reader.varint();
    const count = reader.varint();
    const byte = reader.bits(8);
    const legacy = marked && (byte & LEGACY_BIT) !== 0;
    const k = legacy ? byte & ~LEGACY_BIT : byte;
    if (count === 0 || k > HASH_BITS - 1) throw new Error('seen keys hold an empty or malformed group');
    let hash = 0;
    for (let i = 0; i < count; i++) {
      let quotient = 0;
      while (reader.bits(1) === 1) {
        quotient++;
        if (quotient * 2 ** k >= HASH_LIMIT) throw new Error('seen keys hold a step past the hash range');
      }
      hash += quotient * 2 ** k + reader.bits(k);
      if (hash >= HASH_LIMIT) throw new Error('seen keys hold a hash past its range');
      const flags = reader.bits(1) === 0 ? 1 << reader.bits(3) : reader.bits(8);
      add(second, hash, flags, legacy);
    }
    reader.align();
  }
}

function decodeFixedWidth(bytes: Buffer, add: EntrySink): void {
  let at = 0;
  while (at < bytes.length) {
    if (at + GROUP_HEADER_BYTES > bytes.length) throw new Error('seen keys end inside a group header');
    const second = bytes.readUInt32BE(at);
    const count = bytes.readUInt16BE(at + 4);
    at += GROUP_HEADER_BYTES;
    if (count === 0 || at + count * ENTRY_BYTES > bytes.length) throw new Error('seen keys end inside a group');
    for (let i = 0; i < count; i++) {
      add(second, bytes.readUIntBE(at, HASH_BYTES), bytes.readUInt8(at + HASH_BYTES), false);
      at += ENTRY_BYTES;
    }
  }
}
