import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeSeen } from '../../src/fetch/seen-codec.js';
import { type DedupKey, dedupKey, keyText, SeenSet } from '../../src/fetch/seen-set.js';
import { parseState, serializeState } from '../../src/fetch/state.js';
import { IntegrationError } from '../../src/errors.js';

const T = Date.UTC(2026, 10, 25, 12, 0, 0);

/** The hash state versions 1 and 2 stored: the first 48 bits of SHA-256 of the key's text. */
function sha48(key: DedupKey): number {
  return createHash('sha256').update(keyText(key), 'utf8').digest().readUIntBE(0, 6);
}

function stateError(raw: unknown): IntegrationError {
  try {
    parseState(raw);
  } catch (error) {
    if (error instanceof IntegrationError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('fetch state', () => {
  it('reads an empty last run as a first run', () => {
    expect(parseState({})).toBeUndefined();
    expect(parseState(undefined)).toBeUndefined();
  });

  it('round-trips a versioned document', () => {
    const seen = new SeenSet();
    seen.add(dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'delivered' }, T));
    const document = serializeState({ cursorMs: T, readUpToMs: T + 60_000, rowsPerMinute: 12.345678901, seen });
    expect(document).toMatchObject({
      version: 3,
      seenSeed: seen.seed,
      cursor: '2026-11-25T12:00:00.000Z',
      readUpTo: '2026-11-25T12:01:00.000Z',
      rowsPerMinute: 12.3457,
    });
    const back = parseState(JSON.parse(JSON.stringify(document)));
    expect(back?.cursorMs).toBe(T);
    expect(back?.seen.has(dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'delivered' }, T))).toBe(true);
  });

  it.each([
    ['a string', 'hello'],
    ['an array', []],
    ['another integration\'s state', { last_fetch: '2026-01-01T00:00:00Z', seen_ids: [] }],
    ['a bad cursor', { version: 1, cursor: 'yesterday', readUpTo: '2026-11-25T12:00:00.000Z', seen: '' }],
    ['readUpTo before cursor', { version: 1, cursor: '2026-11-25T12:00:00.000Z', readUpTo: '2026-11-25T11:00:00.000Z', seen: '' }],
    ['unreadable keys', { version: 1, cursor: '2026-11-25T12:00:00.000Z', readUpTo: '2026-11-25T12:00:00.000Z', seen: 'AAAA' }],
  ])('refuses %s with a state_invalid error that says how to reset', (_name, raw) => {
    const error = stateError(raw);
    expect(error.code).toBe('state_invalid');
    expect(error.message).toMatch(/reset the last run/i);
    expect(error.message).toMatch(/last-run\.json/);
  });

  it('refuses a state written by a newer version', () => {
    expect(stateError({ version: 4 }).message).toMatch(/newer version/);
  });

  it('refuses a version 3 state without its seed, naming the field', () => {
    const document = serializeState({ cursorMs: T, readUpToMs: T, rowsPerMinute: 1, seen: new SeenSet() });
    const { seenSeed: _seed, ...withoutSeed } = document;
    expect(stateError(withoutSeed).message).toMatch(/seenSeed/);
    expect(stateError({ ...document, seenSeed: 'XYZ' }).message).toMatch(/seenSeed/);
  });

  it('migrates version 1: its fixed-width keys are read, and the next save writes version 3', () => {
    // Version 1 seen: u32 second, u16 count, then 48-bit hash + u8 flags per entry.
    const key = dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'delivered' }, T);
    const other = dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'somethingNew' }, T);
    const bytes = Buffer.alloc(6 + 2 * 7);
    bytes.writeUInt32BE(key.second, 0);
    bytes.writeUInt16BE(2, 4);
    bytes.writeUIntBE(sha48(key), 6, 6);
    bytes.writeUInt8(key.flag | 1, 12);
    bytes.writeUIntBE(sha48(other), 13, 6);
    bytes.writeUInt8(0, 19);
    const v1 = { version: 1, cursor: '2026-11-25T12:00:00.000Z', readUpTo: '2026-11-25T12:01:00.000Z', rowsPerMinute: 3, seen: bytes.toString('base64') };
    const state = parseState(v1);
    expect(state?.seen.has(key)).toBe(true);
    expect(state?.seen.has(other)).toBe(true);
    expect(state?.seen.has(dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'gettingStatus' }, T))).toBe(true);
    expect(state?.seen.has(dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'failed' }, T))).toBe(false);
    const saved = serializeState(state as NonNullable<typeof state>);
    expect(saved).toMatchObject({ version: 3, cursor: v1.cursor, readUpTo: v1.readUpTo, rowsPerMinute: 3 });
    const again = parseState(JSON.parse(JSON.stringify(saved)));
    expect(again?.seen.size).toBe(2);
    expect(again?.seen.has(key)).toBe(true);
  });

  it('migrates version 2: its SHA-256 keys stay in use for their seconds until the cursor passes them', () => {
    const sent = (id: string, status: string, ms: number) => dedupKey({ id, recipientAddress: 'y@z.test', status }, ms);
    const [a, b, c] = [sent('a', 'delivered', T), sent('b', 'pending', T), sent('c', 'somethingNew', T + 1000)];
    const old = [a, b, c];
    // Version 2's seen: the same Rice form, unmarked groups, SHA-256 hashes.
    const seen2 = encodeSeen([
      { second: T / 1000, legacy: false, entries: [a, b].map((k) => [sha48(k), k.flag] as const).sort((x, y) => x[0] - y[0]) },
      { second: T / 1000 + 1, legacy: false, entries: [[sha48(c), 0]] },
    ]);
    const v2 = { version: 2, cursor: '2026-11-25T12:00:00.000Z', readUpTo: '2026-11-25T12:00:05.000Z', rowsPerMinute: 7, seen: seen2 };
    const state = parseState(v2);
    if (!state) throw new Error('no state');
    // A re-read finds what version 2 sent, and a status change or a new row is new.
    for (const key of old) expect(state.seen.has(key)).toBe(true);
    expect(state.seen.has(sent('a', 'failed', T))).toBe(false);
    expect(state.seen.has(sent('d', 'delivered', T))).toBe(false);
    expect(state.seen.legacySeconds).toBe(2);
    // Rows now sent: one in a second version 2 already held (hashed its way), one in a new second.
    state.seen.add(sent('d', 'delivered', T));
    state.seen.add(sent('e', 'delivered', T + 2000));
    const saved = JSON.parse(JSON.stringify(serializeState(state))) as Record<string, unknown>;
    expect(saved).toMatchObject({ version: 3, cursor: v2.cursor, readUpTo: v2.readUpTo, rowsPerMinute: 7, seenSeed: state.seen.seed });
    const next = parseState(saved);
    if (!next) throw new Error('no state');
    for (const key of [...old, sent('d', 'delivered', T), sent('e', 'delivered', T + 2000)]) expect(next.seen.has(key)).toBe(true);
    expect(next.seen.has(sent('e', 'failed', T + 2000))).toBe(false);
    expect(next.seen.legacySeconds).toBe(2);
    // The cursor passes the old seconds: no SHA-256 group is left.
    next.seen.pruneBefore(T + 2000);
    expect(next.seen.legacySeconds).toBe(0);
    expect(next.seen.has(sent('e', 'delivered', T + 2000))).toBe(true);
  });

  it('keeps where the look-back re-read continues', () => {
    const document = serializeState({ cursorMs: T, readUpToMs: T + 600_000, rowsPerMinute: 1, rereadFromMs: T + 60_000, seen: new SeenSet() });
    expect(document.rereadFrom).toBe('2026-11-25T12:01:00.000Z');
    expect(parseState(document)?.rereadFromMs).toBe(T + 60_000);
  });

  it('keeps the room a run cut short by the request budget needs, and refuses a count that is not one', () => {
    const document = serializeState({ cursorMs: T, readUpToMs: T, rowsPerMinute: 1, requestsNeeded: 24, seen: new SeenSet() });
    expect(document.requestsNeeded).toBe(24);
    expect(parseState(document)?.requestsNeeded).toBe(24);
    expect(serializeState({ cursorMs: T, readUpToMs: T, rowsPerMinute: 1, seen: new SeenSet() })).not.toHaveProperty('requestsNeeded');
    expect(() => parseState({ ...document, requestsNeeded: 0.5 })).toThrow(/requestsNeeded/);
  });
});
