/**
 * Workload identity federation through `main()` and the token provider, with msw standing in for Entra ID
 * and Graph: the platform's token file is sent as client_assertion, read again for every acquisition
 * (rotation), every bad file is a clear error before any request, the AADSTS answers to a federated
 * assertion are explained, and the environment fallbacks (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID,
 * AZURE_TENANT_ID) work.
 */
import { chmod, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTokenProvider } from '../../src/auth/provider.js';
import { selectAuthMethod } from '../../src/auth/select.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandError, type CommandOutcome, type JsonObject, isCommandError } from '../../src/engine/types.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { parseParams } from '../../src/input/params.js';
import { main } from '../../src/main.js';
import { AUTHORITY, CLIENT, FakeEntra, FakeGraph, GRAPH, TENANT, aadError, fakeJwt } from '../helpers/auth-fixtures.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, open: vi.fn(actual.open) };
});

const server = setupServer();
let entra: FakeEntra;
let graph: FakeGraph;
let dir: string;
let tokenFile: string;

const ISSUER = 'https://oidc.prod-aks.azure.com/5d2c3b4a-0000-4000-8000-000000000001/';
const SUBJECT = 'system:serviceaccount:security:o365-message-trace';

/** A platform identity token (unsigned: the client never checks the signature, Entra does). */
function platformToken(overrides: Record<string, unknown> = {}): string {
  const nowS = Math.floor(Date.now() / 1000);
  return fakeJwt({
    aud: ['api://AzureADTokenExchange'],
    iss: ISSUER,
    sub: SUBJECT,
    iat: nowS,
    nbf: nowS,
    exp: nowS + 3600,
    jti: `${Math.random()}`,
    ...overrides,
  });
}

const params = () => ({ tenant_id: TENANT, client_id: CLIENT, use_workload_identity: true, federated_token_file: tokenFile });

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  dir = await mkdtemp(path.join(tmpdir(), 'o365-wi-'));
});
beforeEach(async () => {
  entra = new FakeEntra();
  graph = new FakeGraph();
  server.use(entra.handler, graph.handler);
  tokenFile = path.join(dir, `token-${Math.random().toString(36).slice(2)}`);
  // No AKS-style variables leak in from the machine running the tests.
  vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', '');
  vi.stubEnv('AZURE_CLIENT_ID', '');
  vi.stubEnv('AZURE_TENANT_ID', '');
});
afterEach(() => {
  server.resetHandlers();
  vi.unstubAllEnvs();
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

function ok(outcome: CommandOutcome): string {
  if (isCommandError(outcome)) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.readableOutput;
}

/** The error, checked never to contain the token the file held. */
function failed(outcome: CommandOutcome, token?: string): CommandError['error'] {
  if (!isCommandError(outcome)) throw new Error('expected the command to fail');
  if (token) expect(JSON.stringify(outcome)).not.toContain(token);
  return outcome.error;
}

function provider(engine = new MemoryEngine(), raw: Record<string, unknown> = params()) {
  const parsed = parseParams(raw);
  return createTokenProvider({ params: parsed, plan: selectAuthMethod(parsed, process.env), engine, http: createHttpFetch({ proxy: false, insecure: false }) });
}

describe('happy path', () => {
  it('test-module sends the token file as client_assertion (no secret) and probes Graph with the access token', async () => {
    const token = platformToken();
    await writeFile(tokenFile, `${token}\n`);
    const engine = new MemoryEngine();
    expect(ok(await main('test-module', params(), {}, engine))).toBe('ok');

    expect(entra.requests).toHaveLength(1);
    const form = entra.requests[0]?.form;
    expect(form?.get('grant_type')).toBe('client_credentials');
    expect(form?.get('client_id')).toBe(CLIENT);
    expect(form?.get('client_assertion')).toBe(token);
    expect(form?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(form?.has('client_secret')).toBe(false);
    expect(form?.get('scope')).toBe(`${GRAPH}/.default`);
    expect(entra.requests[0]?.url.startsWith(`${AUTHORITY}/${TENANT}/oauth2/v2.0/token`)).toBe(true);
    expect(graph.requests[0]?.authorization).toBe(`Bearer ${entra.issuedAccessTokens[0]}`);
    // The access token rests in MSAL's cache in the integration context, like the other confidential methods.
    expect(typeof engine.integrationContext.msalCache).toBe('string');
    expect(JSON.stringify(engine.logs)).not.toContain(token);
  });

  it('auth-test answers "Authentication was successful." and reports the method in the log', async () => {
    await writeFile(tokenFile, platformToken());
    const engine = new MemoryEngine();
    expect(ok(await main('o365-message-trace-auth-test', params(), {}, engine))).toBe('Authentication was successful.');
    expect(engine.logs.some((l) => l.fields?.method === 'workload_identity')).toBe(true);
    expect(engine.logs.some((l) => l.message.includes('read the federated token file') && l.fields?.subject === SUBJECT)).toBe(true);
  });

  it('the next run reuses the cached access token through the integration context (no second token request)', async () => {
    await writeFile(tokenFile, platformToken());
    const first = new MemoryEngine();
    ok(await main('test-module', params(), {}, first));
    const second = new MemoryEngine({ integrationContext: first.integrationContext as JsonObject });
    ok(await main('o365-message-trace-auth-test', params(), {}, second));
    expect(entra.requests).toHaveLength(1);
    expect(graph.requests[1]?.authorization).toBe(`Bearer ${entra.issuedAccessTokens[0]}`);
  });

  it('the token file is read for every acquisition, even one the cache answers: a broken file shows at once', async () => {
    await writeFile(tokenFile, platformToken());
    const first = new MemoryEngine();
    ok(await main('test-module', params(), {}, first));
    await unlink(tokenFile);
    const second = new MemoryEngine({ integrationContext: first.integrationContext as JsonObject });
    const error = failed(await main('test-module', params(), {}, second));
    expect(error.code).toBe('auth_config');
    expect(entra.requests).toHaveLength(1);
  });
});

describe('rotation', () => {
  it('a forced refresh after the platform replaced the file sends the new token', async () => {
    const before = platformToken();
    await writeFile(tokenFile, before);
    const tokens = provider();
    const firstAccess = await tokens.getAccessToken();
    const after = platformToken();
    expect(after).not.toBe(before);
    await writeFile(tokenFile, after);
    const secondAccess = await tokens.getAccessToken({ forceRefresh: true });

    expect(entra.requests.map((r) => r.form.get('client_assertion'))).toEqual([before, after]);
    expect(secondAccess).not.toBe(firstAccess);
  });

  it('a fresh engine after rotation sends the new token', async () => {
    const before = platformToken();
    await writeFile(tokenFile, before);
    await provider(new MemoryEngine()).getAccessToken();
    const after = platformToken();
    await writeFile(tokenFile, after);
    await provider(new MemoryEngine()).getAccessToken();
    expect(entra.requests.map((r) => r.form.get('client_assertion'))).toEqual([before, after]);
  });

  it('an old token that expired in the file is refused locally even though it was fine before', async () => {
    await writeFile(tokenFile, platformToken());
    const tokens = provider();
    await tokens.getAccessToken();
    const stale = platformToken({ exp: Math.floor(Date.now() / 1000) - 60 });
    await writeFile(tokenFile, stale);
    const error = await tokens.getAccessToken({ forceRefresh: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'auth_failed' });
    expect(String((error as Error).message)).toMatch(/expired at .*\(1 minute ago\)/);
    expect(entra.requests).toHaveLength(1);
  });
});

describe('bad token files: a clear error naming the file and the setting, and no request', () => {
  const cases: [string, () => Promise<void>, string, RegExp][] = [
    ['missing', async () => undefined, 'auth_config', /does not exist.*azure\.workload\.identity\/use/s],
    ['empty', () => writeFile(tokenFile, '  \n'), 'auth_failed', /is empty/],
    ['a directory', () => mkdir(tokenFile), 'auth_config', /is a directory/],
    ['not a JWT (a PEM key)', () => writeFile(tokenFile, '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n'), 'auth_config', /does not hold an identity token \(a JWT/],
    ['not a JWT (three dotted parts that are not JSON)', () => writeFile(tokenFile, 'abc.def.ghi'), 'auth_config', /does not hold an identity token/],
    ['a JWT without exp', () => writeFile(tokenFile, platformToken({ exp: undefined })), 'auth_config', /without an expiry time/],
    ['expired', () => writeFile(tokenFile, platformToken({ exp: Math.floor(Date.now() / 1000) - 7200 })), 'auth_failed', /expired at .*\(120 minutes ago\).*replaces the file/s],
    ['too large', () => writeFile(tokenFile, 'a'.repeat(70_000)), 'auth_config', /larger than 64 KiB/],
  ];

  it.each(cases)('%s', async (_name, prepare, code, says) => {
    await prepare();
    const outcome = await main('test-module', params(), {}, new MemoryEngine());
    const error = failed(outcome);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(says);
    expect(error.message).toContain(JSON.stringify(tokenFile));
    expect(error.message).toContain('federated_token_file');
    expect(entra.requests).toHaveLength(0);
  });

  it('the expired token itself is never quoted', async () => {
    const token = platformToken({ exp: Math.floor(Date.now() / 1000) - 60 });
    await writeFile(tokenFile, token);
    const engine = new MemoryEngine();
    const outcome = await main('test-module', params(), {}, engine);
    failed(outcome, token);
    expect(JSON.stringify(engine.logs)).not.toContain(token);
  });

  it('unreadable (permission denied, simulated: tests may run as root)', async () => {
    await writeFile(tokenFile, platformToken());
    vi.mocked(fsPromises.open).mockRejectedValueOnce(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
    const error = failed(await main('test-module', params(), {}, new MemoryEngine()));
    expect(error.code).toBe('auth_config');
    expect(error.message).toMatch(/cannot be read by this process \(EACCES: permission denied\).*read access/s);
    expect(error.message).toContain(tokenFile);
    expect(entra.requests).toHaveLength(0);
  });

  it.skipIf(process.getuid?.() === 0)('unreadable (permission denied, for real)', async () => {
    await writeFile(tokenFile, platformToken());
    await chmod(tokenFile, 0o000);
    const error = failed(await main('test-module', params(), {}, new MemoryEngine()));
    expect(error.message).toMatch(/EACCES: permission denied/);
  });

  it('names AZURE_FEDERATED_TOKEN_FILE when the path came from the environment', async () => {
    vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', tokenFile);
    const { federated_token_file: _unused, ...fromEnv } = params();
    const error = failed(await main('test-module', fromEnv, {}, new MemoryEngine()));
    expect(error.message).toMatch(/named by the AZURE_FEDERATED_TOKEN_FILE environment variable/);
  });
});

describe('environment fallbacks', () => {
  it('AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID fill in what the params leave empty', async () => {
    const token = platformToken();
    await writeFile(tokenFile, token);
    vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', tokenFile);
    vi.stubEnv('AZURE_CLIENT_ID', CLIENT.toUpperCase());
    vi.stubEnv('AZURE_TENANT_ID', TENANT);
    expect(ok(await main('test-module', { use_workload_identity: 'true' }, {}, new MemoryEngine()))).toBe('ok');
    expect(entra.requests[0]?.url.startsWith(`${AUTHORITY}/${TENANT}/`)).toBe(true);
    expect(entra.requests[0]?.form.get('client_id')).toBe(CLIENT);
    expect(entra.requests[0]?.form.get('client_assertion')).toBe(token);
  });

  it('the params win over the environment', async () => {
    await writeFile(tokenFile, platformToken());
    vi.stubEnv('AZURE_FEDERATED_TOKEN_FILE', path.join(dir, 'not-there'));
    vi.stubEnv('AZURE_CLIENT_ID', '99999999-2222-4333-8444-555555555555');
    ok(await main('test-module', params(), {}, new MemoryEngine()));
    expect(entra.requests[0]?.form.get('client_id')).toBe(CLIENT);
  });
});

describe("Entra ID's answers to a federated assertion", () => {
  interface Case {
    aadsts: number;
    status: number;
    error: string;
    code: string;
    says: RegExp;
  }
  const cases: Case[] = [
    { aadsts: 70021, status: 400, error: 'invalid_request', code: 'auth_failed', says: /no federated credential on the app that matches.*Federated credentials.*case-sensitive/s },
    { aadsts: 700211, status: 401, error: 'invalid_client', code: 'auth_failed', says: /issuer.*set Issuer to the token's issuer exactly/s },
    { aadsts: 700212, status: 401, error: 'invalid_client', code: 'auth_failed', says: /audience.*api:\/\/AzureADTokenExchange.*Audience/s },
    { aadsts: 700213, status: 401, error: 'invalid_client', code: 'auth_failed', says: /not the subject.*Subject identifier.*system:serviceaccount:<namespace>/s },
    { aadsts: 7002138, status: 401, error: 'invalid_client', code: 'auth_failed', says: /Subject identifier to the token's subject exactly \(case-sensitive/ },
    { aadsts: 700024, status: 401, error: 'invalid_client', code: 'auth_failed', says: /expired or not yet valid.*replace the file/s },
    { aadsts: 7000274, status: 401, error: 'invalid_client', code: 'auth_failed', says: /could not verify the signature.*jwks_uri/s },
    { aadsts: 7000272, status: 401, error: 'invalid_client', code: 'auth_failed', says: /could not verify the signature/ },
    { aadsts: 700236, status: 400, error: 'invalid_request', code: 'auth_config', says: /issued by Entra ID itself/ },
  ];

  it.each(cases)('AADSTS$aadsts', async ({ aadsts, status, error: errorName, code, says }) => {
    const token = platformToken();
    await writeFile(tokenFile, token);
    entra.next.push(aadError(status, errorName, aadsts, `Something about the assertion '${SUBJECT}'.`));
    const error = failed(await main('test-module', params(), {}, new MemoryEngine()), token);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(says);
    expect(error.message).toContain(`AADSTS${aadsts}`);
    expect(error.message).toContain('0f0e0d0c-0b0a-4909-8807-060504030201');
    expect(error.message).toContain(tokenFile);
  });

  it('the messages quote the issuer, subject and audience the token presented, so they can be compared', async () => {
    await writeFile(tokenFile, platformToken());
    entra.next.push(aadError(401, 'invalid_client', 700213, 'No matching federated identity record found for presented assertion subject.'));
    const error = failed(await main('test-module', params(), {}, new MemoryEngine()));
    expect(error.message).toContain(`issuer '${ISSUER}', subject '${SUBJECT}', audience 'api://AzureADTokenExchange'`);
  });

  it("a description that quotes the token is left out; the other methods' messages are unchanged", async () => {
    const token = platformToken();
    await writeFile(tokenFile, token);
    entra.next.push(aadError(400, 'invalid_request', 9999999, `Bad assertion ${token}`));
    const error = failed(await main('test-module', params(), {}, new MemoryEngine()), token);
    expect(error.message).toMatch(/Entra ID refused the token request \(invalid_request\)\./);

    // AADSTS700024 for the other confidential methods keeps its certificate-assertion wording, without a file.
    entra.next.push(aadError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.'));
    const outcome = await main('test-module', { tenant_id: TENANT, client_id: CLIENT, client_secret: 'x8Q~secret' }, {}, new MemoryEngine());
    expect(failed(outcome).message).toMatch(/certificate assertion as outside its valid time range/);
  });
});
