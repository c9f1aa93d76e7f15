/**
 * Entra ID's refusals the integration explains, as tables keyed by AADSTS code: each row names the codes
 * Entra ID uses for one cause, the integration's error code, and the message saying what to change and
 * where. A new code is a new row (or one more number in the row of the same cause). A code without a row
 * gets the mapper's generic message with Microsoft's description and a lookup link (`errors.ts`).
 * Codes: https://login.microsoftonline.com/error?code=N
 */
import type { ErrorCode } from '../errors.js';
import { FEDERATION_AUDIENCE, type FederatedTokenClaims, describeTokenFileSetting } from './federated-token.js';
import type { AuthErrorContext } from './types.js';

export const RESET_STEPS =
  'Run o365-message-trace-auth-reset, then o365-message-trace-generate-login-url, sign in, paste the new code into Authorization code, and run o365-message-trace-auth-test.';

export interface AadstsRow<Facts> {
  /** The AADSTS numbers Entra ID answers with for this cause. */
  aadsts: readonly number[];
  code: ErrorCode;
  message(facts: Facts): string;
}

/** What a workload identity message quotes: which file held the token, and its public claims. */
export interface FederationFacts {
  /** `the token in "<path>" (<the setting that named it>)`. */
  file: string;
  claims: FederatedTokenClaims | undefined;
}

const FEDERATED_CREDENTIALS_PAGE =
  "Entra ID > App registrations > the app > Certificates & secrets > Federated credentials";

const MATCH_RULE = `Issuer, Subject identifier and Audience (${FEDERATION_AUDIENCE} unless you chose another) must equal the token's iss, sub and aud claims exactly; matching is case-sensitive.`;

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
 * credential on the app does not match the token, or the token itself is refused. Asked first, and only
 * for the workload identity method; a code also in TOKEN_REFUSALS (700024) reads differently there.
 */
export const FEDERATION_REFUSALS: readonly AadstsRow<FederationFacts>[] = [
  {
    aadsts: [70021],
    code: 'auth_failed',
    message: ({ file, claims }) =>
      `Entra ID found no federated credential on the app that matches ${file}.${presented(claims)} In ${FEDERATED_CREDENTIALS_PAGE}, add one for this workload (for AKS: scenario "Kubernetes accessing Azure resources", with the cluster's OIDC issuer URL, namespace and service account). ${MATCH_RULE}`,
  },
  {
    aadsts: [700211],
    code: 'auth_failed',
    message: ({ file, claims }) =>
      `No federated credential on the app has the issuer of ${file}.${presented(claims)} In ${FEDERATED_CREDENTIALS_PAGE}, set Issuer to the token's issuer exactly (for AKS, the cluster's OIDC issuer URL including the trailing slash). ${MATCH_RULE}`,
  },
  {
    aadsts: [700212],
    code: 'auth_failed',
    message: ({ file, claims }) =>
      `No federated credential on the app accepts the audience of ${file}.${presented(claims)} Either make the platform issue the token for the audience ${FEDERATION_AUDIENCE} (on AKS and GitHub Actions this is the default), or set the credential's Audience in ${FEDERATED_CREDENTIALS_PAGE} to the token's audience.`,
  },
  {
    aadsts: [700213, 7002138],
    code: 'auth_failed',
    message: ({ file, claims }) =>
      `A federated credential on the app has this issuer but not the subject of ${file}.${presented(claims)} In ${FEDERATED_CREDENTIALS_PAGE}, set Subject identifier to the token's subject exactly (case-sensitive; for AKS system:serviceaccount:<namespace>:<service account>, for GitHub Actions repo:<owner>/<repo>:environment:<name> or :ref:<ref>).`,
  },
  {
    aadsts: [700024],
    code: 'auth_failed',
    message: ({ file, claims }) =>
      `Entra ID refused ${file} as expired or not yet valid.${claims ? ` It expires at ${new Date(claims.expiresOnMs).toISOString()}.` : ''} The platform must replace the file before the token expires (AKS does so about every hour; a CI token lives only as long as its job); also check this machine's clock.`,
  },
  {
    aadsts: [7000272, 7000274, 50013],
    code: 'auth_failed',
    message: ({ file, claims }) =>
      `Entra ID could not verify the signature of ${file} with the keys its issuer publishes.${presented(claims)} The issuer's OpenID configuration (<issuer>/.well-known/openid-configuration) and its jwks_uri must be reachable from the internet and list the key that signed the token; on AKS, the cluster's OIDC issuer must be enabled. A token copied or edited by hand is refused too.`,
  },
  {
    aadsts: [700236],
    code: 'auth_config',
    message: ({ file }) =>
      `${file} was issued by Entra ID itself, which cannot be used as a federated credential. Use the identity token of the platform this runs on (Kubernetes service account token, CI OIDC token).`,
  },
];

/** Entra ID's answers to a token request by any method: credential, app, tenant, consent, grant, redirect, scope. */
export const TOKEN_REFUSALS: readonly AadstsRow<AuthErrorContext>[] = [
  {
    aadsts: [7000215],
    code: 'auth_failed',
    message: () =>
      'Entra ID refused the client secret. Paste the secret Value (not the Secret ID) from the app\'s Certificates & secrets > Client secrets page into Client Secret (client_secret).',
  },
  {
    aadsts: [7000222],
    code: 'auth_failed',
    message: () =>
      'The client secret has expired. Create a new client secret under Certificates & secrets > Client secrets and paste its Value into Client Secret (client_secret).',
  },
  {
    aadsts: [700016],
    code: 'auth_failed',
    message: (context) =>
      `Entra ID found no application with Client ID ${app(context)} in tenant ${tenant(context)}. Check Client ID (client_id, the Application (client) ID on the app's Overview page) and Tenant ID (tenant_id); the app must be registered in, or consented to by, this tenant.`,
  },
  {
    aadsts: [90002, 90023, 900023],
    code: 'auth_failed',
    message: (context) =>
      `Entra ID does not know tenant ${tenant(context)}, or refused it as invalid. Check Tenant ID (tenant_id): use the Directory (tenant) ID GUID from the Entra ID overview page or a verified domain such as contoso.onmicrosoft.com, and check Authority URL (authority_url) for national clouds.`,
  },
  {
    aadsts: [700027],
    code: 'auth_failed',
    message: () =>
      'Entra ID could not verify the certificate assertion: the certificate with this thumbprint is not registered on the app, or the private key does not belong to it. Upload the certificate under Certificates & secrets > Certificates, and check Certificate Thumbprint (certificate_thumbprint) and Private Key (private_key).',
  },
  {
    aadsts: [700024],
    code: 'auth_failed',
    message: () =>
      "Entra ID refused the certificate assertion as outside its valid time range. Check this machine's clock: it must be within a few minutes of the real time.",
  },
  {
    aadsts: [65001],
    code: 'auth_failed',
    message: () =>
      'The app has not been granted consent. In Entra ID > App registrations > API permissions, add the Microsoft Graph application permission ExchangeMessageTrace.Read.All and click Grant admin consent; with the authorization code flow, sign in through the login URL as an administrator.',
  },
  {
    aadsts: [54005],
    code: 'auth_grant_expired',
    message: () => `This authorization code was already redeemed; a code works only once. ${RESET_STEPS}`,
  },
  {
    aadsts: [70008],
    code: 'auth_grant_expired',
    message: ({ phase }) =>
      phase === 'redeem_code'
        ? `The authorization code has expired (codes are valid for about 10 minutes). ${RESET_STEPS}`
        : `The saved refresh token has expired or was revoked. ${RESET_STEPS}`,
  },
  {
    aadsts: [70000, 700082, 50173],
    code: 'auth_grant_expired',
    message: ({ phase }) =>
      phase === 'redeem_code'
        ? `Entra ID refused the authorization code (invalid, expired or revoked). ${RESET_STEPS}`
        : `The saved refresh token has expired or was revoked (for example after a password change or a long pause). ${RESET_STEPS}`,
  },
  {
    aadsts: [50011],
    code: 'auth_config',
    message: () =>
      'The Application redirect URI (redirect_uri) does not match a Web redirect URI registered on the app (Authentication > Web). Use exactly the registered value, then generate a new login URL.',
  },
  {
    aadsts: [500011, 70011],
    code: 'auth_config',
    message: ({ url }) => `Entra ID does not accept the scope ${url}/.default. Check Server URL (url): use https://graph.microsoft.com.`,
  },
];

function tenant(context: AuthErrorContext): string {
  return context.tenantId ? `'${context.tenantId}'` : 'this tenant';
}

function app(context: AuthErrorContext): string {
  return context.clientId ? `'${context.clientId}'` : 'this Client ID';
}

function byCode<Facts>(rows: readonly AadstsRow<Facts>[]): ReadonlyMap<number, AadstsRow<Facts>> {
  return new Map(rows.flatMap((row) => row.aadsts.map((aadsts) => [aadsts, row] as const)));
}

const FEDERATION_BY_CODE = byCode(FEDERATION_REFUSALS);
const TOKEN_BY_CODE = byCode(TOKEN_REFUSALS);

/** The explained refusal for an AADSTS code in this context, or undefined when no row has the code. */
export function aadstsRefusal(
  aadsts: number | undefined,
  context: AuthErrorContext,
): { code: ErrorCode; message: string } | undefined {
  if (aadsts === undefined) return undefined;
  const federation = context.federation;
  const federated = federation === undefined ? undefined : FEDERATION_BY_CODE.get(aadsts);
  if (federation !== undefined && federated !== undefined) {
    const file = `the token in ${JSON.stringify(federation.tokenFile.path)} (${describeTokenFileSetting(federation.tokenFile)})`;
    return { code: federated.code, message: federated.message({ file, claims: federation.claims() }) };
  }
  const row = TOKEN_BY_CODE.get(aadsts);
  return row === undefined ? undefined : { code: row.code, message: row.message(context) };
}
