/**
 * fetch-events end to end: the simulated tenant over HTTPS (CA verification on), the real Graph client,
 * authentication, retries and request budget. The simulator and the memory engine share one virtual clock.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError, type TraceEvent } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { main } from '../../src/main.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { compareWithTruth, fetchParams, notYetExercised } from '../helpers/fetch-e2e.js';
import { busyHourStart } from '../helpers/busy-hour.js';

const MINUTE = 60_000;
let sim: SimulatedTenant | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('fetch-events against the simulated tenant', () => {
  it('delivers every row exactly once per (id, recipient, status) over many runs, with throttling, faults, recalls, nulls, PascalCase and every Retry-After form', async () => {
    const start = busyHourStart();
    const engine = new MemoryEngine({ startTimeMs: start });
    const faults = { '500': 0.05, '503': 0.03, '429': 0.03, reset: 0.02 } as const;
    // Recalls, null fields, IPv6, PascalCase responses and the Retry-After forms are the simulator's defaults.
    sim = await startSimulatedTenant({
      seed: 11,
      ratePerDay: 6000,
      historyDays: 1,
      maxDelaySeconds: 180,
      statusDelaySeconds: 360,
      order: 'random',
      throttle: { limit: 100, windowSeconds: 300 },
      faults,
      clock: () => engine.now(),
    });
    const params = fetchParams(sim, { first_fetch: '3 hours', max_fetch: '200', lookback_minutes: '15' });

    let runs = 0;
    let backlogRuns = 0;
    // 90 virtual minutes, longer (up to 4 hours) until every behaviour named above was met at least once.
    const tenant = sim;
    const exercised = () => notYetExercised(tenant.stats(), Object.keys(faults)).length === 0;
    while (engine.now() < start + 90 * MINUTE || (!exercised() && engine.now() < start + 240 * MINUTE)) {
      runs++;
      const outcome = await main('fetch-events', params, {}, engine);
      if (isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
      if (outcome.nextTrigger === '0') {
        backlogRuns++;
        continue;
      }
      engine.advance(MINUTE + ((runs * 37_000) % (3 * MINUTE)));
    }
    const state = parseState(engine.lastRun);
    expect(state).toBeDefined();
    const cursor = state?.cursorMs ?? 0;
    expect(cursor).toBeGreaterThan(start + 60 * MINUTE);

    const from = start - 3 * 60 * MINUTE;
    const result = compareWithTruth(sim.groundTruth(from, cursor), engine.events, from, cursor);
    expect(result.expected).toBeGreaterThan(500);
    expect(result.missing).toEqual([]);
    expect(result.duplicated).toEqual([]);
    expect(result.unexpected).toEqual([]);
    expect(result.statusChangesCaught, JSON.stringify({ ...result, missing: result.missing.length })).toBeGreaterThan(0);
    expect(backlogRuns).toBeGreaterThan(0);
    const stats = sim.stats();
    expect(notYetExercised(stats, Object.keys(faults))).toEqual([]);
    // A recall is a status change after the final one: every recalled row has its recalled event (missing is
    // empty above), and rows read while delivered got the recall as a new event beside the delivered one.
    const recalled = engine.events.filter((e) => e.status === 'recalled');
    const delivered = new Set(engine.events.filter((e) => e.status === 'delivered').map((e) => `${e.id}|${e.recipientAddress}`));
    expect(recalled.filter((e) => delivered.has(`${e.id}|${e.recipientAddress}`)).length).toBeGreaterThan(0);
    // The collector asks for evolvable members, so it never meets unknownFutureValue for a recall.
    expect(stats.served.unknownFutureValue).toBe(0);
    expect(stats.served.requestsWithoutPrefer).toBe(0);
    // PascalCase responses were read in v1.0's spelling: no event carries another.
    expect(engine.events.filter((e) => /^[A-Z]/.test(String(e.status)))).toEqual([]);
    expect(engine.events.some((e) => e.subject === null || e.senderAddress === null || e.fromIP === null)).toBe(true);
  }, 300_000);

  it('loses nothing when the collector process is killed (SIGKILL) mid-run', async () => {
    sim = await startSimulatedTenant({
      seed: 12,
      ratePerDay: 40_000,
      historyDays: 2,
      maxDelaySeconds: 60,
      statusDelaySeconds: 120,
      order: 'random',
      throttle: 'off',
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'fetch-kill-'));
    const from = Math.floor((Date.now() - 86_400_000) / 1000) * 1000 + 60_000;
    const params = fetchParams(sim, { first_fetch: new Date(from).toISOString(), max_fetch: '200000', lookback_minutes: '15' });
    const script = new URL('../helpers/fetch-child.ts', import.meta.url).pathname;
    const events = path.join(dir, 'events.ndjson');
    const startChild = () =>
      // node itself with tsx as a loader: one process, so SIGKILL hits the collector, not a wrapper.
      spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, O365MT_LOG_LEVEL: 'warn' } });

    // First process: killed as soon as it has written some events.
    const first = startChild();
    first.stdin.end(JSON.stringify(params));
    const firstExit = new Promise((resolve) => first.on('exit', (_code, signal) => resolve(signal)));
    for (let i = 0; i < 600; i++) {
      const size = await stat(events).then((s) => s.size, () => 0);
      if (size > 200_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    // Killed, not finished: the backlog of a day at 40,000 messages a day takes far longer than this.
    expect(await firstExit).toBe('SIGKILL');
    const eventsAtKill = await stat(events).then((s) => s.size);
    expect(eventsAtKill).toBeGreaterThan(0);

    // Second process: runs to the end (until caught up).
    const second = startChild();
    let stderr = '';
    second.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    second.stdin.end(JSON.stringify(params));
    const code = await new Promise((resolve) => second.on('exit', resolve));
    expect(code, stderr).toBe(0);

    const lastRun = JSON.parse(await readFile(path.join(dir, 'last-run.json'), 'utf8'));
    const cursor = parseState(lastRun)?.cursorMs ?? 0;
    const delivered = (await readFile(events, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as TraceEvent);
    const result = compareWithTruth(sim.groundTruth(from, cursor), delivered, from, cursor);
    expect(result.expected).toBeGreaterThan(1000);
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toEqual([]);
    // Only the window in flight when the process died can come twice.
    expect(result.duplicated.length).toBeLessThan(20_000);
  }, 240_000);
});
