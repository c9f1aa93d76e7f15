/** What a fetch run reports: the summary the command returns and logs, and its text for people. */
import type { RereadPlan } from './lookback.js';
import { MINUTE_MS } from '../graph/limits.js';

export type StopReason = 'caught_up' | 'max_fetch' | 'time_budget' | 'request_budget' | 'aborted';

export interface FetchRunSummary {
  eventsSent: number;
  rowsRead: number;
  windows: number;
  abandonedWindows: number;
  stopReason: StopReason;
  /** Rows are left between where this run stopped reading and now. */
  backlog: boolean;
  /** How far the reading position is behind the latest readable instant. */
  behindMs: number;
  cursor: string;
  readUpTo: string;
  seenRows: number;
  stateChars: number;
  /** How this run read the look-back (lookback.ts). */
  lookback: {
    order: RereadPlan['order'];
    reason: RereadPlan['reason'];
    /** The re-read started a new round this run (at the cursor; tiered: a settling run, and a slice at the budget's limit). */
    roundStart: boolean;
    /** The re-read continues from `rereadFrom` next run (it stopped at this run's share, or a tiered round is half done). */
    continuesNextRun: boolean;
    rereadFrom?: string;
    /** Runs a round of the re-read takes at this density (1: every run reads the whole look-back). */
    roundIntervals: number;
    requestsSpent: number;
    requestShare: number | null;
  };
}

const STOP_TEXT: Record<StopReason, string> = {
  caught_up: 'caught up',
  max_fetch: 'max_fetch rows read',
  time_budget: 'time budget spent',
  request_budget: 'request budget spent',
  aborted: 'stopped',
};

/** Human-readable summary for the war room / CLI. */
export function describeRun(summary: FetchRunSummary): string {
  const behindMinutes = Math.round(summary.behindMs / MINUTE_MS);
  const lines = [
    `Sent ${summary.eventsSent} events from ${summary.rowsRead} rows in ${summary.windows} windows (${STOP_TEXT[summary.stopReason]}).`,
    `Cursor ${summary.cursor}, read up to ${summary.readUpTo}.`,
    summary.backlog
      ? `Backlog: about ${behindMinutes} minutes left${summary.stopReason === 'request_budget' ? '; continuing at the next interval.' : '; running again at once.'}`
      : 'No backlog.',
  ];
  if (summary.abandonedWindows > 0) lines.push(`${summary.abandonedWindows} windows were shortened because they held more rows than planned.`);
  return lines.join('\n');
}
