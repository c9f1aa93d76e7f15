/**
 * Shared pieces of the benchmarks: a sink engine that counts instead of keeping events, the simulator as a
 * separate process, instance params for it, and small number helpers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine, EventMeta, JsonObject, Logger, TraceEvent } from '../src/engine/types.js';
import type { SimulatedTenant } from '../src/simulator/index.js';

export const SECOND = 1000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Rows per message in the simulator (one row per recipient), measured over 2.6 M rows: about 1.8. */
export const ROWS_PER_MESSAGE = 1.8;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface SinkOptions {
  /** Epoch ms: a virtual clock that moves only by `advance` and `sleep`. Absent: the real clock. */
  startTimeMs?: number;
  /** Called with every batch handed to sendEvents (and the engine time), for benchmarks that track keys. */
  onEvents?: (events: readonly TraceEvent[], atMs: number) => void;
  /** Called when the integration context changes (the request budget's log lives there). */
  onIntegrationContext?: (context: JsonObject, atMs: number) => void;
  logger?: Logger;
}

/**
 * An engine whose sink only counts: nothing is retained, so memory and CPU figures are the collector's.
 * State is kept as the JSON text an engine would store, so its size is measured as written.
 */
export class SinkEngine implements Engine {
  events = 0;
  batches = 0;
  lastRunText = '{}';
  maxLastRunBytes = 0;
  private context: JsonObject = {};
  private virtualNowMs: number | undefined;
  readonly log: Logger;
  private readonly options: SinkOptions;
  readonly sleep: Engine['sleep'];

  constructor(options: SinkOptions = {}) {
    this.options = options;
    this.virtualNowMs = options.startTimeMs;
    this.log = options.logger ?? silentLogger;
    // Without a virtual clock the integration falls back to real timers (engine.sleep is optional).
    this.sleep =
      options.startTimeMs === undefined
        ? undefined
        : async (ms: number, signal?: AbortSignal): Promise<void> => {
            signal?.throwIfAborted();
            this.advance(ms);
          };
  }

  async getLastRun(): Promise<unknown> {
    return JSON.parse(this.lastRunText) as unknown;
  }

  async setLastRun(state: JsonObject): Promise<void> {
    this.lastRunText = JSON.stringify(state);
    this.maxLastRunBytes = Math.max(this.maxLastRunBytes, Buffer.byteLength(this.lastRunText));
  }

  async getIntegrationContext(): Promise<unknown> {
    return structuredClone(this.context);
  }

  async setIntegrationContext(context: JsonObject): Promise<void> {
    this.context = structuredClone(context);
    this.options.onIntegrationContext?.(this.context, this.now());
  }

  async sendEvents(events: readonly TraceEvent[], _meta: EventMeta): Promise<void> {
    this.events += events.length;
    this.batches++;
    this.options.onEvents?.(events, this.now());
  }

  now(): number {
    return this.virtualNowMs ?? Date.now();
  }

  advance(ms: number): void {
    if (this.virtualNowMs !== undefined) this.virtualNowMs += ms;
  }

  setNow(ms: number): void {
    if (this.virtualNowMs !== undefined) this.virtualNowMs = ms;
  }
}

/** What `simulate --info-file` writes (simulator/cli.ts `connectionInfo`) and the bench reads of it. */
export type SimulatorInfo = Pick<SimulatedTenant, 'graphUrl' | 'authorityUrl' | 'tenantId' | 'clientId' | 'clientSecret' | 'caCertPath'>;

export interface SimulatorProcess {
  info: SimulatorInfo;
  caCertPem: string;
  child: ChildProcess;
  /** Wall-clock time the process reported ready (its data history ends around here). */
  readyAtMs: number;
  /** CPU time of the simulator process so far, from /proc (Linux), in µs; undefined elsewhere. */
  cpuMicros(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** Starts `simulate` in its own process (node + tsx loader, one process) and waits for its info file. */
export async function startSimulatorProcess(args: string[], timeoutMs = 60_000): Promise<SimulatorProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), 'o365-bench-sim-'));
  const infoFile = path.join(dir, 'info.json');
  const bin = path.join(REPO_ROOT, 'src/simulator/bin.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args, '--info-file', infoFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const deadline = Date.now() + timeoutMs;
  let info: SimulatorInfo | undefined;
  while (info === undefined) {
    if (child.exitCode !== null) throw new Error(`simulator exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`simulator not ready after ${timeoutMs} ms: ${stderr}`);
    }
    info = await readFile(infoFile, 'utf8').then(
      (text) => (text.endsWith('\n') ? (JSON.parse(text) as SimulatorInfo) : undefined),
      () => undefined,
    );
    if (info === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const readyAtMs = Date.now();
  const caCertPem = await readFile(info.caCertPath, 'utf8');
  const ticksPerSecond = 100; // USER_HZ on Linux
  return {
    info,
    caCertPem,
    child,
    readyAtMs,
    async cpuMicros() {
      if (child.pid === undefined) return undefined;
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => undefined);
      if (stat === undefined) return undefined;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const utime = Number(fields[11]);
      const stime = Number(fields[12]);
      return ((utime + stime) / ticksPerSecond) * 1e6;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Instance params for a simulated tenant: client-secret auth, TLS verified against its CA. */
export function simulatorParams(
  info: Pick<SimulatorInfo, 'graphUrl' | 'authorityUrl' | 'tenantId' | 'clientId' | 'clientSecret'>,
  caCertPem: string,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    url: info.graphUrl,
    authority_url: info.authorityUrl,
    tenant_id: info.tenantId,
    client_id: info.clientId,
    client_secret: info.clientSecret,
    ca_certificate: caCertPem,
    insecure: false,
    ...extra,
  };
}

export function floorSecond(ms: number): number {
  return Math.floor(ms / SECOND) * SECOND;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Most timestamps in any window of `windowMs` that ends at a timestamp (a request at t counts while t > now − window). */
export function maxInRollingWindow(sortedTimes: readonly number[], windowMs: number): { max: number; endingAt: number | undefined } {
  let max = 0;
  let endingAt: number | undefined;
  let from = 0;
  for (let to = 0; to < sortedTimes.length; to++) {
    const t = sortedTimes[to] as number;
    while ((sortedTimes[from] as number) <= t - windowMs) from++;
    const n = to - from + 1;
    if (n > max) {
      max = n;
      endingAt = t;
    }
  }
  return { max, endingAt };
}

/**
 * Where virtual clocks start: 07:00 UTC of the latest day not in the future. The simulator's traffic
 * follows a daily wave (busiest at 14:00 UTC, quietest at 02:00); 07:00–09:00 averages the daily mean,
 * and a fixed time of day makes runs comparable whenever the bench is started.
 */
export function virtualStart(nowMs = Date.now()): number {
  const today = Math.floor(nowMs / DAY) * DAY + 7 * HOUR;
  return today <= nowMs ? today : today - DAY;
}

/**
 * Graph requests as the collector's request budget records them: its log in the integration context gets
 * one entry (engine time) before each request goes out, and drops entries older than its window. The new
 * entries of each write are the requests made since the last one.
 */
export class RequestRecorder {
  readonly times: number[] = [];
  private last: number[] = [];

  constructor(private readonly decode: (stored: unknown) => number[]) {}

  readonly onIntegrationContext = (context: JsonObject): void => {
    const next = this.decode(context.requestLog);
    const before = new Map<number, number>();
    for (const t of this.last) before.set(t, (before.get(t) ?? 0) + 1);
    for (const t of next) {
      const n = before.get(t) ?? 0;
      if (n > 0) before.set(t, n - 1);
      else this.times.push(t);
    }
    this.last = next;
  };
}
