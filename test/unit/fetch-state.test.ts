import { describe, expect, it } from 'vitest';
import { dedupKey, SeenSet } from '../../src/fetch/seen-set.js';
import { parseState, serializeState } from '../../src/fetch/state.js';
import { IntegrationError } from '../../src/errors.js';

const T = Date.UTC(2026, 10, 25, 12, 0, 0);

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
      version: 2,
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
    expect(stateError({ version: 3 }).message).toMatch(/newer version/);
  });

  it('migrates version 1: its fixed-width keys are read, and the next save writes version 2', () => {
    // Version 1 seen: u32 second, u16 count, then 48-bit hash + u8 flags per entry.
    const key = dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'delivered' }, T);
    const other = dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'somethingNew' }, T);
    const bytes = Buffer.alloc(6 + 2 * 7);
    bytes.writeUInt32BE(key.second, 0);
    bytes.writeUInt16BE(2, 4);
    bytes.writeUIntBE(key.hash, 6, 6);
    bytes.writeUInt8(key.flag | 1, 12);
    bytes.writeUIntBE(other.hash, 13, 6);
    bytes.writeUInt8(0, 19);
    const v1 = { version: 1, cursor: '2026-11-25T12:00:00.000Z', readUpTo: '2026-11-25T12:01:00.000Z', rowsPerMinute: 3, seen: bytes.toString('base64') };
    const state = parseState(v1);
    expect(state?.seen.has(key)).toBe(true);
    expect(state?.seen.has(other)).toBe(true);
    expect(state?.seen.has(dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'gettingStatus' }, T))).toBe(true);
    expect(state?.seen.has(dedupKey({ id: 'x', recipientAddress: 'y@z.test', status: 'failed' }, T))).toBe(false);
    const saved = serializeState(state as NonNullable<typeof state>);
    expect(saved).toMatchObject({ version: 2, cursor: v1.cursor, readUpTo: v1.readUpTo, rowsPerMinute: 3 });
    expect(parseState(JSON.parse(JSON.stringify(saved)))?.seen.size).toBe(2);
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
