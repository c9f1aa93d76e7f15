/**
 * Chooses the authentication method from the params. Pure: no I/O, no clock; the environment (for the
 * workload identity fallbacks) is an argument. main chooses once, when it parses a command's params, and
 * hands the plan to the command (CommandContext.auth).
 *
 * Precedence (first match wins):
 *  1. Azure Managed Identities when `use_managed_identities` is on (other credentials are then ignored and
 *     the provider says so in the log);
 *  2. workload identity federation when `use_workload_identity` is on: the platform's identity token (the
 *     file `federated_token_file`, else `AZURE_FEDERATED_TOKEN_FILE`) is the client assertion; `tenant_id`
 *     and `client_id` fall back to `AZURE_TENANT_ID` and `AZURE_CLIENT_ID` (what AKS workload identity
 *     injects). It must be the only credential: no secret, certificate or code;
 *  3. authorization code when `auth_code` is set; it needs `redirect_uri` and a client credential, because
 *     a confidential app redeems the code: exactly one of `client_secret` or `certificate_thumbprint` +
 *     `private_key`;
 *  4. certificate when `certificate_thumbprint` or `private_key` is set (both are needed);
 *  5. client secret otherwise.
 * Every method except managed identities needs `tenant_id` and `client_id`.
 *
 * Contradictions are errors, not silent choices: a secret together with a certificate (which one would the
 * app registration expect?), half a certificate, an auth code without a redirect URI, a managed identity
 * client ID while managed identities are off, workload identity together with managed identities or with a
 * secret, certificate or code, a token file while workload identity is off. A redirect URI without a code
 * is fine: that is the state before o365-message-trace-generate-login-url, and the client credential is
 * used until a code is pasted. All problems are reported at once, with what each method needs.
 */
import { IntegrationError } from '../errors.js';
import { type IntegrationParams, PARAM_RULES } from '../input/params.js';
import type { AuthMethod } from './types.js';

/** The environment variables the workload identity method falls back to (names as AKS injects them). */
export const WORKLOAD_IDENTITY_ENV = {
  tokenFile: 'AZURE_FEDERATED_TOKEN_FILE',
  tenantId: 'AZURE_TENANT_ID',
  clientId: 'AZURE_CLIENT_ID',
} as const;

export type Environment = Readonly<Record<string, string | undefined>>;

/** The parameters the choice reads: when one of them is malformed, its own problem says enough. */
export const SIGN_IN_PARAMS: ReadonlySet<string> = new Set([
  'tenant_id',
  'client_id',
  'client_secret',
  'certificate_thumbprint',
  'private_key',
  'redirect_uri',
  'auth_code',
  'use_managed_identities',
  'managed_identities_client_id',
  'use_workload_identity',
  'federated_token_file',
]);

/** Where the platform's identity token is, and which setting named it (for messages). */
export interface FederatedTokenFile {
  path: string;
  setting: 'federated_token_file' | typeof WORKLOAD_IDENTITY_ENV.tokenFile;
}

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
  | ({ method: 'workload_identity'; tokenFile: FederatedTokenFile } & AppIdentity)
);

export const METHOD_REQUIREMENTS: Readonly<Record<AuthMethod, string>> = {
  client_secret: 'Client secret: tenant_id, client_id and client_secret.',
  certificate: 'Certificate: tenant_id, client_id, certificate_thumbprint and private_key (no client_secret).',
  authorization_code:
    'Authorization code: tenant_id, client_id, redirect_uri, auth_code, and one client credential (client_secret, or certificate_thumbprint with private_key).',
  managed_identity:
    'Azure Managed Identities: use_managed_identities on, plus managed_identities_client_id for a user-assigned identity (tenant_id, client_id and credentials are not used).',
  workload_identity:
    'Workload identity federation: use_workload_identity on, tenant_id and client_id (or AZURE_TENANT_ID / AZURE_CLIENT_ID), and federated_token_file (or AZURE_FEDERATED_TOKEN_FILE); no client_secret, certificate or auth_code, and use_managed_identities off. The app needs a federated credential whose issuer, subject and audience (api://AzureADTokenExchange) match the token.',
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

/** A non-empty, trimmed environment value, or undefined. */
function fromEnv(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * `tenant_id` / `client_id`, else the AKS-style environment variable, checked with the parameter's own rule
 * (a value from the environment has not been through parseParams).
 */
function identityValue(
  param: 'tenant_id' | 'client_id',
  fromParams: string | undefined,
  env: Environment,
  problems: string[],
): string | undefined {
  if (fromParams !== undefined) return fromParams;
  const variable = param === 'tenant_id' ? WORKLOAD_IDENTITY_ENV.tenantId : WORKLOAD_IDENTITY_ENV.clientId;
  const raw = fromEnv(env, variable);
  if (raw === undefined) {
    problems.push(`${param} is missing (and ${variable} is not set either).`);
    return undefined;
  }
  const refined = PARAM_RULES[param]?.refine?.(raw);
  if (refined === undefined || !refined.ok || typeof refined.value !== 'string') {
    problems.push(`${variable} (used because ${param} is empty) is not valid: ${refined && !refined.ok ? refined.problem : 'unexpected value'}.`);
    return undefined;
  }
  return refined.value;
}

function workloadIdentityPlan(params: IntegrationParams, env: Environment, problems: string[]): AuthPlan {
  const others = (
    [
      ['client_secret', params.clientSecret],
      ['certificate_thumbprint', params.certificateThumbprint],
      ['private_key', params.privateKey],
      ['auth_code', params.authCode],
    ] as const
  )
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  if (others.length > 0) {
    problems.push(
      `use_workload_identity is on, but ${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} set too: workload identity signs in with the platform's token file instead. Clear ${others.length === 1 ? 'it' : 'them'}, or turn use_workload_identity off.`,
    );
  }
  const tenantId = identityValue('tenant_id', params.tenantId, env, problems);
  const clientId = identityValue('client_id', params.clientId, env, problems);
  let tokenFile: FederatedTokenFile | undefined;
  if (params.federatedTokenFile !== undefined) {
    tokenFile = { path: params.federatedTokenFile, setting: 'federated_token_file' };
  } else {
    const path = fromEnv(env, WORKLOAD_IDENTITY_ENV.tokenFile);
    if (path === undefined) {
      problems.push(
        `use_workload_identity is on but no token file is named: set federated_token_file to the path of the platform's identity token, or run where ${WORKLOAD_IDENTITY_ENV.tokenFile} is set (AKS workload identity sets it in pods labelled azure.workload.identity/use: "true").`,
      );
    } else {
      tokenFile = { path, setting: WORKLOAD_IDENTITY_ENV.tokenFile };
    }
  }
  if (problems.length > 0 || tenantId === undefined || clientId === undefined || tokenFile === undefined) {
    throw configError(problems);
  }
  return { method: 'workload_identity', tenantId, clientId, tokenFile, ignored: [] };
}

export function selectAuthMethod(params: IntegrationParams, env: Environment): AuthPlan {
  const problems: string[] = [];

  if (params.useManagedIdentities) {
    if (params.useWorkloadIdentity) {
      throw configError([
        'use_managed_identities and use_workload_identity are both on: turn on only the one this runs with (a managed identity of an Azure resource, or a platform identity token in a file).',
      ]);
    }
    const ignored = (
      [
        ['client_secret', params.clientSecret],
        ['certificate_thumbprint', params.certificateThumbprint],
        ['private_key', params.privateKey],
        ['auth_code', params.authCode],
        ['federated_token_file', params.federatedTokenFile],
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

  if (params.useWorkloadIdentity) return workloadIdentityPlan(params, env, problems);
  if (params.federatedTokenFile !== undefined) {
    problems.push(
      'federated_token_file is set but use_workload_identity is off: turn use_workload_identity on to sign in with that token, or clear federated_token_file.',
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
    problems.push(
      'No credential is set: fill in client_secret, or certificate_thumbprint with private_key, or turn on use_managed_identities or use_workload_identity.',
    );
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
  if (params.useWorkloadIdentity) {
    problems.push('use_workload_identity is on, so the authorization code flow is not used: turn it off to sign in with a code.');
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
