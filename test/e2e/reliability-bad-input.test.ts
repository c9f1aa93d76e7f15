/**
 * Bad input through the CLI: every parameter and argument with a wrong value ends with exactly one line on
 * stderr that names the input and the accepted form, exit code 1, no stack trace, nothing on stdout, and
 * the state directory untouched (a populated one keeps every byte and mtime; a missing one is not created).
 *
 * Most cases run in one child process (test/helpers/reliability-cli-batch.ts calls runCli per case with
 * captured output); a few run as real `o365-message-trace` processes.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchCase, BatchResult } from '../helpers/reliability-cli-batch.js';
import { ROOT, runCliChild, runTs, snapshotDir } from '../helpers/reliability.js';

const TENANT = '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const SECRET = 'Xy8Q~bad-input-test-secret-value-0123456789';
const THUMBPRINT = 'AB'.repeat(20);
/** Loopback endpoints that refuse at once: nothing here may reach the network anyway. */
const BASE_ENV: Record<string, string> = {
  O365MT_URL: 'https://127.0.0.1:9',
  O365MT_AUTHORITY_URL: 'https://127.0.0.1:9',
  O365MT_TENANT_ID: TENANT,
  O365MT_CLIENT_ID: CLIENT,
  O365MT_CLIENT_SECRET: SECRET,
};

interface Case {
  name: string;
  argv: string[];
  env?: Record<string, string | undefined>;
  /** Names the input. */
  input: RegExp;
  /** States the accepted form. */
  accepted: RegExp;
  /** Use a state directory that does not exist (it must not be created); default the populated one. */
  fresh?: boolean;
  /** A state directory of its own (outside the watched one). */
  stateDir?: string;
}

const GET_EVENTS = 'o365-message-trace-get-events';
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

const CASES: Case[] = [
  { name: 'non-GUID tenant', argv: ['test-module', '--param', 'tenant_id=12345'], input: /tenant_id/, accepted: /a GUID such as/ },
  { name: 'tenant with spaces', argv: ['test-module', '--param', 'tenant_id=my tenant'], input: /tenant_id/, accepted: /verified domain/ },
  { name: 'non-GUID client id', argv: ['test-module', '--param', 'client_id=app'], input: /client_id/, accepted: /a GUID/ },
  { name: 'http:// server URL', argv: ['fetch-events', '--param', 'url=http://graph.microsoft.com'], input: /\burl\b/, accepted: /https:\/\/ and no path/ },
  { name: 'server URL with a path', argv: ['fetch-events', '--param', 'url=https://graph.microsoft.com/v1.0'], input: /\burl\b/, accepted: /https:\/\/ and no path/ },
  { name: 'server URL not a URL', argv: ['fetch-events', '--param', 'url=graph'], input: /\burl\b/, accepted: /https:\/\/ and no path/ },
  { name: 'http:// authority', argv: ['test-module', '--param', 'authority_url=http://login.microsoftonline.com'], input: /authority_url/, accepted: /https:\/\/ and no path/ },
  { name: 'max_fetch 0', argv: ['fetch-events', '--param', 'max_fetch=0'], input: /max_fetch/, accepted: /whole number from 1 to 1000000/ },
  { name: 'max_fetch -1', argv: ['fetch-events', '--param', 'max_fetch=-1'], input: /max_fetch/, accepted: /whole number from 1 to 1000000/ },
  { name: 'max_fetch abc', argv: ['fetch-events', '--param', 'max_fetch=abc'], input: /max_fetch/, accepted: /whole number from 1 to 1000000/ },
  { name: 'max_fetch 10^9', argv: ['fetch-events', '--param', 'max_fetch=1000000000'], input: /max_fetch/, accepted: /whole number from 1 to 1000000/ },
  { name: 'max_fetch 1.5', argv: ['fetch-events', '--param', 'max_fetch=1.5'], input: /max_fetch/, accepted: /whole number/ },
  { name: 'lookback over a day', argv: ['fetch-events', '--param', 'lookback_minutes=1441'], input: /lookback_minutes/, accepted: /0 to 1440/ },
  { name: 'fetch interval 0', argv: ['fetch-events', '--param', 'eventFetchInterval=0'], input: /eventFetchInterval/, accepted: /1 to 1440/ },
  {
    name: 'malformed thumbprint',
    argv: ['test-module', '--param', 'certificate_thumbprint=XYZ-not-hex'],
    env: { O365MT_CLIENT_SECRET: undefined, O365MT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' },
    input: /certificate_thumbprint/,
    accepted: /40 hex characters/,
  },
  {
    name: 'malformed PEM',
    argv: ['test-module', '--param', `certificate_thumbprint=${THUMBPRINT}`],
    env: { O365MT_CLIENT_SECRET: undefined, O365MT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nnot*base64!\n-----END PRIVATE KEY-----' },
    input: /private_key/,
    accepted: /Paste the PEM private key/,
  },
  {
    name: 'no PEM at all',
    argv: ['fetch-events', '--param', `certificate_thumbprint=${THUMBPRINT}`],
    env: { O365MT_CLIENT_SECRET: undefined, O365MT_PRIVATE_KEY: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC' },
    input: /private_key/,
    accepted: /Paste the PEM private key/,
    fresh: true,
  },
  {
    name: 'both secret and certificate',
    argv: ['fetch-events', '--param', `certificate_thumbprint=${THUMBPRINT}`],
    env: { O365MT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' },
    input: /client_secret and a certificate/,
    accepted: /keep only the one the app registration uses/,
    fresh: true,
  },
  {
    name: 'run (the collector loop) with secret and certificate',
    argv: ['run', '--param', `certificate_thumbprint=${THUMBPRINT}`],
    env: { O365MT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' },
    input: /client_secret and a certificate/,
    accepted: /keep only the one the app registration uses/,
    fresh: true,
  },
  { name: 'run with max_fetch abc', argv: ['run', '--param', 'max_fetch=abc'], input: /max_fetch/, accepted: /whole number from 1 to 1000000/ },
  {
    name: 'auth code without redirect URI',
    argv: ['o365-message-trace-auth-test'],
    env: { O365MT_AUTH_CODE: '1.AUTHCODE-bad-input-0.AbCdEfGh' },
    input: /auth_code is set but redirect_uri is missing/,
    accepted: /Authorization code: tenant_id, client_id, redirect_uri/,
  },
  {
    name: 'login URL without redirect URI',
    argv: ['o365-message-trace-generate-login-url'],
    input: /redirect_uri is missing/,
    accepted: /Web redirect URI registered on the app/,
  },
  { name: 'redirect URI over ftp', argv: ['o365-message-trace-generate-login-url', '--param', 'redirect_uri=ftp://x/y'], input: /redirect_uri/, accepted: /Web redirect URI/ },
  { name: 'managed identity id not a GUID', argv: ['test-module', '--param', 'use_managed_identities=true', '--param', 'managed_identities_client_id=me'], input: /managed_identities_client_id/, accepted: /a GUID/ },
  { name: 'checkbox maybe', argv: ['test-module', '--param', 'insecure=maybe'], input: /insecure/, accepted: /true or false/ },
  { name: 'CA that is no PEM', argv: ['test-module', '--param', 'ca_certificate=hello'], input: /ca_certificate/, accepted: /BEGIN CERTIFICATE/ },
  { name: 'unknown parameter', argv: ['test-module', '--param', 'max_fetchh=10'], input: /max_fetchh/, accepted: /Known parameters: url/ },
  { name: 'unparseable first_fetch', argv: ['fetch-events', '--param', 'first_fetch=yesterday-ish'], input: /first_fetch/, accepted: /ISO 8601 time/, fresh: true },
  { name: 'first_fetch over 90 days back', argv: ['fetch-events', '--param', 'first_fetch=100 days'], input: /first_fetch/, accepted: /at most 90 days back/, fresh: true },
  { name: 'first_fetch in the future', argv: ['fetch-events', '--param', 'first_fetch=2999-01-01T00:00:00Z'], input: /first_fetch/, accepted: /at most 90 days back/, fresh: true },
  { name: 'unknown status', argv: [GET_EVENTS, '--arg', 'status=lost'], input: /status/, accepted: /Use one of: gettingStatus, pending/ },
  { name: 'unparseable start_time', argv: [GET_EVENTS, '--arg', 'start_time=last tuesday'], input: /start_time/, accepted: /ISO 8601 time/ },
  { name: 'unparseable end_time', argv: [GET_EVENTS, '--arg', 'end_time=2024-13-45'], input: /end_time/, accepted: /ISO 8601 time/ },
  {
    name: 'reversed dates',
    argv: [GET_EVENTS, '--arg', `start_time=${hoursAgo(1)}`, '--arg', `end_time=${hoursAgo(3)}`],
    input: /end_time .* is before start_time/,
    accepted: /before start_time/,
    fresh: true,
  },
  { name: 'start_time over 90 days back', argv: [GET_EVENTS, '--arg', 'start_time=100 days ago'], input: /start_time/, accepted: /Use a start_time after/ },
  { name: 'start_time in the future', argv: [GET_EVENTS, '--arg', 'start_time=2999-01-01T00:00:00Z'], input: /start_time/, accepted: /in the future/ },
  { name: 'limit over 5000', argv: [GET_EVENTS, '--arg', 'limit=5001'], input: /limit/, accepted: /whole number from 1 to 5000/ },
  { name: 'limit negative', argv: [GET_EVENTS, '--arg', 'limit=-3'], input: /limit/, accepted: /whole number from 1 to 5000/ },
  { name: 'limit 0', argv: [GET_EVENTS, '--arg', 'limit=0'], input: /limit/, accepted: /whole number from 1 to 5000/ },
  { name: 'should_push_events=maybe', argv: [GET_EVENTS, '--arg', 'should_push_events=maybe'], input: /should_push_events/, accepted: /true, false/ },
  { name: 'sender not an address', argv: [GET_EVENTS, '--arg', 'sender_address=bob'], input: /sender_address/, accepted: /email address/ },
  { name: 'unknown argument', argv: [GET_EVENTS, '--arg', 'colour=red'], input: /colour/, accepted: /Its arguments are: limit/ },
  { name: 'argument to a command without any', argv: ['o365-message-trace-auth-reset', '--arg', 'force=true'], input: /force/, accepted: /takes no arguments/ },
  { name: 'get-details without id', argv: ['o365-message-trace-get-details', '--arg', 'recipient_address=a@b.c'], input: /\bid is required/, accepted: /id of an event/ },
  {
    name: 'state directory that cannot be created',
    argv: ['o365-message-trace-auth-reset'],
    stateDir: join(process.platform === 'linux' ? '/proc' : '/nonexistent-root', 'o365mt-state'),
    input: /state directory \/.*o365mt-state/,
    accepted: /Choose a writable directory with --state-dir/,
  },
  { name: 'state directory that is a file', argv: ['o365-message-trace-auth-reset'], stateDir: '/dev/null', input: /\/dev\/null/, accepted: /--state-dir/ },
  { name: 'unknown command', argv: ['fetch-eventz'], input: /fetch-eventz/, accepted: /Commands: test-module, fetch-events/ },
  { name: 'unknown option', argv: ['fetch-events', '--params', 'x=y'], input: /--params/, accepted: /--help/ },
  { name: '--param without =', argv: ['fetch-events', '--param', 'max_fetch'], input: /--param/, accepted: /id=value/ },
];

let base: string;
let populated: string;
const POPULATED_FILES: Record<string, string> = {
  'last-run.json': `${JSON.stringify({ version: 1, note: 'from an earlier run' })}\n`,
  'integration-context.json': `${JSON.stringify({ requestLog: { v: 1, base: 0, d: [] } })}\n`,
  'events.ndjson': `${JSON.stringify({ id: 'x', _time: '2026-01-01T00:00:00Z' })}\n`,
};

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-bad-input-'));
  populated = join(base, 'state');
  await mkdir(populated, { mode: 0o700 });
  for (const [name, content] of Object.entries(POPULATED_FILES)) await writeFile(join(populated, name), content, { mode: 0o600 });
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function stateDirFor(testCase: Case, index: number): string {
  if (testCase.stateDir) return testCase.stateDir;
  return testCase.fresh ? join(base, `fresh-${index}`) : populated;
}

function envFor(testCase: Case): Record<string, string> {
  const env: Record<string, string> = { ...BASE_ENV };
  for (const [name, value] of Object.entries(testCase.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function expectOneLineError(testCase: Case, result: { code: number | null; stdout: string; stderr: string }): void {
  const context = `${testCase.name}: ${JSON.stringify(result)}`;
  expect(result.code, context).toBe(1);
  expect(result.stdout, context).toBe('');
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  expect(lines, context).toHaveLength(1);
  const [line] = lines as [string];
  expect(line, context).toMatch(/^Error \[[a-z_]+\]: /);
  expect(line, context).toMatch(testCase.input);
  expect(line, context).toMatch(testCase.accepted);
  expect(line, context).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(line, context).not.toContain(SECRET);
}

describe('bad input through the CLI', () => {
  it(`${CASES.length} wrong values: one line naming the input and the accepted form, exit 1, state untouched`, async () => {
    const cases: BatchCase[] = CASES.map((testCase, index) => ({
      argv: [...testCase.argv, '--state-dir', stateDirFor(testCase, index)],
      env: envFor(testCase),
    }));
    const before = await snapshotDir(base);
    const run = await runTs(join(ROOT, 'test/helpers/reliability-cli-batch.ts'), [], {
      stdin: JSON.stringify({ cases, watchDir: base }),
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as BatchResult[];
    expect(results).toHaveLength(CASES.length);
    CASES.forEach((testCase, index) => {
      const result = results[index] as BatchResult;
      expectOneLineError(testCase, result);
      expect(result.changed, `${testCase.name} changed the state`).toEqual([]);
    });
    expect(await snapshotDir(base)).toEqual(before);
  }, 90_000);

  it('a valid command line still opens the state directory (the check is not vacuous)', async () => {
    const run = await runTs(join(ROOT, 'test/helpers/reliability-cli-batch.ts'), [], {
      stdin: JSON.stringify({
        cases: [{ argv: ['o365-message-trace-auth-reset', '--state-dir', join(base, 'valid')], env: BASE_ENV }],
        watchDir: base,
      }),
    });
    const [result] = JSON.parse(run.stdout) as BatchResult[];
    expect(result?.code, result?.stderr).toBe(0);
    expect(result?.changed.some((entry) => entry.startsWith('./valid'))).toBe(true);
    await rm(join(base, 'valid'), { recursive: true, force: true });
  }, 60_000);

  // A few cases as real processes: exit code and stderr as a shell sees them.
  const CHILD_CASES = ['non-GUID tenant', 'both secret and certificate', 'reversed dates', 'unknown argument'];
  it.each(CHILD_CASES)('as a real process: %s', async (name) => {
    const index = CASES.findIndex((testCase) => testCase.name === name);
    const testCase = CASES[index] as Case;
    const stateDir = join(base, `child-${index}`);
    const before = await snapshotDir(populated);
    const result = await runCliChild([...testCase.argv, '--state-dir', testCase.fresh ? stateDir : populated], { env: envFor(testCase) });
    expect(result.signal).toBeNull();
    expectOneLineError(testCase, result);
    expect(await snapshotDir(populated)).toEqual(before);
    expect((await snapshotDir(stateDir))['.']).toBe('absent');
  }, 60_000);
});
