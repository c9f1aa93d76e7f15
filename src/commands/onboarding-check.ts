/**
 * When Graph refuses the probe with 401 or 403, say which of the three onboarding steps is missing, as far
 * as can be told (https://learn.microsoft.com/exchange/monitoring/trace-an-email-message/graph-api-message-trace):
 *
 *   1. the permission ExchangeMessageTrace.Read.All on the app: seen in the access token's roles (app-only
 *      tokens) or scopes (the authorization code flow);
 *   2. admin consent: a token with no application roles at all means no application permission of the app
 *      was ever consented; a token with other roles but not this one means this permission was not added
 *      or not consented (the token cannot tell which);
 *   3. the service principal of Microsoft's app 8bd644d1-64a1-4d4b-ae52-2e0cbf64e373 in the tenant: looked up
 *      with GET /v1.0/servicePrincipals?$filter=appId eq '…' when the token carries Application.Read.All (or
 *      Directory.Read.All), else the message says how to look by hand.
 *
 * Only the token's claims are read (never shown); the assessment is a pure function of them and the look-up.
 */
import * as z from 'zod';
import { SERVICE_PRINCIPAL_APP_ID } from '../graph/errors.js';
import { IntegrationError } from '../errors.js';

export const MESSAGE_TRACE_PERMISSION = 'ExchangeMessageTrace.Read.All';
/** Roles that allow reading service principals. */
export const SERVICE_PRINCIPAL_READ_ROLES = ['Application.Read.All', 'Directory.Read.All', 'Application.ReadWrite.All'] as const;
export const SERVICE_PRINCIPAL_LOOKUP_PATH =
  `/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${SERVICE_PRINCIPAL_APP_ID}'`)}&$select=id,appId` as const;

const claimsSchema = z.looseObject({
  roles: z.array(z.string()).optional(),
  scp: z.string().optional(),
});

export interface TokenGrants {
  /** App-only token: the application roles; delegated token: the scopes. */
  kind: 'application' | 'delegated';
  granted: string[];
}

/** The grants an access token carries, or undefined when it is not a readable JWT. */
export function grantsOfToken(token: string): TokenGrants | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const claims = claimsSchema.safeParse(json);
  if (!claims.success) return undefined;
  if (claims.data.scp !== undefined) return { kind: 'delegated', granted: claims.data.scp.split(' ').filter(Boolean) };
  return { kind: 'application', granted: claims.data.roles ?? [] };
}

/** What the service principal look-up found: present, absent, or not looked up (and why). */
export type ServicePrincipalLookup =
  | { state: 'present' }
  | { state: 'absent' }
  | { state: 'unchecked'; reason: 'no_permission' | 'failed' };

export type StepState = 'done' | 'missing' | 'unknown';

export interface OnboardingAssessment {
  permission: StepState;
  consent: StepState;
  servicePrincipal: StepState;
  grants: TokenGrants;
  lookup: ServicePrincipalLookup;
}

export function canLookUpServicePrincipal(grants: TokenGrants): boolean {
  return grants.kind === 'application' && grants.granted.some((role) => (SERVICE_PRINCIPAL_READ_ROLES as readonly string[]).includes(role));
}

export function assessOnboarding(grants: TokenGrants, lookup: ServicePrincipalLookup): OnboardingAssessment {
  const hasPermission = grants.granted.includes(MESSAGE_TRACE_PERMISSION);
  const consent: StepState = hasPermission ? 'done' : grants.kind === 'application' && grants.granted.length === 0 ? 'missing' : 'unknown';
  const servicePrincipal: StepState = lookup.state === 'present' ? 'done' : lookup.state === 'absent' ? 'missing' : 'unknown';
  return { permission: hasPermission ? 'done' : 'missing', consent, servicePrincipal, grants, lookup };
}

const CREATE_SERVICE_PRINCIPAL =
  `create it once as an administrator: Graph Explorer POST https://graph.microsoft.com/v1.0/servicePrincipals with {"appId":"${SERVICE_PRINCIPAL_APP_ID}"}, ` +
  `or PowerShell New-MgServicePrincipal -AppId ${SERVICE_PRINCIPAL_APP_ID}; provisioning then takes up to 24 hours`;

const CHECK_BY_HAND =
  `check by hand: Entra admin center > Enterprise applications, clear the "Application type" filter and search for the Application ID ${SERVICE_PRINCIPAL_APP_ID}, ` +
  `or run Get-MgServicePrincipal -Filter "appId eq '${SERVICE_PRINCIPAL_APP_ID}'"; if there is none, create it (New-MgServicePrincipal -AppId ${SERVICE_PRINCIPAL_APP_ID}) and allow up to 24 hours. ` +
  'Granting the app Application.Read.All lets this check look it up itself';

function describePermission(a: OnboardingAssessment): string {
  if (a.permission === 'done') return `1. Permission ${MESSAGE_TRACE_PERMISSION}: in place (the access token carries it).`;
  if (a.grants.kind === 'delegated') {
    return `1. Permission ${MESSAGE_TRACE_PERMISSION}: MISSING from the signed-in token's scopes (${a.grants.granted.join(', ') || 'none'}). Add the delegated permission ${MESSAGE_TRACE_PERMISSION} under API permissions, grant consent, and sign in again through the login URL.`;
  }
  const carried = a.grants.granted.length > 0 ? ` (it carries ${a.grants.granted.join(', ')})` : '';
  return `1. Permission ${MESSAGE_TRACE_PERMISSION}: MISSING from the access token${carried}. In Entra ID > App registrations > the app > API permissions, add Microsoft Graph > Application permissions > ${MESSAGE_TRACE_PERMISSION} (Application, not Delegated); with managed identities, assign this app role to the identity.`;
}

function describeConsent(a: OnboardingAssessment): string {
  if (a.consent === 'done') return '2. Admin consent: given.';
  if (a.consent === 'missing') {
    return '2. Admin consent: MISSING. The access token carries no application roles at all, so no application permission of this app has admin consent. Click "Grant admin consent for <tenant>" on the API permissions page (a Global Administrator or Privileged Role Administrator can).';
  }
  return `2. Admin consent: cannot tell from the token. If ${MESSAGE_TRACE_PERMISSION} is listed on the API permissions page without "Granted for <tenant>", click "Grant admin consent".`;
}

function describeServicePrincipal(a: OnboardingAssessment): string {
  const app = `3. Service principal of Microsoft's message trace app ${SERVICE_PRINCIPAL_APP_ID}`;
  switch (a.lookup.state) {
    case 'present':
      return `${app}: present in the tenant (looked up). If it was created within the last 24 hours, provisioning may not be finished; Graph answers 401 until it is.`;
    case 'absent':
      return `${app}: MISSING, the tenant has none (looked up); ${CREATE_SERVICE_PRINCIPAL}.`;
    default:
      return `${app}: ${a.lookup.reason === 'failed' ? 'the look-up failed' : 'not looked up (the app lacks Application.Read.All)'}; ${CHECK_BY_HAND}.`;
  }
}

/** The missing steps in words, for the first line. */
function missingSteps(a: OnboardingAssessment): string {
  const missing = [
    a.permission === 'missing' && a.consent !== 'missing' ? `the permission ${MESSAGE_TRACE_PERMISSION}` : undefined,
    a.consent === 'missing' ? `admin consent${a.permission === 'missing' ? ` (and maybe the permission ${MESSAGE_TRACE_PERMISSION} itself)` : ''}` : undefined,
    a.servicePrincipal === 'missing' ? `the service principal of app ${SERVICE_PRINCIPAL_APP_ID}` : undefined,
  ].filter((step): step is string => step !== undefined);
  if (missing.length > 0) return `Onboarding is incomplete, missing: ${missing.join('; ')}.`;
  if (a.servicePrincipal === 'unknown') {
    return `Onboarding check: the permission and consent are in place, so the step left is most likely the service principal of app ${SERVICE_PRINCIPAL_APP_ID}.`;
  }
  return 'Onboarding check: all three steps look done.';
}

/** The refusal with the onboarding check appended; code, status and Microsoft's ids are kept. */
export function withOnboardingCheck(refusal: IntegrationError, assessment: OnboardingAssessment): IntegrationError {
  const lines = [refusal.message, missingSteps(assessment), describePermission(assessment), describeConsent(assessment), describeServicePrincipal(assessment)];
  return new IntegrationError(refusal.code, lines.join('\n'), {
    upstreamCode: refusal.upstreamCode,
    requestId: refusal.requestId,
    status: refusal.status,
    cause: refusal,
  });
}

const servicePrincipalsSchema = z.object({ value: z.array(z.looseObject({ appId: z.string().optional() })) });

export interface OnboardingCheckDeps {
  /** The token the refused request used (from the provider's cache; no new sign-in). */
  accessToken: () => Promise<string>;
  graph: { getJson(pathAndQuery: `/${string}`, what: string): Promise<unknown> };
}

/**
 * The refusal, explained with the onboarding check when the token can be read; the refusal unchanged
 * otherwise. Never throws: a failing look-up only makes step 3 "check by hand".
 */
export async function explainRefusal(refusal: IntegrationError, deps: OnboardingCheckDeps): Promise<IntegrationError> {
  let grants: TokenGrants | undefined;
  try {
    grants = grantsOfToken(await deps.accessToken());
  } catch {
    grants = undefined;
  }
  if (grants === undefined) return refusal;
  let lookup: ServicePrincipalLookup = { state: 'unchecked', reason: 'no_permission' };
  if (canLookUpServicePrincipal(grants)) {
    try {
      const found = servicePrincipalsSchema.parse(await deps.graph.getJson(SERVICE_PRINCIPAL_LOOKUP_PATH, 'looking up the message trace service principal'));
      lookup = found.value.some((principal) => principal.appId?.toLowerCase() === SERVICE_PRINCIPAL_APP_ID) ? { state: 'present' } : { state: 'absent' };
    } catch {
      lookup = { state: 'unchecked', reason: 'failed' };
    }
  }
  return withOnboardingCheck(refusal, assessOnboarding(grants, lookup));
}
