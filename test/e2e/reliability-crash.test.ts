/**
 * Crash consistency: `o365-message-trace fetch-events --state-dir DIR` as a child process against the
 * simulated tenant in this process, killed with SIGKILL again and again, then run to completion.
 *
 * Kill points, over two state directories at once:
 * - lane "random": after a seeded random delay from spawn (start-up, sign-in, reading, sending, saving);
 * - lane "targeted": the moment the events file grows (after sendEvents, before setLastRun is on disk), or
 *   the moment a temp file of last-run.json or integration-context.json appears (mid-write of state),
 *   seen through fs.watch: no test hook in the production code.
 * After every process: state files parse (JSON, and last-run through the state schema) and the events file
 * holds only whole lines once the next process opened it. At the end: no ground-truth row missing, no
 * event that was never a row, and every repeat of an event traced to a process that was killed.
 *
 * Then two runs at once on one state directory: one is refused at once (state_locked), nothing is torn.
 *
 * The CLI is src/cli.ts bundled once with esbuild (as scripts/bundle.mjs does for the engine bundle): a
 * process then starts in a fraction of a second instead of the seconds tsx needs, which is what makes
 * more than 30 kills affordable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, statSync, watch } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { compareWithTruth, keyOf } from '../helpers/fetch-e2e.js';
import { build } from 'esbuild';
import { REQUIRE_SHIM, selfContainedBuildOptions } from '../../scripts/bundle-options.mjs';
import { ROOT } from '../helpers/reliability.js';

let sim: SimulatedTenant;
let base: string;
let env: Record<string, string>;
let firstFetchMs: number;
let cliBundle: string;
/** How long one whole fetch-events process takes here (calibrates the random kill delays). */
let fullRunMs = 3_000;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-crash-'));
  cliBundle = join(base, 'cli.mjs');
  await build({
    ...(await selfContainedBuildOptions(ROOT)),
    entryPoints: ['src/cli.ts'],
    outfile: cliBundle,
    banner: { js: REQUIRE_SHIM },
    logLevel: 'error',
  });
  sim = await startSimulatedTenant({
    seed: 41,
    ratePerDay: 20_000,
    // On the wall clock: the same volume whatever the hour, so the lanes meet enough kill points at night too.
    dailyWave: false,
    historyDays: 1,
    maxDelaySeconds: 60,
    statusDelaySeconds: 120,
    order: 'random',
    throttle: 'off',
  });
  firstFetchMs = Math.floor((Date.now() - 5 * 3_600_000) / 1000) * 1000;
  env = {
    O365MT_URL: sim.graphUrl,
    O365MT_AUTHORITY_URL: sim.authorityUrl,
    O365MT_TENANT_ID: sim.tenantId,
    O365MT_CLIENT_ID: sim.clientId,
    O365MT_CLIENT_SECRET: sim.clientSecret,
    O365MT_CA_CERTIFICATE: sim.caCertPem,
    O365MT_FIRST_FETCH: new Date(firstFetchMs).toISOString(),
    O365MT_MAX_FETCH: '1000',
    O365MT_LOOKBACK_MINUTES: '10',
    O365MT_LOG_LEVEL: 'warn',
  };
  // Two at once, as the lanes below run.
  const calibration = await Promise.all([fetchProcess(join(base, 'calibration-1')), fetchProcess(join(base, 'calibration-2'))]);
  for (const exit of calibration) expect(exit.code, exit.stderr).toBe(0);
  fullRunMs = Math.max(...calibration.map((exit) => exit.ms));
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await sim?.stop();
  await rm(base, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** One `fetch-events --json` process; `killWhen` may kill it (returns a cleanup). */
function fetchProcess(stateDir: string, killWhen?: (child: ChildProcess) => () => void, extraEnv: Record<string, string> = {}): Promise<Exit> {
  const started = Date.now();
  const child = spawn(process.execPath, [cliBundle, 'fetch-events', '--state-dir', stateDir, '--json'], {
    cwd: ROOT,
    env: { ...process.env, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const cleanup = killWhen?.(child);
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      cleanup?.();
      children.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Kills at the `nth` directory event whose file name matches (and, for the events file, that grew it). */
function killOnFile(stateDir: string, matches: (name: string) => boolean, nth = 1) {
  return (child: ChildProcess) => {
    let watcher: FSWatcher | undefined;
    const eventsFile = join(stateDir, 'events.ndjson');
    const sizeNow = () => {
      try {
        return statSync(eventsFile).size;
      } catch {
        return 0;
      }
    };
    const startSize = sizeNow();
    let seen = 0;
    try {
      watcher = watch(stateDir, (_event, name) => {
        if (name === null || !matches(String(name))) return;
        // Opening the events file touches it too; only an append counts.
        if (String(name) === 'events.ndjson' && sizeNow() <= startSize) return;
        seen++;
        if (seen === nth) child.kill('SIGKILL');
      });
    } catch {
      // the directory does not exist yet (first process): it is killed by the guard of the caller instead
    }
    return () => watcher?.close();
  };
}

function killAfter(ms: number) {
  return (child: ChildProcess) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    return () => clearTimeout(timer);
  };
}

/** mulberry32 */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every state file parses; returns the number of whole lines in the events file and last-run's text. */
async function checkState(stateDir: string): Promise<{ lines: number; lastRun: string | undefined; tempFiles: number }> {
  const lastRun = await readText(join(stateDir, 'last-run.json'));
  if (lastRun !== undefined) expect(() => parseState(JSON.parse(lastRun))).not.toThrow();
  const context = await readText(join(stateDir, 'integration-context.json'));
  if (context !== undefined) expect(() => JSON.parse(context)).not.toThrow();
  const events = (await readText(join(stateDir, 'events.ndjson'))) ?? '';
  const whole = events.slice(0, events.lastIndexOf('\n') + 1);
  for (const line of whole.split('\n')) if (line !== '') JSON.parse(line);
  const names = await readdir(stateDir).catch(() => [] as string[]);
  return { lines: whole.split('\n').length - 1, lastRun, tempFiles: names.filter((n) => n.endsWith('.tmp')).length };
}

interface Span {
  from: number;
  to: number;
  killed: boolean;
}

interface Lane {
  dir: string;
  spans: Span[];
  killed: number;
  /** Kills that landed after events were appended and before last-run.json changed. */
  betweenSendAndSave: number;
  /** Kills that left a temp file of a state write behind. */
  midWrite: number;
}

async function runLane(
  name: string,
  attempts: { kills: number; max: number },
  plan: (attempt: number, dir: string) => ((child: ChildProcess) => () => void) | undefined,
): Promise<Lane> {
  const lane: Lane = { dir: join(base, name), spans: [], killed: 0, betweenSendAndSave: 0, midWrite: 0 };
  let before = await checkState(lane.dir);
  for (let attempt = 0; attempt < attempts.max && lane.killed < attempts.kills; attempt++) {
    const exit = await fetchProcess(lane.dir, plan(attempt, lane.dir));
    const killed = exit.signal === 'SIGKILL';
    if (!killed) expect(exit.code, exit.stderr).toBe(0);
    const after = await checkState(lane.dir);
    if (killed) {
      lane.killed++;
      if (after.lines > before.lines && after.lastRun === before.lastRun) lane.betweenSendAndSave++;
      if (after.tempFiles > 0) lane.midWrite++;
    }
    lane.spans.push({ from: before.lines, to: after.lines, killed });
    before = after;
  }
  return lane;
}

async function runToCompletion(lane: Lane): Promise<void> {
  for (let run = 0; ; run++) {
    expect(run, 'runs to completion').toBeLessThan(60);
    const before = await checkState(lane.dir);
    const exit = await fetchProcess(lane.dir);
    expect(exit.code, exit.stderr).toBe(0);
    const after = await checkState(lane.dir);
    lane.spans.push({ from: before.lines, to: after.lines, killed: false });
    const outcome = JSON.parse(exit.stdout) as { nextTrigger?: string };
    if (outcome.nextTrigger !== '0') return;
  }
}

async function verifyDelivery(lane: Lane) {
  const text = (await readText(join(lane.dir, 'events.ndjson'))) ?? '';
  const events = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as TraceEvent);
  const cursor = parseState(JSON.parse((await readText(join(lane.dir, 'last-run.json'))) ?? '{}'))?.cursorMs ?? 0;
  expect(cursor).toBeGreaterThan(firstFetchMs + 4 * 3_600_000);
  const result = compareWithTruth(sim.groundTruth(firstFetchMs, cursor), events, firstFetchMs, cursor);
  expect(result.expected).toBeGreaterThan(3000);
  expect(result.missing).toEqual([]);
  expect(result.unexpected).toEqual([]);

  // Every earlier copy of a repeated event was written by a process that was killed.
  const killedLine = (line: number) => lane.spans.some((span) => span.killed && line >= span.from && line < span.to);
  const seen = new Map<string, number[]>();
  events.forEach((event, line) => {
    const key = keyOf(event.id, event.recipientAddress, event.status);
    seen.set(key, [...(seen.get(key) ?? []), line]);
  });
  const unexplained: string[] = [];
  let repeats = 0;
  for (const [key, lines] of seen) {
    for (const line of lines.slice(0, -1)) {
      repeats++;
      if (!killedLine(line)) unexplained.push(`${key} at line ${line}`);
    }
  }
  expect(unexplained).toEqual([]);
  return { events: events.length, expected: result.expected, repeats };
}

describe('crash consistency of fetch-events (SIGKILL)', () => {
  it('no row lost, state always parses, repeats only from killed processes', async () => {
    const random = seeded(4242);
    const isEvents = (name: string) => name === 'events.ndjson';
    const isStateTemp = (name: string) => /^\.(last-run|integration-context)\.json\..*\.tmp$/.test(name);
    const [randomLane, targetedLane] = await Promise.all([
      // Delays spread over a whole run (start-up, sign-in, reading, sending, saving) and beyond it, so some
      // runs finish and the position moves on between kills.
      runLane('random', { kills: 12, max: 30 }, () => killAfter(Math.floor((0.2 + 1.3 * random()) * fullRunMs))),
      // The first process creates the directory the others are watched in.
      runLane('targeted', { kills: 20, max: 24 }, (attempt, dir) =>
        attempt === 0
          ? killAfter(Math.floor(fullRunMs * 0.8))
          : attempt % 2 === 0
            ? killOnFile(dir, isEvents)
            : killOnFile(dir, isStateTemp, 1 + Math.floor(random() * 8)),
      ),
    ]);
    const killPoints = randomLane.killed + targetedLane.killed;
    expect(killPoints).toBeGreaterThanOrEqual(30);
    expect(targetedLane.betweenSendAndSave).toBeGreaterThan(0);
    expect(targetedLane.midWrite).toBeGreaterThan(0);

    await Promise.all([runToCompletion(randomLane), runToCompletion(targetedLane)]);
    const summaries = [await verifyDelivery(randomLane), await verifyDelivery(targetedLane)];
    for (const lane of [randomLane, targetedLane]) {
      // Swept on open: no temp file survives a finished run.
      expect((await checkState(lane.dir)).tempFiles).toBe(0);
    }
    expect(summaries.every((s) => s.events >= s.expected)).toBe(true);
  }, 150_000);

  it('killed while detail lookups are queued: every chosen row still gets its details, no trace event lost', async () => {
    const dir = join(base, 'details');
    const startMs = Math.floor((Date.now() - 40 * 60_000) / 1000) * 1000;
    const detailsEnv = {
      O365MT_FIRST_FETCH: new Date(startMs).toISOString(),
      O365MT_DETAILS_STATUSES: 'quarantined',
      O365MT_DETAILS_MAX_PER_5MIN: '45',
    };
    const queued = async (): Promise<number> => {
      const context = JSON.parse((await readText(join(dir, 'integration-context.json'))) ?? '{}') as { detailsQueue?: { items?: unknown[] } };
      return context.detailsQueue?.items?.length ?? 0;
    };
    // Processes here start every second or two, not every minute: left alone they would spend the request
    // budget down to the listing's reserve and reach the details cap, and details would (rightly) wait.
    // Each process starts as if 5 minutes had passed since the last: the request log and the cap's log are
    // cleared (the virtual-clock test in details.test.ts checks the cap itself).
    const budgetPassed = async (): Promise<void> => {
      const text = await readText(join(dir, 'integration-context.json'));
      if (text === undefined) return;
      const context = JSON.parse(text) as Record<string, unknown>;
      delete context.requestLog;
      const queue = context.detailsQueue as { lookups?: unknown } | undefined;
      if (queue !== undefined) queue.lookups = [];
      await writeFile(join(dir, 'integration-context.json'), JSON.stringify(context));
    };
    const random = seeded(1515);
    const isStateTemp = (name: string) => /^\.(last-run|integration-context)\.json\..*\.tmp$/.test(name);
    let kills = 0;
    let killsWhileQueued = 0;
    for (let attempt = 0; attempt < 30 && kills < 10; attempt++) {
      const waiting = await queued();
      // Kill at a write of state or context (queue saves among them) or at a send (trace or detail events).
      const plan =
        attempt === 0
          ? killAfter(Math.floor(fullRunMs * 0.8))
          : attempt % 2 === 0
            ? killOnFile(dir, (name) => name === 'events.ndjson', 1 + Math.floor(random() * 3))
            : killOnFile(dir, isStateTemp, 1 + Math.floor(random() * 10));
      await budgetPassed();
      const exit = await fetchProcess(dir, plan, detailsEnv);
      if (exit.signal === 'SIGKILL') {
        kills++;
        if (waiting > 0 || (await queued()) > 0) killsWhileQueued++;
      } else expect(exit.code, exit.stderr).toBe(0);
    }
    expect(kills).toBeGreaterThanOrEqual(8);
    expect(killsWhileQueued).toBeGreaterThan(0);
    let last = '';
    for (let run = 0; ; run++) {
      expect(run, `runs until caught up and drained; last: ${last}`).toBeLessThan(20);
      await budgetPassed();
      const exit = await fetchProcess(dir, undefined, detailsEnv);
      expect(exit.code, exit.stderr).toBe(0);
      last = exit.stdout;
      const outcome = JSON.parse(exit.stdout) as { nextTrigger?: string };
      if (outcome.nextTrigger !== '0' && (await queued()) === 0) break;
    }
    const events = ((await readText(join(dir, 'events.ndjson'))) ?? '')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as TraceEvent);
    const traces = events.filter((event) => event.eventType === undefined);
    const cursor = parseState(JSON.parse((await readText(join(dir, 'last-run.json'))) ?? '{}'))?.cursorMs ?? 0;
    const result = compareWithTruth(sim.groundTruth(startMs, cursor), traces, startMs, cursor);
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toEqual([]);
    const detailed = new Set(events.filter((event) => event.eventType === 'messageTraceDetail').map((event) => `${String(event.traceId)}|${String(event.recipientAddress)}`));
    const chosen = traces.filter((event) => event.status === 'quarantined');
    expect(chosen.length).toBeGreaterThan(5);
    expect(chosen.filter((event) => !detailed.has(`${String(event.id)}|${String(event.recipientAddress)}`))).toEqual([]);
  }, 150_000);

  it('two runs at once on one state directory: the second is refused at once, nothing is torn', async () => {
    const dir = join(base, 'concurrent');
    // A first run creates the directory, so both processes below race only for the lock.
    await fetchProcess(dir);
    const [a, b] = await Promise.all([fetchProcess(dir), fetchProcess(dir)]);
    const refused = [a, b].filter((exit) => exit.code === 1);
    const finished = [a, b].filter((exit) => exit.code === 0);
    expect(refused, `${a.stderr}\n${b.stderr}`).toHaveLength(1);
    expect(finished).toHaveLength(1);
    const [loser] = refused as [Exit];
    expect(loser.stderr).toMatch(/Error \[state_locked\]: The state directory .* is in use by process \d+/);
    expect(loser.stderr.trim().split('\n')).toHaveLength(1);
    // Refused at once: it did not wait for the other run to end.
    expect(loser.ms).toBeLessThan((finished[0] as Exit).ms + 1_000);
    const state = await checkState(dir);
    expect(state.tempFiles).toBe(0);
    expect(await readdir(dir)).not.toContain('lock');
  }, 60_000);
});
