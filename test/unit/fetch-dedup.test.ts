import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dedupKey, SeenSet } from '../../src/fetch/seen-set.js';

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

  it('round-trips through its serialized form, which is deterministic', () => {
    const seen = new SeenSet();
    for (let i = 0; i < 500; i++) {
      seen.add(dedupKey({ id: `m${i}`, recipientAddress: `u${i % 7}@x.test`, status: i % 3 ? 'delivered' : 'odd' }, T + i * 37));
    }
    const text = seen.serialize();
    const back = SeenSet.parse(text);
    expect(back.serialize()).toBe(text);
    expect(back.has(dedupKey({ id: 'm3', recipientAddress: 'u3@x.test', status: 'odd' }, T + 3 * 37))).toBe(true);
    expect(text.length).toBeLessThan(500 * 10 + 400 * 8);
  });

  it('round-trips any set: hashes over the whole 48 bits, any flags, crowded and lonely seconds', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            second: fc.integer({ min: 1_700_000_000, max: 1_800_000_000 }),
            hash: fc.oneof(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.constantFrom(0, 1, 2 ** 48 - 1, 2 ** 47)),
            flag: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 7 }).map((i) => 1 << i), fc.integer({ min: 1, max: 255 })),
          }),
          { maxLength: 300 },
        ),
        (keys) => {
          const seen = new SeenSet();
          for (const key of keys) seen.add(key);
          const text = seen.serialize();
          const back = SeenSet.parse(text);
          expect(back.serialize()).toBe(text);
          expect(back.size).toBe(seen.size);
          for (const key of keys) expect(back.has(key)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses text it did not write', () => {
    expect(() => SeenSet.parse('not base64!')).toThrow();
    expect(() => SeenSet.parse(Buffer.from([0, 0, 0, 1, 0, 5, 1, 2]).toString('base64'))).toThrow();
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
