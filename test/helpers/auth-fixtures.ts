/**
 * Fixtures for the authentication unit tests: an msw stand-in for Entra ID's token endpoint and Graph's
 * messageTraces endpoint that records what it was asked, a certificate generator, and JWT decoding.
 */
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { http, HttpResponse } from 'msw';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const TENANT = '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f';
export const CLIENT = '11111111-2222-4333-8444-555555555555';
export const SECRET = 'Xy8Q~unit-test-client-secret-value-0123456';
export const AUTHORITY = 'https://login.microsoftonline.com';
export const GRAPH = 'https://graph.microsoft.com';
export const TOKEN_URL = `${AUTHORITY}/${TENANT}/oauth2/v2.0/token`;
export const MESSAGE_TRACES_URL = `${GRAPH}/v1.0/admin/exchange/tracing/messageTraces`;
export const REDIRECT_URI = 'https://localhost/o365-message-trace/callback';
export const AUTH_CODE = '1.AUTHCODE-unit-test-0.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
export const USER_OID = '22222222-3333-4444-8555-666666666666';

export const secretParams = { tenant_id: TENANT, client_id: CLIENT, client_secret: SECRET };

export interface TokenRequest {
  grantType: string | null;
  form: URLSearchParams;
  url: string;
}

export type TokenReply = { status: number; body: Record<string, unknown> };

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>,
  };
}

/** An unsigned JWT: MSAL reads id token claims without checking a signature. */
export function fakeJwt(payload: Record<string, unknown>): string {
  return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}.sig`;
}

/** Entra's error body, with the AADSTS code in `error_codes` and the description like the real service. */
export function aadError(status: number, error: string, code: number, text: string): TokenReply {
  const traceId = '0f0e0d0c-0b0a-4909-8807-060504030201';
  const correlationId = 'c0c0c0c0-1111-4222-8333-444444444444';
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: 2026-11-25 10:00:00Z`,
      error_codes: [code],
      timestamp: '2026-11-25 10:00:00Z',
      trace_id: traceId,
      correlation_id: correlationId,
    },
  };
}

/**
 * A scripted Entra ID: every token request is recorded; `next` replies are used first, otherwise a fresh
 * token is issued (app tokens for client credentials, user tokens with refresh and id token otherwise).
 */
export class FakeEntra {
  readonly requests: TokenRequest[] = [];
  readonly issuedAccessTokens: string[] = [];
  readonly issuedRefreshTokens: string[] = [];
  readonly next: TokenReply[] = [];
  expiresIn = 3600;
  private counter = 0;

  readonly handler = http.post(`${AUTHORITY}/:tenant/oauth2/v2.0/token`, async ({ request }) => {
    const form = new URLSearchParams(await request.text());
    this.requests.push({ grantType: form.get('grant_type'), form, url: request.url });
    const scripted = this.next.shift();
    if (scripted) return HttpResponse.json(scripted.body, { status: scripted.status });
    return HttpResponse.json(this.issue(form));
  });

  private issue(form: URLSearchParams): Record<string, unknown> {
    this.counter++;
    const accessToken = `eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.access-token-${this.counter}-${Math.random().toString(36).slice(2)}`;
    this.issuedAccessTokens.push(accessToken);
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      expires_in: this.expiresIn,
      ext_expires_in: this.expiresIn,
      access_token: accessToken,
    };
    if (form.get('grant_type') !== 'client_credentials') {
      const refreshToken = `1.refresh-token-${this.counter}-${Math.random().toString(36).slice(2)}`;
      this.issuedRefreshTokens.push(refreshToken);
      body.refresh_token = refreshToken;
      body.scope = `${GRAPH}/ExchangeMessageTrace.Read.All openid profile offline_access`;
      body.id_token = fakeJwt({
        aud: CLIENT,
        iss: `${AUTHORITY}/${TENANT}/v2.0`,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 3600,
        oid: USER_OID,
        sub: 'subject-of-admin',
        tid: TENANT,
        preferred_username: 'admin@contoso.onmicrosoft.com',
        ver: '2.0',
      });
      body.client_info = base64url(JSON.stringify({ uid: USER_OID, utid: TENANT }));
    }
    return body;
  }

  count(grantType?: string): number {
    return this.requests.filter((r) => grantType === undefined || r.grantType === grantType).length;
  }
}

/** Graph's messageTraces listing: 200 with no rows for a known token; scripted replies first. */
export class FakeGraph {
  readonly requests: { authorization: string | null; url: URL }[] = [];
  readonly next: { status: number; body: unknown; headers?: Record<string, string> }[] = [];

  readonly handler = http.get(MESSAGE_TRACES_URL, ({ request }) => {
    this.requests.push({ authorization: request.headers.get('authorization'), url: new URL(request.url) });
    const scripted = this.next.shift();
    if (scripted) {
      return HttpResponse.json(scripted.body as Record<string, unknown>, {
        status: scripted.status,
        ...(scripted.headers ? { headers: scripted.headers } : {}),
      });
    }
    if (!request.headers.get('authorization')?.startsWith('Bearer ')) {
      return HttpResponse.json({ error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } }, { status: 401 });
    }
    return HttpResponse.json({ '@odata.context': `${GRAPH}/v1.0/$metadata#admin/exchange/tracing/messageTraces`, value: [] });
  });
}

export interface TestCertificate {
  pkcs8Pem: string;
  pkcs1Pem: string;
  certPem: string;
  sha1: string;
  sha256: string;
}

/** An RSA 2048 key and a self-signed certificate for it, with both thumbprints. */
export async function makeCertificate(): Promise<TestCertificate> {
  const keys = (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 },
    true,
    ['sign', 'verify'],
  )) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=o365-message-trace unit test',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
    keys,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const certPem = cert.toString('pem');
  const node = new X509Certificate(certPem);
  return {
    pkcs8Pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pkcs1Pem: key.export({ type: 'pkcs1', format: 'pem' }).toString(),
    certPem,
    sha1: node.fingerprint.replace(/:/g, ''),
    sha256: node.fingerprint256.replace(/:/g, ''),
  };
}
