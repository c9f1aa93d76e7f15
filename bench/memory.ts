/**
 * Memory: peak RSS of a collector process for one fetch-events run with max_fetch 50,000 and with 5,000,
 * against the simulator process of the throughput benchmark. Each run is its own child process, so the
 * figure is the collector's and not the bench's.
 *
 * The headline figures come from the child bundled with esbuild the way scripts/bundle.mjs bundles the
 * integration (one ES module, plain `node`), which is how an engine runs it. The same child under the tsx
 * loader is reported too: tsx itself holds about 60 MB (transpiler, source maps).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { REQUIRE_SHIM, selfContainedBuildOptions } from '../scripts/bundle-options.mjs';
import { DAY, MINUTE, REPO_ROOT, type SimulatorProcess, floorSecond, round, simulatorParams } from './common.js';

export interface MemoryRun {
  runner: 'bundle' | 'tsx';
  maxFetch: number;
  maxRssKb: number;
  baselineKb: number;
  events: number;
  rowsRead: number;
  windows: number;
  stopReason: string;
  heapUsedMb: number;
}

export interface MemoryResult {
  peakRssMb50k: number;
  peakRssMb5k: number;
  peakRssMb50kTsx: number;
  peakRssMb5kTsx: number;
  /** RSS of the child after imports, before the run (the same in both). */
  baselineRssMb: number;
  /** (peak at 50k − peak at 5k) / (events at 50k − events at 5k). */
  rssGrowthBytesPerEvent: number;
  runs: MemoryRun[];
}

/** memory-child.ts as one ES module, built like scripts/bundle.mjs builds the integration. */
async function bundleChild(outdir: string): Promise<string> {
  await build({
    ...(await selfContainedBuildOptions(REPO_ROOT)),
    entryPoints: [{ in: 'bench/memory-child.ts', out: 'memory-child' }],
    outdir,
    outExtension: { '.js': '.mjs' },
    banner: { js: REQUIRE_SHIM },
    logLevel: 'warning',
  });
  return path.join(outdir, 'memory-child.mjs');
}

function runChild(params: Record<string, unknown>, maxFetch: number, runner: MemoryRun['runner'], bundle: string): Promise<MemoryRun> {
  const args = runner === 'bundle' ? [bundle] : ['--import', 'tsx', path.join(REPO_ROOT, 'bench/memory-child.ts')];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += String(c);
  });
  child.stderr.on('data', (c) => {
    stderr += String(c);
  });
  child.stdin.end(JSON.stringify(params));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`memory child (max_fetch ${maxFetch}) exited ${code}: ${stderr}`));
        return;
      }
      resolve({ runner, maxFetch, ...(JSON.parse(stdout.trim()) as Omit<MemoryRun, 'maxFetch' | 'runner'>) });
    });
  });
}

export async function runMemory(sim: SimulatorProcess, log: (line: string) => void): Promise<MemoryResult> {
  const startMs = floorSecond(sim.readyAtMs - DAY + MINUTE);
  const outdir = await mkdtemp(path.join(tmpdir(), 'o365-bench-mem-'));
  const runs: MemoryRun[] = [];
  try {
    const bundle = await bundleChild(outdir);
    for (const runner of ['bundle', 'tsx'] as const) {
      for (const maxFetch of [50_000, 5_000]) {
        const params = simulatorParams(sim.info, sim.caCertPem, {
          first_fetch: new Date(startMs).toISOString(),
          max_fetch: String(maxFetch),
          lookback_minutes: '15',
        });
        const run = await runChild(params, maxFetch, runner, bundle);
        log(`  ${runner} max_fetch ${maxFetch}: ${JSON.stringify(run)}`);
        runs.push(run);
      }
    }
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
  const find = (runner: MemoryRun['runner'], maxFetch: number) => runs.find((r) => r.runner === runner && r.maxFetch === maxFetch) as MemoryRun;
  const big = find('bundle', 50_000);
  const small = find('bundle', 5_000);
  const mb = (kb: number) => round(kb / 1024, 1);
  return {
    peakRssMb50k: mb(big.maxRssKb),
    peakRssMb5k: mb(small.maxRssKb),
    peakRssMb50kTsx: mb(find('tsx', 50_000).maxRssKb),
    peakRssMb5kTsx: mb(find('tsx', 5_000).maxRssKb),
    baselineRssMb: mb(Math.max(big.baselineKb, small.baselineKb)),
    rssGrowthBytesPerEvent: round(((big.maxRssKb - small.maxRssKb) * 1024) / Math.max(1, big.events - small.events), 0),
    runs,
  };
}
