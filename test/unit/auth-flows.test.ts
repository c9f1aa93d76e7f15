/**
 * Client secret, certificate and authorization code end to end through `main()` and the token provider,
 * with msw standing in for Entra ID and Graph: happy paths, cache reuse across runs that share only the
 * integration context, expiry, forced refresh, auth-reset and the login URL.
 */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTokenProvider } from '../../src/auth/provider.js';
import { selectAuthMethod } from '../../src/auth/select.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, type JsonObject, isCommandError } from '../../src/engine/types.js';
import { parseParams } from '../../src/input/params.js';
import { main } from '../../src/main.js';
import {
  AUTHORITY,
  AUTH_CODE,
  CLIENT,
  FakeEntra,
  FakeGraph,
  GRAPH,
  REDIRECT_URI,
  SECRET,
  TENANT,
  TOKEN_URL,
  decodeJwt,
  makeCertificate,
  secretParams,
  type TestCertificate,
} from '../helpers/auth-fixtures.js';

const server = setupServer();
let entra: FakeEntra;
let graph: FakeGraph;
let certificate: TestCertificate;

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  certificate = await makeCertificate();
});
beforeEach(() => {
  entra = new FakeEntra();
  graph = new FakeGraph();
  server.use(entra.handler, graph.handler);
});
afterEach(() => {
  server.resetHandlers();
  vi.useRealTimers();
});
afterAll(() => server.close());

function ok(outcome: CommandOutcome): string {
  if (isCommandError(outcome)) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.readableOutput;
}

/** A new "process": a new engine that starts from the integration context the last one left. */
function nextRun(previous?: MemoryEngine): MemoryEngine {
  return new MemoryEngine({ integrationContext: (previous?.integrationContext ?? {}) as JsonObject });
}

describe('client secret', () => {
  it('test-module gets a token with the secret and probes Graph with it', async () => {
    const engine = nextRun();
    expect(ok(await main('test-module', secretParams, {}, engine))).toBe('ok');
    expect(entra.count('client_credentials')).toBe(1);
    const form = entra.requests[0]?.form;
    expect(form?.get('client_secret')).toBe(SECRET);
    expect(form?.get('scope')).toBe(`${GRAPH}/.default`);
    expect(entra.requests[0]?.url.startsWith(TOKEN_URL)).toBe(true);
    expect(graph.requests).toHaveLength(1);
    expect(graph.requests[0]?.authorization).toBe(`Bearer ${entra.issuedAccessTokens[0]}`);
    expect(graph.requests[0]?.url.searchParams.get('$top')).toBe('1');
  });

  it('auth-test answers "Authentication was successful."', async () => {
    expect(ok(await main('o365-message-trace-auth-test', secretParams, {}, nextRun()))).toBe('Authentication was successful.');
  });

  it('reuses the token of an earlier run through the integration context (no second token request)', async () => {
    const first = nextRun();
    ok(await main('test-module', secretParams, {}, first));
    expect(typeof first.integrationContext.msalCache).toBe('string');
    const second = nextRun(first);
    ok(await main('test-module', secretParams, {}, second));
    expect(entra.count()).toBe(1);
    expect(graph.requests[1]?.authorization).toBe(`Bearer ${entra.issuedAccessTokens[0]}`);
  });

  it('requests a new token once the cached one is within 5 minutes of expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-25T10:00:00Z'));
    const first = nextRun();
    ok(await main('test-module', secretParams, {}, first));
    vi.setSystemTime(new Date('2026-11-25T10:50:00Z')); // 10 minutes left: still reused
    const second = nextRun(first);
    ok(await main('test-module', secretParams, {}, second));
    expect(entra.count()).toBe(1);
    vi.setSystemTime(new Date('2026-11-25T10:56:00Z')); // 4 minutes left: renewed
    ok(await main('test-module', secretParams, {}, nextRun(second)));
    expect(entra.count()).toBe(2);
  });

  it('a short-lived token is not reused', async () => {
    entra.expiresIn = 120;
    const first = nextRun();
    ok(await main('test-module', secretParams, {}, first));
    const afterFirst = entra.count();
    ok(await main('test-module', secretParams, {}, nextRun(first)));
    expect(entra.count()).toBeGreaterThan(afterFirst);
  });

  it('forceRefresh skips the cache, and a Graph 401 leads to exactly one fresh token and one retry', async () => {
    const engine = nextRun();
    const params = parseParams(secretParams);
    const tokens = createTokenProvider({ params, plan: selectAuthMethod(params, {}), engine, http: createHttpFetch({ proxy: false, insecure: false }) });
    const a = await tokens.getAccessToken();
    expect(await tokens.getAccessToken()).toBe(a);
    const b = await tokens.getAccessToken({ forceRefresh: true });
    expect(b).not.toBe(a);
    expect(entra.count()).toBe(2);

    graph.next.push({ status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed, the token is expired.' } } });
    ok(await main('test-module', secretParams, {}, nextRun(engine)));
    expect(entra.count()).toBe(3);
    expect(graph.requests).toHaveLength(2);
    expect(graph.requests[1]?.authorization).toBe(`Bearer ${entra.issuedAccessTokens[2]}`);
  });
});

describe('certificate', () => {
  for (const variant of ['sha1', 'sha256'] as const) {
    it(`signs a client assertion with ${variant === 'sha1' ? 'x5t' : 'x5t#S256'} and the token endpoint as audience`, async () => {
      const params = {
        tenant_id: TENANT,
        client_id: CLIENT,
        certificate_thumbprint: certificate[variant].match(/../g)?.join(':'),
        private_key: variant === 'sha1' ? certificate.pkcs8Pem : `${certificate.pkcs1Pem}\n${certificate.certPem}`,
      };
      ok(await main('test-module', params, {}, nextRun()));
      const form = entra.requests[0]?.form;
      expect(form?.get('client_secret')).toBeNull();
      expect(form?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const jwt = decodeJwt(form?.get('client_assertion') ?? '');
      const thumbprint = Buffer.from(certificate[variant], 'hex').toString('base64url');
      if (variant === 'sha1') {
        expect(jwt.header.x5t).toBe(thumbprint);
        expect(jwt.header.alg).toBe('RS256');
      } else {
        expect(jwt.header['x5t#S256']).toBe(thumbprint);
        expect(jwt.header.alg).toBe('PS256');
      }
      expect(jwt.payload.aud).toBe(TOKEN_URL);
      expect(jwt.payload.iss).toBe(CLIENT);
      expect(jwt.payload.sub).toBe(CLIENT);
    });
  }

  it('rejects a malformed key before any request, without echoing it', async () => {
    const broken = certificate.pkcs8Pem.replace(/[A-Za-z]{20}/, 'AAAAAAAAAAAAAAAAAAAA');
    const outcome = await main(
      'test-module',
      { tenant_id: TENANT, client_id: CLIENT, certificate_thumbprint: certificate.sha1, private_key: broken },
      {},
      nextRun(),
    );
    expect(isCommandError(outcome) && outcome.error.code).toBe('auth_config');
    expect(entra.count()).toBe(0);
    const message = isCommandError(outcome) ? outcome.error.message : '';
    expect(message).toContain('PRIVATE KEY');
    expect(message).not.toContain(broken.split('\n')[1] ?? '∅');
  });
});

describe('authorization code', () => {
  const codeParams = { ...secretParams, redirect_uri: REDIRECT_URI, auth_code: AUTH_CODE };

  it('auth-test redeems the code once; later runs refresh silently and never redeem it again', async () => {
    const first = nextRun();
    expect(ok(await main('o365-message-trace-auth-test', codeParams, {}, first))).toBe('Authentication was successful.');
    expect(entra.count('authorization_code')).toBe(1);
    const redeem = entra.requests[0]?.form;
    expect(redeem?.get('code')).toBe(AUTH_CODE);
    expect(redeem?.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(redeem?.get('scope')?.split(' ')).toEqual(expect.arrayContaining([`${GRAPH}/.default`, 'offline_access']));
    const stored = JSON.stringify(first.integrationContext.tokenCache);
    expect(stored).not.toContain(AUTH_CODE);

    // Next runs reuse the access token, then (after expiry) use the refresh token, never the code.
    const second = nextRun(first);
    expect(ok(await main('test-module', codeParams, {}, second))).toBe('ok');
    expect(entra.count()).toBe(1);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * 3600_000);
    const third = nextRun(second);
    ok(await main('o365-message-trace-auth-test', codeParams, {}, third));
    expect(entra.count('authorization_code')).toBe(1);
    expect(entra.count('refresh_token')).toBe(1);
    expect(entra.requests[1]?.form.get('refresh_token')).toBe(entra.issuedRefreshTokens[0]);
  });

  it('test-module points to auth-test until the code was redeemed, and does not redeem it', async () => {
    const outcome = await main('test-module', codeParams, {}, nextRun());
    expect(isCommandError(outcome) && outcome.error.message).toContain('o365-message-trace-auth-test');
    expect(entra.count()).toBe(0);
  });

  it('a revoked refresh token tells the person to reset, generate a login URL and paste a new code', async () => {
    const first = nextRun();
    ok(await main('o365-message-trace-auth-test', codeParams, {}, first));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * 3600_000);
    const { aadError } = await import('../helpers/auth-fixtures.js');
    entra.next.push(aadError(400, 'invalid_grant', 50173, 'The provided grant has expired due to it being revoked.'));
    const outcome = await main('o365-message-trace-auth-test', codeParams, {}, nextRun(first));
    expect(isCommandError(outcome) && outcome.error.code).toBe('auth_grant_expired');
    const message = isCommandError(outcome) ? outcome.error.message : '';
    expect(message).toMatch(/o365-message-trace-auth-reset.*o365-message-trace-generate-login-url.*Authorization code/s);
    expect(message).toContain('AADSTS50173');
  });

  it('a new code pasted later is redeemed once and replaces the old tokens', async () => {
    const first = nextRun();
    ok(await main('o365-message-trace-auth-test', codeParams, {}, first));
    const second = nextRun(first);
    ok(await main('o365-message-trace-auth-test', { ...codeParams, auth_code: `${AUTH_CODE}-second` }, {}, second));
    ok(await main('o365-message-trace-auth-test', { ...codeParams, auth_code: `${AUTH_CODE}-second` }, {}, nextRun(second)));
    expect(entra.count('authorization_code')).toBe(2);
    expect(entra.requests[1]?.form.get('code')).toBe(`${AUTH_CODE}-second`);
  });
});

describe('auth-reset', () => {
  it('clears msalCache and tokenCache and nothing else', async () => {
    const first = nextRun();
    ok(await main('o365-message-trace-auth-test', { ...secretParams }, {}, first));
    first.integrationContext.requestLog = { kept: true };
    const reset = new MemoryEngine({ integrationContext: first.integrationContext, lastRun: { version: 1, cursor: 'x' } });
    reset.integrationContext.tokenCache = { version: 1 };
    const output = ok(await main('o365-message-trace-auth-reset', secretParams, {}, reset));
    expect(output).toContain('o365-message-trace-generate-login-url');
    expect(reset.integrationContext).toEqual({ requestLog: { kept: true } });
    expect(reset.lastRun).toEqual({ version: 1, cursor: 'x' });
    ok(await main('test-module', secretParams, {}, nextRun(reset)));
    expect(entra.count()).toBe(2);
  });
});

describe('generate-login-url', () => {
  it('returns an encoded authorize URL with offline_access and the steps', async () => {
    const output = ok(
      await main('o365-message-trace-generate-login-url', { ...secretParams, redirect_uri: REDIRECT_URI }, {}, nextRun()),
    );
    const link = /\]\((https:[^)]+)\)/.exec(output)?.[1] ?? '';
    const url = new URL(link);
    expect(`${url.origin}${url.pathname}`).toBe(`${AUTHORITY}/${TENANT}/oauth2/v2.0/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT_URI,
      scope: `openid profile offline_access ${GRAPH}/.default`,
      response_mode: 'query',
    });
    expect(link).toContain('scope=openid%20profile%20offline_access%20https%3A%2F%2Fgraph.microsoft.com%2F.default');
    expect(link).toContain(`redirect_uri=${encodeURIComponent(REDIRECT_URI)}`);
    expect(output).toContain('Authorization code');
    expect(output).toContain('o365-message-trace-auth-test');
    expect(output).not.toContain(SECRET);
    expect(entra.count()).toBe(0);
  });

  it('names what is missing', async () => {
    const outcome = await main('o365-message-trace-generate-login-url', { tenant_id: TENANT, client_id: CLIENT }, {}, nextRun());
    expect(isCommandError(outcome) && outcome.error.message).toContain('redirect_uri is missing');
  });
});
