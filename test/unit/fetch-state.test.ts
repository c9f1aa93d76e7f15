import { describe, expect, it } from 'vitest';
import { dedupKey, SeenSet } from '../../src/fetch/dedup.js';
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
      version: 1,
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
    expect(stateError({ version: 2 }).message).toMatch(/newer version/);
  });
});
