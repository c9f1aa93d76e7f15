/**
 * Microsoft Entra ID, as much of it as a confidential client and msal-node touch:
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/discovery/v2.0/keys,
 *        /common/discovery/instance
 *   GET  /{tenant}/oauth2/v2.0/authorize       (auto-consent, 302 to the redirect URI with a code)
 *   POST /{tenant}/oauth2/v2.0/token           (client_credentials, authorization_code, refresh_token)
 *   GET  /metadata/identity/oauth2/token       (IMDS managed identity, served on the plain-HTTP listener)
 * Errors use the AADSTS shape and codes the real service returns, so clients' error mapping is tested
 * against what they will meet. Access tokens are RS256 JWTs the Graph routes verify.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorContext } from './context.js';
import { TENANT_DOMAIN, TENANT_INITIAL_DOMAIN } from './content.js';
import { type FederationSetup, isFederatedAssertion, judgeFederatedAssertion } from './federation.js';
import { base64url, decodeJwt, signJwt, verifyJwtSignature } from './jwt.js';
import { sendHostileToken } from './hostile.js';
import { BodyTooLargeError, readBody, sendJson } from './http-util.js';
import type { GrantKind } from './stats.js';

const GRAPH_RESOURCE = 'https://graph.microsoft.com';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CODE_LIFETIME_MS = 10 * 60_000;
const REFRESH_INACTIVITY_MS = 90 * 86_400_000;
const CLOCK_SKEW_S = 300;
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

interface AuthCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  issuedAtMs: number;
  redeemed: boolean;
  codeChallenge: string | null;
  codeChallengeMethod: string;
  nonce: string | null;
}

interface RefreshGrant {
  clientId: string;
  scopes: string[];
  issuedAtMs: number;
  lastUsedMs: number;
}

/** Mutable Entra state: issued codes and refresh tokens, and the revocation instant. */
export class EntraState {
  readonly codes = new Map<string, AuthCode>();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  /** Refresh tokens issued at or before this instant are revoked (epoch ms). */
  revokedBeforeMs = Number.NEGATIVE_INFINITY;
  /** Workload identity federation: the external IdP and the app's federated credentials (federation.ts). */
  federation: FederationSetup | null = null;
}

// --- Errors ----------------------------------------------------------------------------------------

class AadError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    readonly text: string,
  ) {
    super(`AADSTS${code}: ${text}`);
  }
}

function aadTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function sendAadError(ctx: SimulatorContext, req: IncomingMessage, res: ServerResponse, e: AadError): void {
  ctx.stats.entraError(e.code);
  const now = ctx.clock();
  const traceId = randomUUID();
  const sent = req.headers['client-request-id'];
  const correlationId = typeof sent === 'string' && sent ? sent : randomUUID();
  const timestamp = aadTimestamp(now);
  sendJson(
    res,
    e.status,
    {
      error: e.error,
      error_description: `AADSTS${e.code}: ${e.text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [e.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${ctx.authorityOrigin}/error?code=${e.code}`,
    },
    { 'cache-control': 'no-store, no-cache', pragma: 'no-cache', 'x-ms-request-id': traceId },
  );
}

/** What the sign-in host answers for a path it does not serve (a Graph call sent to it, say). */
export function sendEntraNotFound(ctx: SimulatorContext, req: IncomingMessage, res: ServerResponse): void {
  const sent = req.headers['client-request-id'];
  const requestId = randomUUID();
  sendJson(
    res,
    404,
    { error: 'not_found', error_description: `The sign-in service has no resource at ${new URL(req.url ?? '/', ctx.authorityOrigin || 'https://127.0.0.1').pathname}.` },
    { 'x-ms-request-id': requestId, 'client-request-id': typeof sent === 'string' && sent ? sent : requestId },
  );
}

const missing = (name: string): AadError =>
  new AadError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);

// --- Tenant and discovery --------------------------------------------------------------------------

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Resolves the tenant path segment; throws the AADSTS error the real service gives (discovery documents
 * answer `invalid_tenant`, the token endpoint `invalid_request`).
 */
function resolveTenant(ctx: SimulatorContext, segment: string, error = 'invalid_tenant'): void {
  const s = segment.toLowerCase();
  if (s === ctx.identity.tenantId || s === TENANT_DOMAIN || s === TENANT_INITIAL_DOMAIN) return;
  if (s === 'common' || s === 'organizations') return;
  if (GUID.test(s) || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(s)) {
    throw new AadError(
      400,
      error,
      90002,
      `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    );
  }
  throw new AadError(
    400,
    error,
    900023,
    `Specified tenant identifier '${segment}' is neither a valid DNS name, nor a valid external domain.`,
  );
}

function openIdConfiguration(ctx: SimulatorContext, tenantSegment: string): Record<string, unknown> {
  const base = `${ctx.authorityOrigin}/${tenantSegment}`;
  const tid = ctx.identity.tenantId;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${ctx.authorityOrigin}/${tid}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${ctx.authorityOrigin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'email'],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

function jwks(ctx: SimulatorContext): Record<string, unknown> {
  const jwk = ctx.certs.tokenVerifyKey.export({ format: 'jwk' });
  return { keys: [{ kty: 'RSA', use: 'sig', kid: ctx.certs.tokenKeyId, n: jwk.n, e: jwk.e, issuer: `${ctx.authorityOrigin}/${ctx.identity.tenantId}/v2.0` }] };
}

function instanceDiscovery(ctx: SimulatorContext): Record<string, unknown> {
  const host = new URL(ctx.authorityOrigin).host;
  return {
    tenant_discovery_endpoint: `${ctx.authorityOrigin}/${ctx.identity.tenantId}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

// --- Routing -----------------------------------------------------------------------------------------

const ROUTES: { name: string; method: string; pattern: RegExp }[] = [
  { name: 'entra.instanceDiscovery', method: 'GET', pattern: /^\/common\/discovery\/instance$/ },
  { name: 'entra.openidConfiguration', method: 'GET', pattern: /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/ },
  { name: 'entra.keys', method: 'GET', pattern: /^\/([^/]+)\/discovery\/v2\.0\/keys$/ },
  { name: 'entra.authorize', method: 'GET', pattern: /^\/([^/]+)\/oauth2\/v2\.0\/authorize$/ },
  { name: 'entra.token', method: 'POST', pattern: /^\/([^/]+)\/oauth2\/v2\.0\/token$/ },
];

export function entraRouteName(pathname: string): string | null {
  for (const route of ROUTES) if (route.pattern.test(pathname)) return route.name;
  return null;
}

export async function handleEntra(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  try {
    for (const route of ROUTES) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      if (req.method !== route.method) {
        sendJson(res, 405, { error: 'invalid_request', error_description: `${req.method} is not supported here.` });
        return;
      }
      const tenant = decodeURIComponent(m[1] ?? '');
      switch (route.name) {
        case 'entra.instanceDiscovery':
          sendJson(res, 200, instanceDiscovery(ctx));
          return;
        case 'entra.openidConfiguration':
          resolveTenant(ctx, tenant);
          sendJson(res, 200, openIdConfiguration(ctx, tenant));
          return;
        case 'entra.keys':
          resolveTenant(ctx, tenant);
          sendJson(res, 200, jwks(ctx));
          return;
        case 'entra.authorize':
          resolveTenant(ctx, tenant, 'invalid_request');
          authorize(ctx, url, res);
          return;
        case 'entra.token': {
          resolveTenant(ctx, tenant, 'invalid_request');
          const body = await readBody(req);
          const form = new URLSearchParams(body);
          applyBasicAuth(req, form);
          const reply = tokenEndpoint(ctx, form, `${ctx.authorityOrigin}${url.pathname}`, tenant);
          if (sendHostileToken(res, ctx.config.hostile?.token)) return;
          sendJson(res, 200, reply, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
          return;
        }
      }
    }
    sendJson(res, 404, { error: 'not_found', error_description: `No Entra route for ${url.pathname}` });
  } catch (error) {
    if (error instanceof AadError) {
      sendAadError(ctx, req, res, error);
      return;
    }
    if (error instanceof BodyTooLargeError) {
      sendJson(res, 413, { error: 'invalid_request', error_description: 'Request body too large.' });
      return;
    }
    throw error;
  }
}

/** client_secret_basic: credentials in the Authorization header count as if they were in the form. */
function applyBasicAuth(req: IncomingMessage, form: URLSearchParams): void {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
  const id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  if (!form.has('client_id')) form.set('client_id', id);
  if (!form.has('client_secret')) form.set('client_secret', secret);
}

// --- Authorize ---------------------------------------------------------------------------------------

function authorize(ctx: SimulatorContext, url: URL, res: ServerResponse): void {
  const q = url.searchParams;
  const clientId = q.get('client_id');
  if (!clientId) throw missing('client_id');
  if (clientId.toLowerCase() !== ctx.identity.clientId) throw appNotFound(clientId);
  const redirectUri = q.get('redirect_uri') ?? ctx.identity.redirectUri;
  if (redirectUri !== ctx.identity.redirectUri) {
    throw new AadError(
      400,
      'invalid_request',
      50011,
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
    );
  }
  const target = new URL(redirectUri);
  const state = q.get('state');
  if (state !== null) target.searchParams.set('state', state);
  if (q.get('response_type') !== 'code') {
    target.searchParams.set('error', 'unsupported_response_type');
    target.searchParams.set('error_description', 'AADSTS700054: response_type must be code for this application.');
    res.writeHead(302, { location: target.toString() });
    res.end();
    return;
  }
  const code = `1.${randomBytes(48).toString('base64url')}`;
  ctx.entra.codes.set(code, {
    clientId: ctx.identity.clientId,
    redirectUri,
    scopes: (q.get('scope') ?? '').split(' ').filter(Boolean),
    issuedAtMs: ctx.clock(),
    redeemed: false,
    codeChallenge: q.get('code_challenge'),
    codeChallengeMethod: q.get('code_challenge_method') ?? 'plain',
    nonce: q.get('nonce'),
  });
  // code first, then state, then session_state: the order Entra uses.
  const location = new URL(redirectUri);
  location.searchParams.set('code', code);
  if (state !== null) location.searchParams.set('state', state);
  location.searchParams.set('session_state', randomUUID());
  res.writeHead(302, { location: location.toString() });
  res.end();
}

// --- Token endpoint ----------------------------------------------------------------------------------

function appNotFound(clientId: string): AadError {
  return new AadError(
    400,
    'unauthorized_client',
    700016,
    `Application with identifier '${clientId}' was not found in the directory '${TENANT_DOMAIN}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  );
}

type ClientAuthMethod = 'secret' | 'certificate' | 'federated';

function authenticateClient(ctx: SimulatorContext, form: URLSearchParams, tokenUrl: string): ClientAuthMethod {
  const clientId = form.get('client_id');
  if (!clientId) throw missing('client_id');
  if (clientId.toLowerCase() !== ctx.identity.clientId) throw appNotFound(clientId);
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if (secret !== null) {
    if (secret !== ctx.identity.clientSecret) {
      throw new AadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${ctx.identity.clientId}'.`,
      );
    }
    if (ctx.config.secretExpired) {
      throw new AadError(
        401,
        'invalid_client',
        7000222,
        `The provided client secret keys for app '${ctx.identity.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
      );
    }
    return 'secret';
  }
  if (assertion !== null) {
    // A platform's identity token (workload identity federation) or the app's own certificate assertion:
    // told apart by who issued it (federation.ts).
    const jwt = decodeJwt(assertion);
    if (jwt && form.get('client_assertion_type') === ASSERTION_TYPE && isFederatedAssertion(jwt, ctx.identity.clientId)) {
      const verdict = judgeFederatedAssertion(ctx.entra.federation, jwt, ctx.clock());
      if (!verdict.ok) throw new AadError(verdict.status, verdict.error, verdict.code, verdict.text);
      return 'federated';
    }
    verifyClientAssertion(ctx, form, assertion, tokenUrl);
    return 'certificate';
  }
  throw new AadError(
    401,
    'invalid_client',
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

function verifyClientAssertion(ctx: SimulatorContext, form: URLSearchParams, assertion: string, tokenUrl: string): void {
  if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
    throw new AadError(
      400,
      'invalid_request',
      700025,
      `The client_assertion_type must be '${ASSERTION_TYPE}'.`,
    );
  }
  const jwt = decodeJwt(assertion);
  if (!jwt) throw new AadError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  const clientId = ctx.identity.clientId;
  const x5t = jwt.header.x5t;
  const x5tS256 = jwt.header['x5t#S256'];
  const sha1 = Buffer.from(ctx.certs.appThumbprintSha1, 'hex').toString('base64url');
  const sha256 = Buffer.from(ctx.certs.appThumbprintSha256, 'hex').toString('base64url');
  const presented = typeof x5tS256 === 'string' ? x5tS256 : typeof x5t === 'string' ? x5t : null;
  const known = (typeof x5tS256 === 'string' && x5tS256 === sha256) || (typeof x5tS256 !== 'string' && x5t === sha1);
  if (!known) {
    throw new AadError(
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${presented ? Buffer.from(presented, 'base64url').toString('hex').toUpperCase() : ''}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`,
    );
  }
  if (!verifyJwtSignature(jwt, ctx.certs.appPublicKey)) {
    throw new AadError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
  }
  const p = jwt.payload;
  if (p.iss !== clientId || p.sub !== clientId) {
    throw new AadError(
      401,
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
    );
  }
  const audiences = Array.isArray(p.aud) ? p.aud : [p.aud];
  const accepted = new Set([tokenUrl, `${ctx.authorityOrigin}/${ctx.identity.tenantId}/oauth2/v2.0/token`]);
  if (!audiences.some((a) => typeof a === 'string' && accepted.has(a))) {
    throw new AadError(
      401,
      'invalid_client',
      700023,
      `Client assertion audience claim does not match Realm issuer. Expected audience '${tokenUrl}'.`,
    );
  }
  const nowS = Math.floor(ctx.clock() / 1000);
  const exp = typeof p.exp === 'number' ? p.exp : null;
  const nbf = typeof p.nbf === 'number' ? p.nbf : null;
  if (exp === null || nowS > exp + CLOCK_SKEW_S || (nbf !== null && nowS + CLOCK_SKEW_S < nbf)) {
    throw new AadError(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${new Date(nowS * 1000).toISOString()}, assertion valid from ${nbf === null ? 'unknown' : new Date(nbf * 1000).toISOString()}, expiry time of assertion ${exp === null ? 'unknown' : new Date(exp * 1000).toISOString()}.`,
    );
  }
}

/** Permissions of the Graph resource named by the scopes; throws for scopes naming other resources. */
function graphPermissions(ctx: SimulatorContext, scopes: string[], appOnly: boolean): string[] {
  const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
  if (resourceScopes.length === 0) throw missing('scope');
  const granted: string[] = [];
  for (const scope of resourceScopes) {
    const asGraph = asGraphScope(ctx, scope);
    const m = /^(https:\/\/graph\.microsoft\.com|00000003-0000-0000-c000-000000000000)\/?(.*)$/i.exec(asGraph);
    if (!m) {
      if (/^[A-Za-z.]+$/.test(scope) && !appOnly) {
        // A bare permission name means Graph for delegated flows.
        granted.push(scope);
        continue;
      }
      const resource = scope.replace(/\/[^/]*$/, '');
      throw new AadError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${TENANT_DOMAIN}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
    }
    const permission = m[2] ?? '';
    if (appOnly && permission !== '.default') {
      throw new AadError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    if (permission === '.default') granted.push(...ctx.config.grantedRoles);
    else if (ctx.config.grantedRoles.includes(permission)) granted.push(permission);
  }
  return [...new Set(granted)];
}

/**
 * The simulator's Graph origin is where its Graph lives, so a client that derives the scope from its Graph
 * URL (as for a national cloud) asks for `<graph origin>/.default`; treat that as Graph.
 */
function asGraphScope(ctx: SimulatorContext, scope: string): string {
  return scope.startsWith(ctx.graphOrigin) ? `${GRAPH_RESOURCE}${scope.slice(ctx.graphOrigin.length)}` : scope;
}

/** The resource a scope belongs to, normalised (Graph's app id and URI are the same resource). */
function resourceOf(ctx: SimulatorContext, scopeOrResource: string): string {
  const graph = asGraphScope(ctx, scopeOrResource);
  const m = /^(https:\/\/graph\.microsoft\.com|00000003-0000-0000-c000-000000000000)(\/.*)?$/i.exec(graph);
  if (m) return GRAPH_RESOURCE;
  return graph.replace(/\/[^/]*$/, '').replace(/\/$/, '').toLowerCase() || graph.toLowerCase();
}

/**
 * `resource` is a v1.0 parameter. The v2.0 endpoint refuses it beside `scope`: AADSTS9010010 when it names
 * another resource than the scopes (current reports), AADSTS901002 otherwise.
 */
function refuseResourceParameter(ctx: SimulatorContext, form: URLSearchParams): void {
  const resource = form.get('resource');
  if (resource === null) return;
  const scopes = (form.get('scope') ?? '').split(' ').filter((s) => s && !OIDC_SCOPES.has(s));
  const asked = resourceOf(ctx, resource.replace(/\/$/, ''));
  if (scopes.some((scope) => resourceOf(ctx, scope) !== asked)) {
    throw new AadError(400, 'invalid_target', 9010010, "The resource parameter provided in the request doesn't match with the requested scopes.");
  }
  throw new AadError(400, 'invalid_request', 901002, "The 'resource' request parameter is not supported.");
}

function tokenEndpoint(ctx: SimulatorContext, form: URLSearchParams, tokenUrl: string, tenant: string): Record<string, unknown> {
  const grantType = form.get('grant_type');
  if (!grantType) throw missing('grant_type');
  refuseResourceParameter(ctx, form);
  switch (grantType) {
    case 'client_credentials': {
      // An app signs in to one tenant; the multi-tenant aliases name none.
      if (/^(common|organizations)$/i.test(tenant)) {
        throw new AadError(
          400,
          'invalid_request',
          50059,
          'No tenant-identifying information found in either the request or implied by any provided credentials.',
        );
      }
      const method = authenticateClient(ctx, form, tokenUrl);
      const roles = graphPermissions(ctx, (form.get('scope') ?? '').split(' ').filter(Boolean), true);
      return issueAppToken(ctx, 'client_credentials', ctx.identity.clientId, method === 'secret' ? '1' : '2', roles);
    }
    case 'authorization_code':
      return redeemCode(ctx, form, tokenUrl);
    case 'refresh_token':
      return redeemRefreshToken(ctx, form, tokenUrl);
    default:
      throw new AadError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grantType}'.`,
      );
  }
}

function issueAppToken(
  ctx: SimulatorContext,
  grant: GrantKind,
  appId: string,
  appidacr: string,
  roles: string[],
): Record<string, unknown> {
  const ttl = ctx.config.tokenTtlSeconds;
  const accessToken = accessTokenFor(ctx, { appid: appId, appidacr, idtyp: 'app', oid: servicePrincipalOid(ctx, appId), roles }, ttl);
  ctx.stats.token(grant);
  return { token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: accessToken };
}

function servicePrincipalOid(ctx: SimulatorContext, appId: string): string {
  const h = createHash('sha256').update(`${ctx.identity.tenantId}:${appId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function accessTokenFor(ctx: SimulatorContext, claims: Record<string, unknown>, ttl: number): string {
  const nowS = Math.floor(ctx.clock() / 1000);
  const tid = ctx.identity.tenantId;
  const payload: Record<string, unknown> = {
    aud: GRAPH_RESOURCE,
    iss: `https://sts.windows.net/${tid}/`,
    iat: nowS,
    nbf: nowS,
    exp: nowS + ttl,
    app_displayname: 'o365-message-trace (simulated)',
    tid,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
    ...claims,
  };
  if (Array.isArray(payload.roles) && payload.roles.length === 0) delete payload.roles;
  if (typeof payload.sub !== 'string') payload.sub = payload.oid;
  return signJwt({ kid: ctx.certs.tokenKeyId, x5t: ctx.certs.tokenKeyId }, payload, ctx.certs.tokenSigningKey);
}

function redeemCode(ctx: SimulatorContext, form: URLSearchParams, tokenUrl: string): Record<string, unknown> {
  const code = form.get('code');
  if (!code) throw missing('code');
  authenticateClient(ctx, form, tokenUrl);
  const grant = ctx.entra.codes.get(code);
  if (!grant || grant.clientId !== (form.get('client_id') ?? '').toLowerCase()) {
    throw new AadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
  }
  if (grant.redeemed) {
    throw new AadError(
      400,
      'invalid_grant',
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    );
  }
  if (ctx.clock() - grant.issuedAtMs > CODE_LIFETIME_MS) {
    throw new AadError(
      400,
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
    );
  }
  const redirectUri = form.get('redirect_uri');
  if (redirectUri !== grant.redirectUri) {
    throw new AadError(
      400,
      'invalid_grant',
      500112,
      `The reply address '${redirectUri ?? ''}' does not match the reply address '${grant.redirectUri}' provided when requesting Authorization code.`,
    );
  }
  if (grant.codeChallenge !== null) {
    const verifier = form.get('code_verifier') ?? '';
    const computed =
      grant.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
    if (computed !== grant.codeChallenge) {
      throw new AadError(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
    }
  }
  grant.redeemed = true;
  ctx.stats.codesRedeemed++;
  const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
  return issueUserTokens(ctx, 'authorization_code', scopes.length > 0 ? [...new Set([...grant.scopes, ...scopes])] : grant.scopes, grant.nonce);
}

function redeemRefreshToken(ctx: SimulatorContext, form: URLSearchParams, tokenUrl: string): Record<string, unknown> {
  const token = form.get('refresh_token');
  if (!token) throw missing('refresh_token');
  authenticateClient(ctx, form, tokenUrl);
  const grant = ctx.entra.refreshTokens.get(token);
  const now = ctx.clock();
  if (!grant || grant.clientId !== (form.get('client_id') ?? '').toLowerCase()) {
    throw new AadError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.');
  }
  if (grant.issuedAtMs <= ctx.entra.revokedBeforeMs) {
    throw new AadError(
      400,
      'invalid_grant',
      50173,
      `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${new Date(grant.issuedAtMs).toISOString()}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${new Date(ctx.entra.revokedBeforeMs).toISOString()}'.`,
    );
  }
  if (now - grant.lastUsedMs > REFRESH_INACTIVITY_MS) {
    throw new AadError(400, 'invalid_grant', 700082, `The refresh token has expired due to inactivity. The token was issued on ${new Date(grant.issuedAtMs).toISOString()} and was inactive for 90.00:00:00.`);
  }
  grant.lastUsedMs = now;
  const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
  return issueUserTokens(ctx, 'refresh_token', requested.length > 0 ? requested : grant.scopes, null);
}

/** Tokens for the signed-in admin: access token with `scp`, plus refresh/id token/client_info as asked. */
function issueUserTokens(
  ctx: SimulatorContext,
  grant: GrantKind,
  scopes: string[],
  nonce: string | null,
): Record<string, unknown> {
  const permissions = graphPermissions(ctx, scopes, false);
  const ttl = ctx.config.tokenTtlSeconds;
  const { identity } = ctx;
  const nowS = Math.floor(ctx.clock() / 1000);
  const accessToken = accessTokenFor(
    ctx,
    {
      appid: identity.clientId,
      appidacr: '1',
      idtyp: 'user',
      oid: identity.userObjectId,
      upn: identity.userPrincipalName,
      unique_name: identity.userPrincipalName,
      name: identity.userName,
      scp: permissions.join(' '),
    },
    ttl,
  );
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: [...permissions.map((p) => `${GRAPH_RESOURCE}/${p}`), ...scopes.filter((s) => OIDC_SCOPES.has(s))].join(' '),
    expires_in: ttl,
    ext_expires_in: ttl,
    access_token: accessToken,
  };
  if (scopes.includes('offline_access')) {
    const refreshToken = `1.${randomBytes(64).toString('base64url')}`;
    const now = ctx.clock();
    ctx.entra.refreshTokens.set(refreshToken, { clientId: identity.clientId, scopes, issuedAtMs: now, lastUsedMs: now });
    body.refresh_token = refreshToken;
  }
  if (scopes.includes('openid')) {
    const idClaims: Record<string, unknown> = {
      aud: identity.clientId,
      iss: `${ctx.authorityOrigin}/${identity.tenantId}/v2.0`,
      iat: nowS,
      nbf: nowS,
      exp: nowS + 3600,
      name: identity.userName,
      oid: identity.userObjectId,
      preferred_username: identity.userPrincipalName,
      sub: createHash('sha256').update(`${identity.userObjectId}:${identity.clientId}`).digest('base64url').slice(0, 43),
      tid: identity.tenantId,
      ver: '2.0',
    };
    if (nonce) idClaims.nonce = nonce;
    body.id_token = signJwt({ kid: ctx.certs.tokenKeyId }, idClaims, ctx.certs.tokenSigningKey);
  }
  body.client_info = base64url(JSON.stringify({ uid: identity.userObjectId, utid: identity.tenantId }));
  ctx.stats.token(grant);
  return body;
}

// --- Access token verification (used by the Graph routes) --------------------------------------------

export type TokenVerdict = { ok: true; roles: string[]; scopes: string[] } | { ok: false; message: string };

export function verifyAccessToken(ctx: SimulatorContext, token: string, nowMs: number): TokenVerdict {
  const jwt = decodeJwt(token);
  if (!jwt) return { ok: false, message: 'IDX14100: JWT is not well formed, there are no dots (.).' };
  if (jwt.header.alg !== 'RS256' || !verifyJwtSignature(jwt, ctx.certs.tokenVerifyKey)) {
    return { ok: false, message: 'Access token validation failure. Invalid signature.' };
  }
  const p = jwt.payload;
  if (p.aud !== GRAPH_RESOURCE && p.aud !== GRAPH_APP_ID) {
    return { ok: false, message: 'Access token validation failure. Invalid audience.' };
  }
  if (p.tid !== ctx.identity.tenantId) return { ok: false, message: 'Access token validation failure. Invalid issuer.' };
  const nowS = nowMs / 1000;
  if (typeof p.exp !== 'number' || nowS >= p.exp) return { ok: false, message: 'Lifetime validation failed, the token is expired.' };
  if (typeof p.nbf === 'number' && nowS + CLOCK_SKEW_S < p.nbf) {
    return { ok: false, message: 'Lifetime validation failed, the token is not yet valid.' };
  }
  const roles = Array.isArray(p.roles) ? p.roles.filter((r): r is string => typeof r === 'string') : [];
  const scopes = typeof p.scp === 'string' ? p.scp.split(' ').filter(Boolean) : [];
  return { ok: true, roles, scopes };
}

// --- IMDS ------------------------------------------------------------------------------------------------

export const IMDS_PATH = '/metadata/identity/oauth2/token';

/** The Azure Instance Metadata Service token endpoint (plain HTTP, like 169.254.169.254). */
export function handleImds(ctx: SimulatorContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  // msal-node appends a trailing slash when it normalises the endpoint URL.
  if (url.pathname !== IMDS_PATH && url.pathname !== `${IMDS_PATH}/`) {
    sendJson(res, 404, { error: 'not_found', error_description: 'Not found' });
    return;
  }
  if (req.method !== 'GET') {
    sendJson(res, 405, { error: 'invalid_request', error_description: 'Method not allowed' });
    return;
  }
  if (req.headers.metadata !== 'true') {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
    return;
  }
  const q = url.searchParams;
  if (!q.get('api-version')) {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'Required query variable \'api-version\' is missing' });
    return;
  }
  const resource = q.get('resource');
  if (!resource) {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'Required audience parameter not specified' });
    return;
  }
  const normalized = resource.replace(/\/\.default$/, '').replace(/\/$/, '');
  if (normalized !== GRAPH_RESOURCE && normalized !== GRAPH_APP_ID && normalized !== ctx.graphOrigin) {
    sendJson(res, 400, {
      error: 'invalid_resource',
      error_description: `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${TENANT_DOMAIN}.`,
    });
    return;
  }
  const clientId = q.get('client_id');
  const otherId = q.get('object_id') ?? q.get('msi_res_id') ?? q.get('mi_res_id');
  if ((clientId !== null && clientId.toLowerCase() !== ctx.identity.managedIdentityClientId) || otherId !== null) {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'Identity not found' });
    return;
  }
  const appId = clientId ?? ctx.identity.systemAssignedClientId;
  const ttl = ctx.config.tokenTtlSeconds;
  const nowS = Math.floor(ctx.clock() / 1000);
  const accessToken = accessTokenFor(
    ctx,
    { appid: appId, appidacr: '2', idtyp: 'app', oid: servicePrincipalOid(ctx, appId), roles: ctx.config.grantedRoles },
    ttl,
  );
  ctx.stats.token('managed_identity');
  // IMDS answers with strings for the numeric fields.
  sendJson(res, 200, {
    access_token: accessToken,
    client_id: appId,
    expires_in: String(ttl),
    expires_on: String(nowS + ttl),
    ext_expires_in: String(ttl),
    not_before: String(nowS),
    resource,
    token_type: 'Bearer',
  });
}
