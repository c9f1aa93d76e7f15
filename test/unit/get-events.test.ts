import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planGetEvents, runGetEvents } from '../../src/commands/get-events.js';
import { escapeCell, markdownTable } from '../../src/commands/markdown.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { EVENT_META } from '../../src/engine/types.js';
import { createGraphClient } from '../../src/graph/client.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { parseArgs } from '../../src/input/args.js';
import { FakeTokens, LIST_URL, row, testParams } from './graph-test-kit.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const NOW = Date.parse('2026-03-01T12:00:00.500Z');
const DAY = 86_400_000;
const COMMAND = 'o365-message-trace-get-events';

/**
 * A tiny tenant: rows filtered by the receivedDateTime range of each request, served newest first (as
 * third parties observe) in pages of `pageSize`, and every request's $filter recorded.
 */
function tenant(rows: Record<string, unknown>[], pageSize = 3) {
  const filters: string[] = [];
  server.use(
    http.get(LIST_URL, ({ request }) => {
      const url = new URL(request.url);
      const filter = url.searchParams.get('$filter') ?? '';
      const offset = Number(url.searchParams.get('$skiptoken') ?? '0');
      if (offset === 0) filters.push(filter);
      const ge = Date.parse(/receivedDateTime ge (\S+)/.exec(filter)?.[1] ?? '');
      const le = Date.parse(/receivedDateTime le (\S+)/.exec(filter)?.[1] ?? '');
      const inRange = rows
        .filter((r) => {
          const t = Date.parse(String(r.receivedDateTime));
          return t >= ge && t <= le;
        })
        .sort((a, b) => Date.parse(String(b.receivedDateTime)) - Date.parse(String(a.receivedDateTime)));
      const page = inRange.slice(offset, offset + pageSize);
      const next = offset + pageSize < inRange.length;
      return HttpResponse.json({
        value: page,
        ...(next ? { '@odata.nextLink': `${LIST_URL}?$filter=${encodeURIComponent(filter)}&$skiptoken=${offset + pageSize}` } : {}),
      });
    }),
  );
  return { filters };
}

async function run(rawArgs: Record<string, string>, engine = new MemoryEngine({ startTimeMs: NOW }), budget?: { limit: number }) {
  const graph = createGraphClient({
    params: testParams(),
    engine,
    http: createHttpFetch({ proxy: false, insecure: false }),
    tokens: new FakeTokens(),
    ...(budget ? { requestBudget: budget, deadlineMs: NOW + 1000 } : {}),
  });
  const result = await runGetEvents({ params: testParams(), args: parseArgs(COMMAND, rawArgs), engine }, graph);
  return { result, engine, graph };
}

describe('planGetEvents', () => {
  const plan = (raw: Record<string, string>) => planGetEvents(parseArgs(COMMAND, raw), NOW);

  it('defaults: the last hour up to now, limit 50, no filters', () => {
    const p = plan({});
    expect(p).toMatchObject({ startMs: Date.parse('2026-03-01T11:00:00Z'), endMs: Date.parse('2026-03-01T12:00:00Z'), limit: 50, notes: [] });
    expect(p.windows).toHaveLength(1);
  });

  it('start 90+ days back is an error', () => {
    expect(() => plan({ start_time: '91 days ago' })).toThrow(/more than 90 days back/);
  });

  it('start exactly at the 90-day limit (counted from 00:00 UTC today, as Graph does) is moved inside it, with a note', () => {
    const graphOldest = Date.parse('2026-03-01T00:00:00Z') - 90 * DAY;
    const p = plan({ start_time: new Date(graphOldest).toISOString(), end_time: '89 days ago' });
    expect(p.startMs).toBeGreaterThan(graphOldest);
    expect(p.notes.join()).toContain('90-day limit');
    // 90 × 24 hours back is still inside Graph's limit at noon: kept as asked.
    expect(plan({ start_time: '90 days ago', end_time: '89 days ago' }).notes).toEqual([]);
  });

  it('end before start is an error', () => {
    expect(() => plan({ start_time: '1 hour ago', end_time: '2 hours ago' })).toThrow(/before start_time/);
  });

  it('start in the future is an error', () => {
    expect(() => plan({ start_time: '2026-03-02T00:00:00Z' })).toThrow(/in the future/);
  });

  it('end in the future is clamped to now, with a note', () => {
    const p = plan({ start_time: '2 hours ago', end_time: '2026-03-05T00:00:00Z' });
    expect(p.endMs).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(p.notes.join()).toContain('in the future');
  });

  it('splits 25 days into 10-day windows, oldest first', () => {
    const p = plan({ start_time: '2026-02-04T12:00:00Z', end_time: '2026-03-01T12:00:00Z' });
    expect(p.windows.map((w) => [new Date(w.startMs).toISOString(), new Date(w.endMs).toISOString()])).toEqual([
      ['2026-02-04T12:00:00.000Z', '2026-02-14T12:00:00.000Z'],
      ['2026-02-14T12:00:00.000Z', '2026-02-24T12:00:00.000Z'],
      ['2026-02-24T12:00:00.000Z', '2026-03-01T12:00:00.000Z'],
    ]);
  });
});

describe('o365-message-trace-get-events (msw)', () => {
  it('returns the earliest events ascending across pages of newest-first rows, with mixed precision', async () => {
    const rows = [
      row('2026-03-01T11:05:56.1234567Z', { id: 'c' }),
      row('2026-03-01T11:05:56Z', { id: 'b' }),
      row('2026-03-01T11:05:55.9Z', { id: 'a' }),
      row('2026-03-01T11:30:00Z', { id: 'd' }),
      row('2026-03-01T11:45:00.5Z', { id: 'e' }),
      row('2026-03-01T10:00:00Z', { id: 'outside' }),
    ];
    const { filters } = tenant(rows, 2);
    const { result, engine } = await run({ limit: '3' });
    const events = result.outputs as Record<string, unknown>[];
    expect(events.map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect(events[2]).toEqual({ ...rows[0], _time: '2026-03-01T11:05:56.123Z', direction: 'unknown' });
    expect(result.outputsPrefix).toBe('O365MessageTrace.Event');
    expect(result.outputsKeyField).toBe('id');
    expect(filters).toEqual(['receivedDateTime ge 2026-03-01T11:00:00Z and receivedDateTime le 2026-03-01T12:00:00Z']);
    expect(engine.sends).toHaveLength(0);
    const lines = result.readableOutput.split('\n');
    expect(lines[0]).toBe('### O365 Message Trace Events');
    expect(lines[1]).toBe('|Id|Received Date Time|Sender Address|Recipient Address|Subject|Status|');
    expect(lines[3]).toBe(`|a|2026-03-01T11:05:55.9Z|sender@contoso.com|recipient@contoso.com|${rows[2]?.subject}|delivered|`);
  });

  it('pushes the events when should_push_events=true', async () => {
    tenant([row('2026-03-01T11:10:00Z'), row('2026-03-01T11:20:00Z')]);
    const { result, engine } = await run({ should_push_events: 'true' });
    expect(engine.events).toEqual(result.outputs);
    expect(engine.sends).toEqual([{ count: 2, meta: EVENT_META }]);
    expect(result.readableOutput).toContain('2 event(s) sent');
  });

  it('puts every filter into the query, escaped', async () => {
    const { filters } = tenant([]);
    const { result } = await run({
      sender_address: "o'brien@contoso.com",
      recipient_address: 'r@contoso.com',
      status: 'FilteredAsSpam',
      message_id: '<abc@contoso.com>',
      subject: "x' or status eq 'y",
    });
    expect(filters).toEqual([
      "receivedDateTime ge 2026-03-01T11:00:00Z and receivedDateTime le 2026-03-01T12:00:00Z and senderAddress eq 'o''brien@contoso.com' and recipientAddress eq 'r@contoso.com' and status eq 'filteredAsSpam' and messageId eq '<abc@contoso.com>' and contains(subject,'x'' or status eq ''y')",
    ]);
    expect(result.outputs).toEqual([]);
    expect(result.readableOutput).toContain('**No entries.**');
  });

  it('splits a 25-day span into 10-day windows read oldest first, and stops once a full window holds enough', async () => {
    const { filters } = tenant([row('2026-02-20T00:00:00Z', { id: 'late' }), row('2026-02-26T00:00:00Z', { id: 'later' })]);
    const { result } = await run({ start_time: '2026-02-04T12:00:00Z', end_time: '2026-03-01T12:00:00Z', limit: '1' });
    expect((result.outputs as { id: string }[]).map((e) => e.id)).toEqual(['late']);
    expect(filters).toEqual([
      'receivedDateTime ge 2026-02-04T12:00:00Z and receivedDateTime le 2026-02-14T12:00:00Z',
      'receivedDateTime ge 2026-02-14T12:00:00Z and receivedDateTime le 2026-02-24T12:00:00Z',
    ]);
  });

  it('reads every window when fewer rows than the limit exist, and a row on a shared boundary comes once', async () => {
    const { filters } = tenant([
      row('2026-02-14T12:00:00Z', { id: 'boundary' }),
      row('2026-02-14T12:00:00.5Z', { id: 'just-after' }),
      row('2026-02-28T00:00:00Z', { id: 'last' }),
    ]);
    const { result } = await run({ start_time: '2026-02-04T12:00:00Z', end_time: '2026-03-01T12:00:00Z' });
    expect(filters).toHaveLength(3);
    expect((result.outputs as { id: string }[]).map((e) => e.id)).toEqual(['boundary', 'just-after', 'last']);
  });

  it('keeps only the earliest rows in bounded memory across many pages', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => row(new Date(Date.parse('2026-03-01T11:00:00Z') + (40 - i) * 60_000).toISOString(), { id: `r${40 - i}` }));
    tenant(rows, 7);
    const { result } = await run({ limit: '5' });
    expect((result.outputs as { id: string }[]).map((e) => e.id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
  });

  it('escapes | and line breaks in the table', async () => {
    tenant([row('2026-03-01T11:10:00Z', { subject: 'a|b\nc\\' })]);
    const { result } = await run({});
    expect(result.readableOutput).toContain('|a\\|b<br>c\\\\|delivered|');
  });

  it('a spent request budget ends with a message saying when and how to narrow', async () => {
    tenant([]);
    const engine = new MemoryEngine({ startTimeMs: NOW });
    await run({}, engine, { limit: 1 });
    const error = await run({}, engine, { limit: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'request_budget_exhausted' });
    expect(String((error as Error).message)).toMatch(/room frees up at .*narrow start_time/);
  });
});

describe('markdownTable', () => {
  it('escapes cells and renders empty values as blanks', () => {
    expect(escapeCell(null)).toBe('');
    expect(escapeCell('x\r\ny')).toBe('x<br>y');
    expect(markdownTable('T', [{ a: 1, b: undefined }], [{ header: 'A', value: (r) => r.a }, { header: 'B|b', value: (r) => r.b }])).toBe(
      '### T\n|A|B\\|b|\n|---|---|\n|1||\n',
    );
  });
});
