/** What the rest of the integration knows about authentication. */

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
