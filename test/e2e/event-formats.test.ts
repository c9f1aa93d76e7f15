/**
 * Every event of a demo-like run against the simulated tenant, in its ECS and OCSF views, passes the ECS
 * and OCSF checks; and the CLI's --format hands the sink those views.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError } from '../../src/engine/types.js';
import { toEcs } from '../../src/events/ecs.js';
import { toOcsf } from '../../src/events/ocsf.js';
import { main } from '../../src/main.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { captureIo } from '../helpers/capture-io.js';
import { checkEcsEvent } from '../helpers/ecs-check.js';
import { fetchParams } from '../helpers/fetch-e2e.js';
import { OcsfSchema } from '../helpers/ocsf-check.js';

const MINUTE = 60_000;
const ocsf = new OcsfSchema();
let sim: SimulatedTenant | undefined;
let dir: string | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Problems of many events, grouped so a failure shows each kind once with a count. */
function summarize(problemLists: string[][]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const problem of problemLists.flat()) counts[problem] = (counts[problem] ?? 0) + 1;
  return counts;
}

describe('ECS and OCSF views of a demo run', () => {
  it('every event of two hours of simulated mail flow passes both checks', async () => {
    const start = Math.floor(Date.now() / MINUTE) * MINUTE;
    const engine = new MemoryEngine({ startTimeMs: start });
    sim = await startSimulatedTenant({ seed: 2026, ratePerDay: 8000, historyDays: 1, order: 'random', throttle: 'off', clock: () => engine.now() });
    const params = fetchParams(sim, { first_fetch: '2 hours', max_fetch: '5000', lookback_minutes: '15' });
    for (let cycle = 0; cycle < 8; cycle++) {
      const outcome = await main('fetch-events', params, {}, engine);
      if (isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
      if (outcome.nextTrigger !== '0') engine.advance(2 * MINUTE);
    }
    expect(engine.events.length).toBeGreaterThan(500);
    const statuses = new Set(engine.events.map((event) => event.status));
    expect(statuses.size).toBeGreaterThanOrEqual(5);

    expect(summarize(engine.events.map((event) => checkEcsEvent(toEcs(event))))).toEqual({});
    expect(summarize(engine.events.map((event) => ocsf.check(toOcsf(event))))).toEqual({});
  });
});

describe('o365-message-trace --format', () => {
  it.each([
    ['ocsf', (event: Record<string, unknown>) => ocsf.check(event)],
    ['ecs', checkEcsEvent],
  ] as const)('get-events --sink stdout --format %s writes that view, one event per line', async (format, check) => {
    sim = await startSimulatedTenant({ seed: 7, ratePerDay: 4000, historyDays: 1, throttle: 'off' });
    dir = await mkdtemp(join(tmpdir(), 'o365mt-format-'));
    const captured = captureIo({ O365MT_CLIENT_SECRET: sim.clientSecret, O365MT_CA_CERTIFICATE: sim.caCertPem });
    const code = await runCli(
      [
        'o365-message-trace-get-events',
        ...['--param', `url=${sim.graphUrl}`, '--param', `authority_url=${sim.authorityUrl}`],
        ...['--param', `tenant_id=${sim.tenantId}`, '--param', `client_id=${sim.clientId}`],
        ...['--arg', 'limit=100', '--arg', 'should_push_events=true', '--arg', 'start_time=3 hours'],
        ...['--state-dir', dir, '--sink', 'stdout', '--format', format],
      ],
      captured.io,
    );
    expect(captured.stderr()).not.toContain('"error"');
    expect(code).toBe(0);
    const events = captured.stdout().trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toHaveLength(100);
    expect(summarize(events.map((event) => check(event)))).toEqual({});
    if (format === 'ocsf') expect(events[0]).toMatchObject({ class_uid: 4009, activity_id: 4 });
    else expect(events[0]).toMatchObject({ event: { category: ['email'] } });
  });
});
