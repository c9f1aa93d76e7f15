/**
 * `o365-message-trace-get-events`: the earliest `limit` message trace events in a time range, for
 * development and debugging.
 *
 * Graph does not document the order of rows, so "the earliest N" can only be known for a window read to
 * its end. The range is split into windows of at most 10 days (Graph's limit), read oldest first, each to
 * its last page; once the windows read so far hold at least `limit` rows, later windows cannot hold earlier
 * ones and reading stops. Cost: every page of every window up to that point, at 5000 rows per page; a busy
 * tenant and a long range can spend the request budget, and the error then asks for a narrower range.
 * Memory stays at about 2 × limit rows plus one page: rows that cannot be among the earliest are dropped.
 */
import { EVENT_META, type Engine, type CommandResult } from '../engine/types.js';
import { IntegrationError, isIntegrationError } from '../errors.js';
import { type MarkdownColumn, markdownTable } from './markdown.js';
import { compareRowsByReceived, rowKey, rowToEvent } from '../graph/event.js';
import { effectiveBounds } from '../graph/filter.js';
import type { GraphClient, MessageTraceFilters, MessageTraceRow } from '../graph/types.js';
import { ceilSecond, floorSecond, graphTime, MAX_PAGE_SIZE, oldestSafeStartMs, RETENTION_RULE } from '../graph/limits.js';
import { type TimeWindow, splitIntoWindows } from '../graph/windows.js';
import type { ParsedArgs } from '../input/args.js';
import { parseTimeExpression } from '../time/expressions.js';
import { NO_DOMAINS, type TenantDomains, withDirection } from '../graph/direction.js';
import { buildClients } from './clients.js';
import { tenantDomainsFor } from './direction.js';
import { checkSignIn } from './sign-in.js';
import type { Command, CommandContext, CommandHandler } from './types.js';

export const DEFAULT_LIMIT = 50;
export const DEFAULT_SPAN_MS = 3_600_000;
/** Like fetch-events: stop well before an engine's 300 s kill. */
export const GET_EVENTS_TIME_BUDGET_MS = 240_000;
/**
 * Graph checks the 90-day limit when a request arrives, seconds or minutes after the range was resolved;
 * a start within this margin of the limit is moved forward instead of failing later.
 */
export const RETENTION_MARGIN_MS = 300_000;

export const EVENT_TABLE_TITLE = 'O365 Message Trace Events';

export interface GetEventsPlan {
  /** Whole seconds; the range the listings cover, both ends inclusive. */
  startMs: number;
  endMs: number;
  windows: TimeWindow[];
  limit: number;
  filters: MessageTraceFilters;
  /** Adjustments made to the request, said in the output. */
  notes: string[];
}

function optionalText(args: ParsedArgs, name: string): string | undefined {
  const value = args[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function resolveTime(args: ParsedArgs, name: string, nowMs: number): number | undefined {
  const text = optionalText(args, name);
  if (text === undefined) return undefined;
  const parsed = parseTimeExpression(text, nowMs);
  if (!parsed.ok) throw new IntegrationError('invalid_argument', `Invalid argument for o365-message-trace-get-events: ${name} '${text}' ${parsed.problem}.`);
  return parsed.epochMs;
}

/** Resolves the arguments against the clock into windows. Pure; throws IntegrationError('invalid_argument'). */
export function planGetEvents(args: ParsedArgs, nowMs: number): GetEventsPlan {
  const notes: string[] = [];
  const limit = typeof args.limit === 'number' ? args.limit : DEFAULT_LIMIT;
  let endMs = resolveTime(args, 'end_time', nowMs) ?? nowMs;
  if (endMs > nowMs) {
    notes.push(`end_time ${graphTime(endMs)} is in the future; used now (${graphTime(nowMs)}).`);
    endMs = nowMs;
  }
  let startMs = resolveTime(args, 'start_time', nowMs) ?? endMs - DEFAULT_SPAN_MS;
  const oldestMs = oldestSafeStartMs(nowMs, 0);
  if (startMs < oldestMs) {
    throw new IntegrationError(
      'invalid_argument',
      `Invalid argument for o365-message-trace-get-events: start_time ${graphTime(startMs)} is more than 90 days back; ${RETENTION_RULE}. Use a start_time after ${graphTime(oldestMs)}.`,
    );
  }
  if (startMs > nowMs) {
    throw new IntegrationError('invalid_argument', `Invalid argument for o365-message-trace-get-events: start_time ${graphTime(startMs)} is in the future.`);
  }
  if (endMs < startMs) {
    throw new IntegrationError(
      'invalid_argument',
      `Invalid argument for o365-message-trace-get-events: end_time ${graphTime(endMs)} is before start_time ${graphTime(startMs)}.`,
    );
  }
  const safeOldestMs = ceilSecond(oldestSafeStartMs(nowMs, RETENTION_MARGIN_MS));
  if (startMs < safeOldestMs) {
    const moved = Math.min(safeOldestMs, floorSecond(endMs));
    notes.push(`start_time is at the 90-day limit; used ${graphTime(moved)} so Graph does not refuse it.`);
    startMs = moved;
  }
  const bounds = effectiveBounds(startMs, endMs);
  const filters: MessageTraceFilters = {
    senderAddress: optionalText(args, 'sender_address'),
    recipientAddress: optionalText(args, 'recipient_address'),
    status: optionalText(args, 'status'),
    messageId: optionalText(args, 'message_id'),
    subjectContains: optionalText(args, 'subject'),
  };
  return {
    startMs: bounds.effectiveStartMs,
    endMs: bounds.effectiveEndMs,
    windows: splitIntoWindows(bounds.effectiveStartMs, bounds.effectiveEndMs),
    limit,
    filters,
    notes,
  };
}

/** Keeps the `limit` earliest distinct rows seen, in bounded memory. */
class EarliestRows {
  private readonly rows = new Map<string, MessageTraceRow>();
  constructor(private readonly limit: number) {}

  add(rows: readonly MessageTraceRow[]): void {
    for (const row of rows) this.rows.set(rowKey(row), row);
    if (this.rows.size > 2 * this.limit) this.truncate();
  }

  get size(): number {
    return this.rows.size;
  }

  private truncate(): void {
    const kept = this.sorted().slice(0, this.limit);
    this.rows.clear();
    for (const row of kept) this.rows.set(rowKey(row), row);
  }

  sorted(): MessageTraceRow[] {
    return [...this.rows.values()].sort(compareRowsByReceived);
  }

  earliest(): MessageTraceRow[] {
    return this.sorted().slice(0, this.limit);
  }
}

export const EVENT_COLUMNS: readonly MarkdownColumn<Record<string, unknown>>[] = [
  { header: 'Id', value: (e) => e.id },
  { header: 'Received Date Time', value: (e) => e.receivedDateTime },
  { header: 'Sender Address', value: (e) => e.senderAddress },
  { header: 'Recipient Address', value: (e) => e.recipientAddress },
  { header: 'Subject', value: (e) => e.subject },
  { header: 'Status', value: (e) => e.status },
];

async function collectEarliest(graph: GraphClient, plan: GetEventsPlan, engine: Engine): Promise<{ rows: MessageTraceRow[]; pages: number; windowsRead: number }> {
  const earliest = new EarliestRows(plan.limit);
  let pages = 0;
  let windowsRead = 0;
  for (const window of plan.windows) {
    for await (const page of graph.listMessageTraces({ ...window, filters: plan.filters, top: MAX_PAGE_SIZE })) {
      pages++;
      earliest.add(page.rows);
    }
    windowsRead++;
    // Later windows only hold rows at or after this window's end.
    if (earliest.size >= plan.limit) break;
  }
  engine.log.info('get-events read message traces', { windows: windowsRead, of: plan.windows.length, pages });
  return { rows: earliest.earliest(), pages, windowsRead };
}

/**
 * The command with its Graph client given (tests pass one built on a fake token provider), and the
 * tenant's domains for each event's direction.
 */
export async function runGetEvents(context: CommandContext, graph: GraphClient, domains: TenantDomains = NO_DOMAINS): Promise<CommandResult> {
  const { engine, args } = context;
  const plan = planGetEvents(args, engine.now());
  let rows: MessageTraceRow[];
  try {
    ({ rows } = await collectEarliest(graph, plan, engine));
  } catch (error) {
    if (isIntegrationError(error) && error.code === 'request_budget_exhausted') {
      throw new IntegrationError(
        error.code,
        `${error.message} get-events reads every page of the range to find the earliest events; narrow start_time/end_time or add filters.`,
        { cause: error },
      );
    }
    throw error;
  }
  const events = rows.map((row) => withDirection(rowToEvent(row), domains));
  if (args.should_push_events === true && events.length > 0) {
    await engine.sendEvents(events, EVENT_META);
  }
  const lines = [markdownTable(EVENT_TABLE_TITLE, events, EVENT_COLUMNS).trimEnd()];
  for (const note of plan.notes) lines.push(`Note: ${note}`);
  if (args.should_push_events === true) lines.push(`${events.length} event(s) sent to the event sink.`);
  return {
    readableOutput: `${lines.join('\n\n')}\n`,
    outputs: events,
    outputsPrefix: 'O365MessageTrace.Event',
    outputsKeyField: 'id',
  };
}

export const getEvents: CommandHandler = async (context) => {
  const deadlineMs = context.engine.now() + GET_EVENTS_TIME_BUDGET_MS;
  const { graph } = buildClients(context, { deadlineMs });
  return runGetEvents(context, graph, await tenantDomainsFor(context, graph));
};

export const command: Command = {
  signsIn: true,
  check: (context) => {
    checkSignIn(context);
    planGetEvents(context.args, context.nowMs);
  },
  run: getEvents,
};
