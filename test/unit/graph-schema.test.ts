import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareRowsByReceived, rowToEvent } from '../../src/graph/event.js';
import { compareGraphInstants, graphInstantMs, isoUtcOfMs, parseGraphInstant, toIsoUtc } from '../../src/graph/instant.js';
import { messageTraceDetailPageSchema, messageTracePageSchema, messageTraceRowSchema } from '../../src/graph/schema.js';
import type { MessageTraceRow } from '../../src/graph/types.js';
import { row } from './graph-test-kit.js';

describe('parseGraphInstant', () => {
  it.each([
    ['2026-01-01T10:05:23Z', Date.UTC(2026, 0, 1, 10, 5, 23), 0],
    ['2026-01-01T10:05:23.1Z', Date.UTC(2026, 0, 1, 10, 5, 23, 100), 0],
    ['2026-01-01T10:05:23.1234567Z', Date.UTC(2026, 0, 1, 10, 5, 23, 123), 456_700],
    ['2026-01-01T12:05:23.5+02:00', Date.UTC(2026, 0, 1, 10, 5, 23, 500), 0],
  ])('%s', (text, epochMs, subMsNanos) => {
    expect(parseGraphInstant(text)).toEqual({ epochMs, subMsNanos });
    expect(graphInstantMs(text)).toBe(epochMs);
  });

  it.each([
    '',
    '2026-01-01',
    '2026-01-01T10:05:23',
    '2026-02-30T00:00:00Z',
    'yesterday',
    '2026-01-01T10:05:23.Z',
    '2026-01-01T10:05:23.1234567890Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T10:60:00Z',
    '2026-01-01T10:05:60Z',
    '2026-13-01T10:05:23Z',
    '2026-01-01 10:05:23Z',
    '2026/01/01T10:05:23Z',
    '+2026-01-01T10:05:23Z',
    '2026-01-01T10:05:2xZ',
    '2026-01-01T10:05:23,5Z',
  ])(
    'refuses %j',
    (text) => {
      expect(parseGraphInstant(text)).toBeUndefined();
      expect(graphInstantMs(text)).toBeUndefined();
    },
  );

  it('reads any UTC time as the same instant as its +00:00 form and as Date does, to the 100 ns', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    fc.assert(
      fc.property(
        fc.record({
          year: fc.integer({ min: 0, max: 9999 }),
          month: fc.integer({ min: 1, max: 12 }),
          day: fc.integer({ min: 1, max: 31 }),
          hour: fc.integer({ min: 0, max: 23 }),
          minute: fc.integer({ min: 0, max: 59 }),
          second: fc.integer({ min: 0, max: 59 }),
          fraction: fc.stringMatching(/^\d{0,9}$/),
          zulu: fc.constantFrom('Z', 'z'),
        }),
        ({ year, month, day, hour, minute, second, fraction, zulu }) => {
          const base = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction ? `.${fraction}` : ''}`;
          const parsed = parseGraphInstant(`${base}${zulu}`);
          const date = new Date(0);
          date.setUTCFullYear(year, month - 1, day);
          if (date.getUTCDate() !== day) {
            expect(parsed).toBeUndefined(); // 31 April, 29 February of a common year
            expect(graphInstantMs(`${base}${zulu}`)).toBeUndefined();
            return;
          }
          date.setUTCHours(hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3)));
          expect(parsed).toEqual({ epochMs: date.getTime(), subMsNanos: Number(fraction.padEnd(9, '0').slice(3)) });
          expect(graphInstantMs(`${base}${zulu}`)).toBe(date.getTime());
          expect(parseGraphInstant(`${base}+00:00`)).toEqual(parsed);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('writes any instant as Date does, also one after another in the same second', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -62_000_000_000_000, max: 300_000_000_000_000 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 999 }), (starts, step) => {
        for (const start of starts) {
          for (const epochMs of [start, start + step, start - step, start + 1000]) {
            expect(toIsoUtc({ epochMs, subMsNanos: 0 })).toBe(new Date(epochMs).toISOString());
            expect(isoUtcOfMs(epochMs)).toBe(new Date(epochMs).toISOString());
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('orders mixed precision numerically, not as text', () => {
    const whole = parseGraphInstant('2026-01-01T10:05:56Z')!;
    const fraction = parseGraphInstant('2026-01-01T10:05:56.1234567Z')!;
    const ticks = parseGraphInstant('2026-01-01T10:05:56.1234568Z')!;
    expect('2026-01-01T10:05:56Z' > '2026-01-01T10:05:56.1234567Z').toBe(true); // why text order is wrong
    expect(compareGraphInstants(whole, fraction)).toBeLessThan(0);
    expect(compareGraphInstants(fraction, ticks)).toBeLessThan(0);
  });
});

describe('row schema', () => {
  it.each([
    ['Delivered', 'delivered'],
    ['FilteredAsSpam', 'filteredAsSpam'],
    ['GETTINGSTATUS', 'gettingStatus'],
    ['Recalled', 'recalled'],
    ['UnknownFutureValue', 'unknownFutureValue'],
    ['delivered', 'delivered'],
    ['SomethingNew', 'SomethingNew'],
  ])('reads status %j as %j (PascalCase from some responses, v1.0 spelling in events)', (sent, read) => {
    expect(messageTraceRowSchema.parse({ ...row('2026-01-01T10:05:23Z'), status: sent }).status).toBe(read);
  });

  it('keeps unknown fields and tolerates unknown statuses and nulls', () => {
    const input = { ...row('2026-01-01T10:05:23Z'), status: 'recalled', subject: null, toIP: null, futureField: { a: 1 } };
    const parsed = messageTraceRowSchema.parse(input);
    expect(parsed).toEqual(input);
  });

  it.each([
    ['missing id', { id: undefined }],
    ['missing receivedDateTime', { receivedDateTime: undefined }],
    ['bad receivedDateTime', { receivedDateTime: 'yesterday' }],
    ['missing status', { status: undefined }],
    ['fractional size', { size: 1.5 }],
    ['numeric subject', { subject: 42 }],
  ])('refuses %s', (_name, patch) => {
    expect(messageTraceRowSchema.safeParse({ ...row('2026-01-01T10:05:23Z'), ...patch }).success).toBe(false);
  });

  it('reads a page with and without a next link, keeping extra page fields', () => {
    const page = { '@odata.context': 'x', value: [row('2026-01-01T10:05:23Z')], '@odata.nextLink': 'https://g/next' };
    expect(messageTracePageSchema.parse(page)).toEqual(page);
    expect(messageTracePageSchema.parse({ value: [] })).toEqual({ value: [] });
    expect(messageTracePageSchema.safeParse({ values: [] }).success).toBe(false);
  });

  it('reads detail pages', () => {
    const detail = { id: 'd1', dateTime: '2026-01-01T10:05:23.12Z', event: 'Receive', action: null, description: 'x', data: '<root/>', messageId: '<m@c>' };
    expect(messageTraceDetailPageSchema.parse({ value: [detail] }).value).toEqual([detail]);
    expect(messageTraceDetailPageSchema.safeParse({ value: [{ ...detail, event: undefined }] }).success).toBe(false);
  });
});

describe('rowToEvent', () => {
  it('keeps every field and adds _time in ISO UTC', () => {
    const input = { ...row('2026-01-01T12:05:23.1234567+02:00'), extra: 'kept' } as MessageTraceRow;
    const event = rowToEvent(input);
    expect(event).toEqual({ ...input, _time: '2026-01-01T10:05:23.123Z' });
  });

  it('sorts rows by received time, then id, recipient and status', () => {
    const rows = [
      row('2026-01-01T10:05:56.5Z', { id: 'c' }),
      row('2026-01-01T10:05:56Z', { id: 'b' }),
      row('2026-01-01T10:05:56Z', { id: 'a' }),
      row('2026-01-01T10:05:55.9999999Z', { id: 'z' }),
    ] as MessageTraceRow[];
    expect(rows.sort(compareRowsByReceived).map((r) => r.id)).toEqual(['z', 'a', 'b', 'c']);
  });
});
