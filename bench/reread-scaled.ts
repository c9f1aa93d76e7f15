/**
 * The look-back re-read's request count and lags in seconds of CPU, not minutes: a daily volume scaled down
 * (by default 500×: pages of 10 rows instead of 5000, windows of 1/500 of window.ts DEFAULT_TUNING's rows) on the in-memory
 * FakeGraph, rows visible up to 10 minutes late and final up to 5 minutes after, lookback 15, interval 1
 * minute. Not part of `npm run bench` (bench/steady.ts is the real thing, over HTTPS and the
 * simulator); used to choose lookback.ts's YOUNG_SHARE and VISIBLE_SHARE and the safety margin. Figures past a
 * 20-minute warm-up. At 500× a window holds a few dozen rows, so its count varies by ±15 % and some spill
 * onto a page of their own; 50× (pages of 100 rows, about 20 s) comes closer to the real thing.
 *
 *   npx tsx bench/reread-scaled.ts [rowsPerDay=1e7] [virtualMinutes=90] [seed=42] [scale=500] 2>/dev/null | tail -1
 */
import { MemoryEngine } from '../src/engine/memory.js';
import { runFetch } from '../src/fetch/run.js';
import { DEFAULT_TUNING } from '../src/fetch/window.js';
import { RequestBudget } from '../src/http/budget.js';
import { eventKey, FakeGraph, FaultyEngine, seededRandom, type TruthRow } from '../test/helpers/fetch-fake-graph.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const rowsPerDay = Number(process.argv[2] ?? 1e7);
const minutes = Number(process.argv[3] ?? 90);
const scale = Number(process.argv[5] ?? 500);
const stepMs = 86_400_000 / (rowsPerDay / scale);
const random = seededRandom(Number(process.argv[4] ?? 42));
const rows: TruthRow[] = [];
for (let at = T0 - 40 * MINUTE, i = 0; at < T0 + (minutes + 10) * MINUTE; at += stepMs, i++) {
  const visibleAtMs = Math.floor(at + random() * 10 * MINUTE);
  const finalAtMs = visibleAtMs + 1 + Math.floor(random() * 5 * MINUTE);
  rows.push({ id: `m${i}`, recipientAddress: 'u@c.test', receivedMs: Math.floor(at), subTicks: 0, precision: 3, visibleAtMs,
    history: [{ status: 'pending', atMs: visibleAtMs }, { status: random() < 0.9 ? 'delivered' : 'failed', atMs: finalAtMs }] });
}
const memory = new MemoryEngine({ startTimeMs: T0 });
const engine = new FaultyEngine(memory);
const budget = new RequestBudget({ engine: memory, options: { limit: 90, windowMs: 300_000, maxWaitMs: 0 } });
const graph = new FakeGraph({ rows, clock: memory, seed: 3, maxPageSize: 5000 / scale, maxPageLatencyMs: 0, budget, fullPages: true });
const times: number[] = [];
const listing = graph.listMessageTraces.bind(graph);
graph.listMessageTraces = async function* (q) { for await (const p of listing(q)) { times.push(memory.now()); yield p; } };
const deliveredAt = new Map<string, number>();
let rowsRead = 0, events = 0;
for (let run = 1; memory.now() < T0 + minutes * MINUTE; run++) {
  engine.startRun(run);
  const before = engine.deliveries.length;
  const s = await runFetch({ engine, graph, maxFetch: 100_000, firstFetch: new Date(T0 - 30 * MINUTE).toISOString(), lookbackMinutes: 15, intervalMs: MINUTE, deadlineMs: memory.now() + 240_000, tuning: { pageSize: 5000 / scale, maxWindowRows: DEFAULT_TUNING.maxWindowRows / scale } });
  if (memory.now() > T0 + 20 * MINUTE) { rowsRead += s.rowsRead; events += s.eventsSent; }
  for (const d of engine.deliveries.slice(before)) deliveredAt.set(d.key, memory.now());
  memory.advance(MINUTE);
}
const warm = times.filter((t) => t > T0 + 20 * MINUTE);
let max5 = 0;
for (const t of warm) max5 = Math.max(max5, warm.filter((u) => u <= t && u > t - 300_000).length);
const counts = new Map<string, number>();
for (const d of engine.deliveries) counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
const dup = [...counts.values()].filter((n) => n > 1).length;
const newLags: number[] = [], stLags: number[] = [];
let missing = 0;
for (const row of rows) row.history.forEach((c, idx) => {
  if (c.atMs < T0 + 20 * MINUTE || c.atMs > T0 + (minutes - 8) * MINUTE) return;
  const at = deliveredAt.get(eventKey({ id: row.id, recipientAddress: row.recipientAddress, status: c.status }));
  if (at === undefined) { if (idx === row.history.length - 1) missing++; return; }
  (idx === 0 ? newLags : stLags).push(at - c.atMs);
});
// A row whose first status gave way before any read could see it is in neither list above: when it was first
// seen at all (any status) says whether a read of its minute came in time.
const firstSeenLags: number[] = [];
for (const row of rows) {
  if (row.visibleAtMs < T0 + 20 * MINUTE || row.visibleAtMs > T0 + (minutes - 8) * MINUTE) continue;
  const seen = row.history.map((c) => deliveredAt.get(eventKey({ id: row.id, recipientAddress: row.recipientAddress, status: c.status })) ?? Infinity);
  const first = Math.min(...seen);
  if (Number.isFinite(first)) firstSeenLags.push(first - row.visibleAtMs);
}
const p = (a: number[], q: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0; };
console.log(JSON.stringify({ rowsPerDay, maxRequestsPer5Min: max5, newRowLagP99Seconds: p(newLags, 0.99) / 1000, newRowLagMax: p(newLags, 1) / 1000, firstSeenLagP99Seconds: p(firstSeenLags, 0.99) / 1000, firstSeenLagMax: p(firstSeenLags, 1) / 1000, statusChangeLagP99Seconds: p(stLags, 0.99) / 1000, statusLagMax: p(stLags, 1) / 1000, readAmplification: +(rowsRead / events).toFixed(2), missing, duplicated: dup, checked: newLags.length + stLags.length }));
