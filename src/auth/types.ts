/** What the rest of the integration knows about authentication. */
import type { FederatedTokenClaims } from './federated-token.js';
import type { FederatedTokenFile } from './select.js';

export type AuthMethod =
  | 'client_secret'
  | 'certificate'
  | 'authorization_code'
  | 'managed_identity'
  | 'workload_identity';

export interface TokenRequestOptions {
  /** Skip every cache: the last token was refused by Graph. */
  forceRefresh?: boolean;
  signal?: AbortSignal;
}

export interface TokenProvider {
  readonly method: AuthMethod;
  /** A bearer token for Graph (scope `<url>/.default`). Throws IntegrationError with an actionable message. */
  getAccessToken(options?: TokenRequestOptions): Promise<string>;
}

/** Which token request failed; decides how "invalid grant" style codes are explained. */
export type AuthPhase = 'client_credential' | 'redeem_code' | 'refresh' | 'managed_identity';

/**
 * What a token failure is explained with: the method and request, the names a person recognises (tenant,
 * app, Graph origin), and the values that must never be shown. Shared by the mapper (`errors.ts`) and the
 * AADSTS table (`aadsts.ts`), which therefore need not import each other.
 */
export interface AuthErrorContext {
  method: AuthMethod;
  phase: AuthPhase;
  tenantId?: string | undefined;
  clientId?: string | undefined;
  managedIdentityClientId?: string | undefined;
  /** The Graph origin (`url` param). */
  url: string;
  /** Values that must never appear in a message (secret, key, code, federated token). */
  secrets?: readonly string[];
  /** Workload identity: the token file and the public claims of the token last read from it. */
  federation?: { tokenFile: FederatedTokenFile; claims: () => FederatedTokenClaims | undefined };
}
