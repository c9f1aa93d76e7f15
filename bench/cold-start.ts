/**
 * Cold start: what an engine pays to start a process for one command (it starts one per command, and
 * fetch-events every minute). Each measured process imports the engine bundle (scripts/bundle.mjs, built
 * fresh into a temp directory) and runs one command through `main` with the bundle's MemoryEngine:
 *  - `o365-message-trace-generate-login-url`, which makes no request;
 *  - `fetch-events` with a cached token and nothing new to read, against a simulated tenant with no mail
 *    (its state, token included, comes from one earlier fetch-events process).
 * Runs of each are interleaved with `node -e 0` runs in the same loop, so load on the machine hits all of
 * them alike; the figures are medians of wall time (spawn to exit, seen from this process) and of the
 * child's peak RSS, and the ratios are median over median of `node -e 0`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, round, type SimulatorProcess, simulatorParams, startSimulatorProcess } from './common.js';

export interface ColdStartResult {
  coldStartMs: number;
  coldStartRatio: number;
  coldStartRssMb: number;
  coldFetchMs: number;
  coldFetchRatio: number;
  coldFetchRssMb: number;
  bareNodeMs: number;
  bareNodeRssMb: number;
  rounds: number;
  /** Bytes of JavaScript the bundle's entry and all its chunks hold. */
  bundleBytes: number;
}

/**
 * The measured process. argv: bundle entry, mode (`login-url`, `fetch` or `prepare-fetch`), input JSON file.
 * Prints one JSON line: peak RSS (KiB), and what shows the command did what it should.
 */
const CHILD_SCRIPT = `
import { readFileSync, writeFileSync } from 'node:fs';
const [bundle, mode, inputFile] = process.argv.slice(2);
const input = JSON.parse(readFileSync(inputFile, 'utf8'));
const { main, MemoryEngine } = await import(bundle);
const engine = new MemoryEngine({ lastRun: input.lastRun, integrationContext: input.integrationContext });
const command = mode === 'login-url' ? 'o365-message-trace-generate-login-url' : 'fetch-events';
const outcome = await main(command, input.params, {}, engine);
if (mode === 'prepare-fetch') {
  writeFileSync(inputFile, JSON.stringify({ ...input, lastRun: engine.lastRun, integrationContext: engine.integrationContext }));
}
process.stdout.write(JSON.stringify({
  maxRssKb: process.resourceUsage().maxRSS,
  error: outcome.error ?? null,
  readableOutput: outcome.readableOutput ?? null,
  events: engine.events.length,
  windows: outcome.rawResponse?.windows ?? null,
  msalCacheUnchanged: engine.integrationContext.msalCache === input.integrationContext?.msalCache,
}) + '\\n');
`;

interface ChildReport {
  maxRssKb: number;
  error: { code: string; message: string } | null;
  readableOutput: string | null;
  events: number;
  windows: number | null;
  msalCacheUnchanged: boolean;
}

interface Timed<T> {
  ms: number;
  report: T;
}

function runTimed(args: string[]): Promise<Timed<string>> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`cold-start child ${args.slice(1, 3).join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ ms, report: stdout });
    });
  });
}

async function runCommand(script: string, bundle: string, mode: string, inputFile: string): Promise<Timed<ChildReport>> {
  const { ms, report } = await runTimed([script, bundle, mode, inputFile]);
  const parsed = JSON.parse(report.trim().split('\n').at(-1) ?? '') as ChildReport;
  if (parsed.error !== null) throw new Error(`cold-start ${mode}: ${parsed.error.code}: ${parsed.error.message}`);
  return { ms, report: parsed };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function buildBundle(outdir: string): Promise<{ entry: string; bytes: number }> {
  await runTimed([path.join(REPO_ROOT, 'scripts/bundle.mjs'), '--outdir', outdir]);
  let bytes = 0;
  for (const file of await readdir(outdir, { recursive: true })) {
    if (file.endsWith('.mjs')) bytes += (await stat(path.join(outdir, file))).size;
  }
  return { entry: path.join(outdir, 'o365-message-trace.mjs'), bytes };
}

const LOGIN_URL_PARAMS = {
  tenant_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
  client_id: '11111111-2222-4333-8444-555555555555',
  client_secret: 'cold-start-bench-secret',
  redirect_uri: 'https://localhost/o365mt',
};

export async function runColdStart(log: (line: string) => void, rounds = 15): Promise<ColdStartResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'o365-bench-cold-'));
  let sim: SimulatorProcess | undefined;
  try {
    const { entry, bytes } = await buildBundle(path.join(dir, 'bundle'));
    const script = path.join(dir, 'child.mjs');
    await writeFile(script, CHILD_SCRIPT);
    const loginInput = path.join(dir, 'login-url.json');
    await writeFile(loginInput, JSON.stringify({ params: LOGIN_URL_PARAMS }));

    // A tenant with no mail: fetch-events finds nothing new, whatever the clock says.
    sim = await startSimulatorProcess(['--seed', '3', '--rate', '0', '--history', '0', '--throttle', 'off']);
    const fetchInput = path.join(dir, 'fetch.json');
    // An hour back, so the first run reads (and gets a token); from its state, every later run reads the
    // look-back span again, as a run a minute after the last one does.
    await writeFile(fetchInput, JSON.stringify({ params: simulatorParams(sim.info, sim.caCertPem, { first_fetch: '1 hour' }) }));
    // One fetch-events process first: it gets the token and moves the state to now.
    await runCommand(script, entry, 'prepare-fetch', fetchInput);
    const prepared = JSON.parse(await readFile(fetchInput, 'utf8')) as { integrationContext?: { msalCache?: unknown } };
    if (typeof prepared.integrationContext?.msalCache !== 'string') throw new Error('cold-start: the first fetch-events kept no token');

    const bare: number[] = [];
    const bareRss: number[] = [];
    const login: number[] = [];
    const loginRss: number[] = [];
    const fetch: number[] = [];
    const fetchRss: number[] = [];
    for (let round = 0; round < rounds; round++) {
      bare.push((await runTimed(['-e', '0'])).ms);
      const l = await runCommand(script, entry, 'login-url', loginInput);
      if (!l.report.readableOutput?.includes('/oauth2/v2.0/authorize?')) throw new Error('cold-start: generate-login-url gave no sign-in link');
      login.push(l.ms);
      loginRss.push(l.report.maxRssKb);
      const f = await runCommand(script, entry, 'fetch', fetchInput);
      if (!f.report.msalCacheUnchanged) throw new Error('cold-start: fetch-events requested a new token instead of using the cached one');
      if (f.report.events !== 0) throw new Error(`cold-start: fetch-events found ${f.report.events} events in a tenant with no mail`);
      if (f.report.windows === 0) throw new Error('cold-start: fetch-events read nothing (no request made)');
      fetch.push(f.ms);
      fetchRss.push(f.report.maxRssKb);
      // Peak RSS of a bare node, in a run of its own so the timed `node -e 0` stays exactly that.
      const probe = await runTimed(['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS))']);
      bareRss.push(Number(probe.report));
    }
    const bareMs = median(bare);
    const mb = (kb: number) => round(kb / 1024, 1);
    const result: ColdStartResult = {
      coldStartMs: round(median(login), 0),
      coldStartRatio: round(median(login) / bareMs),
      coldStartRssMb: mb(median(loginRss)),
      coldFetchMs: round(median(fetch), 0),
      coldFetchRatio: round(median(fetch) / bareMs),
      coldFetchRssMb: mb(median(fetchRss)),
      bareNodeMs: round(bareMs, 0),
      bareNodeRssMb: mb(median(bareRss)),
      rounds,
      bundleBytes: bytes,
    };
    log(`  cold start: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await sim?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
