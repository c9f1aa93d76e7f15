/**
 * What authentication keeps besides MSAL's own cache, under the integration context key `tokenCache`:
 *  - the managed identity access token (MSAL's managed identity cache lives only as long as the process);
 *  - for the authorization code flow, a SHA-256 hash of the code that was redeemed (never the code) and the
 *    account its tokens belong to, so the same code is never redeemed twice.
 * A versioned document, parsed at the edge; anything unreadable counts as empty (it costs a token request).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { readContextKey, writeContextKey } from '../engine/context-store.js';
import type { Engine } from '../engine/types.js';

const managedIdentityEntry = z.object({
  /** `system` or the user-assigned client ID. */
  identity: z.string(),
  resource: z.string(),
  accessToken: z.string(),
  expiresOnMs: z.number(),
});

const authCodeEntry = z.object({
  redeemedCodeSha256: z.string(),
  homeAccountId: z.string(),
  /**
   * The scopes Entra ID granted for `.default` (it answers with the permission names, e.g.
   * `https://graph.microsoft.com/ExchangeMessageTrace.Read.All`). Silent requests ask for these, because
   * MSAL looks cached tokens up by scope and would never match `.default` against them.
   */
  scopes: z.array(z.string()).default([]),
  clientId: z.string(),
  tenantId: z.string(),
  redeemedAtMs: z.number(),
});

const tokenStoreSchema = z.object({
  version: z.literal(1),
  managedIdentity: managedIdentityEntry.optional(),
  authCode: authCodeEntry.optional(),
});

export type TokenStore = z.infer<typeof tokenStoreSchema>;
export type AuthCodeEntry = z.infer<typeof authCodeEntry>;

const EMPTY: TokenStore = { version: 1 };

export async function readTokenStore(engine: Engine): Promise<TokenStore> {
  const raw = await readContextKey(engine, 'tokenCache');
  if (raw === undefined) return { ...EMPTY };
  const parsed = tokenStoreSchema.safeParse(raw);
  return parsed.success ? parsed.data : { ...EMPTY };
}

export async function updateTokenStore(engine: Engine, change: (store: TokenStore) => TokenStore): Promise<void> {
  const next = change(await readTokenStore(engine));
  await writeContextKey(engine, 'tokenCache', JSON.parse(JSON.stringify(next)));
}

/** The hash by which a redeemed code is remembered. */
export function codeFingerprint(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** Forgets every token: MSAL's cache and ours. Nothing else in the integration context is touched. */
export async function clearStoredTokens(engine: Engine): Promise<void> {
  await writeContextKey(engine, 'msalCache', undefined);
  await writeContextKey(engine, 'tokenCache', undefined);
}
