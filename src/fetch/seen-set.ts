/**
 * Which events were already sent: the dedup key is (id, recipientAddress, status), so a status change is a
 * new event and a re-read of the same row is not.
 *
 * Compact form. Keys are needed only for rows that a later run may read again, i.e. rows received at or
 * after the cursor (see window.ts); that is about `lookback` minutes of rows, a little more while a round of
 * the look-back re-read takes several runs (lookback.ts). They are grouped by the second the row was
 * received in (a re-read row has the same receivedDateTime, whatever its precision), and a row is stored
 * once, as a 48-bit hash of (id, recipientAddress) plus status flags, one bit per documented status. A
 * status outside the table is stored as a 48-bit hash of the whole key with no flags. Serialized by
 * seen-codec.ts, about 47 bits a row at 130 rows a second instead of 56, base64 (7.9 characters a row):
 * 1,000,000 rows a day with a 15-minute lookback is about 80 KB, 10,000,000 rows a day about 820 KB, or
 * 1.15 MB at the 1.4× busiest hours of the day.
 *
 * Collisions. A collision can only drop an event, never duplicate one, and only when a new key meets a
 * stored hash received in the same second. With n rows in that second the chance per new key is at most
 * n / 2^48. At 10,000,000 rows a day (116 rows a second on average, bursts of a few thousand) and every row
 * changing status twice, that is about 4e-13 per key and 1e-3 over a year; at 1,000,000 rows a day, 100
 * times less. 64-bit keys over the whole horizon would cost 30% more state for no practical gain.
 */
import { createHash } from 'node:crypto';
import { type CodedGroup, decodeSeen, encodeSeen, HASH_BITS } from './seen-codec.js';

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
  return createHash('sha256').update(text, 'utf8').digest().readUIntBE(0, HASH_BITS / 8);
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

  /** Deterministic: seconds ascending, entries by (hash, flags); see seen-codec.ts. */
  serialize(): string {
    const seconds = [...this.groups.keys()].sort((a, b) => a - b);
    return encodeSeen(seconds.map((second) => codedGroup(second, this.groups.get(second) as Group)));
  }

  /** The inverse of serialize (`format` 2), or of state version 1's fixed-width form; throws on anything else. */
  static parse(text: string, format: 1 | 2 = 2): SeenSet {
    const set = new SeenSet();
    decodeSeen(text, format, (second, hash, flag) => set.add({ second, hash, flag }));
    return set;
  }
}

function codedGroup(second: number, group: Group): CodedGroup {
  const entries: [number, number][] = [...group.rows.entries()];
  for (const hash of group.others) entries.push([hash, 0]);
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { second, entries };
}
