/**
 * Graph error responses → IntegrationError. Graph answers failures with
 * `{error: {code, message, innerError: {'request-id', date}}}`
 * (https://learn.microsoft.com/en-us/graph/errors); Microsoft's code and request id are kept for support.
 *
 * 401/403 say what to change in the app registration or the tenant: Graph's answers, so their text is here.
 */
import { IntegrationError } from '../errors.js';
import { graphErrorBodySchema } from './schema.js';

/** Microsoft's message trace app: Graph answers 401 until its service principal exists in the tenant. */
export const SERVICE_PRINCIPAL_APP_ID = '8bd644d1-64a1-4d4b-ae52-2e0cbf64e373';

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
  if (status === 401 || status === 403) return authRefusal(status, facts.message ?? bodyText, details);
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

/**
 * Graph 401/403 → what to change. The Graph client gets here after a 401 that survived one token refresh,
 * and for a 403 after one fresh token. `said`: Graph's message, or the body when it was not Graph's JSON.
 */
function authRefusal(status: 401 | 403, said: string, details: { upstreamCode: string | undefined; requestId: string | undefined; status: number }): IntegrationError {
  if (status === 403) {
    return new IntegrationError(
      'graph_forbidden',
      'Graph denied access (403). Grant the app the Microsoft Graph application permission ExchangeMessageTrace.Read.All (API permissions > Add a permission > Microsoft Graph > Application permissions), then click Grant admin consent for the tenant. With managed identities, assign that app role to the identity.',
      details,
    );
  }
  if (/service principal/i.test(said) || said.includes(SERVICE_PRINCIPAL_APP_ID)) {
    return new IntegrationError(
      'graph_unauthorized',
      `Graph refused the request because the service principal of Microsoft's message trace app (${SERVICE_PRINCIPAL_APP_ID}) is missing in your tenant. ` +
        `Create it once as an administrator: in Graph Explorer run POST https://graph.microsoft.com/v1.0/servicePrincipals with body {"appId":"${SERVICE_PRINCIPAL_APP_ID}"}, ` +
        `or in PowerShell run New-MgServicePrincipal -AppId ${SERVICE_PRINCIPAL_APP_ID}. Provisioning can take several hours (up to 24); Graph answers 401 until it completes.`,
      details,
    );
  }
  return new IntegrationError(
    'graph_unauthorized',
    'Graph rejected the access token (401). Check that Tenant ID and Client ID belong to the same app registration, that Server URL (url) is the Graph host the token is for, and that the app is enabled.',
    details,
  );
}
