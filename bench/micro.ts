/**
 * Where the collector's CPU per event goes (not run by `npm run bench`; `npx tsx bench/micro.ts`):
 * ~200,000 simulator rows fetched once as page texts, then each step the fetch loop does per row timed on
 * its own, next to a cheaper variant of the same step, so a proposed change comes with its arithmetic.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
import { dedupKey, SeenSet } from '../src/fetch/seen-set.js';
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

// Candidate: one regex, Date.UTC from the groups, range checks instead of a second Date round trip.
const FAST = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
function fastInstantMs(text: string): number | undefined {
  const m = FAST.exec(text);
  if (!m) return parseGraphInstant(text)?.epochMs; // offsets and odd forms: the full parser
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || new Date(ms).getUTCDate() !== d) return undefined;
  return ms;
}
// Candidate: 48 bits from two 32-bit FNV-1a hashes instead of a SHA-256 object per row.
function fnv48(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x10000 + ((b >>> 16) & 0xffff);
}

process.stdout.write(`${n} rows in ${texts.length} pages, ${round(texts.reduce((a, x) => a + x.length, 0) / n, 0)} bytes/row\n`);
const results: Record<string, number> = {};
results.jsonParse = time('JSON.parse of the page text (the floor does this too)', () => texts.map((x) => JSON.parse(x)));
results.zod = time('zod messageTracePageSchema.safeParse (incl. 1 parseGraphInstant)', () => pages.map((p) => messageTracePageSchema.safeParse(p)));
results.instant = time('parseGraphInstant, once', () => rows.map((r) => parseGraphInstant(r.receivedDateTime)));
results.instantFast = time('  candidate: Date.UTC from the regex groups', () => rows.map((r) => fastInstantMs(r.receivedDateTime)));
results.dedupKey = time('dedupKey (SHA-256 object per row)', () => rows.map((r) => dedupKey(r, 0)));
results.sha = time('  of which createHash(sha256) alone', () => rows.map((r) => createHash('sha256').update(`${r.id}\u0000${r.recipientAddress}`).digest().readUIntBE(0, 6)));
results.fnv = time('  candidate: 2 × 32-bit FNV-1a (48 bits)', () => rows.map((r) => fnv48(`${r.id}\u0000${r.recipientAddress}`)));
results.seen = time('SeenSet has + add', () => {
  const seen = new SeenSet();
  for (const r of rows) {
    const key = dedupKey(r, 0);
    if (!seen.has(key)) seen.add(key);
  }
  return seen;
});
results.rowToEvent = time('rowToEvent (spread + parseGraphInstant + toISOString)', () => rows.map((r) => rowToEvent(r)));
results.rowToEventLean = time('  candidate: _time from the instant already parsed, no copy', () =>
  rows.map((r) => {
    const ms = fastInstantMs(r.receivedDateTime) ?? 0;
    return Object.assign(r, { _time: new Date(ms).toISOString() });
  }),
);
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
