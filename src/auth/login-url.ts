/**
 * The authorize URL a person opens for the authorization code flow (self-deployed app). Pure.
 * `offline_access` makes Entra ID return a refresh token; `openid profile` an ID token, from which MSAL
 * builds the account it keeps the refresh token under (the same scopes MSAL adds when redeeming);
 * `<url>/.default` asks for the app's configured Graph permissions; `response_mode=query` puts the code in
 * the redirect address where it can be copied.
 */
import { authorityFor, graphScope } from './authority.js';

export interface LoginUrlSettings {
  authorityUrl: string;
  tenantId: string;
  clientId: string;
  redirectUri: string;
  /** Graph origin (`url` param). */
  url: string;
}

/** RFC 3986 encoding: encodeURIComponent leaves !'()* alone, which breaks markdown links. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function buildLoginUrl(settings: LoginUrlSettings): string {
  const query: [string, string][] = [
    ['response_type', 'code'],
    ['client_id', settings.clientId],
    ['redirect_uri', settings.redirectUri],
    ['scope', `openid profile offline_access ${graphScope(settings.url)}`],
    ['response_mode', 'query'],
  ];
  const { authorizeEndpoint } = authorityFor(settings.authorityUrl, settings.tenantId);
  return `${authorizeEndpoint}?${query.map(([key, value]) => `${key}=${encode(value)}`).join('&')}`;
}
