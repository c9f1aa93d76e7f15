/**
 * The simulated Entra ID: token grants and their AADSTS errors, assertions signed in the test with
 * node:crypto, authorization codes, refresh tokens and revocation, discovery, IMDS — and msal-node
 * (the library the client uses) working against all of it with TLS verification on.
 */
import { constants, createHash, createPrivateKey, generateKeyPairSync, type KeyObject, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfidentialClientApplication, type INetworkModule, ManagedIdentityApplication, type NetworkRequestOptions } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, START, startHarness } from './helpers/simulator-client.js';

let h: Harness;
let tokenUrl: string;

beforeAll(async () => {
  h = await startHarness({ seed: 21, ratePerDay: 200 });
  tokenUrl = `${h.sim.authorityUrl}/${h.sim.tenantId}/oauth2/v2.0/token`;
});

afterAll(async () => {
  await h.close();
});

function decode(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [a, b] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(a ?? '', 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(b ?? '', 'base64url').toString()) as Record<string, unknown>,
  };
}

async function post(form: Record<string, string>, url = tokenUrl): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await h.fetch(url, { method: 'POST', body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function expectAadError(res: { status: number; body: Record<string, unknown> }, status: number, error: string, code: number): void {
  expect(res.status).toBe(status);
  expect(res.body.error).toBe(error);
  expect(res.body.error_codes).toEqual([code]);
  expect(res.body.error_description).toMatch(
    new RegExp(`^AADSTS${code}: .+\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}Z$`, 's'),
  );
  expect(typeof res.body.trace_id).toBe('string');
  expect(typeof res.body.correlation_id).toBe('string');
  expect(typeof res.body.timestamp).toBe('string');
}

const secretForm = (): Record<string, string> => ({
  grant_type: 'client_credentials',
  client_id: h.sim.clientId,
  client_secret: h.sim.clientSecret,
  scope: 'https://graph.microsoft.com/.default',
});

describe('client credentials with a secret', () => {
  it('issues a Graph token with the role, tenant and clock-based expiry', async () => {
    const res = await post(secretForm());
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.expires_in).toBe(3600);
    const { header, payload } = decode(res.body.access_token as string);
    expect(header.alg).toBe('RS256');
    expect(payload.aud).toBe('https://graph.microsoft.com');
    expect(payload.tid).toBe(h.sim.tenantId);
    expect(payload.appid).toBe(h.sim.clientId);
    expect(payload.roles).toEqual(['ExchangeMessageTrace.Read.All']);
    expect(payload.exp).toBe(Math.floor(START / 1000) + 3600);
  });

  it('answers the real AADSTS errors', async () => {
    expectAadError(await post({ ...secretForm(), client_secret: 'wrong' }), 401, 'invalid_client', 7000215);
    expectAadError(await post({ ...secretForm(), client_id: randomUUID() }), 400, 'unauthorized_client', 700016);
    expectAadError(await post(secretForm(), `${h.sim.authorityUrl}/${randomUUID()}/oauth2/v2.0/token`), 400, 'invalid_request', 90002);
    const { scope: _scope, ...noScope } = secretForm();
    expectAadError(await post(noScope), 400, 'invalid_request', 900144);
    expectAadError(await post({ ...secretForm(), scope: 'https://graph.microsoft.com/ExchangeMessageTrace.Read.All' }), 400, 'invalid_scope', 1002012);
    const { client_secret: _s, ...noCredential } = secretForm();
    expectAadError(await post(noCredential), 401, 'invalid_client', 7000218);
    h.sim.configure({ secretExpired: true });
    try {
      expectAadError(await post(secretForm()), 401, 'invalid_client', 7000222);
    } finally {
      h.sim.configure({ secretExpired: false });
    }
  });

  it('accepts client_secret_basic', async () => {
    const { client_id: _id, client_secret: _secret, ...rest } = secretForm();
    const basic = Buffer.from(`${encodeURIComponent(h.sim.clientId)}:${encodeURIComponent(h.sim.clientSecret)}`).toString('base64');
    const res = await h.fetch(tokenUrl, { method: 'POST', headers: { authorization: `Basic ${basic}` }, body: new URLSearchParams(rest) });
    expect(res.status).toBe(200);
  });

  it('accepts the tenant domain names as the tenant segment', async () => {
    expect((await post(secretForm(), `${h.sim.authorityUrl}/contoso.onmicrosoft.com/oauth2/v2.0/token`)).status).toBe(200);
  });
});

describe('client credentials with a certificate assertion', () => {
  let appKey: KeyObject;
  let der: Buffer;

  beforeAll(() => {
    appKey = createPrivateKey(readFileSync(h.sim.privateKeyPath));
    der = new X509Certificate(readFileSync(h.sim.certificatePath)).raw;
  });

  function assertion(opts: { alg?: 'RS256' | 'PS256'; header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: KeyObject } = {}): string {
    const alg = opts.alg ?? 'RS256';
    const nowS = Math.floor(h.clock.now() / 1000);
    const header = { alg, typ: 'JWT', x5t: createHash('sha1').update(der).digest('base64url'), ...opts.header };
    const claims = { aud: tokenUrl, iss: h.sim.clientId, sub: h.sim.clientId, jti: randomUUID(), nbf: nowS, exp: nowS + 600, ...opts.claims };
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const key = opts.key ?? appKey;
    const signature =
      alg === 'PS256'
        ? sign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : sign('sha256', Buffer.from(input), key);
    return `${input}.${signature.toString('base64url')}`;
  }

  const form = (clientAssertion: string): Record<string, string> => ({
    grant_type: 'client_credentials',
    client_id: h.sim.clientId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
    scope: 'https://graph.microsoft.com/.default',
  });

  it('accepts RS256 with x5t (SHA-1) and PS256 with x5t#S256', async () => {
    const a = await post(form(assertion()));
    expect(a.status).toBe(200);
    expect(decode(a.body.access_token as string).payload.appidacr).toBe('2');
    const b = await post(
      form(assertion({ alg: 'PS256', header: { x5t: undefined, 'x5t#S256': createHash('sha256').update(der).digest('base64url') } })),
    );
    expect(b.status).toBe(200);
    expect(h.sim.certificateThumbprint).toBe(createHash('sha1').update(der).digest('hex').toUpperCase());
    expect(h.sim.certificateThumbprintSha256).toBe(createHash('sha256').update(der).digest('hex').toUpperCase());
  });

  it('rejects wrong audience, expired, unknown thumbprint, bad signature and garbage', async () => {
    expectAadError(await post(form(assertion({ claims: { aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' } }))), 401, 'invalid_client', 700023);
    const past = Math.floor(h.clock.now() / 1000) - 3600;
    expectAadError(await post(form(assertion({ claims: { nbf: past - 600, exp: past } }))), 401, 'invalid_client', 700024);
    expectAadError(await post(form(assertion({ header: { x5t: Buffer.alloc(20, 7).toString('base64url') } }))), 401, 'invalid_client', 700027);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expectAadError(await post(form(assertion({ key: other }))), 401, 'invalid_client', 700027);
    expectAadError(await post(form(assertion({ claims: { iss: randomUUID() } }))), 401, 'invalid_client', 700021);
    expectAadError(await post(form('not.a-jwt')), 400, 'invalid_request', 50027);
  });
});

describe('authorization code and refresh token', () => {
  async function authorize(query: Record<string, string> = {}): Promise<Response> {
    const params = new URLSearchParams({
      client_id: h.sim.clientId,
      response_type: 'code',
      redirect_uri: h.sim.redirectUri,
      scope: 'https://graph.microsoft.com/.default openid profile offline_access',
      state: 'st-1',
      ...query,
    });
    return (await h.fetch(`${h.sim.authorityUrl}/${h.sim.tenantId}/oauth2/v2.0/authorize?${params}`, { redirect: 'manual' })) as unknown as Response;
  }

  async function code(): Promise<string> {
    const res = await authorize();
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(h.sim.redirectUri);
    expect(location.searchParams.get('state')).toBe('st-1');
    return location.searchParams.get('code') ?? '';
  }

  const redeemForm = (c: string): Record<string, string> => ({
    grant_type: 'authorization_code',
    client_id: h.sim.clientId,
    client_secret: h.sim.clientSecret,
    code: c,
    redirect_uri: h.sim.redirectUri,
    scope: 'https://graph.microsoft.com/.default openid profile offline_access',
  });

  it('redeems a code once for access, refresh and id tokens plus client_info', async () => {
    const c = await code();
    const res = await post({ ...redeemForm(c), client_info: '1' });
    expect(res.status).toBe(200);
    for (const k of ['access_token', 'refresh_token', 'id_token', 'client_info', 'scope', 'expires_in']) expect(res.body).toHaveProperty(k);
    const id = decode(res.body.id_token as string).payload;
    expect(id.aud).toBe(h.sim.clientId);
    expect(id.tid).toBe(h.sim.tenantId);
    for (const k of ['oid', 'sub', 'preferred_username', 'iss']) expect(typeof id[k]).toBe('string');
    const info = JSON.parse(Buffer.from(res.body.client_info as string, 'base64url').toString()) as Record<string, string>;
    expect(info).toEqual({ uid: id.oid, utid: h.sim.tenantId });
    const graph = await h.get(h.listUrl({ $top: '1' }), res.body.access_token as string);
    expect(graph.status).toBe(200);
    expectAadError(await post(redeemForm(c)), 400, 'invalid_grant', 54005);
    expect(h.sim.stats().codesRedeemed).toBeGreaterThanOrEqual(1);
  });

  it('rejects expired codes, mismatched redirect URIs and unknown clients', async () => {
    const c = await code();
    h.clock.advance(10 * 60_000 + 1000);
    try {
      expectAadError(await post(redeemForm(c)), 400, 'invalid_grant', 70008);
    } finally {
      h.clock.set(START);
    }
    const c2 = await code();
    expectAadError(await post({ ...redeemForm(c2), redirect_uri: 'https://localhost/other' }), 400, 'invalid_grant', 500112);
    const wrongRedirect = await authorize({ redirect_uri: 'https://evil.example/cb' });
    expect(wrongRedirect.status).toBe(400);
    expect(((await wrongRedirect.json()) as { error_codes: number[] }).error_codes).toEqual([50011]);
    const unknownClient = await authorize({ client_id: randomUUID() });
    expect(unknownClient.status).toBe(400);
    expectAadError(await post(redeemForm('1.garbage')), 400, 'invalid_grant', 9002313);
  });

  it('refreshes, and refuses revoked or unknown refresh tokens', async () => {
    const first = await post(redeemForm(await code()));
    const refreshForm = (rt: string): Record<string, string> => ({
      grant_type: 'refresh_token',
      client_id: h.sim.clientId,
      client_secret: h.sim.clientSecret,
      refresh_token: rt,
      scope: 'https://graph.microsoft.com/.default openid offline_access',
    });
    const refreshed = await post(refreshForm(first.body.refresh_token as string));
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.body.refresh_token).toBe('string');
    const revoke = await h.fetch(`${h.sim.controlUrl}/revoke-refresh-tokens`, { method: 'POST' });
    expect(revoke.status).toBe(200);
    expectAadError(await post(refreshForm(refreshed.body.refresh_token as string)), 400, 'invalid_grant', 50173);
    expectAadError(await post(refreshForm('1.unknown')), 400, 'invalid_grant', 70000);
  });
});

describe('discovery', () => {
  it('serves openid-configuration, keys and instance discovery', async () => {
    const oidc = (await (await h.fetch(`${h.sim.authorityUrl}/${h.sim.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(oidc.token_endpoint).toBe(tokenUrl);
    expect(oidc.issuer).toBe(`${h.sim.authorityUrl}/${h.sim.tenantId}/v2.0`);
    const keys = (await (await h.fetch(oidc.jwks_uri ?? '')).json()) as { keys: unknown[] };
    expect(keys.keys).toHaveLength(1);
    const inst = (await (await h.fetch(`${h.sim.authorityUrl}/common/discovery/instance?api-version=1.1`)).json()) as Record<string, unknown>;
    expect(inst).toHaveProperty('tenant_discovery_endpoint');
    const unknown = await h.fetch(`${h.sim.authorityUrl}/${randomUUID()}/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string; error_codes: number[] })).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
  });
});

describe('IMDS managed identity', () => {
  const imds = (query: string, headers: Record<string, string> = { Metadata: 'true' }) =>
    fetch(`${h.sim.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent('https://graph.microsoft.com')}${query}`, { headers });

  it('requires the Metadata header', async () => {
    const res = await imds('', {});
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('issues tokens for the system-assigned and the matching user-assigned identity', async () => {
    for (const q of ['', `&client_id=${h.sim.managedIdentityClientId}`]) {
      const res = await imds(q);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, string>;
      for (const k of ['access_token', 'expires_in', 'expires_on', 'resource', 'token_type']) expect(typeof body[k]).toBe('string');
      expect(Number(body.expires_on)).toBe(Math.floor(START / 1000) + 3600);
      const graph = await h.get(h.listUrl({ $top: '1' }), body.access_token);
      expect(graph.status).toBe(200);
    }
    const wrong = await imds(`&client_id=${randomUUID()}`);
    expect(wrong.status).toBe(400);
    expect(h.sim.stats().tokensIssued.managed_identity).toBe(2);
  });
});

describe('msal-node against the simulator', () => {
  let net: INetworkModule;

  beforeAll(() => {
    const call = async <T>(method: string, url: string, options?: NetworkRequestOptions) => {
      const res = await h.fetch(url, { method, headers: options?.headers, body: options?.body });
      return { headers: Object.fromEntries(res.headers) as Record<string, string>, body: (await res.json()) as T, status: res.status };
    };
    net = {
      sendGetRequestAsync: (url, options) => call('GET', url, options),
      sendPostRequestAsync: (url, options) => call('POST', url, options),
    };
  });

  function app(credential: Record<string, unknown>): ConfidentialClientApplication {
    return new ConfidentialClientApplication({
      auth: {
        clientId: h.sim.clientId,
        authority: `${h.sim.authorityUrl}/${h.sim.tenantId}`,
        knownAuthorities: [new URL(h.sim.authorityUrl).host],
        ...credential,
      },
      system: { networkClient: net },
    });
  }

  it('acquires client-credential tokens with a secret and with certificates', async () => {
    // msal-node signs assertions with the wall clock, so this runs with the simulator on real time.
    h.clock.set(Date.now());
    try {
      const privateKey = readFileSync(h.sim.privateKeyPath, 'utf8');
      for (const credential of [
        { clientSecret: h.sim.clientSecret },
        { clientCertificate: { thumbprint: h.sim.certificateThumbprint, privateKey } },
        { clientCertificate: { thumbprintSha256: h.sim.certificateThumbprintSha256, privateKey } },
      ]) {
        const result = await app(credential).acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
        expect(result?.accessToken).toBeTruthy();
      }
    } finally {
      h.clock.set(START);
    }
  });

  it('runs the authorization-code flow, refreshes silently and surfaces revocation', async () => {
    h.clock.set(Date.now());
    try {
      const cca = app({ clientSecret: h.sim.clientSecret });
      const scopes = ['https://graph.microsoft.com/.default'];
      const login = await cca.getAuthCodeUrl({ scopes, redirectUri: h.sim.redirectUri, state: 'abc' });
      const redirect = await h.fetch(login, { redirect: 'manual' });
      const c = new URL(redirect.headers.get('location') ?? '').searchParams.get('code') ?? '';
      const result = await cca.acquireTokenByCode({ code: c, scopes, redirectUri: h.sim.redirectUri });
      expect(result.account?.username).toBe('admin@contoso.onmicrosoft.com');
      const [account] = await cca.getTokenCache().getAllAccounts();
      if (!account) throw new Error('no account cached');
      const silent = await cca.acquireTokenSilent({ account, scopes, forceRefresh: true });
      expect(silent.accessToken).toBeTruthy();
      h.sim.revokeRefreshTokens();
      await expect(cca.acquireTokenSilent({ account, scopes, forceRefresh: true })).rejects.toMatchObject({ errorCode: 'invalid_grant' });
    } finally {
      h.clock.set(START);
    }
  });

  it('acquires managed identity tokens through AZURE_POD_IDENTITY_AUTHORITY_HOST', async () => {
    const previous = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = h.sim.imdsUrl;
    try {
      for (const managedIdentityIdParams of [undefined, { userAssignedClientId: h.sim.managedIdentityClientId }]) {
        const mi = new ManagedIdentityApplication({ managedIdentityIdParams, system: { networkClient: net } });
        const result = await mi.acquireToken({ resource: 'https://graph.microsoft.com' });
        expect(result.accessToken).toBeTruthy();
      }
    } finally {
      if (previous === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
      else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = previous;
    }
  });
});
