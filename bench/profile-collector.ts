/**
 * Profiling aid (not run by `npm run bench`): one fetch-events run of ~200,000 rows against a simulator
 * process, in this process, so `node --cpu-prof --import tsx bench/profile-collector.ts` profiles the
 * collector alone. Prints the run summary and CPU time.
 */
import { isCommandError } from '../src/engine/types.js';
import { main } from '../src/main.js';
import { DAY, MINUTE, SinkEngine, floorSecond, simulatorParams, startSimulatorProcess } from './common.js';
import { throughputSimulatorArgs } from './throughput.js';

const sim = await startSimulatorProcess(throughputSimulatorArgs(200_000));
try {
  const params = simulatorParams(sim.info, sim.caCertPem, {
    first_fetch: new Date(floorSecond(sim.readyAtMs - DAY + MINUTE)).toISOString(),
    max_fetch: '1000000',
    lookback_minutes: '15',
  });
  for (let i = 0; i < 2; i++) {
    const engine = new SinkEngine();
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const outcome = await main('fetch-events', params, {}, engine);
    const used = process.cpuUsage(cpu);
    if (isCommandError(outcome)) throw new Error(outcome.error.message);
    process.stdout.write(
      `${JSON.stringify({ events: engine.events, wallMs: Math.round(performance.now() - t0), cpuMs: Math.round((used.user + used.system) / 1000), summary: outcome.rawResponse })}\n`,
    );
  }
} finally {
  await sim.stop();
}
