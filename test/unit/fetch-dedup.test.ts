import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CodedGroup, decodeSeen, encodeSeen } from '../../src/fetch/seen-codec.js';
import { dedupKey, keyText, SeenSet } from '../../src/fetch/seen-set.js';
import { sipHash48, sipKey } from '../../src/fetch/sip-hash.js';

const T = Date.UTC(2026, 10, 25, 12, 0, 0);
const row = { id: 'a1', recipientAddress: 'bob@contoso.com', status: 'pending' };

describe('dedup keys', () => {
  it('treats a re-read as seen and a status change as new', () => {
    const seen = new SeenSet();
    seen.add(dedupKey(row, T + 123));
    expect(seen.has(dedupKey(row, T + 123))).toBe(true);
    expect(seen.has(dedupKey({ ...row, status: 'delivered' }, T + 123))).toBe(false);
    expect(seen.has(dedupKey({ ...row, recipientAddress: 'eve@contoso.com' }, T + 123))).toBe(false);
    expect(seen.has(dedupKey({ ...row, id: 'a2' }, T + 123))).toBe(false);
  });

  it('groups by received second, so sub-second precision does not matter', () => {
    const seen = new SeenSet();
    seen.add(dedupKey(row, T + 999));
    expect(seen.has(dedupKey(row, T))).toBe(true);
  });

  it('keeps every status of a row, and statuses outside the table', () => {
    const seen = new SeenSet();
    for (const status of ['gettingStatus', 'Pending', 'delivered', 'recalled', 'somethingNew']) {
      seen.add(dedupKey({ ...row, status }, T));
    }
    for (const status of ['gettingstatus', 'pending', 'Delivered', 'recalled', 'somethingNew']) {
      expect(seen.has(dedupKey({ ...row, status }, T))).toBe(true);
    }
    expect(seen.has(dedupKey({ ...row, status: 'failed' }, T))).toBe(false);
    expect(seen.has(dedupKey({ ...row, status: 'somethingElse' }, T))).toBe(false);
    expect(seen.size).toBe(2); // one row entry, one whole-key entry
  });

  it('forgets rows received before the cursor', () => {
    const seen = new SeenSet();
    seen.add(dedupKey(row, T - 1));
    seen.add(dedupKey({ ...row, id: 'b' }, T));
    seen.pruneBefore(T);
    expect(seen.has(dedupKey(row, T - 1))).toBe(false);
    expect(seen.has(dedupKey({ ...row, id: 'b' }, T))).toBe(true);
  });

  it('addRow says whether a row is new exactly as has() then add() do, and stores the same keys', () => {
    const rowArb = fc.record({
      id: fc.constantFrom('a1', 'a2', 'b'),
      recipientAddress: fc.constantFrom('bob@contoso.com', 'eve@contoso.com', null, undefined),
      status: fc.constantFrom('pending', 'Delivered', 'failed', 'somethingNew', 'recalled'),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(rowArb, fc.integer({ min: 0, max: 2500 })), { maxLength: 40 }), (reads) => {
        const byRow = new SeenSet();
        const byKey = new SeenSet(Buffer.from(byRow.seed, 'hex'));
        for (const [read, offsetMs] of reads) {
          const key = dedupKey(read, T + offsetMs);
          const isNew = !byKey.has(key);
          if (isNew) byKey.add(key);
          expect(byRow.addRow(read, T + offsetMs)).toBe(isNew);
        }
        expect(byRow.serialize()).toBe(byKey.serialize());
      }),
    );
  });

  it('round-trips through its serialized form, which is deterministic', () => {
    const seen = new SeenSet();
    for (let i = 0; i < 500; i++) {
      seen.add(dedupKey({ id: `m${i}`, recipientAddress: `u${i % 7}@x.test`, status: i % 3 ? 'delivered' : 'odd' }, T + i * 37));
    }
    const text = seen.serialize();
    const back = SeenSet.parse(text, 3, seen.seed);
    expect(back.serialize()).toBe(text);
    expect(back.has(dedupKey({ id: 'm3', recipientAddress: 'u3@x.test', status: 'odd' }, T + 3 * 37))).toBe(true);
    expect(back.has(dedupKey({ id: 'm3', recipientAddress: 'u3@x.test', status: 'other' }, T + 3 * 37))).toBe(false);
    expect(text.length).toBeLessThan(500 * 10 + 400 * 8);
  });

  it('codes any set: hashes over the whole 48 bits, any flags, crowded and lonely seconds, marked groups', () => {
    const entry = fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.constantFrom(0, 1, 2 ** 48 - 1, 2 ** 47)),
      fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 7 }).map((i) => 1 << i), fc.integer({ min: 1, max: 255 })),
    );
    const group = fc.record({
      second: fc.integer({ min: 1_700_000_000, max: 1_800_000_000 }),
      entries: fc.uniqueArray(entry, { maxLength: 60, selector: ([hash, flags]) => `${hash}/${flags}` }),
      legacy: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.uniqueArray(group, { maxLength: 20, selector: (g) => g.second }), (raw) => {
        const groups: CodedGroup[] = raw
          .filter((g) => g.entries.length > 0)
          .map((g) => ({ ...g, entries: [...g.entries].sort((a, b) => a[0] - b[0] || a[1] - b[1]) }))
          .sort((a, b) => a.second - b.second);
        const back = new Map<number, CodedGroup & { entries: [number, number][] }>();
        decodeSeen(encodeSeen(groups), 3, (second, hash, flags, legacy) => {
          const g = back.get(second) ?? { second, entries: [], legacy };
          expect(g.legacy).toBe(legacy);
          g.entries.push([hash, flags]);
          back.set(second, g);
        });
        expect([...back.values()]).toEqual(groups);
      }),
      { numRuns: 300 },
    );
  });

  it('keys each set with its own random seed, kept through serialize and parse', () => {
    const a = new SeenSet();
    const b = new SeenSet();
    expect(a.seed).toMatch(/^[0-9a-f]{32}$/);
    expect(a.seed).not.toBe(b.seed);
    for (let i = 0; i < 50; i++) {
      const key = dedupKey({ ...row, id: `m${i}` }, T);
      a.add(key);
      b.add(key);
    }
    // The same rows, other hashes: what collides under one seed is not known from another's.
    expect(a.serialize()).not.toBe(b.serialize());
    const back = SeenSet.parse(a.serialize(), 3, a.seed);
    expect(back.seed).toBe(a.seed);
    expect(back.serialize()).toBe(a.serialize());
    for (let i = 0; i < 50; i++) expect(back.has(dedupKey({ ...row, id: `m${i}` }, T))).toBe(true);
    // Under another seed the stored hashes mean nothing: nothing is found.
    const wrong = SeenSet.parse(a.serialize(), 3, b.seed);
    expect([...Array(50).keys()].filter((i) => wrong.has(dedupKey({ ...row, id: `m${i}` }, T)))).toEqual([]);
    expect(() => SeenSet.parse(a.serialize(), 3)).toThrow(/seed/);
  });

  it('tells apart two rows of one second whose hashes share their low 30 bits', () => {
    // The set holds a row's hash as its low 30 bits (the key) and the rest beside its flags; two rows with
    // the same low bits must both count as sent, each with its own statuses. Found by search under one seed.
    const seed = Uint8Array.from({ length: 16 }, (_, i) => i * 7 + 1);
    const hashKey = sipKey(seed);
    const hashOf = (id: string): number => {
      const text = keyText(dedupKey({ ...row, id }, T));
      return sipHash48(hashKey, Uint16Array.from(text, (c) => c.charCodeAt(0)), text.length);
    };
    const byLowBits = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined && i < 500_000; i++) {
      const id = `m${i}`;
      const hash = hashOf(id);
      const other = byLowBits.get(hash % 2 ** 30);
      if (other !== undefined) pair = [other, id];
      else byLowBits.set(hash % 2 ** 30, id);
    }
    if (pair === undefined) throw new Error('no pair of hashes sharing their low 30 bits was found');
    const [first, second] = pair;
    expect(hashOf(first)).not.toBe(hashOf(second));
    const seen = new SeenSet(seed);
    expect(seen.addRow({ ...row, id: first }, T)).toBe(true);
    expect(seen.addRow({ ...row, id: second }, T)).toBe(true);
    expect(seen.addRow({ ...row, id: second, status: 'delivered' }, T)).toBe(true);
    const back = SeenSet.parse(seen.serialize(), 3, seen.seed);
    for (const set of [seen, back]) {
      expect(set.size).toBe(2);
      expect(set.has(dedupKey({ ...row, id: first }, T))).toBe(true);
      expect(set.has(dedupKey({ ...row, id: second }, T))).toBe(true);
      expect(set.has(dedupKey({ ...row, id: second, status: 'delivered' }, T))).toBe(true);
      expect(set.has(dedupKey({ ...row, id: first, status: 'delivered' }, T))).toBe(false);
    }
    expect(back.serialize()).toBe(seen.serialize());
    expect(back.clone().serialize()).toBe(seen.serialize());
  });

  it('refuses text it did not write', () => {
    const seed = new SeenSet().seed;
    expect(() => SeenSet.parse('not base64!', 3, seed)).toThrow();
    expect(() => SeenSet.parse(Buffer.from([0, 0, 0, 1, 0, 5, 1, 2]).toString('base64'), 3, seed)).toThrow();
  });

  it('stays small: 15 minutes at 1,000,000 and 10,000,000 rows a day', () => {
    for (const [perDay, limit] of [
      [1_000_000, 256 * 1024],
      [10_000_000, 1024 * 1024],
    ] as const) {
      const rows = Math.round((perDay * 15) / 1440);
      const seen = new SeenSet();
      for (let i = 0; i < rows; i++) {
        const at = T + Math.floor((i * 15 * 60_000) / rows);
        // Each row seen in two or three statuses.
        for (const status of ['gettingStatus', 'pending', 'delivered'].slice(i % 2)) {
          seen.add(dedupKey({ id: `msg-${i}`, recipientAddress: `user${i % 50}@contoso.com`, status }, at));
        }
      }
      expect(seen.serialize().length).toBeLessThan(limit);
    }
  });
});
