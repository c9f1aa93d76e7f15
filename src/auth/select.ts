/**
 * Chooses the authentication method from the params. Pure: no I/O, no clock.
 *
 * Precedence (first match wins):
 *  1. Azure Managed Identities when `use_managed_identities` is on (other credentials are then ignored and
 *     the provider says so in the log);
 *  2. authorization code when `auth_code` is set; it needs `redirect_uri` and a client credential, because
 *     a confidential app redeems the code: exactly one of `client_secret` or `certificate_thumbprint` +
 *     `private_key`;
 *  3. certificate when `certificate_thumbprint` or `private_key` is set (both are needed);
 *  4. client secret otherwise.
 * Every method except managed identities needs `tenant_id` and `client_id`.
 *
 * Contradictions are errors, not silent choices: a secret together with a certificate (which one would the
 * app registration expect?), half a certificate, an auth code without a redirect URI, a managed identity
 * client ID while managed identities are off. A redirect URI without a code is fine: that is the state
 * before o365-message-trace-generate-login-url, and the client credential is used until a code is pasted.
 * All problems are reported at once, with what each method needs.
 */
import { IntegrationError } from '../errors.js';
import type { IntegrationParams } from '../input/params.js';
import type { AuthMethod } from './types.js';

export type ClientCredential =
  | { kind: 'secret'; clientSecret: string }
  | { kind: 'certificate'; thumbprint: string; privateKey: string };

interface AppIdentity {
  tenantId: string;
  clientId: string;
}

export type AuthPlan = { ignored: string[] } & (
  | { method: 'managed_identity'; managedIdentityClientId: string | undefined }
  | ({ method: 'client_secret'; credential: Extract<ClientCredential, { kind: 'secret' }> } & AppIdentity)
  | ({ method: 'certificate'; credential: Extract<ClientCredential, { kind: 'certificate' }> } & AppIdentity)
  | ({ method: 'authorization_code'; credential: ClientCredential; redirectUri: string; authCode: string } & AppIdentity)
);

export const METHOD_REQUIREMENTS: Readonly<Record<AuthMethod, string>> = {
  client_secret: 'Client secret: tenant_id, client_id and client_secret.',
  certificate: 'Certificate: tenant_id, client_id, certificate_thumbprint and private_key (no client_secret).',
  authorization_code:
    'Authorization code: tenant_id, client_id, redirect_uri, auth_code, and one client credential (client_secret, or certificate_thumbprint with private_key).',
  managed_identity:
    'Azure Managed Identities: use_managed_identities on, plus managed_identities_client_id for a user-assigned identity (tenant_id, client_id and credentials are not used).',
};

export function describeRequirements(): string {
  return Object.values(METHOD_REQUIREMENTS)
    .map((line) => `- ${line}`)
    .join('\n');
}

function configError(problems: string[]): IntegrationError {
  return new IntegrationError(
    'auth_config',
    `The authentication settings are incomplete or contradictory:\n${problems.map((p) => `- ${p}`).join('\n')}\n` +
      `Each method needs:\n${describeRequirements()}`,
  );
}

/**
 * The client credential for secret, certificate and auth-code flows; 'none' when nothing is set, 'invalid'
 * when what is set is contradictory or half done (the problem is then already recorded).
 */
function clientCredential(params: IntegrationParams, problems: string[]): ClientCredential | 'none' | 'invalid' {
  const { clientSecret, certificateThumbprint, privateKey } = params;
  const certificateGiven = certificateThumbprint !== undefined || privateKey !== undefined;
  if (clientSecret !== undefined && certificateGiven) {
    problems.push(
      'client_secret and a certificate (certificate_thumbprint / private_key) are both set: keep only the one the app registration uses.',
    );
    return 'invalid';
  }
  if (certificateGiven) {
    if (certificateThumbprint === undefined) problems.push('private_key is set but certificate_thumbprint is missing.');
    if (privateKey === undefined) problems.push('certificate_thumbprint is set but private_key is missing.');
    if (certificateThumbprint === undefined || privateKey === undefined) return 'invalid';
    return { kind: 'certificate', thumbprint: certificateThumbprint, privateKey };
  }
  if (clientSecret !== undefined) return { kind: 'secret', clientSecret };
  return 'none';
}

function appIdentity(params: IntegrationParams, problems: string[]): AppIdentity | undefined {
  if (params.tenantId === undefined) problems.push('tenant_id is missing.');
  if (params.clientId === undefined) problems.push('client_id is missing.');
  if (params.tenantId === undefined || params.clientId === undefined) return undefined;
  return { tenantId: params.tenantId, clientId: params.clientId };
}

export function selectAuthMethod(params: IntegrationParams): AuthPlan {
  const problems: string[] = [];

  if (params.useManagedIdentities) {
    const ignored = (
      [
        ['client_secret', params.clientSecret],
        ['certificate_thumbprint', params.certificateThumbprint],
        ['private_key', params.privateKey],
        ['auth_code', params.authCode],
      ] as const
    )
      .filter(([, value]) => value !== undefined)
      .map(([name]) => name);
    return { method: 'managed_identity', managedIdentityClientId: params.managedIdentitiesClientId, ignored };
  }
  if (params.managedIdentitiesClientId !== undefined) {
    problems.push(
      'managed_identities_client_id is set but use_managed_identities is off: turn use_managed_identities on, or clear managed_identities_client_id.',
    );
  }

  if (params.authCode !== undefined) {
    if (params.redirectUri === undefined) {
      problems.push('auth_code is set but redirect_uri is missing: enter the redirect URI the login URL was generated with.');
    }
    const identity = appIdentity(params, problems);
    const credential = clientCredential(params, problems);
    if (credential === 'none') {
      problems.push(
        'auth_code needs a client credential to be redeemed: set client_secret, or certificate_thumbprint with private_key.',
      );
    }
    if (problems.length > 0 || identity === undefined || typeof credential === 'string' || params.redirectUri === undefined) {
      throw configError(problems);
    }
    return {
      method: 'authorization_code',
      ...identity,
      credential,
      redirectUri: params.redirectUri,
      authCode: params.authCode,
      ignored: [],
    };
  }

  const identity = appIdentity(params, problems);
  const credential = clientCredential(params, problems);
  if (credential === 'none') {
    problems.push('No credential is set: fill in client_secret, or certificate_thumbprint with private_key, or turn on use_managed_identities.');
  }
  if (problems.length > 0 || identity === undefined || typeof credential === 'string') throw configError(problems);
  return credential.kind === 'secret'
    ? { method: 'client_secret', ...identity, credential, ignored: [] }
    : { method: 'certificate', ...identity, credential, ignored: [] };
}

/** What o365-message-trace-generate-login-url needs: the app identity, the redirect URI and a credential. */
export function loginUrlSettings(params: IntegrationParams): AppIdentity & { redirectUri: string } {
  const problems: string[] = [];
  if (params.useManagedIdentities) {
    problems.push('use_managed_identities is on, so the authorization code flow is not used: turn it off to sign in with a code.');
  }
  if (params.redirectUri === undefined) {
    problems.push('redirect_uri is missing: enter the Web redirect URI registered on the app (Authentication > Web).');
  }
  const identity = appIdentity(params, problems);
  const credential = clientCredential(params, problems);
  if (credential === 'none') {
    problems.push(
      'The code will be redeemed with a client credential: set client_secret, or certificate_thumbprint with private_key, before you sign in (codes expire after about 10 minutes).',
    );
  }
  if (problems.length > 0 || identity === undefined || params.redirectUri === undefined) throw configError(problems);
  return { ...identity, redirectUri: params.redirectUri };
}
