/**
 * Azure Managed Identities through IMDS, redirected by AZURE_POD_IDENTITY_AUTHORITY_HOST to an msw host.
 * msal-node picks its managed identity source once per process, so these tests live in their own file
 * (vitest isolates files) and set the variable before the first acquisition.
 */
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTokenProvider } from '../../src/auth/provider.js';
import { selectAuthMethod } from '../../src/auth/select.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, type JsonObject, isCommandError } from '../../src/engine/types.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { parseParams } from '../../src/input/params.js';
import { main } from '../../src/main.js';
import { FakeGraph, GRAPH } from '../helpers/auth-fixtures.js';

const IMDS_HOST = 'http://imds.test';
process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = IMDS_HOST;
for (const name of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT']) delete process.env[name];

const MI_CLIENT = '44444444-2222-4333-8444-555555555555';

interface ImdsRequest {
  url: URL;
  metadata: string | null;
}

const imdsRequests: ImdsRequest[] = [];
const imdsNext: { status: number; body: Record<string, unknown> }[] = [];
const issued: string[] = [];
let graph: FakeGraph;

function imdsReply(request: Request) {
  const url = new URL(request.url);
  imdsRequests.push({ url, metadata: request.headers.get('metadata') });
  const scripted = imdsNext.shift();
  if (scripted) return HttpResponse.json(scripted.body, { status: scripted.status });
  const nowS = Math.floor(Date.now() / 1000);
  const token = `eyJ0eXAiOiJKV1QifQ.mi-access-token-${issued.length + 1}`;
  issued.push(token);
  return HttpResponse.json({
    access_token: token,
    client_id: url.searchParams.get('client_id') ?? 'system-assigned-app',
    expires_in: '3600',
    expires_on: String(nowS + 3600),
    ext_expires_in: '3600',
    not_before: String(nowS),
    resource: url.searchParams.get('resource'),
    token_type: 'Bearer',
  });
}

const server = setupServer(
  http.get(`${IMDS_HOST}/metadata/identity/oauth2/token`, ({ request }) => imdsReply(request)),
  http.get(`${IMDS_HOST}/metadata/identity/oauth2/token/`, ({ request }) => imdsReply(request)),
);

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
beforeEach(() => {
  imdsRequests.length = 0;
  imdsNext.length = 0;
  graph = new FakeGraph();
  server.use(graph.handler);
});
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const systemParams = { use_managed_identities: true };
const userParams = { use_managed_identities: true, managed_identities_client_id: MI_CLIENT };

function ok(outcome: CommandOutcome): string {
  if (isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
  return outcome.readableOutput;
}

function provider(raw: Record<string, unknown>, engine: MemoryEngine) {
  const params = parseParams(raw);
  return createTokenProvider({
    params,
    plan: selectAuthMethod(params, {}),
    engine,
    http: createHttpFetch({ proxy: false, insecure: false }),
    managedIdentity: { disableInternalRetries: true },
  });
}

describe('managed identity', () => {
  it('system-assigned: test-module asks IMDS for the Graph resource and probes Graph with that token', async () => {
    const engine = new MemoryEngine();
    expect(ok(await main('test-module', systemParams, {}, engine))).toBe('ok');
    expect(imdsRequests).toHaveLength(1);
    const request = imdsRequests[0];
    expect(request?.metadata).toBe('true');
    expect(request?.url.searchParams.get('resource')).toBe(GRAPH);
    expect(request?.url.searchParams.get('client_id')).toBeNull();
    expect(graph.requests[0]?.authorization).toBe(`Bearer ${issued.at(-1)}`);
  });

  it('user-assigned: sends the identity client ID; auth-test succeeds', async () => {
    expect(ok(await main('o365-message-trace-auth-test', userParams, {}, new MemoryEngine()))).toBe('Authentication was successful.');
    expect(imdsRequests[0]?.url.searchParams.get('client_id')).toBe(MI_CLIENT);
  });

  it('reuses the token of an earlier run until 5 minutes before expiry (engine clock)', async () => {
    const start = Date.now();
    const first = new MemoryEngine({ startTimeMs: start });
    ok(await main('test-module', userParams, {}, first));
    expect(imdsRequests).toHaveLength(1);
    const context = first.integrationContext as JsonObject;
    ok(await main('test-module', userParams, {}, new MemoryEngine({ startTimeMs: start + 50 * 60_000, integrationContext: context })));
    expect(imdsRequests).toHaveLength(1);
    ok(await main('test-module', userParams, {}, new MemoryEngine({ startTimeMs: start + 56 * 60_000, integrationContext: context })));
    expect(imdsRequests).toHaveLength(2);
  });

  it('a stored token of another identity is not used', async () => {
    const first = new MemoryEngine();
    ok(await main('test-module', userParams, {}, first));
    ok(await main('test-module', systemParams, {}, new MemoryEngine({ integrationContext: first.integrationContext })));
    expect(imdsRequests).toHaveLength(2);
  });

  it('forceRefresh skips the stored token', async () => {
    const engine = new MemoryEngine();
    const tokens = provider(systemParams, engine);
    const a = await tokens.getAccessToken();
    expect(await tokens.getAccessToken()).toBe(a);
    const b = await tokens.getAccessToken({ forceRefresh: true });
    expect(b).not.toBe(a);
    expect(imdsRequests).toHaveLength(2);
    expect(JSON.stringify(engine.integrationContext.tokenCache)).toContain(b);
  });

  it('an unknown identity is explained', async () => {
    imdsNext.push({ status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } });
    const error = await provider(userParams, new MemoryEngine())
      .getAccessToken()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'auth_failed' });
    expect(String((error as Error).message)).toMatch(/Identity not found.*user-assigned identity with client ID 44444444/s);
  });

  it('IMDS out of reach is explained (managed identities only work inside Azure)', async () => {
    server.use(http.get(`${IMDS_HOST}/*`, () => HttpResponse.error()));
    const error = await provider(systemParams, new MemoryEngine())
      .getAccessToken()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'network' });
    expect(String((error as Error).message)).toMatch(/managed identity endpoint imds\.test.*only work on an Azure resource/s);
  });

  it('no managed identity token in outputs, logs or state outside tokenCache', async () => {
    const engine = new MemoryEngine({ lastRun: { version: 1 } });
    const outcomes = [await main('test-module', userParams, {}, engine), await main('o365-message-trace-auth-test', userParams, {}, engine)];
    imdsNext.push({ status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } });
    outcomes.push(await main('test-module', systemParams, {}, new MemoryEngine()));
    const { tokenCache: _kept, ...rest } = engine.integrationContext;
    const visible = JSON.stringify({ outcomes, logs: engine.logs, lastRun: engine.lastRun, rest });
    expect(issued.length).toBeGreaterThan(0);
    for (const token of issued) expect(visible).not.toContain(token);
  });

  it('ignores other credentials with a warning, never echoing them', async () => {
    const engine = new MemoryEngine();
    ok(await main('test-module', { ...systemParams, client_secret: 'leftover-secret-value' }, {}, engine));
    const warning = engine.logs.find((log) => log.level === 'warn');
    expect(warning?.message).toContain('client_secret');
    expect(JSON.stringify(engine.logs)).not.toContain('leftover-secret-value');
  });
});
