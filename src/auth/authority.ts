/**
 * Where tokens come from: the Entra ID authority for a tenant and the endpoints MSAL would otherwise discover.
 * Supplying the endpoint metadata ourselves means MSAL makes no discovery request, so the same code works
 * for login.microsoftonline.com, a national cloud and the simulated tenant on https://127.0.0.1:PORT.
 */

export interface AuthorityInfo {
  /** `<authorityUrl>/<tenant>`, what MSAL calls the authority. */
  authority: string;
  /** host[:port] of the authority, for MSAL's `knownAuthorities`. */
  host: string;
  tokenEndpoint: string;
  authorizeEndpoint: string;
  /** JSON for MSAL's `authorityMetadata` (an OpenID configuration document). */
  metadata: string;
}

/** `authorityUrl` is an origin (params are normalised); `tenantId` a GUID or verified domain. */
export function authorityFor(authorityUrl: string, tenantId: string): AuthorityInfo {
  const origin = new URL(authorityUrl).origin;
  const authority = `${origin}/${encodeURIComponent(tenantId)}`;
  const tokenEndpoint = `${authority}/oauth2/v2.0/token`;
  const authorizeEndpoint = `${authority}/oauth2/v2.0/authorize`;
  const metadata = JSON.stringify({
    token_endpoint: tokenEndpoint,
    authorization_endpoint: authorizeEndpoint,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
    issuer: `${authority}/v2.0`,
    jwks_uri: `${authority}/discovery/v2.0/keys`,
  });
  return { authority, host: new URL(origin).host, tokenEndpoint, authorizeEndpoint, metadata };
}

/** The app-only scope for the Graph origin in `url`, e.g. `https://graph.microsoft.com/.default`. */
export function graphScope(url: string): string {
  return `${new URL(url).origin}/.default`;
}

/** The managed-identity resource for the Graph origin in `url` (IMDS wants a resource, not a scope). */
export function graphResource(url: string): string {
  return new URL(url).origin;
}
