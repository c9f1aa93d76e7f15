/**
 * The one error family of the integration. Every failure a person can see is an IntegrationError with a
 * stable `code` (for scripts and tests) and a message that says what was wrong and what to change.
 *
 * Secrets are never put into a message to begin with: constructors take the facts (which parameter, which
 * accepted form, Microsoft's error code and request id), never the raw values a user typed for a secret.
 */
export type ErrorCode =
  // configuration and input
  | 'unknown_command'
  | 'invalid_param'
  | 'invalid_argument'
  | 'not_available'
  // authentication (Entra ID)
  | 'auth_config'
  | 'auth_failed'
  | 'auth_grant_expired'
  // Graph
  | 'graph_unauthorized'
  | 'graph_forbidden'
  | 'graph_bad_request'
  | 'graph_throttled'
  | 'graph_unavailable'
  | 'graph_invalid_response'
  | 'network'
  | 'request_budget_exhausted'
  | 'deadline_exceeded'
  // local state and engine
  | 'state_invalid'
  | 'state_locked'
  | 'state_key'
  | 'sink_failed'
  | 'internal';

export interface IntegrationErrorDetails {
  /** Microsoft's own code (AADSTS number, Graph `error.code`), kept for support tickets. */
  upstreamCode?: string | undefined;
  /** Graph `request-id` / Entra `trace_id` / correlation id, kept for support tickets. */
  requestId?: string | undefined;
  /** HTTP status of the upstream response, when there was one. */
  status?: number | undefined;
  /** Underlying error; never shown to a user, kept for debugging in logs (already redacted). */
  cause?: unknown;
}

export class IntegrationError extends Error {
  override readonly name = 'IntegrationError';
  readonly code: ErrorCode;
  readonly upstreamCode: string | undefined;
  readonly requestId: string | undefined;
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, details: IntegrationErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.upstreamCode = details.upstreamCode;
    this.requestId = details.requestId;
    this.status = details.status;
  }

  /** The message with Microsoft's code and request id appended, as a user should report it. */
  get fullMessage(): string {
    const refs: string[] = [];
    if (this.upstreamCode) refs.push(`Microsoft error: ${this.upstreamCode}`);
    if (this.requestId) refs.push(`request id: ${this.requestId}`);
    return refs.length === 0 ? this.message : `${this.message} (${refs.join(', ')})`;
  }
}

export function isIntegrationError(value: unknown): value is IntegrationError {
  return value instanceof IntegrationError;
}
