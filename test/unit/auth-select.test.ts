/** Method selection: precedence and every contradiction, as a table. Pure. */
import { describe, expect, it } from 'vitest';
import { loginUrlSettings, selectAuthMethod } from '../../src/auth/select.js';
import { IntegrationError } from '../../src/errors.js';
import { parseParams } from '../../src/input/params.js';

const TENANT = '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const MI_CLIENT = '33333333-2222-4333-8444-555555555555';
const THUMB = 'AB'.repeat(20);
const app = { tenant_id: TENANT, client_id: CLIENT };
const secret = { client_secret: 's3cret-value' };
const cert = { certificate_thumbprint: THUMB, private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' };
const code = { auth_code: 'the-code', redirect_uri: 'https://localhost/cb' };

function select(raw: Record<string, unknown>) {
  return selectAuthMethod(parseParams(raw), {});
}

function problem(raw: Record<string, unknown>): string {
  try {
    select(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(IntegrationError);
    expect((error as IntegrationError).code).toBe('auth_config');
    return (error as IntegrationError).message;
  }
  throw new Error('expected a configuration error');
}

describe('precedence', () => {
  it.each([
    ['secret', 'client_secret', { ...app, ...secret }],
    ['certificate', 'certificate', { ...app, ...cert }],
    ['auth code + secret', 'authorization_code', { ...app, ...secret, ...code }],
    ['auth code + certificate', 'authorization_code', { ...app, ...cert, ...code }],
    ['redirect URI without code uses the secret', 'client_secret', { ...app, ...secret, redirect_uri: 'https://localhost/cb' }],
    ['managed identity', 'managed_identity', { use_managed_identities: true }],
    ['managed identity wins over everything', 'managed_identity', { ...app, ...secret, ...code, use_managed_identities: 'true' }],
  ])('%s → %s', (_name, method, raw) => {
    expect(select(raw).method).toBe(method);
  });

  it('managed identity reports the credentials it ignores, and the user-assigned client ID', () => {
    const plan = select({ ...app, ...secret, ...code, use_managed_identities: true, managed_identities_client_id: MI_CLIENT });
    expect(plan).toMatchObject({ method: 'managed_identity', managedIdentityClientId: MI_CLIENT, ignored: ['client_secret', 'auth_code'] });
  });

  it('the auth code plan carries its credential', () => {
    const plan = select({ ...app, ...cert, ...code });
    expect(plan.method === 'authorization_code' && plan.credential.kind).toBe('certificate');
  });
});

describe('contradictions and gaps', () => {
  it.each([
    ['secret and certificate together', { ...app, ...secret, ...cert }, /both set/],
    ['thumbprint without key', { ...app, certificate_thumbprint: THUMB }, /private_key is missing/],
    ['key without thumbprint', { ...app, private_key: cert.private_key }, /certificate_thumbprint is missing/],
    ['auth code without redirect URI', { ...app, ...secret, auth_code: 'c' }, /redirect_uri is missing/],
    ['auth code without client credential', { ...app, ...code }, /needs a client credential/],
    ['auth code with secret and certificate', { ...app, ...secret, ...cert, ...code }, /both set/],
    ['no tenant', { client_id: CLIENT, ...secret }, /tenant_id is missing/],
    ['no client', { tenant_id: TENANT, ...secret }, /client_id is missing/],
    ['nothing', {}, /No credential is set/],
    ['MI client ID with managed identities off', { ...app, ...secret, managed_identities_client_id: MI_CLIENT }, /use_managed_identities is off/],
  ])('%s', (_name, raw, says) => {
    const message = problem(raw);
    expect(message).toMatch(says);
    expect(message).toContain('Each method needs:');
    expect(message).not.toContain('s3cret-value');
    expect(message).not.toContain('the-code');
  });

  it('reports every problem at once', () => {
    const message = problem({ ...cert, certificate_thumbprint: undefined, auth_code: 'c' });
    for (const part of ['redirect_uri is missing', 'tenant_id is missing', 'client_id is missing', 'certificate_thumbprint is missing']) {
      expect(message).toContain(part);
    }
  });
});

describe('login URL settings', () => {
  it('needs the app, the redirect URI and a credential, but no code', () => {
    expect(loginUrlSettings(parseParams({ ...app, ...secret, redirect_uri: 'https://localhost/cb' }))).toEqual({
      tenantId: TENANT,
      clientId: CLIENT,
      redirectUri: 'https://localhost/cb',
    });
    expect(() => loginUrlSettings(parseParams({ ...app, redirect_uri: 'https://localhost/cb' }))).toThrow(/client credential/);
    expect(() => loginUrlSettings(parseParams({ ...app, ...secret, redirect_uri: 'https://localhost/cb', use_managed_identities: true }))).toThrow(
      /use_managed_identities is on/,
    );
  });
});
