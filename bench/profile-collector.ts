/**
 * Profiling aid (not run by `npm run bench`): fetch-events runs of ~200,000 rows against a simulator process,
 * in this process, so `node --cpu-prof --import tsx bench/profile-collector.ts` profiles the collector alone.
 * Prints each run's summary, CPU time and garbage collections (count and main-thread time of scavenges and
 * full collections, from `perf_hooks` gc entries). On two shared cores the CPU time of one run moves by 20%
 * with the load; the collection counts barely move, so compare them first when trying an allocation change
 * (alternate the variants: A, B, A, B). `PROFILE_RUNS` sets the number of runs (default 2; the first pays for
 * compiling).
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { isCommandError } from '../src/engine/types.js';
import { main } from '../src/main.js';
import { DAY, MINUTE, SinkEngine, floorSecond, round, simulatorParams, startSimulatorProcess } from './common.js';
import { throughputSimulatorArgs } from './throughput.js';

/** Collections seen since the last `take`: scavenges (young generation) and full ones (mark-compact). */
class GcTally {
  private scavenges = 0;
  private scavengeMs = 0;
  private full = 0;
  private fullMs = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node 20 types gc entries as plain PerformanceEntry; the kind is in `detail`.
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        this.scavenges++;
        this.scavengeMs += entry.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        this.full++;
        this.fullMs += entry.duration;
      }
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  take(): { scavenges: number; scavengeMs: number; fullCollections: number; fullMs: number } {
    const taken = { scavenges: this.scavenges, scavengeMs: round(this.scavengeMs, 0), fullCollections: this.full, fullMs: round(this.fullMs, 0) };
    this.scavenges = this.full = this.scavengeMs = this.fullMs = 0;
    return taken;
  }

  stop(): void {
    this.observer.disconnect();
  }
}

/** gc entries are delivered after the collection, on a later turn of the event loop. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

const runs = Number(process.env.PROFILE_RUNS) > 0 ? Number(process.env.PROFILE_RUNS) : 2;
const sim = await startSimulatorProcess(throughputSimulatorArgs(200_000));
const gc = new GcTally();
try {
  const params = simulatorParams(sim.info, sim.caCertPem, {
    first_fetch: new Date(floorSecond(sim.readyAtMs - DAY + MINUTE)).toISOString(),
    max_fetch: '1000000',
    lookback_minutes: '15',
  });
  for (let i = 0; i < runs; i++) {
    const engine = new SinkEngine();
    await settle();
    gc.take();
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const outcome = await main('fetch-events', params, {}, engine);
    const used = process.cpuUsage(cpu);
    const wallMs = Math.round(performance.now() - t0);
    await settle();
    if (isCommandError(outcome)) throw new Error(outcome.error.message);
    const cpuMicros = used.user + used.system;
    process.stdout.write(
      `${JSON.stringify({
        events: engine.events,
        wallMs,
        cpuMs: Math.round(cpuMicros / 1000),
        cpuMicrosPerEvent: round(cpuMicros / Math.max(1, engine.events), 2),
        gc: gc.take(),
        summary: outcome.rawResponse,
      })}\n`,
    );
  }
} finally {
  gc.stop();
  await sim.stop();
}
