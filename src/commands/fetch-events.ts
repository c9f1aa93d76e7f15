/**
 * fetch-events: one collection run (src/fetch/run.ts) with the shared clients, bounded by the time budget.
 * The result asks the engine to run again at once (`nextTrigger: '0'`) while a backlog is left, except when
 * the request budget is spent: then running again at once would only find it spent.
 */
import type { CommandResult } from '../engine/types.js';
import { DEFAULT_TIME_BUDGET_MS, describeRun, runFetch } from '../fetch/run.js';
import type { GraphClientWithStats } from '../graph/client.js';
import { buildClients } from './clients.js';
import { tenantDomainsFor, withDirectionOnSend } from './direction.js';
import type { CommandHandler } from './types.js';

export const fetchEvents: CommandHandler = async (context) => {
  const { params, engine } = context;
  const deadlineMs = engine.now() + DEFAULT_TIME_BUDGET_MS;
  const { graph } = buildClients(context, { deadlineMs });
  const domains = await tenantDomainsFor(context, graph);
  const summary = await runFetch({
    engine: withDirectionOnSend(engine, domains),
    graph,
    maxFetch: params.maxFetch,
    firstFetch: params.firstFetch,
    lookbackMinutes: params.lookbackMinutes,
    intervalMs: params.eventFetchInterval * 60_000,
    deadlineMs,
  });
  // The client's own counts (requests, retries, token refreshes) feed the standalone collector's metrics.
  const { stats } = graph as Partial<GraphClientWithStats>;
  const rawResponse = stats ? { ...summary, graphRequests: { ...stats } } : summary;
  const result: CommandResult = { readableOutput: describeRun(summary), rawResponse };
  if (summary.backlog && summary.stopReason !== 'request_budget') result.nextTrigger = '0';
  return result;
};
