/**
 * Redaction: run the authentication commands (successes and failures) and collect everything a person or
 * another system could see: command outputs and errors, every log line, lastRun, and the integration
 * context except the two keys where tokens are meant to rest (msalCache, tokenCache). None of it may
 * contain the client secret, the private key, the authorization code, or any access or refresh token.
 * The workload identity federation token (the platform's token file) may appear nowhere at all, not even
 * in those two keys: it is read from its file for each request and never stored.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTokenProvider } from '../../src/auth/provider.js';
import { selectAuthMethod } from '../../src/auth/select.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import type { JsonObject } from '../../src/engine/types.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { parseParams } from '../../src/input/params.js';
import { main } from '../../src/main.js';
import {
  AUTHORITY,
  AUTH_CODE,
  CLIENT,
  FakeEntra,
  FakeGraph,
  REDIRECT_URI,
  SECRET,
  TENANT,
  type TestCertificate,
  aadError,
  fakeJwt,
  makeCertificate,
  secretParams,
} from '../helpers/auth-fixtures.js';

const server = setupServer();
let entra: FakeEntra;
let graph: FakeGraph;
let cert: TestCertificate;
const seen: string[] = [];

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  cert = await makeCertificate();
});
beforeEach(() => {
  entra = new FakeEntra();
  graph = new FakeGraph();
  server.use(entra.handler, graph.handler);
});
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('redaction: workload identity federation', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'o365-redaction-wi-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the federated token is in no output, log, error or state, and no access token leaks either', async () => {
    const tokenFile = path.join(dir, 'azure-identity-token');
    const nowS = Math.floor(Date.now() / 1000);
    const federated = (exp: number) =>
      fakeJwt({ iss: 'https://oidc.example/issuer/', sub: 'system:serviceaccount:security:o365-message-trace', aud: ['api://AzureADTokenExchange'], exp, jti: Math.random() });
    const tokens = [federated(nowS + 3600), federated(nowS + 3600), federated(nowS - 60)];
    const wiParams = { tenant_id: TENANT, client_id: CLIENT, use_workload_identity: true, federated_token_file: tokenFile };
    const states: string[] = [];
    const runWi = async (command: string, engine = new MemoryEngine()) => {
      const result = await run(command, wiParams, engine);
      states.push(JSON.stringify(result.integrationContext));
      return result;
    };

    await writeFile(tokenFile, tokens[0] ?? '');
    const first = await runWi('test-module');
    await runWi('o365-message-trace-auth-test', new MemoryEngine({ integrationContext: first.integrationContext }));
    // Entra refusals, one of them quoting the assertion in its description.
    entra.next.push(aadError(401, 'invalid_client', 700213, `No matching federated identity record found for presented assertion subject. Assertion: ${tokens[0]}`));
    await runWi('test-module');
    entra.next.push(aadError(400, 'invalid_request', 9999999, `Odd assertion ${tokens[0]}`));
    await runWi('o365-message-trace-auth-test');
    // Rotation, then a forced refresh through the provider.
    await writeFile(tokenFile, tokens[1] ?? '');
    const wi = parseParams(wiParams);
    const provider = createTokenProvider({ params: wi, plan: selectAuthMethod(wi, process.env), engine: first, http: createHttpFetch({ proxy: false, insecure: false }) });
    await provider.getAccessToken({ forceRefresh: true });
    seen.push(JSON.stringify(first.logs));
    // Expired and broken files.
    await writeFile(tokenFile, tokens[2] ?? '');
    await runWi('test-module');
    await writeFile(tokenFile, `${tokens[0]}garbage.more`);
    await runWi('test-module');
    await runWi('o365-message-trace-auth-reset', new MemoryEngine({ integrationContext: first.integrationContext }));

    const everything = seen.join('\n');
    for (const expected of ['"readableOutput":"ok"', 'Authentication was successful.', 'AADSTS700213', 'expired at', 'does not hold an identity token', 'read the federated token file']) {
      expect(everything).toContain(expected);
    }
    expect(entra.requests.map((r) => r.form.get('client_assertion'))).toContain(tokens[1]);
    const payloads = tokens.map((token) => token.split('.')[1] ?? '');
    for (const secret of [...tokens, ...payloads, ...entra.issuedAccessTokens]) {
      expect(everything.includes(secret), `leaked: ${secret.slice(0, 12)}…`).toBe(false);
    }
    const state = [...states, JSON.stringify(first.integrationContext)].join('\n');
    for (const secret of [...tokens, ...payloads]) {
      expect(state.includes(secret), `stored: ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});

const codeParams = { ...secretParams, redirect_uri: REDIRECT_URI, auth_code: AUTH_CODE };
const certParams = () => ({ tenant_id: TENANT, client_id: CLIENT, certificate_thumbprint: cert.sha1, private_key: `${cert.pkcs8Pem}${cert.certPem}` });

/** Everything visible after a command, except the token keys of the integration context. */
function visible(engine: MemoryEngine, outcome: unknown): string {
  const { msalCache: _msal, tokenCache: _tokens, ...rest } = engine.integrationContext;
  return JSON.stringify({ outcome, logs: engine.logs, lastRun: engine.lastRun, context: rest });
}

async function run(command: string, params: Record<string, unknown>, engine = new MemoryEngine()): Promise<MemoryEngine> {
  const outcome = await main(command, params, {}, engine);
  seen.push(visible(engine, outcome));
  return engine;
}

function forbidden(): string[] {
  const keyLines = [cert.pkcs8Pem, cert.pkcs1Pem].flatMap((pem) => pem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line)));
  return [SECRET, AUTH_CODE, ...keyLines, ...entra.issuedAccessTokens, ...entra.issuedRefreshTokens];
}

describe('redaction', () => {
  it('no secret, key, code or token in outputs, logs, errors or state', async () => {
    // Successes, each a new process sharing the integration context.
    let engine = await run('test-module', secretParams);
    engine = await run('o365-message-trace-auth-test', secretParams, new MemoryEngine({ integrationContext: engine.integrationContext }));
    await run('test-module', certParams());
    await run('o365-message-trace-generate-login-url', { ...secretParams, redirect_uri: REDIRECT_URI });
    const code = await run('o365-message-trace-auth-test', codeParams);
    await run('test-module', codeParams, new MemoryEngine({ integrationContext: code.integrationContext as JsonObject }));
    await run('o365-message-trace-auth-reset', codeParams, new MemoryEngine({ integrationContext: code.integrationContext as JsonObject }));

    // Failures: Entra refusals (one echoing the secret in its description), redeemed code, revoked refresh
    // token, Graph 401 and 403, transport errors, malformed key, contradictory settings.
    entra.next.push(aadError(401, 'invalid_client', 7000215, `Invalid client secret provided: ${SECRET}`));
    await run('test-module', secretParams);
    entra.next.push(aadError(400, 'invalid_request', 9999999, `Odd value ${SECRET} / ${AUTH_CODE}`));
    await run('test-module', secretParams);
    entra.next.push(aadError(400, 'invalid_grant', 54005, 'Code already redeemed.'));
    await run('o365-message-trace-auth-test', codeParams);
    const revoked = await run('o365-message-trace-auth-test', codeParams);
    const parsedCode = parseParams(codeParams);
    const tokens = createTokenProvider({
      params: parsedCode,
      plan: selectAuthMethod(parsedCode, {}),
      engine: new MemoryEngine({ integrationContext: revoked.integrationContext as JsonObject }),
      http: createHttpFetch({ proxy: false, insecure: false }),
    });
    entra.next.push(aadError(400, 'invalid_grant', 50173, 'The provided grant has expired due to it being revoked.'));
    const refreshError = await tokens.getAccessToken({ forceRefresh: true }).catch((e: unknown) => e);
    seen.push(String(refreshError), JSON.stringify(refreshError), JSON.stringify((refreshError as Error).cause ?? null));
    graph.next.push({ status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'bad' } } });
    graph.next.push({ status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'bad' } } });
    await run('test-module', secretParams);
    // Twice: a 403 is retried once with a fresh token (a permission granted meanwhile is only in a new one).
    graph.next.push({ status: 403, body: { error: { code: 'Forbidden', message: 'Missing role permissions' } } });
    graph.next.push({ status: 403, body: { error: { code: 'Forbidden', message: 'Missing role permissions' } } });
    await run('o365-message-trace-auth-test', certParams());
    server.use(http.post(`${AUTHORITY}/:tenant/oauth2/v2.0/token`, () => HttpResponse.error()));
    await run('test-module', secretParams);
    await run('o365-message-trace-auth-test', codeParams);
    await run('test-module', { ...certParams(), private_key: cert.pkcs8Pem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\n!!!!\n') });
    await run('test-module', { ...secretParams, private_key: cert.pkcs8Pem, certificate_thumbprint: cert.sha1 });

    expect(entra.issuedAccessTokens.length).toBeGreaterThan(3);
    expect(entra.issuedRefreshTokens.length).toBeGreaterThan(0);
    const everything = seen.join('\n');
    // The collection really holds the successes and failures it should.
    for (const expected of ['Authentication was successful.', '"readableOutput":"ok"', 'oauth2/v2.0/authorize', 'AADSTS7000215', 'AADSTS54005', 'AADSTS50173', 'graph_forbidden', '"code":"network"', 'auth_config', '[Token Request]']) {
      expect(everything).toContain(expected);
    }
    for (const secret of forbidden()) {
      expect(everything.includes(secret), `leaked: ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});
