/**
 * Turns what MSAL, Entra ID and IMDS say about a token request into IntegrationErrors a person can act on.
 * Microsoft's code (AADSTS number or error code) goes to `upstreamCode`, the trace / correlation id to
 * `requestId`. The AADSTS codes with a message of their own are rows in `aadsts.ts`; this module finds the
 * code and picks the row, or explains transport failures and MSAL's own errors.
 * Messages are built from facts (codes, ids, hosts, parameter names); the client secret, key, code and
 * tokens are never part of them. For codes without a specific message Microsoft's description is shown,
 * unless it contains one of the caller's secrets, in which case it is left out.
 */
import { AuthError, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { IntegrationError } from '../errors.js';
import { RESET_STEPS, aadstsRefusal } from './aadsts.js';
import { TransportFailure } from './network.js';
import type { AuthErrorContext } from './types.js';

// The provider builds the context it passes here; it finds the type where it finds the mapper.
export type { AuthErrorContext, AuthPhase } from './types.js';

interface Upstream {
  aadsts: number | undefined;
  errorCode: string;
  description: string | undefined;
  requestId: string | undefined;
  status: number | undefined;
}

function upstreamOf(error: AuthError): Upstream {
  const text = error.errorMessage ?? '';
  const errorNo =
    error instanceof ServerError || error instanceof InteractionRequiredAuthError ? error.errorNo : undefined;
  const fromText = /AADSTS(\d+)/.exec(text)?.[1];
  const aadsts = Number(errorNo ?? fromText ?? Number.NaN);
  const traceId =
    (error instanceof InteractionRequiredAuthError && error.traceId) ||
    /Trace ID: ([0-9a-f-]{8,})/i.exec(text)?.[1] ||
    undefined;
  const description = /Description: ([\s\S]*?) - Correlation ID:/.exec(text)?.[1] ?? (error instanceof ServerError ? undefined : text);
  return {
    aadsts: Number.isFinite(aadsts) ? aadsts : undefined,
    errorCode: error.errorCode,
    description: description?.replace(/^AADSTS\d+:\s*/, '').split(/\r?\n/)[0]?.trim(),
    requestId: traceId ?? (error.correlationId || undefined),
    status: error instanceof ServerError ? error.status : undefined,
  };
}

function safeDescription(description: string | undefined, secrets: readonly string[] = []): string | undefined {
  if (!description || description === 'NA') return undefined;
  if (secrets.some((secret) => secret.length >= 4 && description.includes(secret))) return undefined;
  const trimmed = description.replace(/[.\s]+$/, '');
  return trimmed.length > 300 ? `${trimmed.slice(0, 297)}...` : trimmed;
}

function transportMessage(failure: TransportFailure, context: AuthErrorContext): string {
  const where =
    context.method === 'managed_identity'
      ? `the Azure managed identity endpoint ${failure.host}`
      : `Entra ID at ${failure.host}`;
  const code = failure.causeCode ? ` (${failure.causeCode})` : '';
  const miHint =
    context.method === 'managed_identity'
      ? ' Azure Managed Identities only work on an Azure resource (for example a VM) that has a managed identity assigned.'
      : '';
  switch (failure.kind) {
    case 'tls':
      return `The TLS certificate of ${where} could not be verified${code}. If a proxy inspects TLS, add its CA certificate to Additional trusted CA certificates (ca_certificate); turn on insecure only for testing.`;
    case 'timeout':
      return `${where} did not answer in time${code}. Check the network path, firewall and proxy settings (proxy).${miHint}`;
    case 'refused_body':
      return `${where} sent ${failure.causeCode ?? 'an oversized response'}; it was refused unread. Entra ID never sends such responses: check what is on the network path (a proxy or TLS inspection) and Authority URL (authority_url).`;
    case 'invalid_response':
      return `${where} answered with HTTP ${failure.httpStatus ?? '?'} and a body that is not JSON, which usually means a proxy or gateway answered instead. Check the proxy settings and Authority URL (authority_url).`;
    default:
      return `Could not reach ${where}${code}. Check the network path, DNS, firewall and proxy settings (proxy), and Authority URL (authority_url).${miHint}`;
  }
}

/** Maps anything thrown while getting a token to an IntegrationError. */
export function mapAuthError(error: unknown, context: AuthErrorContext): IntegrationError {
  if (error instanceof IntegrationError) return error;
  if (error instanceof TransportFailure) {
    return new IntegrationError('network', transportMessage(error, context), { cause: error.kind });
  }
  if (!(error instanceof AuthError)) {
    return new IntegrationError('internal', 'Getting a token failed unexpectedly.', {
      cause: error instanceof Error ? error.name : typeof error,
    });
  }
  // `error` that is not a string: the answer came in Microsoft Graph's error shape (`{error: {code, …}}`), so the
  // token request went to a Graph host rather than Entra ID.
  if ((error instanceof ServerError || error instanceof InteractionRequiredAuthError) && typeof (error.errorCode as unknown) !== 'string') {
    return new IntegrationError(
      'auth_config',
      'The token request was answered by a service that is not Entra ID (the error came in Microsoft Graph\'s shape). Check Authority URL (authority_url): it must be the Entra ID host, such as https://login.microsoftonline.com, not the Graph URL.',
      { status: error instanceof ServerError ? error.status : undefined },
    );
  }
  const u = upstreamOf(error);
  const details = {
    upstreamCode: u.aadsts !== undefined ? `AADSTS${u.aadsts}` : u.errorCode || undefined,
    requestId: u.requestId,
    status: u.status,
  };

  if (context.method === 'managed_identity' && (error instanceof ServerError || error instanceof InteractionRequiredAuthError)) {
    const identity = context.managedIdentityClientId
      ? `the user-assigned identity with client ID ${context.managedIdentityClientId} is attached to this Azure resource`
      : 'this Azure resource has a system-assigned managed identity (or set managed_identities_client_id for a user-assigned one)';
    const said = safeDescription(u.description, context.secrets);
    return new IntegrationError(
      'auth_failed',
      `The Azure managed identity endpoint refused the token request${u.errorCode ? ` (${u.errorCode})` : ''}${said ? `: ${said}` : ''}. Check that ${identity}, and that the identity was granted ExchangeMessageTrace.Read.All.`,
      details,
    );
  }

  if (error.errorCode === 'network_error') {
    return new IntegrationError(
      'network',
      context.method === 'managed_identity'
        ? 'Could not reach the Azure managed identity endpoint. Azure Managed Identities only work on an Azure resource (for example a VM) that has a managed identity assigned.'
        : 'Could not reach Entra ID. Check the network path, DNS, firewall and proxy settings (proxy), and Authority URL (authority_url).',
      details,
    );
  }
  if (error.errorCode === 'no_tokens_found' || error.errorCode === 'no_account_in_silent_request') {
    return new IntegrationError('auth_grant_expired', `No saved refresh token was found for this app and code. ${RESET_STEPS}`, details);
  }

  const known = aadstsRefusal(u.aadsts, context);
  if (known) return new IntegrationError(known.code, known.message, details);

  if (error instanceof ServerError || error instanceof InteractionRequiredAuthError) {
    const said = safeDescription(u.description, context.secrets);
    const lookup = u.aadsts !== undefined ? ` Details: https://login.microsoftonline.com/error?code=${u.aadsts}` : '';
    const grant = context.phase === 'refresh' ? ` If this keeps happening: ${RESET_STEPS}` : '';
    return new IntegrationError(
      context.phase === 'refresh' && u.errorCode === 'invalid_grant' ? 'auth_grant_expired' : 'auth_failed',
      `Entra ID refused the token request${u.errorCode ? ` (${u.errorCode})` : ''}${said ? `: ${said}.` : '.'}${lookup}${grant}`,
      details,
    );
  }
  // Client-side MSAL errors (configuration, parsing): the code names the problem.
  return new IntegrationError(
    'auth_failed',
    `The token request could not be completed (MSAL ${error.errorCode || 'error'}). Check the authentication parameters; ${error.errorCode ? `see https://aka.ms/msal.js.errors#${error.errorCode}` : 'see the log for details'}.`,
    details,
  );
}
