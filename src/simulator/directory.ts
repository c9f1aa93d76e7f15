/**
 * The two directory reads the client makes besides message traces:
 *   GET /v1.0/domains                                            (Domain.Read.All or Directory.Read.All)
 *   GET /v1.0/servicePrincipals?$filter=appId eq '<guid>'        (Application.Read.All or Directory.Read.All)
 * The domains are those the generated mail uses (content.ts): the tenant's custom and initial domains,
 * verified, plus one unverified claim on a domain that sends the tenant mail from outside, so a client that
 * ignores isVerified gets directions wrong. Service principals: the tenant's own app, and Microsoft's
 * message trace app while `servicePrincipalProvisioned` is on. No quota or faults here: these resources are
 * not the message trace service.
 * https://learn.microsoft.com/graph/api/domain-list · https://learn.microsoft.com/graph/api/serviceprincipal-list
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EXTERNAL_DOMAINS, TENANT_DOMAIN, TENANT_INITIAL_DOMAIN } from './content.js';
import type { SimulatorContext } from './context.js';
import { verifyAccessToken } from './entra.js';
import { graphErrorBody, graphHeaders, requestIds, sendJson } from './http-util.js';

export const DOMAINS_PATH = '/v1.0/domains';
export const SERVICE_PRINCIPALS_PATH = '/v1.0/servicePrincipals';
export const MESSAGE_TRACE_APP_ID = '8bd644d1-64a1-4d4b-ae52-2e0cbf64e373';

/** The tenant's domains as Graph lists them; `isVerified` decides whether mail for them is the tenant's. */
export const SIMULATED_DOMAINS = [
  { id: TENANT_DOMAIN, isDefault: true, isInitial: false, isVerified: true, supportedServices: ['Email', 'OfficeCommunicationsOnline'] },
  { id: TENANT_INITIAL_DOMAIN, isDefault: false, isInitial: true, isVerified: true, supportedServices: ['Email'] },
  { id: EXTERNAL_DOMAINS[0] as string, isDefault: false, isInitial: false, isVerified: false, supportedServices: [] },
] as const;

const READ_ROLES: Record<string, readonly string[]> = {
  [DOMAINS_PATH]: ['Domain.Read.All', 'Directory.Read.All', 'Domain.ReadWrite.All'],
  [SERVICE_PRINCIPALS_PATH]: ['Application.Read.All', 'Directory.Read.All', 'Application.ReadWrite.All'],
};

export function directoryRouteName(pathname: string): string | null {
  if (pathname === DOMAINS_PATH) return 'graph.domains';
  if (pathname === SERVICE_PRINCIPALS_PATH) return 'graph.servicePrincipals';
  return null;
}

export function handleDirectory(ctx: SimulatorContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const ids = requestIds(req);
  const now = ctx.clock();
  const reply = (status: number, body: unknown): void => sendJson(res, status, body, graphHeaders(ids));
  if (req.method !== 'GET') {
    reply(405, graphErrorBody('Request_BadRequest', `The HTTP method '${req.method}' is not supported for this resource.`, ids, now));
    return;
  }
  const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  const verdict = token ? verifyAccessToken(ctx, token, now) : { ok: false as const, message: 'Access token is empty.' };
  if (!verdict.ok) {
    reply(401, graphErrorBody('InvalidAuthenticationToken', verdict.message, ids, now));
    return;
  }
  const allowed = READ_ROLES[url.pathname] ?? [];
  if (!verdict.roles.some((role) => allowed.includes(role))) {
    reply(403, graphErrorBody('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.', ids, now));
    return;
  }
  if (url.pathname === DOMAINS_PATH) {
    reply(200, { '@odata.context': `${ctx.graphOrigin}/v1.0/$metadata#domains`, value: SIMULATED_DOMAINS });
    return;
  }
  const filter = url.searchParams.get('$filter') ?? '';
  const appId = /^appId eq '([0-9a-f-]{36})'$/i.exec(filter.trim())?.[1]?.toLowerCase();
  if (appId === undefined) {
    reply(400, graphErrorBody('Request_UnsupportedQuery', "The simulator supports only $filter=appId eq '<guid>' here.", ids, now));
    return;
  }
  const principals = [
    { id: `sp-${ctx.identity.clientId}`, appId: ctx.identity.clientId, displayName: 'O365 Message Trace collector' },
    ...(ctx.config.servicePrincipalProvisioned
      ? [{ id: `sp-${MESSAGE_TRACE_APP_ID}`, appId: MESSAGE_TRACE_APP_ID, displayName: 'Microsoft message trace (simulated)' }]
      : []),
  ];
  reply(200, {
    '@odata.context': `${ctx.graphOrigin}/v1.0/$metadata#servicePrincipals`,
    value: principals.filter((principal) => principal.appId === appId),
  });
}
