/**
 * Which events were already sent: the dedup key is (id, recipientAddress, status), so a status change is a
 * new event and a re-read of the same row is not.
 *
 * Compact form. Keys are needed only for rows that a later run may read again, i.e. rows received at or
 * after the cursor (see window.ts); that is about `lookback` minutes of rows, a little more while a round of
 * the look-back re-read takes several runs (lookback.ts). They are grouped by the second the row was
 * received in (a re-read row has the same receivedDateTime, whatever its precision), and a row is stored
 * once, as a 48-bit hash of (id, recipientAddress) plus status flags, one bit per documented status. A
 * status outside the table is stored as a 48-bit hash of the whole key with no flags. Serialized (state
 * version 2) with the sorted hashes of a second Rice-coded as steps, about 47 bits a row at 130 rows a
 * second instead of 56, base64 (7.9 characters a row): 1,000,000 rows a day with a 15-minute lookback is
 * about 80 KB, 10,000,000 rows a day about 820 KB, or 1.15 MB at the 1.4× busiest hours of the day.
 *
 * Collisions. A collision can only drop an event, never duplicate one, and only when a new key meets a
 * stored hash received in the same second. With n rows in that second the chance per new key is at most
 * n / 2^48. At 10,000,000 rows a day (116 rows a second on average, bursts of a few thousand) and every row
 * changing status twice, that is about 4e-13 per key and 1e-3 over a year; at 1,000,000 rows a day, 100
 * times less. 64-bit keys over the whole horizon would cost 30% more state for no practical gain.
 */
import { createHash } from 'node:crypto';

/** Status flags, one bit each. Graph spells them in camelCase; compared case-insensitively. */
export const STATUS_FLAGS: readonly string[] = [
  'gettingstatus',
  'pending',
  'failed',
  'delivered',
  'expanded',
  'quarantined',
  'filteredasspam',
  'recalled',
];

const HASH_BYTES = 6;
const ENTRY_BYTES = HASH_BYTES + 1;
const GROUP_HEADER_BYTES = 6; // state version 1: u32 epoch second, u16 entry count

export interface DedupKey {
  /** Epoch second the row was received in. */
  second: number;
  /** 48-bit hash: of (id, recipient) when `flag` > 0, of (id, recipient, status) when `flag` is 0. */
  hash: number;
  /** The status bit, or 0 for a status outside STATUS_FLAGS. */
  flag: number;
}

export interface KeyedRow {
  id: string;
  recipientAddress?: string | null | undefined;
  status: string;
}

function hash48(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUIntBE(0, HASH_BYTES);
}

export function dedupKey(row: KeyedRow, receivedMs: number): DedupKey {
  const second = Math.floor(receivedMs / 1000);
  const recipient = row.recipientAddress ?? '';
  const index = STATUS_FLAGS.indexOf(row.status.toLowerCase());
  if (index >= 0) return { second, hash: hash48(`${row.id}\u0000${recipient}`), flag: 1 << index };
  return { second, hash: hash48(`${row.id}\u0000${recipient}\u0000${row.status}`), flag: 0 };
}

interface Group {
  /** Row hash → status flags already sent. */
  rows: Map<number, number>;
  /** Whole-key hashes of statuses outside the table. */
  others: Set<number>;
}

export class SeenSet {
  private readonly groups = new Map<number, Group>();

  has(key: DedupKey): boolean {
    const group = this.groups.get(key.second);
    if (!group) return false;
    if (key.flag === 0) return group.others.has(key.hash);
    return ((group.rows.get(key.hash) ?? 0) & key.flag) !== 0;
  }

  add(key: DedupKey): void {
    let group = this.groups.get(key.second);
    if (!group) {
      group = { rows: new Map(), others: new Set() };
      this.groups.set(key.second, group);
    }
    if (key.flag === 0) group.others.add(key.hash);
    else group.rows.set(key.hash, (group.rows.get(key.hash) ?? 0) | key.flag);
  }

  /** Forgets rows received before `epochMs` (a later run never reads them again). */
  pruneBefore(epochMs: number): void {
    const first = Math.ceil(epochMs / 1000);
    for (const second of this.groups.keys()) if (second < first) this.groups.delete(second);
  }

  /** Stored entries (rows plus whole-key hashes). */
  get size(): number {
    let total = 0;
    for (const group of this.groups.values()) total += group.rows.size + group.others.size;
    return total;
  }

  clone(): SeenSet {
    const copy = new SeenSet();
    for (const [second, group] of this.groups) {
      copy.groups.set(second, { rows: new Map(group.rows), others: new Set(group.others) });
    }
    return copy;
  }

  /**
   * Version 2, base64 of: per second ascending, varint second (the first absolute, then the step from the
   * previous), varint entry count, u8 Rice parameter k, then a bit stream padded to a whole byte: per entry
   * in ascending (hash, flags) order, the step from the previous hash (the first from 0) as q ones, a zero
   * and k low bits, then the flags: 0 and a 3-bit index for one status, or 1 and 8 bits. Sorted uniform
   * hashes step by about 2^48 / n, so an entry costs 48 − log2(n) + about 2 bits plus 4 for its status
   * instead of 56: at 130 rows a second (10,000,000 a day at the daily peak) about 47 bits, 16 % less.
   */
  serialize(): string {
    const out = new BitWriter();
    const seconds = [...this.groups.keys()].sort((a, b) => a - b);
    let previousSecond = 0;
    for (const second of seconds) {
      const group = this.groups.get(second) as Group;
      const entries: [number, number][] = [...group.rows.entries()];
      for (const hash of group.others) entries.push([hash, 0]);
      if (entries.length === 0) continue;
      entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      out.varint(second - previousSecond);
      previousSecond = second;
      out.varint(entries.length);
      const k = riceParameter(entries.length);
      out.bits(k, 8);
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

  /** The inverse of serialize (`format` 2), or of state version 1's fixed-width form; throws on anything else. */
  static parse(text: string, format: 1 | 2 = 2): SeenSet {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('seen keys are not base64');
    const bytes = Buffer.from(text, 'base64');
    return format === 1 ? parseFixedWidth(bytes) : parseRice(bytes);
  }
}

const HASH_LIMIT = 2 ** (HASH_BYTES * 8);
/** Flags with one bit set → the bit's index. */
const SINGLE_FLAG = new Map<number, number>(STATUS_FLAGS.map((_, i) => [1 << i, i]));

/** The Rice parameter for n uniform hashes: log2 of the mean step times ln 2, rounded down. */
function riceParameter(count: number): number {
  return Math.max(0, Math.min(47, Math.floor(Math.log2((HASH_LIMIT / count) * Math.LN2))));
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

function parseRice(bytes: Buffer): SeenSet {
  const set = new SeenSet();
  const reader = new BitReader(bytes);
  let second = 0;
  while (!reader.done) {
    second += reader.varint();
    const count = reader.varint();
    const k = reader.bits(8);
    if (count === 0 || k > 47) throw new Error('seen keys hold an empty or malformed group');
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
      set.add({ second, hash, flag: flags });
    }
    reader.align();
  }
  return set;
}

/** State version 1: per second ascending, u32 second, u16 count, then count × (48-bit hash, u8 flags). */
function parseFixedWidth(bytes: Buffer): SeenSet {
  const set = new SeenSet();
  let at = 0;
  while (at < bytes.length) {
    if (at + GROUP_HEADER_BYTES > bytes.length) throw new Error('seen keys end inside a group header');
    const second = bytes.readUInt32BE(at);
    const count = bytes.readUInt16BE(at + 4);
    at += GROUP_HEADER_BYTES;
    if (count === 0 || at + count * ENTRY_BYTES > bytes.length) throw new Error('seen keys end inside a group');
    for (let i = 0; i < count; i++) {
      const hash = bytes.readUIntBE(at, HASH_BYTES);
      const flags = bytes.readUInt8(at + HASH_BYTES);
      at += ENTRY_BYTES;
      set.add({ second, hash, flag: flags });
    }
  }
  return set;
}
