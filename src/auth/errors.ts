/**
 * Turns what MSAL, Entra ID, IMDS and Graph say into IntegrationErrors a person can act on. Microsoft's code
 * (AADSTS number or error code) goes to `upstreamCode`, the trace / correlation id to `requestId`.
 * Messages are built from facts (codes, ids, hosts, parameter names); the client secret, key, code and
 * tokens are never part of them. For codes without a specific message Microsoft's description is shown,
 * unless it contains one of the caller's secrets, in which case it is left out.
 */
import { AuthError, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { IntegrationError } from '../errors.js';
import { FEDERATION_AUDIENCE, type FederatedTokenClaims, describeTokenFileSetting } from './federated-token.js';
import { TransportFailure } from './network.js';
import type { FederatedTokenFile } from './select.js';
import type { AuthMethod } from './types.js';

/** Which token request failed; decides how "invalid grant" style codes are explained. */
export type AuthPhase = 'client_credential' | 'redeem_code' | 'refresh' | 'managed_identity';

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

export const RESET_STEPS =
  'Run o365-message-trace-auth-reset, then o365-message-trace-generate-login-url, sign in, paste the new code into Authorization code, and run o365-message-trace-auth-test.';

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

const FEDERATED_CREDENTIALS_PAGE =
  "Entra ID > App registrations > the app > Certificates & secrets > Federated credentials";

/** What the token presented was: issuer, subject and audience, as a person compares them in the portal. */
function presented(claims: FederatedTokenClaims | undefined): string {
  if (claims === undefined) return '';
  const parts = [
    `issuer '${claims.issuer ?? '(none)'}'`,
    `subject '${claims.subject ?? '(none)'}'`,
    `audience ${claims.audiences.length > 0 ? claims.audiences.map((a) => `'${a}'`).join(', ') : '(none)'}`,
  ];
  return ` The token presented has ${parts.join(', ')}.`;
}

/**
 * Entra ID's answers to a federated client assertion (workload identity federation): the federated
 * credential on the app does not match the token, or the token itself is refused. Each message says what
 * to change and where. Codes: https://login.microsoftonline.com/error?code=N
 */
function federationRefusal(
  u: Upstream,
  context: AuthErrorContext,
): { code: IntegrationError['code']; message: string } | undefined {
  const federation = context.federation;
  if (federation === undefined) return undefined;
  const claims = federation.claims();
  const file = `the token in ${JSON.stringify(federation.tokenFile.path)} (${describeTokenFileSetting(federation.tokenFile)})`;
  const match = `Issuer, Subject identifier and Audience (${FEDERATION_AUDIENCE} unless you chose another) must equal the token's iss, sub and aud claims exactly; matching is case-sensitive.`;
  switch (u.aadsts) {
    case 70021:
      return {
        code: 'auth_failed',
        message: `Entra ID found no federated credential on the app that matches ${file}.${presented(claims)} In ${FEDERATED_CREDENTIALS_PAGE}, add one for this workload (for AKS: scenario "Kubernetes accessing Azure resources", with the cluster's OIDC issuer URL, namespace and service account). ${match}`,
      };
    case 700211:
      return {
        code: 'auth_failed',
        message: `No federated credential on the app has the issuer of ${file}.${presented(claims)} In ${FEDERATED_CREDENTIALS_PAGE}, set Issuer to the token's issuer exactly (for AKS, the cluster's OIDC issuer URL including the trailing slash). ${match}`,
      };
    case 700212:
      return {
        code: 'auth_failed',
        message: `No federated credential on the app accepts the audience of ${file}.${presented(claims)} Either make the platform issue the token for the audience ${FEDERATION_AUDIENCE} (on AKS and GitHub Actions this is the default), or set the credential's Audience in ${FEDERATED_CREDENTIALS_PAGE} to the token's audience.`,
      };
    case 700213:
    case 7002138:
      return {
        code: 'auth_failed',
        message: `A federated credential on the app has this issuer but not the subject of ${file}.${presented(claims)} In ${FEDERATED_CREDENTIALS_PAGE}, set Subject identifier to the token's subject exactly (case-sensitive; for AKS system:serviceaccount:<namespace>:<service account>, for GitHub Actions repo:<owner>/<repo>:environment:<name> or :ref:<ref>).`,
      };
    case 700024:
      return {
        code: 'auth_failed',
        message: `Entra ID refused ${file} as expired or not yet valid.${claims ? ` It expires at ${new Date(claims.expiresOnMs).toISOString()}.` : ''} The platform must replace the file before the token expires (AKS does so about every hour; a CI token lives only as long as its job); also check this machine's clock.`,
      };
    case 7000272:
    case 7000274:
    case 50013:
      return {
        code: 'auth_failed',
        message: `Entra ID could not verify the signature of ${file} with the keys its issuer publishes.${presented(claims)} The issuer's OpenID configuration (<issuer>/.well-known/openid-configuration) and its jwks_uri must be reachable from the internet and list the key that signed the token; on AKS, the cluster's OIDC issuer must be enabled. A token copied or edited by hand is refused too.`,
      };
    case 700236:
      return {
        code: 'auth_config',
        message: `${file} was issued by Entra ID itself, which cannot be used as a federated credential. Use the identity token of the platform this runs on (Kubernetes service account token, CI OIDC token).`,
      };
    default:
      return undefined;
  }
}

function tokenRefusal(u: Upstream, context: AuthErrorContext): { code: IntegrationError['code']; message: string } | undefined {
  const federated = federationRefusal(u, context);
  if (federated) return federated;
  const tenant = context.tenantId ? `'${context.tenantId}'` : 'this tenant';
  const app = context.clientId ? `'${context.clientId}'` : 'this Client ID';
  switch (u.aadsts) {
    case 7000215:
      return {
        code: 'auth_failed',
        message:
          'Entra ID refused the client secret. Paste the secret Value (not the Secret ID) from the app\'s Certificates & secrets > Client secrets page into Client Secret (client_secret).',
      };
    case 7000222:
      return {
        code: 'auth_failed',
        message:
          'The client secret has expired. Create a new client secret under Certificates & secrets > Client secrets and paste its Value into Client Secret (client_secret).',
      };
    case 700016:
      return {
        code: 'auth_failed',
        message: `Entra ID found no application with Client ID ${app} in tenant ${tenant}. Check Client ID (client_id, the Application (client) ID on the app's Overview page) and Tenant ID (tenant_id); the app must be registered in, or consented to by, this tenant.`,
      };
    case 90002:
    case 90023:
    case 900023:
      return {
        code: 'auth_failed',
        message: `Entra ID does not know tenant ${tenant}, or refused it as invalid. Check Tenant ID (tenant_id): use the Directory (tenant) ID GUID from the Entra ID overview page or a verified domain such as contoso.onmicrosoft.com, and check Authority URL (authority_url) for national clouds.`,
      };
    case 700027:
      return {
        code: 'auth_failed',
        message:
          'Entra ID could not verify the certificate assertion: the certificate with this thumbprint is not registered on the app, or the private key does not belong to it. Upload the certificate under Certificates & secrets > Certificates, and check Certificate Thumbprint (certificate_thumbprint) and Private Key (private_key).',
      };
    case 700024:
      return {
        code: 'auth_failed',
        message:
          "Entra ID refused the certificate assertion as outside its valid time range. Check this machine's clock: it must be within a few minutes of the real time.",
      };
    case 65001:
      return {
        code: 'auth_failed',
        message:
          'The app has not been granted consent. In Entra ID > App registrations > API permissions, add the Microsoft Graph application permission ExchangeMessageTrace.Read.All and click Grant admin consent; with the authorization code flow, sign in through the login URL as an administrator.',
      };
    case 54005:
      return {
        code: 'auth_grant_expired',
        message: `This authorization code was already redeemed; a code works only once. ${RESET_STEPS}`,
      };
    case 70008:
      return {
        code: 'auth_grant_expired',
        message:
          context.phase === 'redeem_code'
            ? `The authorization code has expired (codes are valid for about 10 minutes). ${RESET_STEPS}`
            : `The saved refresh token has expired or was revoked. ${RESET_STEPS}`,
      };
    case 70000:
    case 700082:
    case 50173:
      return {
        code: 'auth_grant_expired',
        message:
          context.phase === 'redeem_code'
            ? `Entra ID refused the authorization code (invalid, expired or revoked). ${RESET_STEPS}`
            : `The saved refresh token has expired or was revoked (for example after a password change or a long pause). ${RESET_STEPS}`,
      };
    case 50011:
      return {
        code: 'auth_config',
        message:
          "The Application redirect URI (redirect_uri) does not match a Web redirect URI registered on the app (Authentication > Web). Use exactly the registered value, then generate a new login URL.",
      };
    case 500011:
    case 70011:
      return {
        code: 'auth_config',
        message: `Entra ID does not accept the scope ${context.url}/.default. Check Server URL (url): use https://graph.microsoft.com.`,
      };
    default:
      return undefined;
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

  const known = tokenRefusal(u, context);
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
