/**
 * `npm run demo`: the collector against the simulated tenant, end to end.
 *
 * Starts the simulator on loopback (late rows, status changes, random page order, throttling, some faults),
 * runs fetch cycles through `main` over real HTTPS with the simulator's CA (verification on), prints each
 * cycle, and ends with a comparison against the simulator's ground truth. Time is virtual: the simulator
 * and the engine share one clock, so hours of mail flow pass in seconds. Exit code 1 when anything is
 * missing or duplicated.
 */
import { MemoryEngine } from '../src/engine/memory.js';
import { isCommandError } from '../src/engine/types.js';
import { parseState } from '../src/fetch/state.js';
import { main } from '../src/main.js';
import { startSimulatedTenant } from '../src/simulator/index.js';
import { compareWithTruth, fetchParams } from '../test/helpers/fetch-e2e.js';

const MINUTE = 60_000;
const CYCLES = 40;

function clockText(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

const start = Math.floor(Date.now() / MINUTE) * MINUTE;
const engine = new MemoryEngine({ startTimeMs: start });
const sim = await startSimulatedTenant({
  seed: 2026,
  ratePerDay: 8000,
  historyDays: 1,
  maxDelaySeconds: 240,
  statusDelaySeconds: 420,
  order: 'random',
  throttle: { limit: 100, windowSeconds: 300 },
  faults: { '500': 0.04, '503': 0.02, '429': 0.02, reset: 0.02 },
  clock: () => engine.now(),
});

let exitCode = 0;
try {
  const firstFetchMs = start - 2 * 60 * MINUTE;
  const params = fetchParams(sim, {
    first_fetch: new Date(firstFetchMs).toISOString(),
    max_fetch: '400',
    lookback_minutes: '15',
  });
  console.log(`Simulated tenant at ${sim.graphUrl} (HTTPS, CA verified). Virtual start ${new Date(start).toISOString()}.`);
  console.log('Late rows up to 4 min, status changes up to 7 min after visibility, random page order, 100 requests / 5 min, faults: 500 4%, 503 2%, 429 2%, reset 2%.');
  console.log(`first_fetch 2 hours back, max_fetch 400, lookback 15 min.\n`);
  console.log('cycle  clock     sent  windows  cursor    backlog');

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const before = engine.events.length;
    const outcome = await main('fetch-events', params, {}, engine);
    if (isCommandError(outcome)) {
      console.log(`${String(cycle).padStart(5)}  ${clockText(engine.now())}  error ${outcome.error.code}: ${outcome.error.message}`);
      engine.advance(MINUTE);
      continue;
    }
    const summary = outcome.rawResponse as { windows: number; cursor: string; behindMs: number };
    const backlog = outcome.nextTrigger === '0' ? `${Math.round(summary.behindMs / MINUTE)} min left, again at once` : 'none';
    console.log(
      `${String(cycle).padStart(5)}  ${clockText(engine.now())}  ${String(engine.events.length - before).padStart(5)}  ${String(summary.windows).padStart(7)}  ${summary.cursor.slice(11, 19)}  ${backlog}`,
    );
    // The engine runs again at once when asked, else after the fetch interval (1 to 3 minutes here).
    if (outcome.nextTrigger !== '0') engine.advance(MINUTE + ((cycle * 47_000) % (2 * MINUTE)));
  }

  const cursor = parseState(engine.lastRun)?.cursorMs ?? firstFetchMs;
  const result = compareWithTruth(sim.groundTruth(firstFetchMs, cursor), engine.events, firstFetchMs, cursor);
  const stats = sim.stats();
  const failed = Object.entries(stats.requests.byStatus)
    .filter(([status]) => status !== '200')
    .reduce((sum, [, n]) => sum + n, 0);
  console.log(`\nSummary (rows received from first_fetch up to the cursor ${new Date(cursor).toISOString()}, all in their final state):`);
  console.log(`  rows expected          ${result.expected}`);
  console.log(`  events delivered       ${result.delivered}  (every status seen, one event per (id, recipient, status))`);
  console.log(`  missing                ${result.missing.length}`);
  console.log(`  duplicated             ${result.duplicated.length}`);
  console.log(`  unexpected             ${result.unexpected.length}`);
  console.log(`  status changes caught  ${result.statusChangesCaught} of ${result.rowsWithStatusChanges} rows that changed status had more than one status delivered`);
  console.log(`  requests used          ${stats.graphRequests} to Graph (${stats.rowsServed} rows served)`);
  console.log(`  retries                ${stats.faultsInjected + stats.throttled} (faults injected ${stats.faultsInjected}, throttled ${stats.throttled}; non-200 responses ${failed})`);
  if (result.missing.length > 0 || result.duplicated.length > 0 || result.unexpected.length > 0) {
    console.log('\nFAILED: the collector lost or repeated events.');
    for (const key of [...result.missing.slice(0, 5), ...result.duplicated.slice(0, 5)]) console.log(`  ${key}`);
    exitCode = 1;
  } else {
    console.log('\nOK: nothing missing, nothing duplicated.');
  }
} finally {
  await sim.stop();
}
process.exit(exitCode);
