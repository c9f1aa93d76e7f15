/**
 * `npm run demo`: the collector against the simulated tenant, end to end.
 *
 * Starts the simulator on loopback (Entra ID and Graph on two origins, late rows, status changes, recalls,
 * null fields, PascalCase statuses, random page order, throttling, every Retry-After form, some faults),
 * runs fetch cycles through `main` over real HTTPS with the simulator's CA (verification on), prints each
 * cycle, and ends with a comparison against the simulator's ground truth. Time is virtual: the simulator
 * and the engine share one clock, so hours of mail flow pass in seconds. Exit code 1 when anything is
 * missing or duplicated, or when a behaviour the summary counts was never met.
 */
import { MemoryEngine } from '../src/engine/memory.js';
import { isCommandError } from '../src/engine/types.js';
import { parseState } from '../src/fetch/state.js';
import { main } from '../src/main.js';
import { compareWithTruth, exercisedSummary, instanceParams, notYetExercised } from '../src/simulator/harness.js';
import { startSimulatedTenant } from '../src/simulator/index.js';

const MINUTE = 60_000;
const CYCLES = 40;
/** Cycles beyond CYCLES allowed for every behaviour in the summary to be met at least once. */
const MAX_CYCLES = 120;
const FAULTS = { '500': 0.04, '503': 0.02, '429': 0.02, reset: 0.02 } as const;

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
  faults: FAULTS,
  // Recalls (1 % of delivered rows), null fields, IPv6 fromIP, PascalCase statuses (5 % of responses) and
  // the three Retry-After forms are the simulator's defaults.
  clock: () => engine.now(),
});

let exitCode = 0;
try {
  const firstFetchMs = start - 2 * 60 * MINUTE;
  const params = instanceParams(sim, {
    first_fetch: new Date(firstFetchMs).toISOString(),
    max_fetch: '400',
    lookback_minutes: '15',
  });
  console.log(`Simulated tenant: Graph at ${sim.graphUrl}, Entra ID at ${sim.authorityUrl} (HTTPS, CA verified). Virtual start ${new Date(start).toISOString()}.`);
  console.log('Late rows up to 4 min, status changes (recalls included) up to 7 min after visibility, random page order, 100 requests / 5 min, faults: 500 4%, 503 2%, 429 2%, reset 2%.');
  console.log(`first_fetch 2 hours back, max_fetch 400, lookback 15 min.\n`);
  console.log('cycle  clock     sent  windows  cursor    backlog');

  for (let cycle = 1; cycle <= CYCLES || (cycle <= MAX_CYCLES && notYetExercised(sim.stats(), Object.keys(FAULTS)).length > 0); cycle++) {
    const before = engine.events.length;
    const outcome = await main('fetch-events', params, {}, engine);
    if (isCommandError(outcome)) {
      console.log(`${String(cycle).padStart(5)}  ${clockText(engine.now())}  error ${outcome.error.code}: ${outcome.error.message}`);
      engine.advance(MINUTE);
      continue;
    }
    const summary = outcome.rawResponse;
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
  const exercised = exercisedSummary(stats);
  const deliveredRows = new Set(engine.events.filter((e) => e.status === 'delivered').map((e) => `${e.id}|${e.recipientAddress}`));
  const recalled = engine.events.filter((e) => e.status === 'recalled');
  const recalledAfterDelivered = recalled.filter((e) => deliveredRows.has(`${e.id}|${e.recipientAddress}`)).length;
  const nullEvents = engine.events.filter((e) => Object.values(e).some((v) => v === null)).length;
  console.log(`  faults fired           ${exercised.faults}`);
  console.log(`  Retry-After            ${exercised.retryAfter}`);
  console.log(`  recalled changes       ${recalled.length} events (${recalledAfterDelivered} beside their delivered event); simulator: ${exercised.recalled}`);
  console.log(`  unknownFutureValue     ${stats.served.unknownFutureValue} served: the collector asks with Prefer: include-unknown-enum-members (${stats.served.requestsWithoutPrefer} requests without it)`);
  console.log(`  status spelling        ${exercised.pascalCase}, read as v1.0 spelling (${engine.events.filter((e) => /^[A-Z]/.test(String(e.status))).length} events in another)`);
  console.log(`  null fields            ${nullEvents} events with a null field; simulator: ${exercised.nulls}`);
  const unmet = notYetExercised(stats, Object.keys(FAULTS));
  if (unmet.length > 0) {
    console.log(`\nFAILED: never met ${unmet.join(', ')}; the run does not show the collector handles them.`);
    exitCode = 1;
  }
  if (result.missing.length > 0 || result.duplicated.length > 0 || result.unexpected.length > 0) {
    console.log('\nFAILED: the collector lost or repeated events.');
    for (const key of [...result.missing.slice(0, 5), ...result.duplicated.slice(0, 5)]) console.log(`  ${key}`);
    exitCode = 1;
  } else if (exitCode === 0) {
    console.log('\nOK: nothing missing, nothing duplicated.');
  }
} finally {
  await sim.stop();
}
process.exit(exitCode);
