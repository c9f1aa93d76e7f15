/**
 * What the collector knows about each instance between runs: the last run and its outcome, the last
 * success, the last error. Kept in memory for /readyz and the metrics, and written after every run to
 * `collector-status.json` in the instance's state directory, so `status` can show it from another process
 * without the lock. The fetch position itself stays in last-run.json; this file only reports.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CollectorProgress } from './collector-loop.js';
import { writeFileAtomic } from '../standalone/atomic.js';

export const COLLECTOR_STATUS_FILE_NAME = 'collector-status.json';

/** The parts of fetch-events' run summary the service reports; parsed at the edge, the rest ignored. */
const runSummarySchema = z.object({
  rowsRead: z.number(),
  behindMs: z.number(),
  backlog: z.boolean(),
  cursor: z.string(),
  readUpTo: z.string(),
  lookback: z
    .object({ continuesNextRun: z.boolean(), rereadFrom: z.string().optional() })
    .optional(),
  graphRequests: z.object({ retries: z.number() }).optional(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;

export function parseRunSummary(raw: unknown): RunSummary | undefined {
  const parsed = runSummarySchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

const errorSchema = z.object({ code: z.string(), message: z.string(), at: z.string() });

const statusDocument = z.object({
  version: z.literal(1),
  instance: z.string().nullable(),
  intervalMinutes: z.number(),
  lastRun: z
    .object({
      startedAt: z.string(),
      durationMs: z.number(),
      outcome: z.enum(['success', 'failed']),
      events: z.number(),
      backlog: z.boolean(),
      behindMs: z.number().optional(),
    })
    .nullable(),
  lastSuccessAt: z.string().nullable(),
  lastError: errorSchema.nullable(),
  consecutiveFailures: z.number(),
});
export type CollectorStatus = z.infer<typeof statusDocument>;

export function emptyStatus(instance: string | undefined, intervalMs: number): CollectorStatus {
  return {
    version: 1,
    instance: instance ?? null,
    intervalMinutes: intervalMs / 60_000,
    lastRun: null,
    lastSuccessAt: null,
    lastError: null,
    consecutiveFailures: 0,
  };
}

/** The status after a run: pure. */
export function nextStatus(previous: CollectorStatus, progress: CollectorProgress): CollectorStatus {
  const startedAt = new Date(progress.startedAtMs).toISOString();
  const finishedAt = new Date(progress.startedAtMs + progress.durationMs).toISOString();
  const failed = progress.error !== undefined;
  return {
    ...previous,
    lastRun: {
      startedAt,
      durationMs: progress.durationMs,
      outcome: failed ? 'failed' : 'success',
      events: progress.eventsThisRun,
      backlog: progress.backlog,
      ...(progress.behindMs === undefined ? {} : { behindMs: progress.behindMs }),
    },
    lastSuccessAt: failed ? previous.lastSuccessAt : finishedAt,
    lastError: progress.error ? { ...progress.error, at: finishedAt } : previous.lastError,
    consecutiveFailures: progress.consecutiveFailures,
  };
}

export async function writeCollectorStatus(dir: string, status: CollectorStatus): Promise<void> {
  await writeFileAtomic(join(dir, COLLECTOR_STATUS_FILE_NAME), `${JSON.stringify(status, null, 2)}\n`);
}

/** undefined when the file is missing or unreadable (status reports what it can). */
export async function readCollectorStatus(dir: string): Promise<CollectorStatus | undefined> {
  try {
    const parsed = statusDocument.safeParse(JSON.parse(await readFile(join(dir, COLLECTOR_STATUS_FILE_NAME), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
