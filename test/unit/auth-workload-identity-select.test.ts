/**
 * Workload identity in the method selection: its place in the precedence, its environment fallbacks, and
 * every contradiction with the other methods, as a table. Pure (the environment is passed in).
 */
import { describe, expect, it } from 'vitest';
import { METHOD_REQUIREMENTS, loginUrlSettings, selectAuthMethod } from '../../src/auth/select.js';
import { IntegrationError } from '../../src/errors.js';
import { parseParams } from '../../src/input/params.js';

const TENANT = '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const FILE = '/var/run/secrets/azure/tokens/azure-identity-token';
const app = { tenant_id: TENANT, client_id: CLIENT };
const wi = { use_workload_identity: true, federated_token_file: FILE };
const secret = { client_secret: 's3cret-value' };
const cert = { certificate_thumbprint: 'AB'.repeat(20), private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' };
const code = { auth_code: 'the-code', redirect_uri: 'https://localhost/cb' };
const aksEnv = { AZURE_FEDERATED_TOKEN_FILE: FILE, AZURE_CLIENT_ID: CLIENT, AZURE_TENANT_ID: TENANT };

function select(raw: Record<string, unknown>, env: Record<string, string | undefined> = {}) {
  return selectAuthMethod(parseParams(raw), env);
}

function problem(raw: Record<string, unknown>, env: Record<string, string | undefined> = {}): string {
  try {
    select(raw, env);
  } catch (error) {
    expect(error).toBeInstanceOf(IntegrationError);
    expect((error as IntegrationError).code).toBe('auth_config');
    return (error as IntegrationError).message;
  }
  throw new Error('expected a configuration error');
}

describe('precedence: managed identity > workload identity > authorization code > certificate > secret', () => {
  it('workload identity with the app and a token file', () => {
    expect(select({ ...app, ...wi })).toEqual({
      method: 'workload_identity',
      tenantId: TENANT,
      clientId: CLIENT,
      tokenFile: { path: FILE, setting: 'federated_token_file' },
      ignored: [],
    });
  });

  it('a redirect URI alone does not get in the way (it is the auth code flow before a code is pasted)', () => {
    expect(select({ ...app, ...wi, redirect_uri: 'https://localhost/cb' }).method).toBe('workload_identity');
  });

  it('everything from the AKS environment: only the checkbox is needed', () => {
    expect(select({ use_workload_identity: 'true' }, aksEnv)).toMatchObject({
      method: 'workload_identity',
      tenantId: TENANT,
      clientId: CLIENT,
      tokenFile: { path: FILE, setting: 'AZURE_FEDERATED_TOKEN_FILE' },
    });
  });

  it('params win over the environment; the environment is ignored when workload identity is off', () => {
    const other = '22222222-2222-4333-8444-555555555555';
    expect(select({ ...wi, client_id: other }, aksEnv)).toMatchObject({ clientId: other, tenantId: TENANT, tokenFile: { setting: 'federated_token_file' } });
    expect(problem({ ...secret }, aksEnv)).toMatch(/tenant_id is missing/);
  });

  it('environment values are checked like the params and normalised', () => {
    expect(select({ use_workload_identity: true }, { ...aksEnv, AZURE_CLIENT_ID: ` ${CLIENT.toUpperCase()} ` })).toMatchObject({ clientId: CLIENT });
    expect(problem({ use_workload_identity: true }, { ...aksEnv, AZURE_TENANT_ID: 'not a tenant' })).toMatch(
      /AZURE_TENANT_ID \(used because tenant_id is empty\) is not valid/,
    );
  });

  it('managed identity still wins when only a token file is left over, and says it is ignored', () => {
    expect(select({ use_managed_identities: true, federated_token_file: FILE })).toMatchObject({
      method: 'managed_identity',
      ignored: ['federated_token_file'],
    });
  });
});

describe('contradictions and gaps', () => {
  it.each([
    ['workload identity and managed identities both on', { ...app, ...wi, use_managed_identities: true }, /use_managed_identities and use_workload_identity are both on/],
    ['workload identity with a client secret', { ...app, ...wi, ...secret }, /use_workload_identity is on, but client_secret is set too/],
    ['workload identity with a certificate', { ...app, ...wi, ...cert }, /but certificate_thumbprint, private_key are set too.*Clear them/s],
    ['workload identity with an auth code', { ...app, ...wi, ...code }, /but auth_code is set too/],
    ['a token file with workload identity off', { ...app, ...secret, federated_token_file: FILE }, /federated_token_file is set but use_workload_identity is off/],
    ['workload identity without a token file or AZURE_FEDERATED_TOKEN_FILE', { ...app, use_workload_identity: true }, /no token file is named.*AZURE_FEDERATED_TOKEN_FILE/s],
    ['workload identity without tenant and client', { ...wi }, /tenant_id is missing \(and AZURE_TENANT_ID is not set either\).*client_id is missing \(and AZURE_CLIENT_ID/s],
    ['workload identity with a managed identity client ID', { ...app, ...wi, managed_identities_client_id: '33333333-2222-4333-8444-555555555555' }, /use_managed_identities is off/],
  ])('%s', (_name, raw, says) => {
    const message = problem(raw);
    expect(message).toMatch(says);
    expect(message).toContain('Each method needs:');
    expect(message).toContain(METHOD_REQUIREMENTS.workload_identity);
    expect(message).not.toContain('s3cret-value');
    expect(message).not.toContain('the-code');
  });

  it('reports every problem at once', () => {
    const message = problem({ ...wi, ...secret, ...code, federated_token_file: undefined });
    for (const part of ['client_secret, auth_code are set too', 'tenant_id is missing', 'client_id is missing', 'no token file is named']) {
      expect(message).toContain(part);
    }
  });

  it('the requirements line says what the app registration needs', () => {
    expect(METHOD_REQUIREMENTS.workload_identity).toMatch(/federated credential whose issuer, subject and audience \(api:\/\/AzureADTokenExchange\)/);
  });

  it('generate-login-url refuses while workload identity is on', () => {
    expect(() => loginUrlSettings(parseParams({ ...app, ...secret, ...wi, redirect_uri: 'https://localhost/cb' }))).toThrow(
      /use_workload_identity is on, so the authorization code flow is not used/,
    );
  });
});

describe('the federated_token_file parameter', () => {
  it('is a path; a pasted token is refused without being quoted back', () => {
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"x","exp":1}').toString('base64url')}.c2lnbmF0dXJlLXZhbHVl`;
    let message = '';
    try {
      parseParams({ ...app, use_workload_identity: true, federated_token_file: jwt });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/federated_token_file.*looks like a token, not a file path/s);
    expect(message).not.toContain(jwt);
  });
});
