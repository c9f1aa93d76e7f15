/**
 * The confidential client (client secret, certificate, authorization code, workload identity): one MSAL
 * ConfidentialClientApplication per provider, its cache in the integration context, its requests through
 * the integration's transport, and endpoint metadata supplied so MSAL needs no discovery request.
 */
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { writeContextKey } from '../engine/context-store.js';
import type { Engine } from '../engine/types.js';
import { IntegrationError } from '../errors.js';
import type { HttpFetch } from '../http/transport.js';
import { RESET_STEPS } from './aadsts.js';
import { authorityFor, graphScope } from './authority.js';
import { prepareCertificate } from './certificate.js';
import { createEngineCachePlugin } from './msal-cache.js';
import { createMsalNetworkClient } from './network.js';
import type { ClientCredential } from './select.js';
import { type AuthCodeEntry, codeFingerprint, readTokenStore, updateTokenStore } from './token-store.js';

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export interface AcquiredToken {
  accessToken: string;
  expiresOnMs: number | undefined;
  fromCache: boolean;
}

/**
 * Workload identity federation: the client assertion is the platform's identity token, fetched anew for
 * every token request (MSAL calls it each time; see federated-token.ts).
 */
export interface FederatedAssertion {
  kind: 'federated';
  assertion: () => Promise<string>;
}

export interface ConfidentialSettings {
  tenantId: string;
  clientId: string;
  credential: ClientCredential | FederatedAssertion;
  authorityUrl: string;
  url: string;
  engine: Engine;
  http: HttpFetch;
}

/** Validates the credential (certificate checks happen here, before any request) and builds the app. */
export function createConfidentialApp(settings: ConfidentialSettings): ConfidentialClientApplication {
  const { authority, host, metadata } = authorityFor(settings.authorityUrl, settings.tenantId);
  const auth: Configuration['auth'] = {
    clientId: settings.clientId,
    authority,
    knownAuthorities: [host],
    authorityMetadata: metadata,
  };
  if (settings.credential.kind === 'secret') {
    auth.clientSecret = settings.credential.clientSecret;
  } else if (settings.credential.kind === 'federated') {
    // A callback, not a string: a string would be sent unchanged after the platform has replaced the file.
    auth.clientAssertion = settings.credential.assertion;
  } else {
    const certificate = prepareCertificate(settings.credential.thumbprint, settings.credential.privateKey);
    auth.clientCertificate = {
      privateKey: certificate.privateKeyPem,
      ...(certificate.thumbprint ? { thumbprint: certificate.thumbprint } : {}),
      ...(certificate.thumbprintSha256 ? { thumbprintSha256: certificate.thumbprintSha256 } : {}),
    };
  }
  return new ConfidentialClientApplication({
    auth,
    cache: { cachePlugin: createEngineCachePlugin(settings.engine) },
    system: { networkClient: createMsalNetworkClient(settings.http, { timeoutMs: 60_000 }) },
  });
}

/** Client credentials (secret or certificate): MSAL reuses the cached token until 5 minutes before expiry. */
export async function acquireByClientCredential(
  app: ConfidentialClientApplication,
  url: string,
  forceRefresh: boolean,
): Promise<AcquiredToken> {
  const result = await app.acquireTokenByClientCredential({ scopes: [graphScope(url)], skipCache: forceRefresh });
  if (!result?.accessToken) {
    throw new IntegrationError('auth_failed', 'Entra ID answered the token request without an access token.');
  }
  return { accessToken: result.accessToken, expiresOnMs: result.expiresOn?.getTime(), fromCache: result.fromCache };
}

export interface AuthCodeSettings {
  tenantId: string;
  clientId: string;
  redirectUri: string;
  authCode: string;
  url: string;
  engine: Engine;
}

/** Tokens are cached for this code: it was redeemed and the account it produced is in MSAL's cache. */
export function cachedFor(entry: AuthCodeEntry | undefined, settings: AuthCodeSettings): entry is AuthCodeEntry {
  return (
    entry !== undefined &&
    entry.redeemedCodeSha256 === codeFingerprint(settings.authCode) &&
    entry.clientId === settings.clientId &&
    entry.tenantId === settings.tenantId
  );
}

/**
 * Authorization code: a code is redeemed once (its hash is remembered in `tokenCache`); afterwards tokens
 * come silently from MSAL's cache, refreshed with the refresh token it keeps. A different code pasted later
 * means the person signed in again: it replaces the old tokens.
 */
export async function acquireByAuthCode(
  app: (fresh: boolean) => ConfidentialClientApplication,
  settings: AuthCodeSettings,
  forceRefresh: boolean,
  /** Told which request is about to go out, so a failure can be explained for that step. */
  onPhase: (phase: 'redeem_code' | 'refresh') => void,
): Promise<AcquiredToken> {
  const scopes = [graphScope(settings.url)];
  const entry = (await readTokenStore(settings.engine)).authCode;

  if (cachedFor(entry, settings)) {
    onPhase('refresh');
    const client = app(false);
    const accounts = await client.getTokenCache().getAllAccounts();
    const account = accounts.find((candidate) => candidate.homeAccountId === entry.homeAccountId);
    if (account === undefined) {
      // Redeemed before, but the tokens are gone: redeeming again would only fail (codes work once).
      throw new IntegrationError(
        'auth_grant_expired',
        `The authorization code was already redeemed, but the saved tokens are gone. ${RESET_STEPS}`,
      );
    }
    const granted = entry.scopes.length > 0 ? entry.scopes : scopes;
    const result = await client.acquireTokenSilent({ account, scopes: granted, forceRefresh });
    return {
      accessToken: result.accessToken,
      expiresOnMs: result.expiresOn?.getTime(),
      fromCache: result.fromCache,
    };
  }

  // A new code: start from an empty MSAL cache (stored and in memory) so old accounts cannot be picked up.
  onPhase('redeem_code');
  await updateTokenStore(settings.engine, (store) => ({ ...store, authCode: undefined }));
  await writeContextKey(settings.engine, 'msalCache', undefined);
  const result = await app(true).acquireTokenByCode({ code: settings.authCode, scopes, redirectUri: settings.redirectUri });
  if (!result.account) {
    throw new IntegrationError(
      'auth_failed',
      'Entra ID redeemed the code but returned no ID token, so the tokens cannot be kept for later runs. Make sure the app may sign users in (openid and offline_access scopes) and sign in again with a new login URL.',
    );
  }
  await updateTokenStore(settings.engine, (store) => ({
    ...store,
    authCode: {
      redeemedCodeSha256: codeFingerprint(settings.authCode),
      homeAccountId: result.account?.homeAccountId ?? '',
      scopes: result.scopes.filter((scope) => !OIDC_SCOPES.has(scope.toLowerCase())),
      clientId: settings.clientId,
      tenantId: settings.tenantId,
      redeemedAtMs: settings.engine.now(),
    },
  }));
  return {
    accessToken: result.accessToken,
    expiresOnMs: result.expiresOn?.getTime(),
    fromCache: false,
  };
}
