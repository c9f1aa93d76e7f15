/**
 * Graph error responses → IntegrationError. Graph answers failures with
 * `{error: {code, message, innerError: {'request-id', date}}}`
 * (https://learn.microsoft.com/en-us/graph/errors); Microsoft's code and request id are kept for support.
 *
 * 401/403 say what to change in the app registration; that text lives with the rest of the auth advice in
 * `src/auth/errors.ts` (`mapGraphAuthError`).
 */
import { mapGraphAuthError } from '../auth/errors.js';
import { IntegrationError } from '../errors.js';
import { graphErrorBodySchema } from './schema.js';

export interface GraphErrorFacts {
  code: string | undefined;
  message: string | undefined;
  requestId: string | undefined;
}

/** Reads Graph's error body (text, maybe not JSON) and the `request-id` header. Never throws. */
export function readGraphError(bodyText: string, headers?: Headers): GraphErrorFacts {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    json = undefined;
  }
  const parsed = graphErrorBodySchema.safeParse(json);
  const error = parsed.success ? parsed.data.error : undefined;
  return {
    code: error?.code,
    message: error?.message?.trim() || undefined,
    requestId: error?.innerError?.['request-id'] ?? headers?.get('request-id') ?? undefined,
  };
}

/** The IntegrationError for a failed Graph response (429 and 5xx as they stand after retries). */
export function mapGraphError(status: number, bodyText: string, headers?: Headers): IntegrationError {
  const facts = readGraphError(bodyText, headers);
  const details = { upstreamCode: facts.code, requestId: facts.requestId, status };
  const graphSaid = facts.message ? `: ${facts.message}` : '.';
  if (status === 401 || status === 403) return mapGraphAuthError(status, bodyText, facts.requestId);
  if (status === 400) {
    return new IntegrationError('graph_bad_request', `Microsoft Graph refused the query (400)${graphSaid}`, details);
  }
  if (status === 429) {
    return new IntegrationError(
      'graph_throttled',
      'Microsoft Graph is throttling message trace requests for this tenant (429), also after waiting and retrying. The limit (about 100 requests per 5 minutes) is shared with every tool in the tenant; try again later.',
      details,
    );
  }
  if (status >= 500) {
    return new IntegrationError('graph_unavailable', `Microsoft Graph is unavailable (${status}), also after retrying${graphSaid}`, details);
  }
  return new IntegrationError('graph_invalid_response', `Microsoft Graph answered with unexpected status ${status}${graphSaid}`, details);
}
