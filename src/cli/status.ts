/**
 * `o365-message-trace status`: what the collector's state directory says about each instance — position,
 * lag, backlog, the last run and its outcome, Graph requests spent in the rolling 5 minutes, the last
 * error. It only reads files: no lock is taken (a running collector holds it) and nothing is written.
 * State files are replaced atomically, so a read never sees half a file.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_STATE_DIR, INTEGRATION_CONTEXT_FILE_NAME, LAST_RUN_FILE_NAME } from '../standalone/file-engine.js';
import { IntegrationError } from '../errors.js';
import { parseState } from '../fetch/state.js';
import { DEFAULT_REQUEST_BUDGET, decodeRequestLog, pruneRequestLog } from '../http/budget.js';
import { COLLECTOR_STATUS_FILE_NAME, type CollectorStatus, readCollectorStatus } from '../service/run-report.js';

export interface InstanceStatus {
  /** null: the single-tenant form (the state directory itself). */
  instance: string | null;
  dir: string;
  /** Every row received before it was collected; the next run reads from here. */
  position: string | null;
  readUpTo: string | null;
  /** Now minus readUpTo (the newest instant delivered). */
  lagSeconds: number | null;
  /** How far behind the latest readable instant the last run ended; null before the first run. */
  backlogSeconds: number | null;
  lastRun: CollectorStatus['lastRun'];
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  lastError: CollectorStatus['lastError'];
  requestsLast5Minutes: number | null;
  requestBudget: number;
  /** A state file that could not be read, in words; the rest is reported as far as it goes. */
  problems: string[];
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('it does not hold a JSON object');
  return parsed as Record<string, unknown>;
}

const STATE_FILES = [LAST_RUN_FILE_NAME, COLLECTOR_STATUS_FILE_NAME];

async function holdsState(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return STATE_FILES.some((name) => names.includes(name));
}

/** The state directory itself (single tenant) and/or its subdirectories that hold collector state. */
export async function findInstanceDirs(stateDir: string): Promise<Array<{ instance: string | null; dir: string }>> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(stateDir, { withFileTypes: true });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (error as Error).message;
    throw new IntegrationError('state_invalid', `Cannot read the state directory ${stateDir}: ${reason}. Give the directory run uses with --state-dir.`);
  }
  const found: Array<{ instance: string | null; dir: string }> = [];
  if (await holdsState(stateDir)) found.push({ instance: null, dir: stateDir });
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = join(stateDir, entry.name);
    if (await holdsState(dir)) found.push({ instance: entry.name, dir });
  }
  if (found.length === 0) {
    throw new IntegrationError(
      'state_invalid',
      `The state directory ${stateDir} holds no collector state yet (no ${LAST_RUN_FILE_NAME}, in it or in an instance folder). Has run started with this --state-dir?`,
    );
  }
  return found;
}

export async function readInstanceStatus(instance: string | null, dir: string, nowMs: number): Promise<InstanceStatus> {
  const problems: string[] = [];
  const read = async <T>(file: string, parse: (value: Record<string, unknown> | undefined) => T): Promise<T | undefined> => {
    try {
      return parse(await readJsonObject(join(dir, file)));
    } catch (error) {
      problems.push(`${join(dir, file)}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };
  const state = await read(LAST_RUN_FILE_NAME, (raw) => parseState(raw ?? {}));
  // Only the request log is read from the integration context; the token caches stay untouched.
  const requestLog = await read(INTEGRATION_CONTEXT_FILE_NAME, (raw) => (raw === undefined ? undefined : decodeRequestLog(raw.requestLog)));
  const collector = await readCollectorStatus(dir);
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    instance,
    dir,
    position: iso(state?.cursorMs),
    readUpTo: iso(state?.readUpToMs),
    lagSeconds: state ? Math.max(0, Math.round((nowMs - state.readUpToMs) / 1000)) : null,
    backlogSeconds: collector?.lastRun?.behindMs === undefined ? null : Math.round(collector.lastRun.behindMs / 1000),
    lastRun: collector?.lastRun ?? null,
    lastSuccessAt: collector?.lastSuccessAt ?? null,
    consecutiveFailures: collector?.consecutiveFailures ?? 0,
    lastError: collector?.lastError ?? null,
    requestsLast5Minutes: requestLog === undefined ? null : pruneRequestLog(requestLog, nowMs, DEFAULT_REQUEST_BUDGET.windowMs).length,
    requestBudget: DEFAULT_REQUEST_BUDGET.limit,
    problems,
  };
}

export async function readStatus(stateDir: string | undefined, nowMs: number): Promise<InstanceStatus[]> {
  const dir = resolve(stateDir ?? DEFAULT_STATE_DIR);
  const instances = await findInstanceDirs(dir);
  return Promise.all(instances.map(({ instance, dir: instanceDir }) => readInstanceStatus(instance, instanceDir, nowMs)));
}

function minutes(seconds: number | null): string {
  if (seconds === null) return '-';
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

export function formatStatus(statuses: readonly InstanceStatus[]): string {
  const lines: string[] = [];
  for (const s of statuses) {
    const run = s.lastRun;
    lines.push(
      `${s.instance ?? '(single instance)'}  ${s.dir}`,
      `  position      ${s.position ?? 'none yet'} (read up to ${s.readUpTo ?? '-'}; lag ${minutes(s.lagSeconds)}, backlog ${minutes(s.backlogSeconds)})`,
      `  last run      ${run ? `${run.startedAt} ${run.outcome}, ${run.events} events, ${Math.round(run.durationMs / 1000)} s` : 'none recorded'}`,
      `  last success  ${s.lastSuccessAt ?? 'never'}${s.consecutiveFailures > 0 ? ` (${s.consecutiveFailures} failed since)` : ''}`,
      `  requests      ${s.requestsLast5Minutes ?? '-'} of ${s.requestBudget} in the last 5 minutes`,
      `  last error    ${s.lastError ? `${s.lastError.at} [${s.lastError.code}] ${s.lastError.message}` : 'none'}`,
      ...s.problems.map((problem) => `  unreadable    ${problem}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
