/** The pure parts of the collector service: secrets from files, instance plans, retry delays, readiness, JSON logs. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planInstances } from '../../src/cli/instance-plan.js';
import { collectParams } from '../../src/cli/params.js';
import { findInstanceDirs, formatStatus } from '../../src/cli/status.js';
import { formatJsonLogLine, withLogFields } from '../../src/standalone/stderr-logger.js';
import type { Logger } from '../../src/engine/types.js';
import { isIntegrationError } from '../../src/errors.js';
import { parseListenAddress, readiness } from '../../src/service/health.js';
import { createGate, retryDelayMs } from '../../src/service/instances.js';
import { lookbackProgress } from '../../src/service/metrics.js';
import { readSecretFile, withSecretFiles } from '../../src/standalone/secret-files.js';

const SECRET_IDS = new Set(['client_secret', 'private_key', 'auth_code']);
const PARAM_IDS = ['tenant_id', 'client_id', 'client_secret', 'private_key', 'auth_code', 'max_fetch'];
const SECRET = 'abc8Q~very-secret-value-0123456789';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'o365mt-secret-files-'));
  await mkdir(join(dir, 'creds'));
  await writeFile(join(dir, 'creds', 'secret'), `${SECRET}\n`);
  await writeFile(join(dir, 'empty'), '\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function plan(config: Record<string, unknown>, env: Record<string, string> = {}, flags: Array<[string, string]> = []) {
  return planInstances({ paramIds: PARAM_IDS, secretIds: SECRET_IDS, config, configPath: 'c.json', env, fromFlags: flags, stateDir: '/state' });
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('secrets from files', () => {
  it('reads the value without its trailing line break; a relative path lies in $CREDENTIALS_DIRECTORY', async () => {
    const env = { CREDENTIALS_DIRECTORY: join(dir, 'creds') };
    expect(await readSecretFile({ param: 'client_secret', path: 'secret', source: 'client_secret_file' }, env)).toBe(SECRET);
    expect(await withSecretFiles({ a: 1 }, [{ param: 'client_secret', path: join(dir, 'creds', 'secret'), source: 'x' }], {})).toEqual({ a: 1, client_secret: SECRET });
  });

  it('a missing or empty file is an error naming the file and the parameter, never the content', async () => {
    const missing = await errorOf(readSecretFile({ param: 'client_secret', path: join(dir, 'nope'), source: 'O365MT_CLIENT_SECRET_FILE' }, {}));
    expect(isIntegrationError(missing)).toBe(true);
    expect(missing.message).toContain(join(dir, 'nope'));
    expect(missing.message).toMatch(/client_secret .*O365MT_CLIENT_SECRET_FILE.*does not exist/);
    const empty = await errorOf(readSecretFile({ param: 'private_key', path: join(dir, 'empty'), source: 'private_key_file in x' }, {}));
    expect(empty.message).toMatch(/is empty; it must hold the private_key value/);
    const directory = await errorOf(readSecretFile({ param: 'auth_code', path: join(dir, 'creds'), source: 's' }, {}));
    expect(directory.message).toMatch(/it is a directory/);
    expect(`${missing.message}${empty.message}${directory.message}`).not.toContain(SECRET);
  });

  it('O365MT_<SECRET>_FILE is no "unknown variable"', () => {
    const collected = collectParams({ paramIds: PARAM_IDS, secretIds: SECRET_IDS, fromFile: {}, env: { O365MT_CLIENT_SECRET_FILE: '/x', O365MT_XSIAM_API_KEY_FILE: '/y', O365MT_BOGUS_FILE: '/z' }, fromFlags: [] });
    expect(collected.warnings).toHaveLength(1);
    expect(collected.warnings[0]).toMatch(/^O365MT_BOGUS_FILE is not a parameter/);
  });
});

describe('planInstances', () => {
  it('keeps the single-tenant form: the state directory itself, no name', () => {
    const result = plan({ tenant_id: 't', client_secret_file: 's' });
    expect(result.problems).toEqual([]);
    expect(result.instances).toEqual([
      { name: undefined, dir: '/state', params: { tenant_id: 't' }, secretFiles: [{ param: 'client_secret', path: 's', source: 'client_secret_file in the config file c.json' }] },
    ]);
  });

  it('gives every instance its directory; the instance entries win over shared ones, files and values alike', () => {
    const result = plan(
      {
        max_fetch: '100',
        client_secret_file: 'shared.secret',
        xsiam_api_key_file: 'xsiam.key',
        instances: [
          { name: 'a', tenant_id: 'ta' },
          { name: 'b', tenant_id: 'tb', client_secret: 'inline', max_fetch: '5' },
          { name: 'c', tenant_id: 'tc', client_secret_file: 'c.secret' },
        ],
      },
      { O365MT_CLIENT_ID: 'cid' },
    );
    expect(result.problems).toEqual([]);
    expect(result.xsiamApiKeyFile?.path).toBe('xsiam.key');
    const [a, b, c] = result.instances;
    expect(a).toMatchObject({ name: 'a', dir: '/state/a', params: { max_fetch: '100', client_id: 'cid', tenant_id: 'ta' } });
    expect(a?.secretFiles.map((ref) => ref.path)).toEqual(['shared.secret']);
    expect(b).toMatchObject({ name: 'b', dir: '/state/b', params: { client_secret: 'inline', max_fetch: '5' }, secretFiles: [] });
    expect(c?.secretFiles.map((ref) => ref.path)).toEqual(['c.secret']);
  });

  it('an environment value or file replaces a file named in the config file; both forms at once is a mistake', () => {
    expect(plan({ client_secret_file: 'f' }, { O365MT_CLIENT_SECRET: 'v' }).instances[0]?.secretFiles).toEqual([]);
    expect(plan({ client_secret_file: 'f' }, { O365MT_CLIENT_SECRET_FILE: 'g' }).instances[0]?.secretFiles.map((r) => r.path)).toEqual(['g']);
    expect(plan({}, { O365MT_CLIENT_SECRET_FILE: 'g' }, [['client_secret', 'typed']]).instances[0]?.secretFiles).toEqual([]);
    expect(plan({}, { O365MT_CLIENT_SECRET: 'v', O365MT_CLIENT_SECRET_FILE: 'g' }).problems[0]).toMatch(/Both O365MT_CLIENT_SECRET and O365MT_CLIENT_SECRET_FILE/);
  });

  it('reports every mistake in the instance list at once, without values', () => {
    expect(plan({ instances: [] }).problems[0]).toMatch(/instances must list at least one instance/);
    const result = plan({
      instances: [{ name: 'Bad Name' }, { name: 'a' }, { name: 'a' }, { name: 'b', client_secret: SECRET, client_secret_file: 'x' }, { name: 'c', private_key_file: 3 }],
    });
    expect(result.problems.join('\n')).toMatch(/instances\[0\]\.name must be a short slug/);
    const second = plan({ instances: [{ name: 'a' }, { name: 'a' }, { name: 'b', client_secret: SECRET, client_secret_file: 'x' }, { name: 'c', private_key_file: 3 }] });
    expect(second.problems).toEqual([
      "instances[1] repeats the name 'a'; every instance needs its own name (it names its state directory).",
      "instance 'b' of the config file c.json sets both client_secret and client_secret_file; keep one of them.",
      "private_key_file in instance 'c' of the config file c.json must be the path of a file holding private_key, as a string.",
    ]);
    expect(second.problems.join('')).not.toContain(SECRET);
  });
});

describe('retries, concurrency, readiness', () => {
  it('the wait after a failure doubles up to the cap', () => {
    const delays = { initialMs: 30_000, maxMs: 300_000 };
    expect([1, 2, 3, 4, 5, 6, 100].map((n) => retryDelayMs(n, delays))).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
  });

  it('the gate lets at most N runs through at a time, in arrival order', async () => {
    const gate = createGate(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const release: Array<() => void> = [];
    const runs = [0, 1, 2, 3, 4].map((i) =>
      gate(async () => {
        order.push(i);
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
      }),
    );
    while (order.length < 5) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      release.shift()?.();
    }
    for (const r of release) r();
    await Promise.all(runs);
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('is ready when every instance succeeded within N intervals; names the others with their last error', () => {
    const now = 10 * 60_000;
    const base = { intervalMs: 60_000, lastError: undefined, consecutiveFailures: 0 };
    expect(readiness([{ ...base, instance: 'a', lastSuccessAtMs: now - 180_000 }], now, 3)).toEqual({ ready: true, failing: [] });
    const state = readiness(
      [
        { ...base, instance: 'a', lastSuccessAtMs: now - 181_000 },
        { ...base, instance: 'b', lastSuccessAtMs: undefined, lastError: { code: 'auth_failed', message: 'AADSTS7000215 wrong secret' }, consecutiveFailures: 4 },
        { ...base, instance: 'c', lastSuccessAtMs: now },
      ],
      now,
      3,
    );
    expect(state.ready).toBe(false);
    expect(state.failing).toEqual([
      { instance: 'a', reason: 'no successful run for 181 s (allowed 180 s)' },
      { instance: 'b', reason: 'no successful run yet; 4 failed in a row, last error [auth_failed] AADSTS7000215 wrong secret' },
    ]);
  });

  it('parses --metrics-listen addresses', () => {
    expect(parseListenAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['9464', 'localhost:', 'host:99999', ':80']) expect(() => parseListenAddress(bad)).toThrow(/--metrics-listen must be HOST:PORT/);
  });

  it('look-back round progress: 1 when complete, else the share re-read', () => {
    const summary = { rowsRead: 0, behindMs: 0, backlog: false, cursor: '2026-01-01T00:00:00.000Z', readUpTo: '2026-01-01T00:10:00.000Z' };
    expect(lookbackProgress(summary)).toBe(1);
    expect(lookbackProgress({ ...summary, lookback: { continuesNextRun: true, rereadFrom: '2026-01-01T00:02:30.000Z' } })).toBe(0.25);
  });
});

describe('logs', () => {
  it('json: one object a line with time, level, message, instance lifted out of the fields', () => {
    const line = formatJsonLogLine(Date.UTC(2026, 0, 1), 'warn', 'Fetch cycle failed', { instance: 'a', code: 'x', skipped: undefined, error: new Error('boom') });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trim().includes('\n')).toBe(false);
    expect(JSON.parse(line)).toEqual({ time: '2026-01-01T00:00:00.000Z', level: 'warn', message: 'Fetch cycle failed', instance: 'a', fields: { code: 'x', error: 'boom' } });
    expect(JSON.parse(formatJsonLogLine(0, 'info', 'm\nn'))).toEqual({ time: '1970-01-01T00:00:00.000Z', level: 'info', message: 'm\nn' });
  });

  it('a per-instance logger adds its fields to every record', () => {
    const seen: Array<Record<string, unknown> | undefined> = [];
    const sink: Logger = { debug: () => {}, info: (_m, f) => seen.push(f), warn: (_m, f) => seen.push(f), error: () => {} };
    const log = withLogFields(sink, { instance: 'a' });
    log.info('x', { n: 1 });
    log.warn('y');
    expect(seen).toEqual([{ instance: 'a', n: 1 }, { instance: 'a' }]);
  });
});

describe('status', () => {
  it('finds the single-tenant directory and instance folders that hold collector state, and says so when none do', async () => {
    const root = join(dir, 'state');
    await mkdir(join(root, 'b'), { recursive: true });
    await mkdir(join(root, 'a'), { recursive: true });
    await mkdir(join(root, 'empty'), { recursive: true });
    await writeFile(join(root, 'b', 'collector-status.json'), '{}');
    await writeFile(join(root, 'a', 'last-run.json'), '{}');
    expect(await findInstanceDirs(root)).toEqual([
      { instance: 'a', dir: join(root, 'a') },
      { instance: 'b', dir: join(root, 'b') },
    ]);
    await expect(findInstanceDirs(join(root, 'empty'))).rejects.toThrow(/holds no collector state yet/);
    await expect(findInstanceDirs(join(root, 'missing'))).rejects.toThrow(/Cannot read the state directory .*missing: it does not exist/);
  });

  it('prints one block per instance with its position, last run, requests and last error', () => {
    const text = formatStatus([
      {
        instance: 'contoso',
        dir: '/s/contoso',
        position: '2026-11-30T09:00:00.000Z',
        readUpTo: '2026-11-30T09:04:00.000Z',
        lagSeconds: 95,
        backlogSeconds: 0,
        lastRun: { startedAt: '2026-11-30T09:05:00.000Z', durationMs: 1200, outcome: 'failed', events: 0, backlog: false },
        lastSuccessAt: '2026-11-30T09:04:30.000Z',
        consecutiveFailures: 2,
        lastError: { code: 'auth_failed', message: 'AADSTS7000215: wrong secret', at: '2026-11-30T09:05:01.000Z' },
        requestsLast5Minutes: 7,
        requestBudget: 90,
        problems: [],
      },
    ]);
    expect(text).toBe(
      [
        'contoso  /s/contoso',
        '  position      2026-11-30T09:00:00.000Z (read up to 2026-11-30T09:04:00.000Z; lag 95 s, backlog 0 s)',
        '  last run      2026-11-30T09:05:00.000Z failed, 0 events, 1 s',
        '  last success  2026-11-30T09:04:30.000Z (2 failed since)',
        '  requests      7 of 90 in the last 5 minutes',
        '  last error    2026-11-30T09:05:01.000Z [auth_failed] AADSTS7000215: wrong secret',
        '',
      ].join('\n'),
    );
  });
});
