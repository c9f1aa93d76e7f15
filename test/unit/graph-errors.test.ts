/** Graph's error answers → what the user changes: the 401/403 texts with Microsoft's code and request id. */
import { describe, expect, it } from 'vitest';
import { mapGraphError, SERVICE_PRINCIPAL_APP_ID } from '../../src/graph/errors.js';

describe('Graph 401/403 (mapGraphError)', () => {
  it('401 service principal missing → how to create it and the wait', () => {
    const error = mapGraphError(
      401,
      JSON.stringify({
        error: {
          code: 'UnknownError',
          message: `Service principal-less authentication failed: The service principal for App ID ${SERVICE_PRINCIPAL_APP_ID} was not found. Please create a service principal for this app in your tenant. Provisioning may take several hours to complete.`,
        },
      }),
      new Headers({ 'request-id': 'req-1' }),
    );
    expect(error.code).toBe('graph_unauthorized');
    expect(error.message).toContain(`POST https://graph.microsoft.com/v1.0/servicePrincipals`);
    expect(error.message).toContain(`{"appId":"${SERVICE_PRINCIPAL_APP_ID}"}`);
    expect(error.message).toContain(`New-MgServicePrincipal -AppId ${SERVICE_PRINCIPAL_APP_ID}`);
    expect(error.message).toContain('24');
    expect(error.fullMessage).toContain('request id: req-1');
  });

  it('other 401 → the token was rejected: check tenant and app', () => {
    const error = mapGraphError(
      401,
      JSON.stringify({ error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } }),
      new Headers({ 'request-id': 'req-2' }),
    );
    expect(error.code).toBe('graph_unauthorized');
    expect(error.message).toMatch(/Tenant ID and Client ID/);
    expect(error.upstreamCode).toBe('InvalidAuthenticationToken');
  });

  it('403 → the application permission and admin consent', () => {
    const error = mapGraphError(403, JSON.stringify({ error: { code: 'Forbidden', message: 'Missing role permissions' } }), new Headers({ 'request-id': 'req-3' }));
    expect(error.code).toBe('graph_forbidden');
    expect(error.message).toContain('application permission ExchangeMessageTrace.Read.All');
    expect(error.message).toContain('admin consent');
    expect(error.requestId).toBe('req-3');
  });
});
