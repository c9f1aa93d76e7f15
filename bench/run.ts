/**
 * `npm run bench [-- --json] [-- --only cold,throughput,memory,steady,backfill,tenants] [-- --full]`: the collector
 * measured the way its users feel it. Progress on stderr; the result on stdout, as one JSON object with
 * --json, as a table otherwise. Not part of `npm test` (vitest includes only test/unit and test/e2e).
 *
 * Order: cold start, throughput and memory first, alone (they time CPU); then the virtual-clock parts, which measure
 * requests, lag and state rather than speed, side by side in two child processes (steady state at
 * 10,000,000 rows a day in one; steady state at 1,000,000 rows a day, then the backfill, in the other).
 * Each virtual-clock part has a wall-clock cap so the whole bench stays under 10 minutes on two cores;
 * a part that hits its cap reports how far it got and its verdicts say "partial". --full lifts the caps
 * (two virtual hours at 10,000,000 rows a day alone take about 9 minutes here).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { BackfillResult } from './backfill.js';
import { runColdStart } from './cold-start.js';
import { REPO_ROOT, startSimulatorProcess } from './common.js';
import { runMemory } from './memory.js';
import type { SteadyResult } from './steady.js';
import type { TenantsResult } from './tenants.js';
import { runThroughput, throughputPasses, throughputSimulatorArgs } from './throughput.js';

const PARTS = ['cold', 'throughput', 'memory', 'steady', 'backfill', 'tenants'] as const;
type Part = (typeof PARTS)[number];

interface CliOptions {
  json: boolean;
  full: boolean;
  only: Set<Part>;
}

function parseCli(argv: string[]): CliOptions {
  let json = false;
  let full = false;
  let only = new Set<Part>(PARTS);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--full') full = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[++i] ?? '');
      const names = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = names.filter((n) => !(PARTS as readonly string[]).includes(n));
      if (unknown.length > 0 || names.length === 0) throw new Error(`--only takes a list of ${PARTS.join(', ')}; got '${value}'`);
      only = new Set(names as Part[]);
    } else throw new Error(`unknown option '${arg}' (use --json, --full, --only ${PARTS.join(',')})`);
  }
  return { json, full, only };
}

type Target = { min: number } | { max: number };

const TARGETS: Record<string, Target> = {
  coldStartRatio: { max: 2.5 },
  coldStartRssMb: { max: 64 },
  throughputRatio: { min: 0.85 },
  /** Collector CPU per event over the floor's (issue 16: at most 1.6×). */
  cpuPerEventRatio: { max: 1.6 },
  peakRssMb50k: { max: 120 },
  peakRssMb5k: { max: 100 },
  rssGrowthBytesPerEvent: { max: 2048 },
  maxRequestsPer5Min: { max: 45 },
  // maxLagSeconds (the largest lag of any row or status) is reported without a verdict: issue 16 replaced its
  // 120 s bound by two p99 bounds, new rows within two intervals and status changes within 5 minutes.
  newRowLagP99Seconds: { max: 120 },
  statusChangeLagP99Seconds: { max: 300 },
  maxLastRunBytes: { max: 1_048_576 },
  maxLastRunBytes1M: { max: 262_144 },
  missing: { max: 0 },
  duplicated: { max: 0 },
  missing1M: { max: 0 },
  duplicated1M: { max: 0 },
  backfillRatio: { max: 1.2 },
  tenantsMissing: { max: 0 },
  tenantsDuplicated: { max: 0 },
  maxRequestsPer5Min25M: { max: 90 },
  newRowLagP99Seconds25M: { max: 120 },
  missing25M: { max: 0 },
  duplicated25M: { max: 0 },
  maxLastRunBytes25M: { max: 2_621_440 },
};

/** Figures of a part cut short by its wall-clock cap are marked so, whatever their value. */
const PARTIAL: Record<string, (result: Record<string, unknown>) => boolean> = {
  backfillRatio: (r) => r.backfillCaughtUp === false,
  maxRequestsPer5Min: (r) => typeof r.steadyVirtualMinutesRun === 'number' && r.steadyVirtualMinutesRun < 140,
  maxLastRunBytes: (r) => typeof r.steadyVirtualMinutesRun === 'number' && r.steadyVirtualMinutesRun < 140,
  tenantsMissing: (r) => typeof r.tenantsVirtualMinutesRun === 'number' && r.tenantsVirtualMinutesRun < 45,
  tenantsDuplicated: (r) => typeof r.tenantsVirtualMinutesRun === 'number' && r.tenantsVirtualMinutesRun < 45,
  ...Object.fromEntries(
    ['maxRequestsPer5Min25M', 'newRowLagP99Seconds25M', 'missing25M', 'duplicated25M', 'maxLastRunBytes25M'].map((key) => [
      key,
      (r: Record<string, unknown>) => typeof r.steady25MVirtualMinutesRun === 'number' && r.steady25MVirtualMinutesRun < 55,
    ]),
  ),
  newRowLagP99Seconds: (r) => typeof r.steadyVirtualMinutesRun === 'number' && r.steadyVirtualMinutesRun < 140,
  statusChangeLagP99Seconds: (r) => typeof r.steadyVirtualMinutesRun === 'number' && r.steadyVirtualMinutesRun < 140,
};

function verdicts(result: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, target] of Object.entries(TARGETS)) {
    const value = result[key];
    if (typeof value !== 'number') continue;
    const ok = 'min' in target ? value >= target.min : value <= target.max;
    out[key] = `${ok ? 'met' : 'missed'}${PARTIAL[key]?.(result) ? ' (partial run: wall-clock cap)' : ''}`;
  }
  return out;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Runs part.ts in a child process (bigger young generation: these parts allocate a lot and time nothing). */
function runPart<T>(name: string, kind: 'steady' | 'backfill' | 'tenants', options: Record<string, number>): Promise<T> {
  const script = path.join(REPO_ROOT, 'bench/part.ts');
  // The tenants part measures memory after full collections, so it keeps V8's default young generation.
  const flags = kind === 'tenants' ? ['--expose-gc'] : ['--max-semi-space-size=64'];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', script, kind, JSON.stringify(options)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    const text = String(chunk);
    stderr += text;
    for (const line of text.split('\n')) if (line.trim() !== '') log(`[${name}] ${line}`);
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || last === '') {
        reject(new Error(`${name} exited with ${code}: ${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as T);
    });
  });
}

async function run(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const started = Date.now();
  const result: Record<string, unknown> = {};
  const details: Record<string, unknown> = {};

  if (cli.only.has('cold')) {
    log('[bench] cold start: generate-login-url and fetch-events processes on the engine bundle, interleaved with node -e 0');
    const c = await runColdStart(log);
    const { rounds: _rounds, ...figures } = c;
    Object.assign(result, figures);
    details.cold = c;
  }

  if (cli.only.has('throughput') || cli.only.has('memory')) {
    const rows = 200_000;
    log(`[bench] simulator process: ~${rows} rows in the last day, throttle off`);
    const sim = await startSimulatorProcess(throughputSimulatorArgs(rows));
    try {
      if (cli.only.has('throughput')) {
        log('[bench] throughput: floor and collector, interleaved, best of each');
        const t = await runThroughput(sim, rows, log, throughputPasses(cli.full));
        Object.assign(result, {
          throughputRatio: t.throughputRatio,
          cpuPerEventRatio: t.cpuPerEventRatio,
          floorEventsPerSecond: t.floorEventsPerSecond,
          collectorEventsPerSecond: t.collectorEventsPerSecond,
          floorCpuMicrosPerEvent: t.floorCpuMicrosPerEvent,
          collectorCpuMicrosPerEvent: t.collectorCpuMicrosPerEvent,
          simulatorCpuMicrosPerEvent: t.simulatorCpuMicrosPerEventFloor,
          throughputEvents: t.passes.find((p) => p.kind === 'collector')?.events,
          throughputRequestsCollector: t.collectorRequests,
          throughputRequestsFloor: t.floorRequests,
        });
        details.throughput = t;
      }
      if (cli.only.has('memory')) {
        log('[bench] memory: one collector process per max_fetch (50,000 and 5,000)');
        const m = await runMemory(sim, log);
        Object.assign(result, {
          peakRssMb50k: m.peakRssMb50k,
          peakRssMb5k: m.peakRssMb5k,
          rssGrowthBytesPerEvent: m.rssGrowthBytesPerEvent,
          peakRssMb50kTsx: m.peakRssMb50kTsx,
          peakRssMb5kTsx: m.peakRssMb5kTsx,
        });
        details.memory = m;
      }
    } finally {
      await sim.stop();
    }
  }

  // Wall-clock caps of the virtual-clock parts (ms of their main loop), unless --full.
  const cap = (ms: number): number => (cli.full ? 3_600_000 : ms);
  const parallel: Promise<void>[] = [];
  if (cli.only.has('steady')) {
    log('[bench] steady state at 10,000,000 rows/day (two virtual hours + 20 min drain) in a child process');
    parallel.push(
      runPart<SteadyResult>('steady-10M', 'steady', { rowsPerDay: 10_000_000, virtualMinutes: 120, drainMinutes: 20, warmUpMinutes: 15, wallLimitMs: cap(360_000) }).then((s) => {
        Object.assign(result, {
          // Past the first 15 virtual minutes (one look-back): the first run reads all of it from first_fetch.
          maxRequestsPer5Min: s.maxRequestsPer5Min,
          maxRequestsPer5MinWithWarmUp: s.maxRequestsPer5MinWithWarmUp,
          readAmplification: s.readAmplification,
          maxLagSeconds: s.maxLagSeconds,
          newRowLagP99Seconds: s.newRowLagP99Seconds,
          statusChangeLagP99Seconds: s.statusChangeLagP99Seconds,
          maxLastRunBytes: s.maxLastRunBytes,
          missing: s.missing,
          duplicated: s.duplicated,
          steadyVirtualMinutesRun: s.virtualMinutesRun,
        });
        details.steady = s;
      }).then(async () => {
        // Capacity: 25M rows a day, 15 virtual minutes of warm-up then 30 measured (issue 16); after the 10M
        // part in the same slot, so the default run stays under 10 minutes (cut short there, marked partial).
        log('[bench] steady state at 25,000,000 rows/day (45 virtual minutes + 10 min drain) in a child process');
        const s25 = await runPart<SteadyResult>('steady-25M', 'steady', { rowsPerDay: 25_000_000, virtualMinutes: 45, drainMinutes: 10, warmUpMinutes: 15, wallLimitMs: cap(60_000) });
        Object.assign(result, {
          maxRequestsPer5Min25M: s25.maxRequestsPer5Min,
          newRowLagP99Seconds25M: s25.newRowLagP99Seconds,
          missing25M: s25.missing,
          duplicated25M: s25.duplicated,
          maxLastRunBytes25M: s25.maxLastRunBytes,
          steady25MVirtualMinutesRun: s25.virtualMinutesRun,
        });
        details.steady25M = s25;
      }),
    );
  }
  if (cli.only.has('backfill') || cli.only.has('steady')) {
    parallel.push(
      (async () => {
        if (cli.only.has('steady')) {
          log('[bench] steady state at 1,000,000 rows/day (last-run size), 40 virtual minutes + 20 min drain');
          const s1 = await runPart<SteadyResult>('steady-1M', 'steady', { rowsPerDay: 1_000_000, virtualMinutes: 40, drainMinutes: 20, wallLimitMs: cap(100_000) });
          Object.assign(result, {
            maxLastRunBytes1M: s1.maxLastRunBytes,
            maxRequestsPer5Min1M: s1.maxRequestsPer5Min,
            readAmplification1M: s1.readAmplification,
            maxLagSeconds1M: s1.maxLagSeconds,
            missing1M: s1.missing,
            duplicated1M: s1.duplicated,
          });
          details.steady1M = s1;
        }
        if (cli.only.has('backfill')) {
          log('[bench] backfill: 3 days at 1,000,000 rows/day, tenant throttle 100/300 s, in a child process');
          const b = await runPart<BackfillResult>('backfill', 'backfill', { rowsPerDay: 1_000_000, days: 3, wallLimitMs: cap(300_000) });
          Object.assign(result, {
            backfillRequests: b.backfillRequests,
            backfillMinRequests: b.backfillMinRequests,
            backfillRatio: b.backfillRatio,
            backfillMinutes: b.backfillMinutes,
            backfillThrottleFloorMinutes: b.backfillThrottleFloorMinutes,
            backfillBudgetFloorMinutes: b.backfillBudgetFloorMinutes,
            backfillCaughtUp: b.caughtUp,
          });
          details.backfill = b;
        }
      })(),
    );
  }
  if (cli.only.has('tenants')) {
    // CPU is read per thread and memory above a baseline, so this part may share the cores with the others.
    const size = cli.full ? { tenants: 200, simulators: 10 } : { tenants: 40, simulators: 4 };
    log(`[bench] ${size.tenants} tenants at 200,000 rows/day each in one process, 30 virtual minutes + 15 min drain, in a child process`);
    parallel.push(
      runPart<TenantsResult>('tenants', 'tenants', { ...size, rowsPerDay: 200_000, virtualMinutes: 30, drainMinutes: 15, concurrency: 8, wallLimitMs: cap(420_000) }).then((t) => {
        Object.assign(result, {
          tenantsPerCore: t.tenantsPerCore,
          tenantsPerCoreLowerBound: t.tenantsPerCoreLowerBound,
          rssMbPerTenant: t.rssMbPerTenant,
          retainedHeapMbPerTenant: t.retainedHeapMbPerTenant,
          tenantsCount: t.tenants,
          tenantsVirtualMinutesRun: t.virtualMinutesRun,
          tenantsMissing: t.missing,
          tenantsDuplicated: t.duplicated,
        });
        details.tenants = t;
      }),
    );
  }
  const settled = await Promise.allSettled(parallel);
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => String(s.reason));

  result.targets = verdicts(result);
  result.machine = {
    nproc: os.availableParallelism(),
    memTotalGb: Math.round(os.totalmem() / 2 ** 30),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 10) / 10,
    node: process.version,
  };
  result.benchSeconds = Math.round((Date.now() - started) / 1000);
  if (failures.length > 0) result.failures = failures;
  result.details = details;

  if (cli.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const { details: _details, targets, ...figures } = result;
    const lines = ['O365 Message Trace benchmarks', ''];
    const verdict = targets as Record<string, string>;
    for (const [key, value] of Object.entries(figures)) {
      const target = TARGETS[key];
      const goal = target === undefined ? '' : 'min' in target ? `target >= ${target.min}` : `target <= ${target.max}`;
      lines.push(`${key.padEnd(32)} ${(typeof value === 'object' ? JSON.stringify(value) : String(value)).padEnd(24)} ${goal} ${verdict[key] ?? ''}`.trimEnd());
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (failures.length > 0) process.exitCode = 1;
}

// A bench that hangs helps nobody: stop after 15 minutes (75 with --full) whatever happens.
const watchdog = setTimeout(
  () => {
    log('[bench] watchdog: time is up, giving up');
    process.exit(3);
  },
  (process.argv.includes('--full') ? 75 : 15) * 60_000,
);
watchdog.unref();

run().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    log(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
