import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildMessageTraceFilter, effectiveBounds, odataString } from '../../src/graph/filter.js';
import { MAX_LISTING_SPAN_MS } from '../../src/graph/limits.js';
import { splitIntoWindows } from '../../src/graph/windows.js';
import { parseFilter } from '../../src/simulator/odata-filter.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');

/**
 * An independent reader of the builder's output: splits a filter into clauses at top-level ` and `
 * (outside string literals) and decodes each literal. Enough to prove a value cannot change the structure.
 */
function readFilter(filter: string): { clauses: string[]; literals: string[] } {
  const clauses: string[] = [];
  const literals: string[] = [];
  let clause = '';
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i] as string;
    if (ch === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= filter.length) throw new Error('unterminated literal');
        if (filter[j] === "'") {
          if (filter[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += filter[j];
        j++;
      }
      literals.push(value);
      clause += filter.slice(i, j + 1);
      i = j + 1;
    } else if (filter.startsWith(' and ', i)) {
      clauses.push(clause);
      clause = '';
      i += 5;
    } else {
      clause += ch;
      i++;
    }
  }
  clauses.push(clause);
  return { clauses, literals };
}

describe('effectiveBounds', () => {
  it.each([
    ['whole seconds', '2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000Z', '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z'],
    ['start floored', '2026-03-01T10:00:00.999Z', '2026-03-01T11:00:00.000Z', '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z'],
    ['end floored (never in the future)', '2026-03-01T10:00:00Z', '2026-03-01T11:00:00.700Z', '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z'],
    ['one instant', '2026-03-01T10:00:00.2Z', '2026-03-01T10:00:00.9Z', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00Z'],
  ])('%s', (_name, start, end, ge, le) => {
    const bounds = effectiveBounds(Date.parse(start), Date.parse(end));
    expect(bounds.ge).toBe(ge);
    expect(bounds.le).toBe(le);
    expect(bounds.effectiveStartMs).toBe(Date.parse(ge));
    expect(bounds.effectiveEndMs).toBe(Date.parse(le));
  });

  it('refuses an end before the start', () => {
    expect(() => effectiveBounds(T0 + 2000, T0)).toThrow(RangeError);
  });
});

describe('buildMessageTraceFilter', () => {
  const window = { startMs: T0, endMs: T0 + 3_600_000 };
  const range = 'receivedDateTime ge 2026-03-01T10:00:00Z and receivedDateTime le 2026-03-01T11:00:00Z';

  it.each([
    ['no filters', {}, range],
    ['sender', { senderAddress: 'a@contoso.com' }, `${range} and senderAddress eq 'a@contoso.com'`],
    ['recipient', { recipientAddress: 'b@contoso.com' }, `${range} and recipientAddress eq 'b@contoso.com'`],
    ['status', { status: 'filteredAsSpam' }, `${range} and status eq 'filteredAsSpam'`],
    ['message id', { messageId: '<abc@contoso.com>' }, `${range} and messageId eq '<abc@contoso.com>'`],
    ['subject contains', { subjectContains: 'Invoice' }, `${range} and contains(subject,'Invoice')`],
    ['quote doubled', { senderAddress: "O'Brien@contoso.com" }, `${range} and senderAddress eq 'O''Brien@contoso.com'`],
    [
      'injection stays one literal',
      { subjectContains: "x' or status eq 'y" },
      `${range} and contains(subject,'x'' or status eq ''y')`,
    ],
    ['operators and parentheses', { subjectContains: ') and (1 eq 1' }, `${range} and contains(subject,') and (1 eq 1')`],
    ['non-ASCII', { subjectContains: 'Größe 請求書 😀' }, `${range} and contains(subject,'Größe 請求書 😀')`],
    ['empty values left out', { senderAddress: '', subjectContains: '' }, range],
    [
      'all at once, fixed order',
      { subjectContains: 's', messageId: 'm', status: 'pending', recipientAddress: 'r', senderAddress: 'f' },
      `${range} and senderAddress eq 'f' and recipientAddress eq 'r' and status eq 'pending' and messageId eq 'm' and contains(subject,'s')`,
    ],
  ])('%s', (_name, filters, expected) => {
    expect(buildMessageTraceFilter({ ...window, filters }).filter).toBe(expected);
  });

  it('any string value round-trips as exactly one literal', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), (a, b) => {
        for (const value of [a, b, `${a}'${b}`, `'${a} and ${b}'`]) {
          if (value === '') continue;
          const { filter } = buildMessageTraceFilter({ ...window, filters: { senderAddress: value, subjectContains: value } });
          const { clauses, literals } = readFilter(filter);
          expect(clauses).toHaveLength(4);
          expect(literals).toEqual([value, value]);
          expect(clauses[2]?.startsWith('senderAddress eq ')).toBe(true);
          expect(clauses[3]?.startsWith('contains(subject,')).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('odataString doubles quotes only', () => {
    expect(odataString("''")).toBe("''''''");
    expect(odataString('a\\b%20&$x')).toBe("'a\\b%20&$x'");
  });
});

describe('splitIntoWindows', () => {
  const DAY = 86_400_000;

  it('keeps a span of up to 10 days whole', () => {
    expect(splitIntoWindows(T0, T0 + 10 * DAY)).toEqual([{ startMs: T0, endMs: T0 + 10 * DAY }]);
  });

  it('splits longer spans oldest first, sharing boundary seconds', () => {
    const windows = splitIntoWindows(T0 + 400, T0 + 25 * DAY + 900);
    expect(windows).toEqual([
      { startMs: T0, endMs: T0 + 10 * DAY },
      { startMs: T0 + 10 * DAY, endMs: T0 + 20 * DAY },
      { startMs: T0 + 20 * DAY, endMs: T0 + 25 * DAY },
    ]);
  });

  it('covers the range without gaps, each window within the limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 90 * DAY }), fc.integer({ min: 0, max: 90 * DAY }), (offset, length) => {
        const start = T0 + offset;
        const windows = splitIntoWindows(start, start + length);
        expect(windows[0]?.startMs).toBe(Math.floor(start / 1000) * 1000);
        expect(windows.at(-1)?.endMs).toBe(Math.floor((start + length) / 1000) * 1000);
        windows.forEach((w, i) => {
          expect(w.endMs - w.startMs).toBeLessThanOrEqual(MAX_LISTING_SPAN_MS);
          if (i > 0) expect(w.startMs).toBe(windows[i - 1]?.endMs);
        });
      }),
    );
  });
});

// The simulator lives in a separate world; tests may bring the two together. Its reader was written
// without looking at the builder, so a misunderstanding in either shows up here.
describe('agreement with the simulator’s independent $filter reader', () => {

  it('reads back every value and the range, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, unit: 'grapheme' }),
        fc.string({ minLength: 1 }),
        fc.constantFrom('delivered', 'pending', 'filteredAsSpam'),
        (subject, address, status) => {
          const { filter } = buildMessageTraceFilter({
            startMs: T0 + 123,
            endMs: T0 + 86_400_000 + 999,
            filters: { senderAddress: address, recipientAddress: `${address}'`, status, messageId: `<${address}>`, subjectContains: subject },
          });
          const parsed = parseFilter(filter);
          expect(parsed.predicates).toEqual([
            { kind: 'eq', property: 'senderAddress', value: address },
            { kind: 'eq', property: 'recipientAddress', value: `${address}'` },
            { kind: 'eq', property: 'status', value: status },
            { kind: 'eq', property: 'messageId', value: `<${address}>` },
            { kind: 'contains', value: subject },
          ]);
          expect(parsed.startTicks).not.toBeNull();
          expect(parsed.endTicks).not.toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });
});
