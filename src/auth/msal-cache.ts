/**
 * MSAL's token cache kept in the engine's integration context (key `msalCache`), so a process that starts
 * every minute reuses the access token (and, for the authorization code flow, the refresh token) of the one
 * before. The blob holds tokens in clear: it is written only here, under its own key, and never logged.
 */
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import { readContextKey, writeContextKey } from '../engine/context-store.js';
import type { Engine } from '../engine/types.js';

export function createEngineCachePlugin(engine: Engine): ICachePlugin {
  return {
    async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
      const blob = await readContextKey(engine, 'msalCache');
      if (typeof blob !== 'string' || blob === '') return;
      try {
        context.tokenCache.deserialize(blob);
      } catch {
        // A damaged blob costs one token request, not a failed run.
        engine.log.warn('[Token Cache] The stored MSAL token cache could not be read; a new token will be requested.');
      }
    },
    async afterCacheAccess(context: TokenCacheContext): Promise<void> {
      if (!context.cacheHasChanged) return;
      await writeContextKey(engine, 'msalCache', context.tokenCache.serialize());
    },
  };
}

/** True when a non-empty MSAL cache blob is stored. */
export async function hasStoredMsalCache(engine: Engine): Promise<boolean> {
  const blob = await readContextKey(engine, 'msalCache');
  return typeof blob === 'string' && blob !== '';
}
