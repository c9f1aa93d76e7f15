/**
 * Every Entra ID refusal the integration explains, through `main()` with msw answering the token request,
 * plus transport failures (the Graph 401/403 texts: graph-errors.test.ts). Each message must say what to change, keep
 * Microsoft's code and trace id, and never contain the secret.
 */
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyFetchFailure } from '../../src/auth/network.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandError, type CommandOutcome, type JsonObject, isCommandError } from '../../src/engine/types.js';
import { main } from '../../src/main.js';
import {
  AUTHORITY,
  AUTH_CODE,
  FakeEntra,
  FakeGraph,
  REDIRECT_URI,
  SECRET,
  aadError,
  secretParams,
} from '../helpers/auth-fixtures.js';

const server = setupServer();
let entra: FakeEntra;
let graph: FakeGraph;

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
beforeEach(() => {
  entra = new FakeEntra();
  graph = new FakeGraph();
  server.use(entra.handler, graph.handler);
});
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const TRACE_ID = '0f0e0d0c-0b0a-4909-8807-060504030201';
const codeParams = { ...secretParams, redirect_uri: REDIRECT_URI, auth_code: AUTH_CODE };

function failed(outcome: CommandOutcome): CommandError['error'] {
  if (!isCommandError(outcome)) throw new Error('expected the command to fail');
  expect(outcome.error.message).not.toContain(SECRET);
  expect(outcome.error.message).not.toContain(AUTH_CODE);
  return outcome.error;
}

interface Case {
  aadsts: number;
  error: string;
  status: number;
  code: string;
  says: RegExp;
}

const clientCredentialCases: Case[] = [
  { aadsts: 7000215, error: 'invalid_client', status: 401, code: 'auth_failed', says: /secret Value \(not the Secret ID\)/ },
  { aadsts: 7000222, error: 'invalid_client', status: 401, code: 'auth_failed', says: /secret has expired.*new client secret/ },
  { aadsts: 700016, error: 'unauthorized_client', status: 400, code: 'auth_failed', says: /no application with Client ID.*client_id/ },
  { aadsts: 90002, error: 'invalid_request', status: 400, code: 'auth_failed', says: /does not know tenant.*tenant_id/ },
  { aadsts: 900023, error: 'invalid_request', status: 400, code: 'auth_failed', says: /does not know tenant.*tenant_id/ },
  { aadsts: 90023, error: 'invalid_request', status: 400, code: 'auth_failed', says: /tenant_id/ },
  { aadsts: 700027, error: 'invalid_client', status: 401, code: 'auth_failed', says: /certificate.*not registered.*private_key/ },
  { aadsts: 700024, error: 'invalid_client', status: 401, code: 'auth_failed', says: /clock/ },
  { aadsts: 65001, error: 'invalid_grant', status: 400, code: 'auth_failed', says: /ExchangeMessageTrace\.Read\.All.*admin consent/ },
  { aadsts: 500011, error: 'invalid_resource', status: 400, code: 'auth_config', says: /Server URL \(url\)/ },
  { aadsts: 70011, error: 'invalid_scope', status: 400, code: 'auth_config', says: /Server URL \(url\)/ },
];

describe('client credential refusals', () => {
  for (const c of clientCredentialCases) {
    it(`AADSTS${c.aadsts} → ${c.code}`, async () => {
      entra.next.push(aadError(c.status, c.error, c.aadsts, 'Microsoft says no.'));
      const error = failed(await main('test-module', secretParams, {}, new MemoryEngine()));
      expect(error.code).toBe(c.code);
      expect(error.message).toMatch(c.says);
      expect(error.message).toContain(`Microsoft error: AADSTS${c.aadsts}`);
      expect(error.message).toContain(`request id: ${TRACE_ID}`);
      expect(graph.requests).toHaveLength(0);
    });
  }

  it('an unknown AADSTS code shows Microsoft description and a lookup link', async () => {
    entra.next.push(aadError(400, 'invalid_request', 9002313, 'Invalid request. Request is malformed or invalid.'));
    const error = failed(await main('test-module', secretParams, {}, new MemoryEngine()));
    expect(error.code).toBe('auth_failed');
    expect(error.message).toContain('Invalid request. Request is malformed or invalid.');
    expect(error.message).toContain('https://login.microsoftonline.com/error?code=9002313');
  });

  it('a Graph-shaped error from the token endpoint (authority_url pointing at Graph) names authority_url', async () => {
    entra.next.push({
      status: 400,
      body: { error: { code: 'BadRequest', message: "Resource not found for the segment 'token'.", innerError: { 'request-id': TRACE_ID } } },
    });
    const error = failed(await main('test-module', secretParams, {}, new MemoryEngine()));
    expect(error.code).toBe('auth_config');
    expect(error.message).toMatch(/not Entra ID.*Authority URL \(authority_url\)/);
    expect(error.message).not.toContain('[object Object]');
  });

  it('a description that echoes the secret is left out', async () => {
    entra.next.push(aadError(400, 'invalid_request', 9999999, `The value ${SECRET} is odd.`));
    const error = failed(await main('test-module', secretParams, {}, new MemoryEngine()));
    expect(error.message).toContain('AADSTS9999999');
  });
});

describe('authorization code refusals', () => {
  it('AADSTS54005 (code already redeemed) → reset, new login URL, new code', async () => {
    entra.next.push(aadError(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed.'));
    const error = failed(await main('o365-message-trace-auth-test', codeParams, {}, new MemoryEngine()));
    expect(error.code).toBe('auth_grant_expired');
    expect(error.message).toMatch(/already redeemed.*o365-message-trace-auth-reset.*generate-login-url/s);
  });

  it('AADSTS70008 while redeeming → the code expired', async () => {
    entra.next.push(aadError(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired.'));
    const error = failed(await main('o365-message-trace-auth-test', codeParams, {}, new MemoryEngine()));
    expect(error.code).toBe('auth_grant_expired');
    expect(error.message).toMatch(/authorization code has expired/);
  });

  it('AADSTS50011 → redirect URI mismatch', async () => {
    entra.next.push(aadError(400, 'invalid_request', 50011, 'The redirect URI does not match.'));
    const error = failed(await main('o365-message-trace-auth-test', codeParams, {}, new MemoryEngine()));
    expect(error.code).toBe('auth_config');
    expect(error.message).toContain('redirect_uri');
  });

  for (const aadsts of [700082, 70000, 50173, 70008]) {
    it(`AADSTS${aadsts} while refreshing → the refresh token is gone: reset and sign in again`, async () => {
      const first = new MemoryEngine();
      expect(isCommandError(await main('o365-message-trace-auth-test', codeParams, {}, first))).toBe(false);
      entra.next.push(aadError(400, 'invalid_grant', aadsts, 'The refresh token has expired or was revoked.'));
      const { createTokenProvider } = await import('../../src/auth/provider.js');
      const { parseParams } = await import('../../src/input/params.js');
      const { selectAuthMethod } = await import('../../src/auth/select.js');
      const { createHttpFetch } = await import('../../src/http/transport.js');
      const params = parseParams(codeParams);
      const tokens = createTokenProvider({
        params,
        plan: selectAuthMethod(params, {}),
        engine: new MemoryEngine({ integrationContext: first.integrationContext as JsonObject }),
        http: createHttpFetch({ proxy: false, insecure: false }),
      });
      const error = await tokens.getAccessToken({ forceRefresh: true }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'auth_grant_expired', upstreamCode: `AADSTS${aadsts}` });
      expect(String((error as Error).message)).toMatch(
        /refresh token.*o365-message-trace-auth-reset.*o365-message-trace-generate-login-url.*Authorization code.*o365-message-trace-auth-test/s,
      );
      expect(entra.count('authorization_code')).toBe(1);
    });
  }

  it('the same code with its tokens gone is not redeemed again', async () => {
    const first = new MemoryEngine();
    expect(isCommandError(await main('o365-message-trace-auth-test', codeParams, {}, first))).toBe(false);
    const second = new MemoryEngine({ integrationContext: { tokenCache: first.integrationContext.tokenCache ?? null } as JsonObject });
    const error = failed(await main('o365-message-trace-auth-test', codeParams, {}, second));
    expect(error.code).toBe('auth_grant_expired');
    expect(error.message).toContain('o365-message-trace-auth-reset');
    expect(entra.count('authorization_code')).toBe(1);
  });
});

describe('transport failures', () => {
  it('a connection failure names the host and what to check', async () => {
    server.use(http.post(`${AUTHORITY}/:tenant/oauth2/v2.0/token`, () => HttpResponse.error()));
    const error = failed(await main('test-module', secretParams, {}, new MemoryEngine()));
    expect(error.code).toBe('network');
    expect(error.message).toContain('login.microsoftonline.com');
    expect(error.message).toContain('proxy');
  });

  it('a non-JSON answer (a proxy page) is explained', async () => {
    server.use(http.post(`${AUTHORITY}/:tenant/oauth2/v2.0/token`, () => HttpResponse.text('<html>Bad gateway</html>', { status: 502 })));
    const error = failed(await main('test-module', secretParams, {}, new MemoryEngine()));
    expect(error.code).toBe('network');
    expect(error.message).toMatch(/HTTP 502.*not JSON/);
  });
});

describe('classifyFetchFailure', () => {
  it.each([
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['ECONNREFUSED', 'unreachable'],
    ['ENOTFOUND', 'unreachable'],
  ])('%s → %s', (code, kind) => {
    const failure = classifyFetchFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code }) }), 'login.example');
    expect(failure).toMatchObject({ kind, causeCode: code, host: 'login.example' });
  });

  it('an abort by timeout is a timeout', () => {
    expect(classifyFetchFailure(new DOMException('t', 'TimeoutError'), 'h').kind).toBe('timeout');
  });
});

describe('configuration errors', () => {
  it('lists what each method needs', async () => {
    const error = failed(await main('test-module', { tenant_id: secretParams.tenant_id }, {}, new MemoryEngine()));
    expect(error.code).toBe('auth_config');
    for (const name of ['client_id is missing', 'No credential is set', 'Client secret:', 'Certificate:', 'Authorization code:', 'Azure Managed Identities:']) {
      expect(error.message).toContain(name);
    }
    expect(entra.count()).toBe(0);
  });
});

