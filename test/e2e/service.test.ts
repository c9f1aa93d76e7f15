/**
 * The collector as a service, end to end: one `run` serving three instances against three simulated
 * tenants, the third with a wrong client secret in its secret file. The two good tenants are collected
 * whole (0 missing, 0 duplicated); the third is reported in /readyz, /metrics, `status` and the log, and
 * recovers once its secret file is fixed, without a restart. /metrics is read with a real text-format
 * parser (and promtool where installed), its counters compared with the events on disk.
 */
import { EventEmitter } from 'node:events';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../../src/cli/run-cli.js';
import type { TraceEvent } from '../../src/engine/types.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { compareWithTruth } from '../helpers/fetch-e2e.js';
import { parseExposition, promtoolAvailable, promtoolCheck, sampleSum, sampleValue } from '../helpers/prometheus.js';

const NAMES = ['alpha', 'bravo', 'charlie'] as const;
const MINUTE = 60_000;

let base: string;
let sims: SimulatedTenant[] = [];
let t0: number;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

interface LogRecord {
  time: string;
  level: string;
  message: string;
  instance?: string;
  fields?: Record<string, unknown>;
}

function records(capture: Capture): LogRecord[] {
  return capture.text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogRecord);
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function readEvents(instance: string): Promise<TraceEvent[]> {
  const text = await readFile(join(base, 'state', instance, 'events.ndjson'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TraceEvent);
}

function io(stderr: Capture, stdout: Capture, signals: EventEmitter, env: Record<string, string> = {}): CliIo {
  return {
    stdout,
    stderr,
    env: { CREDENTIALS_DIRECTORY: join(base, 'credentials'), O365MT_LOG_LEVEL: 'info', PATH: process.env.PATH, ...env },
    signals,
    forceExit: (code) => {
      throw new Error(`forced exit ${code}`);
    },
  };
}

async function status(): Promise<Array<Record<string, unknown>>> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(['status', '--state-dir', join(base, 'state'), '--json'], io(stderr, stdout, new EventEmitter()));
  expect(code, stderr.text).toBe(0);
  return (JSON.parse(stdout.text) as { instances: Array<Record<string, unknown>> }).instances;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-service-'));
  t0 = Date.now();
  sims = await Promise.all(
    NAMES.map((_, i) => startSimulatedTenant({ seed: 61 + i, ratePerDay: 20_000, historyDays: 1, maxDelaySeconds: 20, statusDelaySeconds: 40 })),
  );
  await mkdir(join(base, 'credentials'), { mode: 0o700 });
  for (const [i, name] of NAMES.entries()) {
    const secret = name === 'charlie' ? `${sims[i]?.clientSecret.slice(0, 6)}-wrong-secret-value-0123` : (sims[i]?.clientSecret as string);
    await writeFile(join(base, 'credentials', `${name}.secret`), `${secret}\n`, { mode: 0o600 });
  }
  const config = {
    first_fetch: '30 minutes',
    lookback_minutes: '3',
    instances: NAMES.map((name, i) => {
      const sim = sims[i] as SimulatedTenant;
      return {
        name,
        url: sim.graphUrl,
        authority_url: sim.authorityUrl,
        tenant_id: sim.tenantId,
        client_id: sim.clientId,
        ca_certificate: sim.caCertPem,
        client_secret_file: `${name}.secret`,
      };
    }),
  };
  await writeFile(join(base, 'config.json'), JSON.stringify(config), { mode: 0o600 });
});

afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.stop()));
  await rm(base, { recursive: true, force: true });
});

describe('run with three instances, one with a wrong secret', () => {
  it('collects the good tenants whole, reports the bad one everywhere, and recovers when its file is fixed', async () => {
    const stderr = new Capture();
    const stdout = new Capture();
    const signals = new EventEmitter();
    const argv = ['run', '--config', join(base, 'config.json'), '--state-dir', join(base, 'state')];
    argv.push('--metrics-listen', '127.0.0.1:0', '--log-format', 'json', '--retry-delay', '1', '--max-retry-delay', '2', '--concurrency', '2');
    const exit = runCli(argv, io(stderr, stdout, signals));

    const address = await until('the metrics listener', () =>
      records(stderr).find((r) => r.message.startsWith('Serving /metrics'))?.fields?.address as string | undefined,
    );
    const get = async (path: string) => {
      const response = await fetch(`http://${address}${path}`);
      return { status: response.status, body: await response.text() };
    };
    const caughtUp = (name: string) => records(stderr).some((r) => r.instance === name && r.message === 'Fetch cycle finished' && r.fields?.backlog === false);
    const failures = (name: string) => records(stderr).filter((r) => r.instance === name && r.message.startsWith('Fetch cycle failed'));
    await until('alpha and bravo caught up, charlie failing twice', () => caughtUp('alpha') && caughtUp('bravo') && failures('charlie').length >= 2);

    // The log: the failing instance named, its error code given, retried with a growing delay.
    const failed = failures('charlie');
    expect(failed[0]?.level).toBe('warn');
    expect(failed[0]?.message).toMatch(/trying again in 1 s/);
    expect(failed[1]?.message).toMatch(/trying again in 2 s/);
    const code = failed[0]?.fields?.code as string;
    expect(code).toMatch(/^[a-z_]+$/);

    expect((await get('/healthz')).status).toBe(200);
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatch(/^not ready: charlie\n/);
    expect(notReady.body).toContain(`charlie: no successful run yet;`);
    expect(notReady.body).toContain(`[${code}]`);

    // /metrics: counters equal what is on disk (scraped twice around the count, so no run slipped between).
    let families = parseExposition('');
    const delivered = (body: string) =>
      ['alpha', 'bravo'].map((instance) => sampleValue(parseExposition(body), 'o365mt_events_delivered_total', { instance }));
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await get('/metrics');
      const counts = await Promise.all(['alpha', 'bravo'].map(async (name) => (await readEvents(name)).length));
      const after = await get('/metrics');
      if (JSON.stringify(delivered(before.body)) !== JSON.stringify(delivered(after.body))) continue;
      families = parseExposition(after.body);
      expect(sampleValue(families, 'o365mt_events_delivered_total', { instance: 'alpha' })).toBe(counts[0]);
      expect(sampleValue(families, 'o365mt_events_delivered_total', { instance: 'bravo' })).toBe(counts[1]);
      if (promtoolAvailable()) {
        const check = promtoolCheck(after.body);
        expect(check.ok, check.output).toBe(true);
      }
      break;
    }
    expect(families.length).toBeGreaterThan(5);
    expect(sampleValue(families, 'o365mt_events_delivered_total', { instance: 'charlie' })).toBe(0);
    expect(sampleValue(families, 'o365mt_errors_total', { instance: 'charlie', code })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(families, 'o365mt_instance_up', { instance: 'charlie' })).toBe(0);
    expect(sampleValue(families, 'o365mt_instance_up', { instance: 'alpha' })).toBe(1);
    for (const name of ['alpha', 'bravo']) {
      const graph200 = sampleValue(families, 'o365mt_graph_requests_total', { instance: name, code: '200' }) ?? 0;
      expect(graph200).toBeGreaterThan(0);
      expect(sampleValue(families, 'o365mt_rows_read_total', { instance: name })).toBeGreaterThanOrEqual(
        sampleValue(families, 'o365mt_events_delivered_total', { instance: name }) ?? 0,
      );
      expect(sampleValue(families, 'o365mt_lag_seconds', { instance: name })).toBeLessThan(600);
      // The budget log is saved at the end of each run; requests are counted as they are answered.
      const inWindow = sampleValue(families, 'o365mt_graph_requests_in_budget_window', { instance: name }) ?? 0;
      expect(inWindow).toBeGreaterThan(0);
      expect(inWindow).toBeLessThanOrEqual(sampleSum(families, 'o365mt_graph_requests_total', { instance: name }));
      expect(sampleValue(families, 'o365mt_graph_request_budget', { instance: name })).toBe(90);
      expect(sampleValue(families, 'o365mt_last_success_timestamp_seconds', { instance: name })).toBeGreaterThan(t0 / 1000);
    }
    // A wrong secret is refused at sign-in: charlie never reached Graph.
    expect(sampleSum(families, 'o365mt_graph_requests_total', { instance: 'charlie' })).toBe(0);

    // status: read while the collector holds the locks.
    const byName = new Map((await status()).map((s) => [s.instance, s]));
    expect(byName.get('charlie')).toMatchObject({ lastSuccessAt: null, lastRun: { outcome: 'failed' }, lastError: { code } });
    expect((byName.get('charlie')?.consecutiveFailures as number) >= 2).toBe(true);
    expect(byName.get('alpha')).toMatchObject({ lastRun: { outcome: 'success' }, lastError: null });
    expect(typeof byName.get('alpha')?.position).toBe('string');

    // Fix the secret file: the next retry signs in, without a restart.
    await writeFile(join(base, 'credentials', 'charlie.secret'), `${sims[2]?.clientSecret}\n`);
    await until('charlie caught up', () => caughtUp('charlie'));
    await until('/readyz ready', async () => (await get('/readyz')).status === 200);

    signals.emit('SIGTERM');
    expect(await exit).toBe(0);

    // Every row of each tenant between first_fetch and its saved position, once; events name their instance.
    const final = new Map((await status()).map((s) => [s.instance, s]));
    for (const [i, name] of NAMES.entries()) {
      const events = await readEvents(name);
      expect(new Set(events.map((e) => e.collector_instance))).toEqual(new Set([name]));
      const from = t0 - 25 * MINUTE;
      const to = Date.parse(final.get(name)?.position as string);
      expect(to - from).toBeGreaterThan(10 * MINUTE);
      const comparison = compareWithTruth((sims[i] as SimulatedTenant).groundTruth(from, to), events, from, to);
      expect(comparison.expected).toBeGreaterThan(100);
      expect({ name, missing: comparison.missing.length, duplicated: comparison.duplicated.length, unexpected: comparison.unexpected.length }).toEqual({
        name,
        missing: 0,
        duplicated: 0,
        unexpected: 0,
      });
    }
    // No secret, right or wrong, in anything printed.
    for (const sim of sims) expect(stderr.text).not.toContain(sim.clientSecret);
    expect(stderr.text).not.toContain('wrong-secret-value');
  }, 180_000);
});

describe('shared sinks with several instances', () => {
  /** Runs alpha and bravo (fresh state) with the given sink options until both caught up, then stops. */
  async function runTwo(name: string, sinkArgs: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
    const config = JSON.parse(await readFile(join(base, 'config.json'), 'utf8')) as { instances: Array<{ name: string }> };
    config.instances = config.instances.filter((instance) => instance.name !== 'charlie');
    await writeFile(join(base, `${name}.json`), JSON.stringify(config), { mode: 0o600 });
    const stderr = new Capture();
    const stdout = new Capture();
    const signals = new EventEmitter();
    const exit = runCli(['run', '--config', join(base, `${name}.json`), '--state-dir', join(base, name), '--log-format', 'json', ...sinkArgs], io(stderr, stdout, signals, env));
    const caughtUp = (instance: string) => records(stderr).some((r) => r.instance === instance && r.message === 'Fetch cycle finished' && r.fields?.backlog === false);
    await until(`${name}: both caught up`, () => caughtUp('alpha') && caughtUp('bravo'));
    signals.emit('SIGINT');
    expect(await exit).toBe(0);
    return { stdout: stdout.text, stderr: stderr.text };
  }

  function byInstance(events: readonly TraceEvent[]): Map<unknown, number> {
    const counts = new Map<unknown, number>();
    for (const event of events) counts.set(event.collector_instance, (counts.get(event.collector_instance) ?? 0) + 1);
    return counts;
  }

  it('stdout carries both instances as NDJSON, each event naming its instance', async () => {
    const { stdout } = await runTwo('stdout-sink', ['--sink', 'stdout']);
    const events = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as TraceEvent);
    const counts = byInstance(events);
    expect([...counts.keys()].sort()).toEqual(['alpha', 'bravo']);
    for (const n of counts.values()) expect(n).toBeGreaterThan(100);
    expect(new Set(events.map((e) => `${e.collector_instance}|${e.id}|${e.recipientAddress}|${e.status}`)).size).toBe(events.length);
  }, 120_000);

  it('xsiam receives both instances, the API key read from a file', async () => {
    const received: TraceEvent[] = [];
    const keys = new Set<string | undefined>();
    const server = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        keys.add(request.headers.authorization);
        const body = gunzipSync(Buffer.concat(chunks)).toString('utf8');
        for (const line of body.split('\n').filter(Boolean)) received.push(JSON.parse(line) as TraceEvent);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"error":false}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await writeFile(join(base, 'credentials', 'xsiam.key'), 'xsiam-key-0123456789\n', { mode: 0o600 });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/logs/v1/event`;
      const { stderr } = await runTwo('xsiam-sink', ['--sink', 'xsiam', '--xsiam-url', url], { O365MT_XSIAM_API_KEY_FILE: 'xsiam.key' });
      expect([...keys]).toEqual(['xsiam-key-0123456789']);
      expect(stderr).not.toContain('xsiam-key-0123456789');
      const counts = byInstance(received);
      expect([...counts.keys()].sort()).toEqual(['alpha', 'bravo']);
      for (const n of counts.values()) expect(n).toBeGreaterThan(100);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 120_000);
});
