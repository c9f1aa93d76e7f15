/**
 * Where the collector's CPU per event goes (not run by `npm run bench`; `npx tsx bench/micro.ts`):
 * ~200,000 simulator rows fetched once as page texts, then each step the fetch loop does per row timed on
 * its own, and all of them in a row against JSON.parse alone (what the throughput floor does), so a
 * proposed change comes with its arithmetic.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
import { dedupKey, SeenSet } from '../src/fetch/seen-set.js';
import { tenantDomains, withDirection } from '../src/graph/direction.js';
import { rowToEvent } from '../src/graph/event.js';
import { parseGraphInstant } from '../src/graph/instant.js';
import { messageTracePageSchema } from '../src/graph/schema.js';
import type { MessageTraceRow } from '../src/graph/types.js';
import { startSimulatedTenant } from '../src/simulator/index.js';
import { DAY, HOUR, ROWS_PER_MESSAGE, round } from './common.js';

const now = Math.floor(Date.now() / HOUR) * HOUR;
const sim = await startSimulatedTenant({ seed: 7, ratePerDay: 200_000 / ROWS_PER_MESSAGE, historyDays: 1, throttle: 'off', clock: () => now });
const dispatcher = new Agent({ connect: { ca: sim.caCertPem } });
const call = (url: string, init: RequestInit = {}): Promise<Response> => {
  const extended: Omit<RequestInit, 'dispatcher'> & { dispatcher: unknown } = { ...init, dispatcher };
  return fetch(url, extended as RequestInit);
};
const tokenResponse = await call(`${sim.authorityUrl}/${sim.tenantId}/oauth2/v2.0/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', client_id: sim.clientId, client_secret: sim.clientSecret, scope: `${sim.graphUrl}/.default` }).toString(),
});
const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
const t = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
let url: string | undefined = `${sim.graphUrl}/v1.0/admin/exchange/tracing/messageTraces?$filter=${encodeURIComponent(`receivedDateTime ge ${t(now - DAY)} and receivedDateTime le ${t(now - 60_000)}`)}&$top=5000`;
const texts: string[] = [];
while (url !== undefined && texts.length < 100) {
  const response = await call(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  texts.push(text);
  url = (JSON.parse(text) as { '@odata.nextLink'?: string })['@odata.nextLink'];
}
await dispatcher.close();
await sim.stop();
const pages = texts.map((text) => JSON.parse(text) as { value: MessageTraceRow[] });
const rows = pages.flatMap((p) => p.value);
const n = rows.length;

function time(name: string, fn: () => unknown): number {
  fn(); // warm up
  const cpu = process.cpuUsage();
  let sink: unknown;
  for (let i = 0; i < 3; i++) sink = fn();
  const used = process.cpuUsage(cpu);
  const perRow = round((used.user + used.system) / 3 / n, 2);
  process.stdout.write(`${name.padEnd(60)} ${String(perRow).padStart(6)} µs/row${sink === undefined ? '' : ''}\n`);
  return perRow;
}

const domains = tenantDomains(['contoso.com', '*.contoso.com']);
process.stdout.write(`${n} rows in ${texts.length} pages, ${round(texts.reduce((a, x) => a + x.length, 0) / n, 0)} bytes/row\n`);
const results: Record<string, number> = {};
results.jsonParse = time('JSON.parse of the page text (the floor does this too)', () => texts.map((x) => JSON.parse(x)));
results.pageSchema = time('messageTracePageSchema.safeParse (rows checked in place)', () => pages.map((p) => messageTracePageSchema.safeParse(p)));
results.instant = time('parseGraphInstant', () => rows.map((r) => parseGraphInstant(r.receivedDateTime)));
results.dedupKey = time('dedupKey (the text to hash)', () => rows.map((r) => dedupKey(r, 0)));
results.seen = time('SeenSet has + add, keys included (SipHash-1-3)', () => {
  const seen = new SeenSet();
  for (const r of rows) {
    const key = dedupKey(r, 0);
    if (!seen.has(key)) seen.add(key);
  }
  return seen;
});
results.sha = time('  for comparison: a SHA-256 digest object (state version 2)', () =>
  rows.map((r) => createHash('sha256').update(`${r.id}\u0000${r.recipientAddress}`).digest().readUIntBE(0, 6)),
);
results.rowToEvent = time('rowToEvent (_time added in place)', () => rows.map((r) => rowToEvent(r)));
results.direction = time('withDirection (in place)', () => rows.map((r) => withDirection(rowToEvent(r), domains)));
// What the collector does to a page after JSON.parse, in its order, on fresh objects each time.
results.pipeline = time('JSON.parse + schema + instant + seen + event + direction', () => {
  const seen = new SeenSet();
  let events = 0;
  for (const text of texts) {
    const parsed = messageTracePageSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error('page refused');
    for (const row of parsed.data.value) {
      const received = parseGraphInstant(row.receivedDateTime);
      if (!received) throw new Error('bad time');
      const key = dedupKey(row, received.epochMs);
      if (seen.has(key)) continue;
      seen.add(key);
      withDirection(rowToEvent(row, received.epochMs), domains);
      events++;
    }
  }
  return events;
});
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
