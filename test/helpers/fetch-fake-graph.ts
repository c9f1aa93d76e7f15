/**
 * A fake GraphClient over a generated ground truth, for the fetch property tests: rows arrive, become
 * visible late and change status over time; listings come back in a random order with random page sizes,
 * with a snapshot taken at the first page (as Graph's skiptoken does) and statuses read at each page; a
 * listing can fail at a chosen page. Also an engine wrapper that fails at chosen points.
 */
import type { Engine, EventMeta, JsonObject, TraceEvent } from '../../src/engine/types.js';
import { IntegrationError } from '../../src/errors.js';
import type { RequestBudget } from '../../src/http/budget.js';
import type { GraphClient, MessageTracePage, MessageTraceQuery, MessageTraceRow } from '../../src/graph/types.js';

export interface TruthRow {
  id: string;
  recipientAddress: string;
  /** Received instant in ms, plus 0..9999 ticks of 100 ns beyond it. */
  receivedMs: number;
  subTicks: number;
  /** How the row prints its receivedDateTime: whole seconds, milliseconds or 100 ns. */
  precision: 0 | 3 | 7;
  visibleAtMs: number;
  /** Ascending by `atMs`; the first is at `visibleAtMs`; the last is the final status. */
  history: { status: string; atMs: number }[];
}

export function finalStatusOf(row: TruthRow): string {
  return (row.history[row.history.length - 1] as { status: string }).status;
}

export function statusAtTime(row: TruthRow, atMs: number): string | undefined {
  let status: string | undefined;
  for (const change of row.history) if (change.atMs <= atMs) status = change.status;
  return status;
}

export function receivedText(row: TruthRow): string {
  const base = new Date(row.receivedMs).toISOString().slice(0, 19);
  if (row.precision === 0) return `${base}Z`;
  const ms = String(row.receivedMs % 1000).padStart(3, '0');
  if (row.precision === 3) return `${base}.${ms}Z`;
  return `${base}.${ms}${String(row.subTicks).padStart(4, '0')}Z`;
}

/** mulberry32: a small seeded generator, so a failing case replays exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ListingFault = 'error' | 'budget' | 'deadline';

export interface FakeGraphOptions {
  rows: readonly TruthRow[];
  clock: { now(): number; advance(ms: number): void };
  seed: number;
  /** Largest page the fake returns (it picks 1..max per page, at most `top`). */
  maxPageSize: number;
  /** Clock advance per page (ms), 0..max. */
  maxPageLatencyMs: number;
  /** Every page takes one request from this budget first, as the real client does (its log is shared). */
  budget?: RequestBudget;
  /** Pages hold `top` rows, as Graph's do, instead of a random number up to it. */
  fullPages?: boolean;
}

export class FakeGraph implements GraphClient {
  readonly requests: MessageTraceQuery[] = [];
  pagesServed = 0;
  private readonly random: () => number;
  /** Next listing fails at this page index (0-based) with this fault; then the plan is cleared. */
  private planned: { page: number; fault: ListingFault } | undefined;

  constructor(private readonly options: FakeGraphOptions) {
    this.random = seededRandom(options.seed);
  }

  get budget(): RequestBudget | undefined {
    return this.options.budget;
  }

  failNextListing(page: number, fault: ListingFault): void {
    this.planned = { page, fault };
  }

  clearFaults(): void {
    this.planned = undefined;
  }

  async *listMessageTraces(query: MessageTraceQuery): AsyncGenerator<MessageTracePage> {
    const { clock } = this.options;
    const snapshot = clock.now();
    this.requests.push(query);
    const day = 86_400_000;
    if (query.startMs % 1000 !== 0 || query.endMs % 1000 !== 0) throw new Error(`bounds not whole seconds: ${JSON.stringify(query)}`);
    if (query.endMs < query.startMs) throw new IntegrationError('graph_bad_request', 'start after end');
    if (query.endMs - query.startMs > 10 * day) throw new IntegrationError('graph_bad_request', 'window over 10 days');
    // Graph counts the 90 days from 00:00 UTC of today, not from now.
    if (query.startMs < Math.floor(snapshot / day) * day - 90 * day) throw new IntegrationError('graph_bad_request', 'start over 90 days back');
    if (query.endMs > snapshot) throw new IntegrationError('graph_bad_request', 'end in the future');

    const matching = this.options.rows.filter(
      (row) =>
        row.receivedMs >= query.startMs &&
        (row.receivedMs < query.endMs || (row.receivedMs === query.endMs && row.subTicks === 0)) &&
        row.visibleAtMs <= snapshot,
    );
    // Fisher-Yates with the seeded generator: no order at all.
    for (let i = matching.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [matching[i], matching[j]] = [matching[j] as TruthRow, matching[i] as TruthRow];
    }
    const plan = this.planned;
    this.planned = undefined;
    const top = Math.min(query.top ?? 1000, this.options.maxPageSize);
    let at = 0;
    let page = 0;
    do {
      clock.advance(Math.floor(this.random() * (this.options.maxPageLatencyMs + 1)));
      await this.options.budget?.acquire();
      if (plan && plan.page === page) {
        if (plan.fault === 'budget') throw new IntegrationError('request_budget_exhausted', 'budget spent (fake)');
        if (plan.fault === 'deadline') throw new IntegrationError('deadline_exceeded', 'deadline (fake)');
        throw new Error('simulated failure while paging');
      }
      const size = this.options.fullPages ? top : 1 + Math.floor(this.random() * top);
      const slice = matching.slice(at, at + size);
      at += slice.length;
      page++;
      this.pagesServed++;
      const now = clock.now();
      yield {
        more: at < matching.length,
        rows: slice.map(
          (row): MessageTraceRow => ({
            id: row.id,
            messageId: `<${row.id}@example.test>`,
            receivedDateTime: receivedText(row),
            senderAddress: 'sender@example.test',
            recipientAddress: row.recipientAddress,
            subject: 'subject',
            status: statusAtTime(row, now) ?? (row.history[0] as { status: string }).status,
            size: 1234,
            fromIP: '203.0.113.9',
            toIP: '',
          }),
        ),
      };
    } while (at < matching.length);
  }

  async getDetailsByRecipient(): Promise<never[]> {
    return [];
  }
}

export type EngineFault = 'send-rejects' | 'send-delivers-then-throws' | 'save-fails';

export interface Delivery {
  key: string;
  run: number;
}

export function eventKey(event: Record<string, unknown>): string {
  return `${String(event.id)}|${String(event.recipientAddress)}|${String(event.status)}`;
}

/**
 * Wraps an engine: records every delivered event with the run number, and fails at the planned
 * sendEvents / setLastRun call (0-based count within the run).
 */
export class FaultyEngine implements Engine {
  readonly deliveries: Delivery[] = [];
  run = 0;
  private sends = 0;
  private saves = 0;
  private plan: { fault: EngineFault; at: number } | undefined;

  constructor(private readonly inner: Engine) {}

  get log() {
    return this.inner.log;
  }

  startRun(run: number, plan?: { fault: EngineFault; at: number }): void {
    this.run = run;
    this.sends = 0;
    this.saves = 0;
    this.plan = plan;
  }

  getLastRun(): Promise<unknown> {
    return this.inner.getLastRun();
  }

  async setLastRun(state: JsonObject): Promise<void> {
    const index = this.saves++;
    if (this.plan?.fault === 'save-fails' && this.plan.at === index) throw new Error('simulated crash before setLastRun');
    await this.inner.setLastRun(state);
  }

  getIntegrationContext(): Promise<unknown> {
    return this.inner.getIntegrationContext();
  }

  setIntegrationContext(context: JsonObject): Promise<void> {
    return this.inner.setIntegrationContext(context);
  }

  async sendEvents(events: readonly TraceEvent[], meta: EventMeta): Promise<void> {
    const index = this.sends++;
    if (this.plan?.fault === 'send-rejects' && this.plan.at === index) throw new Error('simulated sink failure');
    await this.inner.sendEvents(events, meta);
    for (const event of events) this.deliveries.push({ key: eventKey(event), run: this.run });
    if (this.plan?.fault === 'send-delivers-then-throws' && this.plan.at === index) {
      throw new Error('simulated crash after delivery');
    }
  }

  now(): number {
    return this.inner.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.inner.sleep ? this.inner.sleep(ms, signal) : Promise.resolve();
  }
}
