/**
 * The rows of the seen set (seen-set.ts): (received second, 48-bit row hash) → the status flags already sent,
 * in one open-addressing hash table (linear probing) held in typed arrays, 13 bytes a slot.
 *
 * Why not a Map per second, as before: at a few thousand rows a second every row added an entry that was
 * allocated, grown with its Map, promoted and then marked by every full collection, and the garbage
 * collector's share of that made the seen set about a sixth of the collector's CPU (measured by leaving
 * the set out of a run). Typed arrays are one object each, whose contents the collector never looks into,
 * and a row added is three stores.
 *
 * A slot is empty while its flags are 0: a row is held only once a status of it was sent, so its flags are
 * never 0 (statuses without a flag are kept apart, in seen-set.ts). Rows are never removed one by one:
 * `pruneBefore` rebuilds the table from the rows it keeps, a few times a run.
 */

const MIN_CAPACITY = 1024;

/** The smallest power of two ≥ n and ≥ MIN_CAPACITY. */
function capacityFor(n: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < n) capacity *= 2;
  return capacity;
}

export class RowTable {
  /** Epoch seconds, which fit 32 bits until 2106 (a row's second is near the time of its read). */
  private seconds: Uint32Array;
  private hashes: Float64Array;
  private flags: Uint8Array;
  private mask: number;
  private used = 0;
  /** The earliest second held (Infinity when empty): pruneBefore has nothing to do before it. */
  private earliest = Number.POSITIVE_INFINITY;

  constructor(capacity = MIN_CAPACITY) {
    const size = capacityFor(capacity);
    this.seconds = new Uint32Array(size);
    this.hashes = new Float64Array(size);
    this.flags = new Uint8Array(size);
    this.mask = size - 1;
  }

  /** Rows held. */
  get size(): number {
    return this.used;
  }

  /** The row's slot, or the empty slot where it would go. */
  private slotOf(second: number, hash: number): number {
    // The hash's low 32 bits (ToUint32) are uniform already; the second spreads rows of equal hash apart.
    let slot = (Math.imul(second | 0, 0x9e3779b1) ^ (hash >>> 0)) & this.mask;
    for (;;) {
      if (this.flags[slot] === 0 || (this.hashes[slot] === hash && this.seconds[slot] === second)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The flags sent for the row (0: none). */
  get(second: number, hash: number): number {
    return this.flags[this.slotOf(second, hash)] as number;
  }

  /** Sets the row's flags; `flags` is never 0. */
  set(second: number, hash: number, flags: number): void {
    if (!(second >= 0 && second < 2 ** 32 && Number.isInteger(second))) throw new RangeError(`second ${second} is outside 1970–2106`);
    let slot = this.slotOf(second, hash);
    if (this.flags[slot] === 0) {
      // At most three quarters full, so a probe ends after a few slots.
      if (4 * (this.used + 1) > 3 * (this.mask + 1)) {
        this.rebuild(2 * (this.mask + 1), Number.NEGATIVE_INFINITY);
        slot = this.slotOf(second, hash);
      }
      this.used++;
      this.seconds[slot] = second;
      this.hashes[slot] = hash;
      if (second < this.earliest) this.earliest = second;
    }
    this.flags[slot] = flags;
  }

  /** Forgets the rows of seconds before `firstSecond`. */
  pruneBefore(firstSecond: number): void {
    if (this.earliest >= firstSecond) return;
    let kept = 0;
    for (let slot = 0; slot <= this.mask; slot++) if (this.flags[slot] !== 0 && (this.seconds[slot] as number) >= firstSecond) kept++;
    // Half full at most afterwards, and smaller again once a backlog has been read and pruned.
    this.rebuild(2 * kept, firstSecond);
  }

  /** Every row, in no particular order. */
  forEach(visit: (second: number, hash: number, flags: number) => void): void {
    for (let slot = 0; slot <= this.mask; slot++) {
      const flags = this.flags[slot] as number;
      if (flags !== 0) visit(this.seconds[slot] as number, this.hashes[slot] as number, flags);
    }
  }

  clone(): RowTable {
    const copy = new RowTable(this.mask + 1);
    copy.seconds.set(this.seconds);
    copy.hashes.set(this.hashes);
    copy.flags.set(this.flags);
    copy.used = this.used;
    copy.earliest = this.earliest;
    return copy;
  }

  /** Moves the rows of seconds from `firstSecond` on into a table of `capacity` slots (rounded up). */
  private rebuild(capacity: number, firstSecond: number): void {
    const { seconds, hashes, flags, mask } = this;
    const size = capacityFor(capacity);
    this.seconds = new Uint32Array(size);
    this.hashes = new Float64Array(size);
    this.flags = new Uint8Array(size);
    this.mask = size - 1;
    this.used = 0;
    this.earliest = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot <= mask; slot++) {
      const held = flags[slot] as number;
      const second = seconds[slot] as number;
      if (held !== 0 && second >= firstSecond) this.set(second, hashes[slot] as number, held);
    }
  }
}
