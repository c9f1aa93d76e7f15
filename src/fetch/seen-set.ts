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
 * 1.15 MB at the 1.4× busiest hours of the day. In memory, the rows with a flagged status are one hash table
 * of typed arrays keyed by (second, hash) (row-table.ts).
 *
 * The hash is SipHash-1-3 (sip-hash.ts) keyed with 16 random bytes drawn when the set is made and kept with
 * it in the state (`seenSeed`). Keyed, because the inputs are partly chosen by outsiders: whoever sends a
 * message picks its recipient addresses, and the rows of one message share their id. With a fixed fast hash
 * (FNV and the like) a sender could pick addresses whose hashes collide, and every row after the first of
 * such a set would be taken for one already sent and dropped without a word. Without the seed, which
 * addresses collide cannot be known, so the chances below hold whatever the inputs. The seed is not a
 * credential: knowing it only makes that attack possible again, so it stays in the state and nowhere else.
 *
 * Collisions. A collision can only drop an event, never duplicate one, and only when a new key meets a
 * stored hash received in the same second (the whole set, some 300,000 keys at 25,000,000 rows a day, is
 * never searched at once). With n rows held for that second the chance per new key is at most n / 2^48
 * (2^48 ≈ 2.8e14). At 25,000,000 rows a day, 289 rows a second on average (434 in the busiest hour, bursts
 * of a few thousand), about 1e-12 per new key (2e-11 in a 5,000-row second); with every row seen in three
 * statuses, 2.7e10 new keys a year, so about 0.03 events lost a year: one in some 35 years of running. At
 * 10,000,000 rows a day, 6 times less (116 rows a second, 1.1e10 keys: one in some 200 years). 64-bit hashes
 * would make it 65,536 times rarer for about 2 more bytes a row (16 bits at 48 − log2(n) + 6) in a state
 * whose size is a target of its own; 48 bits keep the loss far below every other way an event can go missing.
 *
 * State version 2 hashed with SHA-256 (unkeyed), which cannot be turned into the new hashes. A set read from
 * it keeps those groups, marked, and hashes every later row of those seconds the old way, so each second
 * holds one kind of hash and a re-read finds what was sent: nothing lost, nothing sent twice. Marked groups
 * end as the cursor passes them (about `lookback` minutes); new seconds use the keyed hash from the start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type CodedGroup, decodeSeen, encodeSeen, HASH_BITS, type SeenFormat } from './seen-codec.js';
import { RowTable } from './row-table.js';
import { type SipKey, sipHash48, sipKey } from './sip-hash.js';

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

/** Lower case, and v1.0's camelCase (how rows come, schema.ts), so most rows need no lower-casing. */
const STATUS_FLAG = new Map<string, number>();
for (const [i, status] of STATUS_FLAGS.entries()) STATUS_FLAG.set(status, 1 << i);
for (const spelled of ['gettingStatus', 'filteredAsSpam']) STATUS_FLAG.set(spelled, STATUS_FLAG.get(spelled.toLowerCase()) as number);

const SEED_BYTES = 16;

export interface DedupKey {
  /** Epoch second the row was received in. */
  readonly second: number;
  /** The status bit, or 0 for a status outside STATUS_FLAGS. */
  readonly flag: number;
  readonly id: string;
  /** '' when the row has none. */
  readonly recipient: string;
  /** Hashed with id and recipient when `flag` is 0; otherwise the flag stands for it. */
  readonly status: string;
}

/** What a key's hash is of: id and recipient, and the status when it has no flag, NUL between them. */
export function keyText(key: DedupKey): string {
  return key.flag > 0 ? `${key.id}\u0000${key.recipient}` : `${key.id}\u0000${key.recipient}\u0000${key.status}`;
}

export interface KeyedRow {
  id: string;
  recipientAddress?: string | null | undefined;
  status: string;
}

function statusFlag(status: string): number {
  return STATUS_FLAG.get(status) ?? STATUS_FLAG.get(status.toLowerCase()) ?? 0;
}

export function dedupKey(row: KeyedRow, receivedMs: number): DedupKey {
  const status = row.status;
  return { second: Math.floor(receivedMs / 1000), flag: statusFlag(status), id: row.id, recipient: row.recipientAddress ?? '', status };
}

/** State version 2's hash, for the seconds read from it. */
function legacyHash48(key: DedupKey): number {
  return createHash('sha256').update(keyText(key), 'utf8').digest().readUIntBE(0, HASH_BITS / 8);
}

/** The code units of a key's text, written into a buffer reused from key to key (no string is built). */
let units = new Uint16Array(256);

function unitsOf(key: DedupKey): number {
  return unitsOfFields(key.id, key.recipient, key.flag > 0 ? undefined : key.status);
}

/** As unitsOf, from the parts of a key: `status` only when it has no flag. */
function unitsOfFields(id: string, recipient: string, status: string | undefined): number {
  const length = id.length + 1 + recipient.length + (status === undefined ? 0 : 1 + status.length);
  if (length > units.length) units = new Uint16Array(2 * length);
  let at = copyUnits(id, 0);
  units[at++] = 0;
  at = copyUnits(recipient, at);
  if (status !== undefined) {
    units[at++] = 0;
    at = copyUnits(status, at);
  }
  return at;
}

function copyUnits(text: string, at: number): number {
  for (let i = 0; i < text.length; i++) units[at + i] = text.charCodeAt(i);
  return at + text.length;
}

export class SeenSet {
  /** Rows with a flagged status: (second, row hash) → the flags sent. */
  private readonly rows: RowTable;
  /** Whole-key hashes of statuses outside the table, by second; rare, so a Set each. */
  private readonly others: Map<number, Set<number>>;
  /** Seconds hashed as state version 2 did (SHA-256), because their hashes were read from such a state. */
  private readonly legacy: Set<number>;
  private readonly seedBytes: Buffer;
  private readonly key: SipKey;
  // has() then add() of the same new key is the usual pair: its hash is computed once.
  private lastKey: DedupKey | undefined;
  private lastHash = 0;

  /** `seed`: the 16 bytes of the hash key; a new set draws them at random. */
  constructor(seed: Uint8Array = randomBytes(SEED_BYTES), parts?: { rows: RowTable; others: Map<number, Set<number>>; legacy: Set<number> }) {
    this.seedBytes = Buffer.from(seed);
    this.key = sipKey(this.seedBytes);
    this.rows = parts?.rows ?? new RowTable();
    this.others = parts?.others ?? new Map();
    this.legacy = parts?.legacy ?? new Set();
  }

  /** The hash key as 32 hex digits, to keep with the serialized set. */
  get seed(): string {
    return this.seedBytes.toString('hex');
  }

  private isLegacy(second: number): boolean {
    return this.legacy.size > 0 && this.legacy.has(second);
  }

  private hashOf(key: DedupKey): number {
    if (this.isLegacy(key.second)) return legacyHash48(key);
    if (key !== this.lastKey) {
      this.lastKey = key;
      const length = unitsOf(key);
      this.lastHash = sipHash48(this.key, units, length);
    }
    return this.lastHash;
  }

  has(key: DedupKey): boolean {
    const hash = this.hashOf(key);
    if (key.flag === 0) return this.others.get(key.second)?.has(hash) ?? false;
    return (this.rows.get(key.second, hash) & key.flag) !== 0;
  }

  add(key: DedupKey): void {
    this.addHashed(key.second, this.hashOf(key), key.flag, false);
  }

  /**
   * The key of `row` (received at `receivedMs`) added; false when it was there already. The same as has()
   * then add() of dedupKey(row, receivedMs), without the key object: the fold does this once per row read,
   * and a short-lived object per row was a good part of the garbage a page leaves.
   */
  addRow(row: KeyedRow, receivedMs: number): boolean {
    const second = Math.floor(receivedMs / 1000);
    const status = row.status;
    const flag = statusFlag(status);
    const recipient = row.recipientAddress ?? '';
    const hash = this.isLegacy(second)
      ? legacyHash48({ second, flag, id: row.id, recipient, status })
      : sipHash48(this.key, units, unitsOfFields(row.id, recipient, flag > 0 ? undefined : status));
    if (flag === 0) {
      if (this.others.get(second)?.has(hash)) return false;
      this.addOther(second, hash);
      return true;
    }
    const flags = this.rows.get(second, hash);
    if ((flags & flag) !== 0) return false;
    this.rows.set(second, hash, flags | flag);
    return true;
  }

  private addOther(second: number, hash: number): void {
    let hashes = this.others.get(second);
    if (hashes === undefined) {
      hashes = new Set();
      this.others.set(second, hashes);
    }
    hashes.add(hash);
  }

  private addHashed(second: number, hash: number, flag: number, legacy: boolean): void {
    if (legacy) this.legacy.add(second);
    if (flag === 0) this.addOther(second, hash);
    else this.rows.set(second, hash, this.rows.get(second, hash) | flag);
  }

  /** Forgets rows received before `epochMs` (a later run never reads them again). */
  pruneBefore(epochMs: number): void {
    const first = Math.ceil(epochMs / 1000);
    this.rows.pruneBefore(first);
    for (const second of this.others.keys()) if (second < first) this.others.delete(second);
    for (const second of this.legacy) if (second < first) this.legacy.delete(second);
  }

  /** Stored entries (rows plus whole-key hashes). */
  get size(): number {
    let total = this.rows.size;
    for (const hashes of this.others.values()) total += hashes.size;
    return total;
  }

  /** Seconds still hashed the way state version 2 did. */
  get legacySeconds(): number {
    return this.legacy.size;
  }

  clone(): SeenSet {
    return new SeenSet(this.seedBytes, {
      rows: this.rows.clone(),
      others: new Map([...this.others].map(([second, hashes]) => [second, new Set(hashes)])),
      legacy: new Set(this.legacy),
    });
  }

  /** Deterministic: seconds ascending, entries by (hash, flags); see seen-codec.ts. The seed is not in it. */
  serialize(): string {
    const bySecond = new Map<number, [number, number][]>();
    const entriesOf = (second: number): [number, number][] => {
      let entries = bySecond.get(second);
      if (entries === undefined) {
        entries = [];
        bySecond.set(second, entries);
      }
      return entries;
    };
    this.rows.forEach((second, hash, flags) => {
      entriesOf(second).push([hash, flags]);
    });
    for (const [second, hashes] of this.others) for (const hash of hashes) entriesOf(second).push([hash, 0]);
    const seconds = [...bySecond.keys()].sort((a, b) => a - b);
    return encodeSeen(
      seconds.map((second): CodedGroup => {
        const entries = (bySecond.get(second) as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        return { second, entries, legacy: this.legacy.has(second) };
      }),
    );
  }

  /**
   * The inverse of serialize with the `seed` kept beside it (`format` 3), or the keys of state version 1 or
   * 2 (no seed then: their groups stay hashed their way, and new seconds get a new random seed); throws on
   * anything else.
   */
  static parse(text: string, format: SeenFormat, seed?: string): SeenSet {
    if (format === 3 && (seed === undefined || !/^[0-9a-f]{32}$/.test(seed))) throw new Error('the seen keys have no seed of 32 hex digits');
    const set = format === 3 ? new SeenSet(Buffer.from(seed as string, 'hex')) : new SeenSet();
    decodeSeen(text, format, (second, hash, flags, marked) => set.addHashed(second, hash, flags, format < 3 || marked));
    return set;
  }
}
