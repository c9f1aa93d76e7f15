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

/**
 * One second's keys. A 48-bit hash held as a number key would be a heap object of its own, one per row (V8
 * keeps small integers in the pointer, doubles not): 200,000 of them a run, promoted and marked by every
 * collection. So a row is held as two small integers: its hash's low 30 bits as the key, its high 18 bits
 * and its status flags as the value. Two rows of one second whose hashes share the low 30 bits (with n rows
 * in a second, about n² / 2^31 such pairs: one in some 90 seconds of 5,000 rows each) are told apart by the
 * rest, the later one kept in `wide` by its whole hash; nothing is lost or merged.
 */
interface Group {
  /** Low 30 bits of a row hash → its high 18 bits × 256 + the status flags already sent. */
  rows: Map<number, number>;
  /** Whole row hash → flags, for a row whose low bits another row of this second holds in `rows`. */
  wide: Map<number, number> | undefined;
  /** Whole-key hashes of statuses outside the table. */
  others: Set<number> | undefined;
  /** Hashed as state version 2 did (SHA-256), because its hashes were read from such a state. */
  legacy: boolean;
}

const LOW_BITS = 2 ** 30;
/** The flags fit in 8 bits (STATUS_FLAGS), so the high 18 bits and the flags make a 26-bit integer. */
const FLAG_SPAN = 256;

function newGroup(legacy: boolean): Group {
  return { rows: new Map(), wide: undefined, others: undefined, legacy };
}

/** The status flags sent for the row whose hash this is (0: none). */
function flagsOf(group: Group, hash: number): number {
  const low = hash % LOW_BITS;
  const held = group.rows.get(low);
  if (held !== undefined && Math.floor(held / FLAG_SPAN) === (hash - low) / LOW_BITS) return held % FLAG_SPAN;
  return group.wide?.get(hash) ?? 0;
}

function setFlags(group: Group, hash: number, flags: number): void {
  const low = hash % LOW_BITS;
  const high = (hash - low) / LOW_BITS;
  const held = group.rows.get(low);
  if (held === undefined || Math.floor(held / FLAG_SPAN) === high) {
    group.rows.set(low, high * FLAG_SPAN + flags);
    return;
  }
  group.wide ??= new Map();
  group.wide.set(hash, flags);
}

function hasOther(group: Group, hash: number): boolean {
  return group.others?.has(hash) ?? false;
}

function addOther(group: Group, hash: number): void {
  group.others ??= new Set();
  group.others.add(hash);
}

/** Every row of the group as [whole hash, flags]. */
function rowEntries(group: Group): [number, number][] {
  const entries: [number, number][] = [];
  for (const [low, held] of group.rows) entries.push([Math.floor(held / FLAG_SPAN) * LOW_BITS + low, held % FLAG_SPAN]);
  if (group.wide) for (const entry of group.wide) entries.push(entry);
  return entries;
}

export class SeenSet {
  private readonly groups = new Map<number, Group>();
  private readonly seedBytes: Buffer;
  private readonly key: SipKey;
  // has() then add() of the same new key is the usual pair: its hash is computed once.
  private lastKey: DedupKey | undefined;
  private lastHash = 0;

  /** `seed`: the 16 bytes of the hash key; a new set draws them at random. */
  constructor(seed: Uint8Array = randomBytes(SEED_BYTES)) {
    this.seedBytes = Buffer.from(seed);
    this.key = sipKey(this.seedBytes);
  }

  /** The hash key as 32 hex digits, to keep with the serialized set. */
  get seed(): string {
    return this.seedBytes.toString('hex');
  }

  private hashOf(key: DedupKey, group: Group | undefined): number {
    if (group?.legacy) return legacyHash48(key);
    if (key !== this.lastKey) {
      this.lastKey = key;
      const length = unitsOf(key);
      this.lastHash = sipHash48(this.key, units, length);
    }
    return this.lastHash;
  }

  has(key: DedupKey): boolean {
    const group = this.groups.get(key.second);
    if (!group) return false;
    const hash = this.hashOf(key, group);
    if (key.flag === 0) return hasOther(group, hash);
    return (flagsOf(group, hash) & key.flag) !== 0;
  }

  add(key: DedupKey): void {
    this.addHashed(key.second, this.hashOf(key, this.groups.get(key.second)), key.flag, false);
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
    let group = this.groups.get(second);
    const hash = group?.legacy
      ? legacyHash48({ second, flag, id: row.id, recipient, status })
      : sipHash48(this.key, units, unitsOfFields(row.id, recipient, flag > 0 ? undefined : status));
    if (!group) {
      group = newGroup(false);
      this.groups.set(second, group);
    }
    if (flag === 0) {
      if (hasOther(group, hash)) return false;
      addOther(group, hash);
      return true;
    }
    const flags = flagsOf(group, hash);
    if ((flags & flag) !== 0) return false;
    setFlags(group, hash, flags | flag);
    return true;
  }

  private addHashed(second: number, hash: number, flag: number, legacy: boolean): void {
    let group = this.groups.get(second);
    if (!group) {
      group = newGroup(legacy);
      this.groups.set(second, group);
    }
    if (flag === 0) addOther(group, hash);
    else setFlags(group, hash, flagsOf(group, hash) | flag);
  }

  /** Forgets rows received before `epochMs` (a later run never reads them again). */
  pruneBefore(epochMs: number): void {
    const first = Math.ceil(epochMs / 1000);
    for (const second of this.groups.keys()) if (second < first) this.groups.delete(second);
  }

  /** Stored entries (rows plus whole-key hashes). */
  get size(): number {
    let total = 0;
    for (const group of this.groups.values()) total += group.rows.size + (group.wide?.size ?? 0) + (group.others?.size ?? 0);
    return total;
  }

  /** Seconds still hashed the way state version 2 did. */
  get legacySeconds(): number {
    let total = 0;
    for (const group of this.groups.values()) if (group.legacy) total++;
    return total;
  }

  clone(): SeenSet {
    const copy = new SeenSet(this.seedBytes);
    for (const [second, group] of this.groups) {
      copy.groups.set(second, {
        rows: new Map(group.rows),
        wide: group.wide && new Map(group.wide),
        others: group.others && new Set(group.others),
        legacy: group.legacy,
      });
    }
    return copy;
  }

  /** Deterministic: seconds ascending, entries by (hash, flags); see seen-codec.ts. The seed is not in it. */
  serialize(): string {
    const seconds = [...this.groups.keys()].sort((a, b) => a - b);
    return encodeSeen(seconds.map((second) => codedGroup(second, this.groups.get(second) as Group)));
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

function codedGroup(second: number, group: Group): CodedGroup {
  const entries = rowEntries(group);
  if (group.others) for (const hash of group.others) entries.push([hash, 0]);
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { second, entries, legacy: group.legacy };
}
