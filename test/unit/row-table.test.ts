import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RowTable } from '../../src/fetch/row-table.js';

const HASH_LIMIT = 2 ** 48;

/** The table's rows as sorted [second, hash, flags] triples. */
function rowsOf(table: RowTable): [number, number, number][] {
  const rows: [number, number, number][] = [];
  table.forEach((second, hash, flags) => {
    rows.push([second, hash, flags]);
  });
  return rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

const operation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), second: fc.integer({ min: 1_780_000_000, max: 1_780_000_040 }), hash: fc.integer({ min: 0, max: HASH_LIMIT - 1 }), flags: fc.integer({ min: 1, max: 255 }) }),
  // The same few hashes again, in other seconds too: rows that share a hash must stay apart by second.
  fc.record({ kind: fc.constant('set' as const), second: fc.integer({ min: 1_780_000_000, max: 1_780_000_040 }), hash: fc.constantFrom(0, 1, HASH_LIMIT - 1, 2 ** 32, 2 ** 32 + 1), flags: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('prune' as const), second: fc.integer({ min: 1_780_000_000, max: 1_780_000_041 }) }),
);

describe('RowTable', () => {
  it('holds what a Map of (second, hash) holds, through growth and pruning', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 3000 }), (operations) => {
        const table = new RowTable();
        const model = new Map<string, [number, number, number]>();
        for (const op of operations) {
          if (op.kind === 'set') {
            table.set(op.second, op.hash, op.flags);
            model.set(`${op.second}/${op.hash}`, [op.second, op.hash, op.flags]);
          } else {
            table.pruneBefore(op.second);
            for (const [key, row] of model) if (row[0] < op.second) model.delete(key);
          }
        }
        const expected = [...model.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(rowsOf(table)).toEqual(expected);
        expect(table.size).toBe(model.size);
        for (const [second, hash, flags] of expected) expect(table.get(second, hash)).toBe(flags);
        expect(table.get(1_780_000_041, 12345)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps 200,000 rows of one second, and forgets them once pruned', () => {
    const table = new RowTable();
    for (let i = 0; i < 200_000; i++) table.set(1_780_000_000, i * 1_400_000_017 % HASH_LIMIT, 1 << (i % 8));
    expect(table.size).toBe(200_000);
    expect(table.get(1_780_000_000, 199_999 * 1_400_000_017 % HASH_LIMIT)).toBe(1 << (199_999 % 8));
    table.set(1_780_000_001, 7, 2);
    table.pruneBefore(1_780_000_001);
    expect(rowsOf(table)).toEqual([[1_780_000_001, 7, 2]]);
  });

  it('keeps rows of one hash apart by second, also when they start their probe in the same slot', () => {
    // Seconds 65,536 apart start at the same slot of any table of up to 65,536 slots.
    const seconds = Array.from({ length: 1000 }, (_, i) => 1_780_000_000 + i * 65_536);
    const table = new RowTable();
    for (const [i, second] of seconds.entries()) table.set(second, 2 ** 40, 1 + (i % 255));
    expect(table.size).toBe(1000);
    for (const [i, second] of seconds.entries()) expect(table.get(second, 2 ** 40)).toBe(1 + (i % 255));
  });

  it('refuses a second it cannot hold rather than keeping another', () => {
    const table = new RowTable();
    for (const second of [-1, 2 ** 32, 1.5, Number.NaN]) expect(() => table.set(second, 1, 1)).toThrow(RangeError);
    expect(table.size).toBe(0);
  });

  it('clones into a table that changes apart from the original', () => {
    const table = new RowTable();
    table.set(1_780_000_000, 42, 1);
    const copy = table.clone();
    copy.set(1_780_000_000, 42, 3);
    copy.set(1_780_000_005, 43, 8);
    table.pruneBefore(1_780_000_001);
    expect(rowsOf(table)).toEqual([]);
    expect(rowsOf(copy)).toEqual([
      [1_780_000_000, 42, 3],
      [1_780_000_005, 43, 8],
    ]);
  });
});
