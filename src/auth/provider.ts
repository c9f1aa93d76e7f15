/**
 * The one token provider: signs in with the method chosen from the params (select.ts, once, by main),
 * checks the credential before any request, and hides MSAL behind `getAccessToken`. Every failure leaves as an IntegrationError (errors.ts).
 */
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { Engine } from '../engine/types.js';
import type { HttpFetch } from '../http/transport.js';
import type { IntegrationParams } from '../input/params.js';
import {
  type AcquiredToken,
  type ConfidentialSettings,
  acquireByAuthCode,
  acquireByClientCredential,
  cachedFor,
  createConfidentialApp,
} from './confidential.js';
import { type AuthErrorContext, type AuthPhase, mapAuthError } from './errors.js';
import { type FederatedTokenClaims, readFederatedToken } from './federated-token.js';
import { createManagedIdentitySource } from './managed-identity.js';
import { hasStoredMsalCache } from './msal-cache.js';
import type { AuthPlan } from './select.js';
import { readTokenStore } from './token-store.js';
import type { TokenProvider, TokenRequestOptions } from './types.js';

export interface TokenProviderDeps {
  params: IntegrationParams;
  /** The sign-in method chosen from `params` (selectAuthMethod). */
  plan: AuthPlan;
  engine: Engine;
  http: HttpFetch;
  /** Test seam: turn MSAL's managed identity retries off. */
  managedIdentity?: { disableInternalRetries?: boolean };
}

function secretsOf(plan: AuthPlan): string[] {
  switch (plan.method) {
    case 'managed_identity':
      return [];
    case 'workload_identity':
      // The platform's token is added as it is read (provider below).
      return [];
    case 'authorization_code':
      return [
        plan.authCode,
        plan.credential.kind === 'secret' ? plan.credential.clientSecret : plan.credential.privateKey,
      ];
    case 'client_secret':
      return [plan.credential.clientSecret];
    case 'certificate':
      return [plan.credential.privateKey];
  }
}

/** The token provider of the chosen method. Throws IntegrationError('auth_config') for a malformed certificate. */
export function createTokenProvider(deps: TokenProviderDeps): TokenProvider {
  const { params, plan, engine, http } = deps;
  if (plan.ignored.length > 0) {
    engine.log.warn(`[Token Request] Using Azure Managed Identities; these parameters are ignored: ${plan.ignored.join(', ')}.`);
  }
  const secrets = secretsOf(plan);
  /** Claims of the federated token last read, for explaining Entra's answer to it. */
  let federatedClaims: FederatedTokenClaims | undefined;
  const context: Omit<AuthErrorContext, 'phase'> = {
    method: plan.method,
    tenantId: plan.method === 'managed_identity' ? undefined : plan.tenantId,
    clientId: plan.method === 'managed_identity' ? undefined : plan.clientId,
    managedIdentityClientId: plan.method === 'managed_identity' ? plan.managedIdentityClientId : undefined,
    url: params.url,
    secrets,
    ...(plan.method === 'workload_identity'
      ? { federation: { tokenFile: plan.tokenFile, claims: () => federatedClaims } }
      : {}),
  };

  let acquire: (forceRefresh: boolean) => Promise<AcquiredToken>;
  /** The request being made, for explaining its failure. */
  let phase: AuthPhase;
  if (plan.method === 'managed_identity') {
    phase = 'managed_identity';
    acquire = createManagedIdentitySource({
      clientId: plan.managedIdentityClientId,
      url: params.url,
      engine,
      http,
      disableInternalRetries: deps.managedIdentity?.disableInternalRetries ?? false,
    });
  } else {
    let credential: ConfidentialSettings['credential'];
    if (plan.method === 'workload_identity') {
      const { tokenFile } = plan;
      credential = {
        kind: 'federated',
        // Read for every token request, cached or not (MSAL asks each time): the platform rotates the file.
        assertion: async () => {
          federatedClaims = undefined;
          const { token, claims } = await readFederatedToken(tokenFile, engine.now());
          federatedClaims = claims;
          if (!secrets.includes(token)) {
            secrets.push(token);
            // A long-running process sees a new token every hour; the last few are enough to screen descriptions.
            if (secrets.length > 4) secrets.splice(0, secrets.length - 4);
          }
          engine.log.debug('[Token Request] read the federated token file', {
            path: tokenFile.path,
            setting: tokenFile.setting,
            issuer: claims.issuer ?? null,
            subject: claims.subject ?? null,
            expiresOn: new Date(claims.expiresOnMs).toISOString(),
          });
          return token;
        },
      };
    } else {
      credential = plan.credential;
    }
    const settings = {
      tenantId: plan.tenantId,
      clientId: plan.clientId,
      credential,
      authorityUrl: params.authorityUrl,
      url: params.url,
      engine,
      http,
    };
    const build = (): ConfidentialClientApplication => {
      try {
        return createConfidentialApp(settings);
      } catch (error) {
        throw mapAuthError(error, { ...context, phase: 'client_credential' });
      }
    };
    // Built now so a malformed certificate fails before any request.
    let app = build();
    if (plan.method === 'authorization_code') {
      phase = 'refresh';
      const codeSettings = { ...settings, redirectUri: plan.redirectUri, authCode: plan.authCode };
      const apps = (fresh: boolean) => {
        if (fresh) app = build();
        return app;
      };
      acquire = (forceRefresh) =>
        acquireByAuthCode(apps, codeSettings, forceRefresh, (next) => {
          phase = next;
        });
    } else {
      phase = 'client_credential';
      acquire = (forceRefresh) => acquireByClientCredential(app, params.url, forceRefresh);
    }
  }

  return {
    method: plan.method,
    async getAccessToken(options: TokenRequestOptions = {}): Promise<string> {
      options.signal?.throwIfAborted();
      const forceRefresh = options.forceRefresh ?? false;
      try {
        const token = await acquire(forceRefresh);
        engine.log.debug('[Token Request] access token ready', {
          method: plan.method,
          fromCache: token.fromCache,
          forceRefresh,
          ...(token.expiresOnMs === undefined ? {} : { expiresOn: new Date(token.expiresOnMs).toISOString() }),
        });
        return token.accessToken;
      } catch (error) {
        const mapped = mapAuthError(error, { ...context, phase });
        engine.log.warn('[Token Request] failed', { method: plan.method, code: mapped.code, upstreamCode: mapped.upstreamCode });
        throw mapped;
      }
    },
  };
}

/**
 * For the authorization code flow: whether tokens for the configured code are already kept, i.e. whether
 * o365-message-trace-auth-test has redeemed it. test-module uses this to avoid redeeming the code itself.
 */
export async function hasCachedAuthCodeTokens(plan: AuthPlan, url: string, engine: Engine): Promise<boolean> {
  if (plan.method !== 'authorization_code') return false;
  const entry = (await readTokenStore(engine)).authCode;
  return cachedFor(entry, { ...plan, url, engine }) && (await hasStoredMsalCache(engine));
}
