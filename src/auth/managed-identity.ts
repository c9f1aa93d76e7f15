/**
 * Azure Managed Identities through MSAL's ManagedIdentityApplication (IMDS on a VM, or whichever source
 * MSAL detects). MSAL's managed identity cache is static to the process, and every fetch is a new process,
 * so the token is kept under `tokenCache` and reused until 5 minutes before it expires.
 */
import { ManagedIdentityApplication } from '@azure/msal-node';
import type { Engine } from '../engine/types.js';
import { IntegrationError } from '../errors.js';
import type { HttpFetch } from '../http/transport.js';
import { graphResource } from './authority.js';
import type { AcquiredToken } from './confidential.js';
import { createMsalNetworkClient } from './network.js';
import { readTokenStore, updateTokenStore } from './token-store.js';

/** A stored token is used only while it has at least this long to live. */
export const MANAGED_IDENTITY_RENEWAL_MS = 5 * 60_000;

export interface ManagedIdentitySettings {
  /** User-assigned identity's client ID; undefined for the system-assigned identity. */
  clientId: string | undefined;
  url: string;
  engine: Engine;
  http: HttpFetch;
  /** Turn MSAL's own IMDS retries (up to ~30 s of backoff) off, for tests. */
  disableInternalRetries?: boolean;
}

export function createManagedIdentitySource(settings: ManagedIdentitySettings) {
  const identity = settings.clientId ?? 'system';
  const resource = graphResource(settings.url);
  let app: ManagedIdentityApplication | undefined;

  return async function acquire(forceRefresh: boolean): Promise<AcquiredToken> {
    const now = settings.engine.now();
    if (!forceRefresh) {
      const entry = (await readTokenStore(settings.engine)).managedIdentity;
      if (
        entry !== undefined &&
        entry.identity === identity &&
        entry.resource === resource &&
        entry.expiresOnMs - MANAGED_IDENTITY_RENEWAL_MS > now
      ) {
        return { accessToken: entry.accessToken, expiresOnMs: entry.expiresOnMs, fromCache: true };
      }
    }
    app ??= new ManagedIdentityApplication({
      ...(settings.clientId ? { managedIdentityIdParams: { userAssignedClientId: settings.clientId } } : {}),
      system: {
        networkClient: createMsalNetworkClient(settings.http, { timeoutMs: 30_000 }),
        ...(settings.disableInternalRetries ? { disableInternalRetries: true } : {}),
      },
    });
    // Our store decided a new token is needed; MSAL's process cache would only hand back the old one.
    const result = await app.acquireToken({ resource, forceRefresh: true });
    if (!result.accessToken) {
      throw new IntegrationError('auth_failed', 'The managed identity endpoint answered without an access token.');
    }
    // MSAL counts on the wall clock; the store counts on the engine's (virtual in tests and benchmarks).
    const lifetimeMs = result.expiresOn ? result.expiresOn.getTime() - Date.now() : 60 * 60_000;
    const expiresOnMs = now + lifetimeMs;
    await updateTokenStore(settings.engine, (store) => ({
      ...store,
      managedIdentity: { identity, resource, accessToken: result.accessToken, expiresOnMs },
    }));
    return { accessToken: result.accessToken, expiresOnMs, fromCache: false };
  };
}
