/** The simulated tenant's workload identity federation: minting, and Entra ID's check of a federated assertion. Pure. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_FEDERATED_SUBJECT,
  type ExternalIdp,
  FEDERATION_AUDIENCE,
  type FederatedCredential,
  type FederationVerdict,
  checkFederatedAssertion,
  createExternalIdp,
  defaultFederatedCredential,
  isFederatedAssertion,
  mintFederatedToken,
  writeFederatedTokenFile,
} from '../../src/simulator/federation.js';
import { decodeJwt, signJwt } from '../../src/simulator/jwt.js';

const ISSUER = 'https://127.0.0.1:4443/federation';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const NOW = Date.parse('2026-11-25T12:00:00Z');
let idp: ExternalIdp;
let credential: FederatedCredential;
let dir: string;

beforeAll(async () => {
  idp = createExternalIdp(ISSUER);
  credential = defaultFederatedCredential(idp);
  dir = await mkdtemp(path.join(tmpdir(), 'sim-federation-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function verdict(token: string, credentials: FederatedCredential[] = [credential], nowMs = NOW): FederationVerdict {
  const jwt = decodeJwt(token);
  if (!jwt) throw new Error('not a JWT');
  return checkFederatedAssertion(jwt, { idp, credentials, nowMs });
}

function refusedWith(result: FederationVerdict): number | 'ok' {
  return result.ok ? 'ok' : result.code;
}

describe('minting', () => {
  it('issues an RS256 token with issuer, subject, audience and a one-hour lifetime', () => {
    const jwt = decodeJwt(mintFederatedToken(idp, { nowMs: NOW }));
    expect(jwt?.header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: idp.keyId });
    expect(jwt?.payload).toMatchObject({
      iss: ISSUER,
      sub: DEFAULT_FEDERATED_SUBJECT,
      aud: [FEDERATION_AUDIENCE],
      exp: NOW / 1000 + 3600,
      'kubernetes.io': { namespace: 'security', serviceaccount: { name: 'o365-message-trace' } },
    });
  });

  it('two tokens differ (a rotation is visible)', () => {
    expect(mintFederatedToken(idp, { nowMs: NOW })).not.toBe(mintFederatedToken(idp, { nowMs: NOW }));
  });
});

describe('telling federated tokens from certificate assertions', () => {
  it('a token issued by someone else is federated; the app speaking for itself is a certificate assertion', () => {
    const federated = decodeJwt(mintFederatedToken(idp, { nowMs: NOW }));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const certificate = decodeJwt(
      signJwt({ x5t: 'abc' }, { iss: CLIENT, sub: CLIENT, aud: 'https://login/token', exp: NOW / 1000 + 600 }, privateKey),
    );
    const upperCase = decodeJwt(signJwt({ x5t: 'abc' }, { iss: CLIENT.toUpperCase(), sub: CLIENT }, privateKey));
    // A certificate assertion with a wrong issuer is still one (it gets AADSTS700021, not a federation error).
    const wrongIssuer = decodeJwt(signJwt({ x5t: 'abc' }, { iss: 'someone', sub: CLIENT }, privateKey));
    // GitHub's OIDC tokens carry x5t too; their issuer and subject make them federated.
    const github = decodeJwt(signJwt({ x5t: 'abc', kid: 'k' }, { iss: 'https://token.actions.githubusercontent.com', sub: 'repo:o/r:ref:refs/heads/main' }, privateKey));
    expect(federated && isFederatedAssertion(federated, CLIENT)).toBe(true);
    expect(github && isFederatedAssertion(github, CLIENT)).toBe(true);
    expect(certificate && isFederatedAssertion(certificate, CLIENT)).toBe(false);
    expect(upperCase && isFederatedAssertion(upperCase, CLIENT)).toBe(false);
    expect(wrongIssuer && isFederatedAssertion(wrongIssuer, CLIENT)).toBe(false);
  });
});

describe("Entra ID's check", () => {
  it('accepts a token matching the federated credential', () => {
    const result = verdict(mintFederatedToken(idp, { nowMs: NOW }));
    expect(result).toEqual({ ok: true, credential });
  });

  it('accepts a single-string audience and any of several credentials', () => {
    const other: FederatedCredential = { name: 'gh', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:a/b:ref:refs/heads/main', audiences: [FEDERATION_AUDIENCE] };
    expect(refusedWith(verdict(mintFederatedToken(idp, { nowMs: NOW, audience: FEDERATION_AUDIENCE }), [other, credential]))).toBe('ok');
  });

  it.each([
    ['no federated credential on the app', {}, [], 70021, /Assertion Issuer: 'https:\/\/127\.0\.0\.1:4443\/federation'\. Assertion Subject: 'system:serviceaccount:security:o365-message-trace'/],
    ['another issuer', { issuer: 'https://oidc.example/other/' }, undefined, 700211, /presented assertion issuer 'https:\/\/oidc\.example\/other\/'/],
    ['another subject', { subject: 'system:serviceaccount:default:other' }, undefined, 700213, /presented assertion subject 'system:serviceaccount:default:other'/],
    ['the subject in other case', { subject: DEFAULT_FEDERATED_SUBJECT.toUpperCase() }, undefined, 7002138, /case-insensitive comparison/],
    ['another audience', { audience: 'api://something-else' }, undefined, 700212, /presented assertion audience 'api:\/\/something-else'/],
    ['expired an hour ago', { lifetimeSeconds: -3600 }, undefined, 700024, /not within its valid time range/],
  ] as const)('%s → AADSTS%s', (_name, mint, credentials, code, text) => {
    const result = verdict(mintFederatedToken(idp, { nowMs: NOW, ...mint }), credentials === undefined ? undefined : [...credentials]);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.text).toMatch(text);
      expect(result.status).toBe(code === 70021 ? 400 : 401);
    }
  });

  it('tolerates five minutes of clock skew, not more', () => {
    expect(refusedWith(verdict(mintFederatedToken(idp, { nowMs: NOW, lifetimeSeconds: -200 })))).toBe('ok');
    expect(refusedWith(verdict(mintFederatedToken(idp, { nowMs: NOW, lifetimeSeconds: -400 })))).toBe(700024);
  });

  it('a token signed with another key under the same key id → AADSTS7000274', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(refusedWith(verdict(mintFederatedToken(idp, { nowMs: NOW, signWith: privateKey })))).toBe(7000274);
  });

  it('a key the issuer does not publish, or an issuer whose keys cannot be fetched → AADSTS7000272', () => {
    expect(refusedWith(verdict(mintFederatedToken(idp, { nowMs: NOW, keyId: 'unknown-kid' })))).toBe(7000272);
    const foreign: FederatedCredential = { ...credential, issuer: 'https://oidc.example/x/' };
    expect(refusedWith(verdict(mintFederatedToken(idp, { nowMs: NOW, issuer: 'https://oidc.example/x/' }), [foreign]))).toBe(7000272);
  });

  it('a tampered payload fails the signature check', () => {
    const [h, , s] = mintFederatedToken(idp, { nowMs: NOW }).split('.');
    const forged = Buffer.from(JSON.stringify({ iss: ISSUER, sub: DEFAULT_FEDERATED_SUBJECT, aud: FEDERATION_AUDIENCE, exp: NOW / 1000 + 99_999 })).toString('base64url');
    expect(refusedWith(verdict(`${h}.${forged}.${s}`))).toBe(7000274);
  });
});

describe('the token file', () => {
  it('is replaced whole, with mode 0600, and leaves no temporary file', async () => {
    const file = path.join(dir, 'token');
    await writeFederatedTokenFile(file, 'first');
    await writeFederatedTokenFile(file, 'second');
    expect(await readFile(file, 'utf8')).toBe('second');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['token']);
  });
});
