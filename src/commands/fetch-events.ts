/**
 * fetch-events: one collection run (src/fetch/run.ts) with the shared clients, bounded by the time budget,
 * then, when `details_statuses` asks for them, the details of queued rows (src/details/drain.ts) with what
 * is left of the run. The result asks the engine to run again at once (`nextTrigger: '0'`) while a backlog
 * is left, except when the request budget is spent: then running again at once would only find it spent.
 */
import type { CommandResult } from '../engine/types.js';
import { DEFAULT_DETAILS_PER_5MIN, type DrainSummary, drainDetails, listingReserve, queueChosenRows } from '../details/drain.js';
import { DEFAULT_TUNING, resolveFirstFetch } from '../fetch/window.js';
import { DEFAULT_TIME_BUDGET_MS, describeRun, type FetchRunSummary, runFetch } from '../fetch/run.js';
import type { GraphClientStats, GraphClientWithStats } from '../graph/client.js';
import { DEFAULT_REQUEST_BUDGET } from '../http/budget.js';
import { buildClients } from './clients.js';
import { tenantDomainsFor, withDirectionOnSend } from './direction.js';
import { checkSignIn } from './sign-in.js';
import type { Command, CommandHandler } from './types.js';

/** Details wait for a run whose trace windows ended normally: never for one cut short by a budget. */
function drainAllowed(summary: FetchRunSummary): boolean {
  return summary.stopReason === 'caught_up' || summary.stopReason === 'max_fetch';
}

function describeDetails(details: DrainSummary): string {
  return (
    `\n\nDetails: ${details.events} detail events from ${details.lookups} lookups; ${details.queued} rows waiting (${details.stopReason}).` +
    (details.droppedTotal > 0 ? ` ${details.droppedTotal} rows found the details queue full and got no details.` : '')
  );
}

/** What fetch-events answers with, for the engine and for the standalone collector's reports and metrics. */
export type FetchEventsResponse = FetchRunSummary & {
  /** The details drain, when it ran and has something to say. */
  details?: DrainSummary;
  /** The Graph client's own counts (requests, retries, token refreshes). */
  graphRequests?: GraphClientStats;
};

export interface FetchEventsResult extends CommandResult {
  rawResponse: FetchEventsResponse;
}

export const fetchEvents: CommandHandler<FetchEventsResult> = async (context) => {
  const { params, engine, signal } = context;
  const deadlineMs = engine.now() + DEFAULT_TIME_BUDGET_MS;
  const { graph } = buildClients(context, { deadlineMs });
  const domains = await tenantDomainsFor(context, graph);
  const sending = withDirectionOnSend(engine, domains);
  const statuses = new Set(params.detailsStatuses ?? []);
  const summary = await runFetch({
    engine: sending,
    graph,
    maxFetch: params.maxFetch,
    firstFetch: params.firstFetch,
    lookbackMinutes: params.lookbackMinutes,
    intervalMs: params.eventFetchInterval * 60_000,
    deadlineMs,
    signal,
    ...(statuses.size > 0 ? { beforeSend: queueChosenRows(engine, statuses) } : {}),
  });
  let details: DrainSummary | undefined;
  // Rows queued under an earlier setting still get their details after details_statuses is emptied.
  if (drainAllowed(summary)) {
    details = await drainDetails({
      engine: sending,
      graph,
      capPer5Min: params.detailsMaxPer5Min ?? DEFAULT_DETAILS_PER_5MIN,
      deadlineMs,
      signal,
      reserve: listingReserve(graph.budget?.shape ?? DEFAULT_REQUEST_BUDGET, summary.lookback.requestsSpent),
    });
  }
  const showDetails = details !== undefined && (statuses.size > 0 || details.lookups > 0 || details.queued > 0);
  // The client's own counts (requests, retries, token refreshes) feed the standalone collector's metrics.
  const { stats } = graph as Partial<GraphClientWithStats>;
  const rawResponse: FetchEventsResponse = {
    ...summary,
    ...(showDetails && details ? { details } : {}),
    ...(stats ? { graphRequests: { ...stats } } : {}),
  };
  const result: FetchEventsResult = {
    readableOutput: describeRun(summary) + (showDetails && details ? describeDetails(details) : ''),
    rawResponse,
  };
  if (summary.backlog && summary.stopReason !== 'request_budget') result.nextTrigger = '0';
  return result;
};

export const command: Command<FetchEventsResult> = {
  signsIn: true,
  check: async (context) => {
    checkSignIn(context);
    // first_fetch is read only for a first run: an ISO first_fetch that has aged past 90 days must not
    // stop a collector that has a fetch position saved.
    if (!(await context.hasSavedRun())) resolveFirstFetch(context.params.firstFetch, context.nowMs, DEFAULT_TUNING);
  },
  run: fetchEvents,
};
