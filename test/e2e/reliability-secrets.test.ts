/**
 * Secret hygiene and boundaries, through the CLI with state directories, against the simulated tenant:
 * - every command, with every sign-in method, succeeding and failing, leaves no client secret, private key
 *   (or any base64 line of it), authorization code, access token or refresh token in stdout, stderr (logs at
 *   debug level included), errors, events or any file of the state directory — except the token caches in
 *   the integration context (MSAL's cache; the managed identity token), which is where tokens rest;
 * - state files are 0600 and the directory 0700;
 * - with a state key (O365MT_STATE_KEY_FILE), after every sign-in method has run, no token, refresh token or
 *   JWT-shaped string is readable in any state file (the tokens are there, sealed: the key opens them), and a
 *   wrong key ends with the state_key error while the fetch position stays as it was;
 * - the bearer token only goes to the configured Graph origin: not to a host a nextLink or a redirect names;
 * - OData filter values with quotes and operators cannot change what the filter means.
 *
 * Commands run in one CLI child process per phase (helpers/reliability-cli-batch.ts), plus one real
 * `o365-message-trace` process.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileEngine } from '../../src/standalone/file-engine.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type GroundTruthRow, type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { signIn } from '../helpers/auth-e2e.js';
import type { BatchCase, BatchResult } from '../helpers/reliability-cli-batch.js';
import { type GraphFront, startGraphFront } from '../helpers/reliability-proxy.js';
import { ROOT, paramFlags, runCliChild, runTs } from '../helpers/reliability.js';

let sim: SimulatedTenant;
let front: GraphFront;
let base: string;
/** Everything the commands printed: stdout and stderr of every case and of the batch processes. */
const printed: string[] = [];
/** Secrets and tokens seen so far; none may appear outside the token caches. */
const secrets = new Map<string, string>();
const results = new Map<string, BatchResult>();

const GET_EVENTS = 'o365-message-trace-get-events';
const dir = (name: string) => join(base, name);

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-secrets-'));
  sim = await startSimulatedTenant({ seed: 31, ratePerDay: 3000, historyDays: 1, maxDelaySeconds: 30, statusDelaySeconds: 60 });
  front = await startGraphFront(sim, { now: Date.now, seed: 9 });
  secrets.set('client secret', sim.clientSecret);
  const key = await readFile(sim.privateKeyPath, 'utf8');
  secrets.set('private key', key.trim());
  const lines = key.split('\n').filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line.trim()));
  for (const [i, line] of lines.entries()) secrets.set(`private key line ${i}`, line.trim());
});

afterAll(async () => {
  await front?.stop();
  await sim?.stop();
  await rm(base, { recursive: true, force: true });
});

/** Params as a user sets them: non-secrets with --param, secrets in O365MT_ variables. */
function command(
  name: string,
  stateDir: string,
  params: Record<string, unknown>,
  secretEnv: Record<string, string>,
  args: Record<string, string> = {},
  json = false,
): BatchCase {
  const argv = [name, '--state-dir', stateDir, ...paramFlags(params)];
  for (const [arg, value] of Object.entries(args)) argv.push('--arg', `${arg}=${value}`);
  if (json) argv.push('--json');
  return { argv, env: { O365MT_LOG_LEVEL: 'debug', ...secretEnv } };
}

function graphParams(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    url: sim.graphUrl,
    authority_url: sim.authorityUrl,
    tenant_id: sim.tenantId,
    client_id: sim.clientId,
    ca_certificate: sim.caCertPem,
    first_fetch: '1 hour',
    ...extra,
  };
}

/** Managed identity through the simulator's IMDS, whatever the machine running the tests has set. */
function managedIdentityEnv(): Record<string, string | undefined> {
  return {
    AZURE_POD_IDENTITY_AUTHORITY_HOST: sim.imdsUrl,
    IDENTITY_ENDPOINT: undefined,
    IDENTITY_HEADER: undefined,
    MSI_ENDPOINT: undefined,
    MSI_SECRET: undefined,
    IMDS_ENDPOINT: undefined,
  };
}

async function runBatch(cases: Record<string, BatchCase>, env: Record<string, string | undefined> = {}): Promise<void> {
  const names = Object.keys(cases);
  const run = await runTs(join(ROOT, 'test/helpers/reliability-cli-batch.ts'), [], {
    stdin: JSON.stringify({ cases: Object.values(cases), watchDir: base }),
    env,
    timeoutMs: 120_000,
  });
  printed.push(run.stderr);
  expect(run.code, run.stderr).toBe(0);
  const batch = JSON.parse(run.stdout) as BatchResult[];
  batch.forEach((result, i) => {
    results.set(names[i] as string, result);
    printed.push(result.stdout, result.stderr);
  });
  await collectTokens();
}

/** Tokens rest in the integration context: MSAL's cache (`msalCache`) and the managed identity token. */
async function collectTokens(): Promise<void> {
  for (const name of await readdir(base)) {
    const context = await readJson(join(base, name, 'integration-context.json'));
    if (context === undefined) continue;
    if (typeof context.msalCache === 'string') {
      const cache = JSON.parse(context.msalCache) as Record<string, Record<string, { secret?: string; credential_type?: string }>>;
      for (const [section, entries] of Object.entries(cache)) {
        for (const entry of Object.values(entries ?? {})) {
          if (typeof entry?.secret === 'string' && entry.secret.length >= 16) secrets.set(`${section} in ${name}`, entry.secret);
        }
      }
    }
    const managed = (context.tokenCache as { managedIdentity?: { accessToken?: string } } | undefined)?.managedIdentity?.accessToken;
    if (managed) secrets.set(`managed identity token in ${name}`, managed);
  }
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function expectOk(name: string): BatchResult {
  const result = results.get(name);
  expect(result?.code, `${name}: ${result?.stderr}`).toBe(0);
  return result as BatchResult;
}

function expectFailure(name: string, code: RegExp): BatchResult {
  const result = results.get(name);
  expect(result?.code, name).toBe(1);
  expect(result?.stderr, name).toMatch(code);
  return result as BatchResult;
}

describe('secret hygiene across every command', () => {
  let authCode = '';
  let sample: GroundTruthRow | undefined;

  it('successes: every command with each sign-in method', async () => {
    const secretEnv = { O365MT_CLIENT_SECRET: sim.clientSecret };
    const certEnv = { O365MT_PRIVATE_KEY: await readFile(sim.privateKeyPath, 'utf8') };
    const certParams = graphParams({ certificate_thumbprint: sim.certificateThumbprint });
    const codeParams = graphParams({ redirect_uri: sim.redirectUri });
    authCode = await signIn(sim, { ...codeParams, client_secret: sim.clientSecret });
    secrets.set('auth code', authCode);
    const codeEnv = { ...secretEnv, O365MT_AUTH_CODE: authCode };
    const miParams = { url: sim.graphUrl, authority_url: sim.authorityUrl, ca_certificate: sim.caCertPem, use_managed_identities: 'true', first_fetch: '1 hour' };
    const now = Date.now();
    sample = sim.groundTruth(now - 3_600_000, now - 600_000).find((row) => row.status !== null);
    expect(sample).toBeDefined();

    await runBatch(
      {
        'secret test-module': command('test-module', dir('secret'), graphParams(), secretEnv),
        'secret auth-test': command('o365-message-trace-auth-test', dir('secret'), graphParams(), secretEnv),
        'secret fetch-events': command('fetch-events', dir('secret'), graphParams(), secretEnv),
        'secret get-events push': command(GET_EVENTS, dir('secret'), graphParams(), secretEnv, { should_push_events: 'true', limit: '20' }),
        'secret get-details': command('o365-message-trace-get-details', dir('secret'), graphParams(), secretEnv, {
          id: sample?.id ?? '',
          recipient_address: sample?.recipientAddress ?? '',
        }),
        'certificate test-module': command('test-module', dir('certificate'), certParams, certEnv),
        'certificate fetch-events': command('fetch-events', dir('certificate'), certParams, certEnv),
        'code login url': command('o365-message-trace-generate-login-url', dir('code'), codeParams, secretEnv),
        'code auth-test': command('o365-message-trace-auth-test', dir('code'), codeParams, codeEnv),
        'code fetch-events': command('fetch-events', dir('code'), codeParams, codeEnv),
        'code get-events': command(GET_EVENTS, dir('code'), codeParams, codeEnv, { limit: '5' }),
        'managed identity test-module': command('test-module', dir('managed'), miParams, {}),
        'managed identity fetch-events': command('fetch-events', dir('managed'), miParams, {}),
      },
      managedIdentityEnv(),
    );
    for (const name of results.keys()) expectOk(name);
    expect(results.get('secret get-events push')?.stdout).toContain('event(s) sent to the event sink');
    expect(results.get('code login url')?.stdout).toContain('oauth2/v2.0/authorize');
    // The caches really hold what is scanned for.
    const kinds = [...secrets.keys()].join(', ');
    for (const kind of ['AccessToken in secret', 'AccessToken in certificate', 'AccessToken in code', 'RefreshToken in code', 'managed identity token in managed']) {
      expect(kinds).toContain(kind);
    }
  }, 120_000);

  it('failures: wrong secret, bad params, missing permission, revoked refresh token; then auth-reset', async () => {
    const wrongSecret = `${sim.clientSecret.slice(0, 8)}-not-the-secret-value-0123`;
    secrets.set('wrong secret', wrongSecret);
    const typedSecret = 'Typed~On-The-Command-Line-0123456789';
    secrets.set('secret typed on the command line', typedSecret);
    sim.revokeRefreshTokens();
    sim.configure({ faults: { '401': 1 } });
    try {
      await runBatch({
        'wrong secret': command('test-module', dir('wrong'), graphParams(), { O365MT_CLIENT_SECRET: wrongSecret }),
        'secret on the command line, bad max_fetch': {
          argv: ['fetch-events', '--state-dir', dir('typed'), ...paramFlags(graphParams({ client_secret: typedSecret, max_fetch: 'lots' }))],
          env: { O365MT_LOG_LEVEL: 'debug' },
        },
        'malformed private key': command('test-module', dir('badkey'), graphParams({ certificate_thumbprint: sim.certificateThumbprint }), {
          O365MT_PRIVATE_KEY: (secrets.get('private key') ?? '').replace(/\n[A-Za-z0-9+/]{64}\n/, '\n!!not-base64!!\n'),
        }),
        'revoked refresh token': command('fetch-events', dir('code'), graphParams({ redirect_uri: sim.redirectUri }), {
          O365MT_CLIENT_SECRET: sim.clientSecret,
          O365MT_AUTH_CODE: authCode,
        }),
        'code redeemed twice': command('o365-message-trace-auth-test', dir('code-again'), graphParams({ redirect_uri: sim.redirectUri }), {
          O365MT_CLIENT_SECRET: sim.clientSecret,
          O365MT_AUTH_CODE: authCode,
        }),
      });
      sim.configure({ faults: {}, grantedRoles: [] });
      await runBatch({
        'missing permission': command('fetch-events', dir('forbidden'), graphParams(), { O365MT_CLIENT_SECRET: sim.clientSecret }),
        'secret auth-reset': command('o365-message-trace-auth-reset', dir('secret'), graphParams(), { O365MT_CLIENT_SECRET: sim.clientSecret }),
        'code auth-reset': command('o365-message-trace-auth-reset', dir('code'), graphParams({ redirect_uri: sim.redirectUri }), {
          O365MT_CLIENT_SECRET: sim.clientSecret,
          O365MT_AUTH_CODE: authCode,
        }),
      });
    } finally {
      sim.configure({ faults: {}, grantedRoles: ['ExchangeMessageTrace.Read.All'] });
    }
    expectFailure('wrong secret', /Error \[auth_failed\].*client_secret/i);
    const typed = expectFailure('secret on the command line, bad max_fetch', /Error \[invalid_param\].*max_fetch/);
    expect(typed.stderr).toContain('client_secret was given with --param');
    expectFailure('malformed private key', /Error \[auth_config\].*private_key/);
    expectFailure('revoked refresh token', /Error \[auth_grant_expired\]/);
    expectFailure('code redeemed twice', /Error \[auth_(grant_expired|failed)\]/);
    expectFailure('missing permission', /Error \[graph_forbidden\].*ExchangeMessageTrace\.Read\.All/);
    expectOk('secret auth-reset');
    expectOk('code auth-reset');
    // auth-reset leaves no token behind.
    for (const name of ['secret', 'code']) {
      const context = await readJson(join(dir(name), 'integration-context.json'));
      expect(context?.msalCache ?? '', name).toBe('');
    }
  }, 120_000);

  it('the real process: fetch-events and a failing get-events print no secret', async () => {
    const env = { O365MT_CLIENT_SECRET: sim.clientSecret, O365MT_LOG_LEVEL: 'debug' };
    const ok = await runCliChild(['fetch-events', '--state-dir', dir('process'), ...paramFlags(graphParams())], { env });
    expect(ok.code, ok.stderr).toBe(0);
    const failed = await runCliChild([GET_EVENTS, '--state-dir', dir('process'), ...paramFlags(graphParams()), '--arg', 'limit=9999'], { env });
    expect(failed.code).toBe(1);
    printed.push(ok.stdout, ok.stderr, failed.stdout, failed.stderr);
    await collectTokens();
  }, 60_000);

  it('no secret or token anywhere outside the token caches; state files 0600, directories 0700', async () => {
    const texts: [string, string][] = printed.map((text, i) => [`output ${i}`, text]);
    for (const stateDir of await readdir(base)) {
      const info = await stat(join(base, stateDir));
      if (!info.isDirectory()) continue;
      expect((info.mode & 0o777).toString(8), stateDir).toBe('700');
      for (const file of await readdir(join(base, stateDir))) {
        const path = join(base, stateDir, file);
        expect(((await stat(path)).mode & 0o777).toString(8), path).toBe('600');
        let text = await readFile(path, 'utf8');
        if (file === 'integration-context.json') {
          const context = JSON.parse(text) as Record<string, unknown>;
          delete context.msalCache;
          const tokenCache = context.tokenCache as { managedIdentity?: { accessToken?: string } } | undefined;
          if (tokenCache?.managedIdentity) tokenCache.managedIdentity.accessToken = '';
          text = JSON.stringify(context);
          // The cache never holds the client secret, the key or the code, only tokens.
          const raw = await readFile(path, 'utf8');
          for (const kind of ['client secret', 'private key', 'auth code', 'wrong secret']) {
            expect(raw.includes(secrets.get(kind) ?? '\u0000'), `${kind} in ${path}`).toBe(false);
          }
        }
        texts.push([path, text]);
      }
    }
    expect(texts.length).toBeGreaterThan(20);
    expect(secrets.size).toBeGreaterThan(10);
    const leaks: string[] = [];
    for (const [where, text] of texts) {
      for (const [kind, secret] of secrets) if (text.includes(secret)) leaks.push(`${kind} in ${where}`);
    }
    expect(leaks).toEqual([]);
  });
});

describe('with a state key: tokens encrypted at rest', () => {
  /** A JWT: three base64url parts, the first two starting with `{"` encoded (eyJ). */
  const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
  let keyDir: string;
  let keyFile: string;
  const keyed = (name: string) => dir(`keyed-${name}`);

  beforeAll(async () => {
    // Outside `base`: the key is not part of any state directory (nor of the scans above).
    keyDir = await mkdtemp(join(tmpdir(), 'o365mt-secrets-key-'));
    keyFile = join(keyDir, 'state.key');
    await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await rm(keyDir, { recursive: true, force: true });
  });

  /** Token strings inside the sealed contexts, opened with the key: what must not be readable on disk. */
  async function sealedTokens(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const name of ['secret', 'certificate', 'code', 'managed', 'workload']) {
      const engine = await openFileEngine({ dir: keyed(name), stateKeyFile: keyFile, log: new MemoryEngine().log });
      try {
        const context = (await engine.getIntegrationContext()) as Record<string, unknown>;
        const cache = JSON.parse(typeof context.msalCache === 'string' ? context.msalCache : '{}') as Record<string, Record<string, { secret?: string }>>;
        for (const [section, entries] of Object.entries(cache)) {
          for (const entry of Object.values(entries ?? {})) {
            if (typeof entry?.secret === 'string' && entry.secret.length >= 16) found.set(`${section} in keyed-${name}`, entry.secret);
          }
        }
        const managed = (context.tokenCache as { managedIdentity?: { accessToken?: string } } | undefined)?.managedIdentity?.accessToken;
        if (managed) found.set(`managed identity token in keyed-${name}`, managed);
      } finally {
        await engine.close();
      }
    }
    return found;
  }

  it('after every sign-in method, no token, refresh token or JWT-shaped string is readable in any state file', async () => {
    const keyEnv = { O365MT_STATE_KEY_FILE: keyFile };
    const secretEnv = { ...keyEnv, O365MT_CLIENT_SECRET: sim.clientSecret };
    const certParams = graphParams({ certificate_thumbprint: sim.certificateThumbprint });
    const certEnv = { ...keyEnv, O365MT_PRIVATE_KEY: await readFile(sim.privateKeyPath, 'utf8') };
    const codeParams = graphParams({ redirect_uri: sim.redirectUri });
    const code = await signIn(sim, { ...codeParams, client_secret: sim.clientSecret });
    const codeEnv = { ...secretEnv, O365MT_AUTH_CODE: code };
    const miParams = { url: sim.graphUrl, authority_url: sim.authorityUrl, ca_certificate: sim.caCertPem, use_managed_identities: 'true', first_fetch: '1 hour' };
    const wiParams = graphParams({ use_workload_identity: 'true', federated_token_file: sim.federatedTokenPath });
    sim.configureFederatedCredential({});
    await sim.rotateFederatedToken();
    // A state directory that first ran without a key: the keyed run must seal what is already there.
    await runBatch({ 'plain before the key': command('fetch-events', keyed('code'), graphParams(), { O365MT_CLIENT_SECRET: sim.clientSecret }) });
    await runBatch(
      {
        'keyed secret test-module': command('test-module', keyed('secret'), graphParams(), secretEnv),
        'keyed secret fetch-events': command('fetch-events', keyed('secret'), graphParams(), secretEnv),
        'keyed secret get-events': command(GET_EVENTS, keyed('secret'), graphParams(), secretEnv, { limit: '5' }),
        'keyed certificate fetch-events': command('fetch-events', keyed('certificate'), certParams, certEnv),
        'keyed code auth-test': command('o365-message-trace-auth-test', keyed('code'), codeParams, codeEnv),
        'keyed code fetch-events': command('fetch-events', keyed('code'), codeParams, codeEnv),
        'keyed managed identity fetch-events': command('fetch-events', keyed('managed'), miParams, keyEnv),
        'keyed workload identity test-module': command('test-module', keyed('workload'), wiParams, keyEnv),
        'keyed workload identity fetch-events': command('fetch-events', keyed('workload'), wiParams, keyEnv),
      },
      { ...managedIdentityEnv(), AZURE_FEDERATED_TOKEN_FILE: undefined },
    );
    for (const name of results.keys()) if (name.startsWith('keyed ') || name === 'plain before the key') expectOk(name);

    const tokens = await sealedTokens();
    const kinds = [...tokens.keys()].join(', ');
    for (const kind of ['AccessToken in keyed-secret', 'AccessToken in keyed-certificate', 'AccessToken in keyed-code', 'RefreshToken in keyed-code', 'managed identity token in keyed-managed', 'AccessToken in keyed-workload']) {
      expect(kinds).toContain(kind);
    }
    const federated = (await readFile(sim.federatedTokenPath, 'utf8')).trim();
    tokens.set('federated identity token', federated);
    tokens.set('auth code', code);
    const leaks: string[] = [];
    let files = 0;
    for (const name of ['secret', 'certificate', 'code', 'managed', 'workload']) {
      for (const file of await readdir(keyed(name))) {
        const text = await readFile(join(keyed(name), file), 'utf8');
        files++;
        if (file === 'integration-context.json') expect(JSON.parse(text), `keyed-${name}`).toMatchObject({ format: 'o365mt-sealed', algorithm: 'AES-256-GCM' });
        if (JWT_SHAPE.test(text)) leaks.push(`a JWT-shaped string in keyed-${name}/${file}`);
        if (/"(secret|refresh_token|access_token|accessToken)"/.test(text)) leaks.push(`a token field in keyed-${name}/${file}`);
        for (const [kind, token] of tokens) if (text.includes(token)) leaks.push(`${kind} in keyed-${name}/${file}`);
      }
    }
    for (const name of results.keys()) {
      if (!name.startsWith('keyed ')) continue;
      const result = results.get(name) as BatchResult;
      for (const [kind, token] of tokens) if ((result.stdout + result.stderr).includes(token)) leaks.push(`${kind} in the output of ${name}`);
    }
    expect(files).toBeGreaterThanOrEqual(15);
    expect(leaks).toEqual([]);
  }, 180_000);

  it('a wrong key: the clear state_key error, and the fetch position untouched', async () => {
    const otherKey = join(keyDir, 'other.key');
    await writeFile(otherKey, randomBytes(32).toString('hex'), { mode: 0o600 });
    const positionBefore = await readFile(join(keyed('code'), 'last-run.json'));
    const contextBefore = await readFile(join(keyed('code'), 'integration-context.json'));
    const env = { O365MT_STATE_KEY_FILE: otherKey, O365MT_CLIENT_SECRET: sim.clientSecret };
    await runBatch({
      'wrong key fetch-events': command('fetch-events', keyed('code'), graphParams({ redirect_uri: sim.redirectUri }), env),
      'no key fetch-events': command('fetch-events', keyed('code'), graphParams({ redirect_uri: sim.redirectUri }), { O365MT_CLIENT_SECRET: sim.clientSecret }),
    });
    const wrong = expectFailure('wrong key fetch-events', /Error \[state_key\]: The saved tokens in .*integration-context\.json were encrypted with a different state key/);
    expect(wrong.stderr).toContain(otherKey);
    expect(wrong.stderr).toMatch(/Restore the key file .* or run o365-message-trace-auth-reset/);
    expectFailure('no key fetch-events', /Error \[state_key\]: .* are encrypted, but no state key is configured\. Set state_key_file \(or O365MT_STATE_KEY_FILE\)/);
    for (const name of ['wrong key fetch-events', 'no key fetch-events']) {
      expect(results.get(name)?.changed.filter((entry) => entry.startsWith('./keyed-code/'))).toEqual([]);
      expect(results.get(name)?.stdout).toBe('');
    }
    expect((await readFile(join(keyed('code'), 'last-run.json'))).equals(positionBefore)).toBe(true);
    expect((await readFile(join(keyed('code'), 'integration-context.json'))).equals(contextBefore)).toBe(true);
  }, 120_000);
});

describe('boundaries', () => {
  it('the bearer token goes only to the configured Graph origin: not where a nextLink or a redirect points', async () => {
    const viaFront = {
      ...graphParams(),
      url: front.url,
      authority_url: front.url,
      ca_certificate: `${sim.caCertPem}\n${front.caCertPem}`,
    };
    const env = { O365MT_CLIENT_SECRET: sim.clientSecret };
    front.faults = { 'off-origin': 1 };
    await runBatch({
      'nextLink to another host': command(GET_EVENTS, dir('front'), viaFront, env),
      'fetch with nextLink to another host': command('fetch-events', dir('front'), viaFront, env),
    });
    front.faults = { redirect: 1 };
    await runBatch({ 'redirect to another host': command(GET_EVENTS, dir('front'), viaFront, env) });
    front.faults = {};
    expectFailure('nextLink to another host', /Error \[graph_invalid_response\].*outside the configured Graph URL/);
    expectFailure('fetch with nextLink to another host', /Error \[graph_invalid_response\].*outside the configured Graph URL/);
    expectFailure('redirect to another host', /Error \[graph_[a-z_]+\]/);
    // The front (the configured origin) got the token; the foreign host got nothing at all.
    expect(front.requests.some((request) => request.authorization?.startsWith('Bearer '))).toBe(true);
    expect(front.foreign).toEqual([]);
  }, 120_000);

  it('OData filter values with quotes and operators cannot change what the filter means', async () => {
    const env = { O365MT_CLIENT_SECRET: sim.clientSecret };
    // Fixed bounds on whole seconds, ending well past the simulator's 30 s visibility delay, so the query and
    // the ground truth cover the same rows however long the CLI takes to start.
    const endMs = Math.floor((Date.now() - 120_000) / 1000) * 1000;
    const startMs = endMs - 3 * 3_600_000;
    const truth = sim.groundTruth(startMs, endMs);
    const quoted = truth.find((row) => row.senderAddress?.includes("'"));
    expect(quoted, 'the simulated data has senders with a quote').toBeDefined();
    const hostile = ["') or status eq ('x", "budget' or '1' eq '1", "x') or (subject ne '", '%27) or true or (%27', "'", "''"];
    const args = (extra: Record<string, string>) => ({
      start_time: new Date(startMs).toISOString(),
      end_time: new Date(endMs).toISOString(),
      limit: '5000',
      ...extra,
    });
    const cases: Record<string, BatchCase> = {
      'quoted sender': command(GET_EVENTS, dir('odata'), graphParams(), env, args({ sender_address: quoted?.senderAddress ?? '' }), true),
    };
    hostile.forEach((subject, i) => {
      cases[`hostile subject ${i}`] = command(GET_EVENTS, dir('odata'), graphParams(), env, args({ subject }), true);
    });
    await runBatch(cases);
    const outputs = (name: string) => (JSON.parse(expectOk(name).stdout) as { outputs: { id: string; recipientAddress: string; subject: string; senderAddress: string }[] }).outputs;

    const sender = outputs('quoted sender');
    const expectedSender = truth.filter((row) => row.senderAddress?.toLowerCase() === quoted?.senderAddress?.toLowerCase());
    expect(sender.length).toBeGreaterThan(0);
    for (const row of sender) expect(row.senderAddress.toLowerCase()).toBe(quoted?.senderAddress?.toLowerCase());
    const returned = new Set(sender.map((row) => `${row.id}|${row.recipientAddress}`));
    for (const row of expectedSender) expect(returned.has(`${row.id}|${row.recipientAddress}`)).toBe(true);

    hostile.forEach((subject, i) => {
      const rows = outputs(`hostile subject ${i}`);
      const expected = truth.filter((row) => row.subject?.toLowerCase().includes(subject.toLowerCase()));
      expect(rows.length, subject).toBe(expected.length);
      for (const row of rows) expect(row.subject.toLowerCase()).toContain(subject.toLowerCase());
    });
  }, 120_000);
});
