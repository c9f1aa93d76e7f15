/** The onboarding check's reading of the token and its verdicts, beyond what the simulator can stage. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapGraphError } from '../../src/graph/errors.js';
import {
  SERVICE_PRINCIPAL_LOOKUP_PATH,
  assessOnboarding,
  explainRefusal,
  grantsOfToken,
} from '../../src/commands/onboarding-check.js';
import { IntegrationError } from '../../src/errors.js';
import { fakeJwt } from '../helpers/auth-fixtures.js';

const SP_APP = '8bd644d1-64a1-4d4b-ae52-2e0cbf64e373';
const refusal = new IntegrationError('graph_unauthorized', 'Graph rejected the access token (401).', { status: 401, requestId: 'req-1', upstreamCode: 'InvalidAuthenticationToken' });

function deps(token: string, answer: () => unknown, calls: string[] = []) {
  return {
    accessToken: async () => token,
    graph: {
      async getJson(path: string) {
        calls.push(path);
        return answer();
      },
    },
  };
}

describe('grantsOfToken', () => {
  it('reads application roles, delegated scopes, and nothing from what is not a JWT', () => {
    expect(grantsOfToken(fakeJwt({ roles: ['A', 'B'] }))).toEqual({ kind: 'application', granted: ['A', 'B'] });
    expect(grantsOfToken(fakeJwt({}))).toEqual({ kind: 'application', granted: [] });
    expect(grantsOfToken(fakeJwt({ scp: 'ExchangeMessageTrace.Read.All openid' }))).toEqual({ kind: 'delegated', granted: ['ExchangeMessageTrace.Read.All', 'openid'] });
    expect(grantsOfToken('opaque-token')).toBeUndefined();
    expect(grantsOfToken('a.!!!.c')).toBeUndefined();
  });
});

describe('explainRefusal', () => {
  it('service principal present yet 401: points at provisioning, keeps Microsoft ids, never shows the token', async () => {
    const token = fakeJwt({ roles: ['ExchangeMessageTrace.Read.All', 'Application.Read.All'] });
    const calls: string[] = [];
    const explained = await explainRefusal(refusal, deps(token, () => ({ value: [{ id: 'x', appId: SP_APP }] }), calls));
    expect(calls).toEqual([SERVICE_PRINCIPAL_LOOKUP_PATH]);
    expect(decodeURIComponent(SERVICE_PRINCIPAL_LOOKUP_PATH)).toBe(`/v1.0/servicePrincipals?$filter=appId eq '${SP_APP}'&$select=id,appId`);
    expect(explained.message).toContain('Onboarding check: all three steps look done.');
    expect(explained.message).toContain('present in the tenant (looked up). If it was created within the last 24 hours, provisioning may not be finished');
    expect(explained).toMatchObject({ code: 'graph_unauthorized', status: 401, requestId: 'req-1', upstreamCode: 'InvalidAuthenticationToken' });
    expect(explained.fullMessage).not.toContain(token);
    expect(explained.fullMessage).not.toContain(token.split('.')[1]);
  });

  it('a failed look-up falls back to checking by hand', async () => {
    const token = fakeJwt({ roles: ['ExchangeMessageTrace.Read.All', 'Directory.Read.All'] });
    const explained = await explainRefusal(refusal, deps(token, () => {
      throw new IntegrationError('graph_unavailable', 'Microsoft Graph is unavailable (503).', { status: 503 });
    }));
    expect(explained.message).toContain('the look-up failed; check by hand');
  });

  it('a delegated token (authorization code flow) is judged by its scopes and never looked up', async () => {
    const calls: string[] = [];
    const explained = await explainRefusal(refusal, deps(fakeJwt({ scp: 'openid profile' }), () => ({ value: [] }), calls));
    expect(calls).toEqual([]);
    expect(explained.message).toContain("MISSING from the signed-in token's scopes (openid, profile)");
  });

  it('leaves the refusal as it is when the token cannot be read or fetched', async () => {
    expect(await explainRefusal(refusal, deps('opaque', () => ({ value: [] })))).toBe(refusal);
    const failing = { accessToken: async () => Promise.reject(new Error('offline')), graph: { getJson: async () => ({}) } };
    expect(await explainRefusal(refusal, failing)).toBe(refusal);
  });

  it('assesses each step from the facts alone', () => {
    expect(assessOnboarding({ kind: 'application', granted: [] }, { state: 'absent' })).toMatchObject({ permission: 'missing', consent: 'missing', servicePrincipal: 'missing' });
    expect(assessOnboarding({ kind: 'application', granted: ['Other.Read.All'] }, { state: 'unchecked', reason: 'no_permission' })).toMatchObject({ permission: 'missing', consent: 'unknown', servicePrincipal: 'unknown' });
    expect(assessOnboarding({ kind: 'application', granted: ['ExchangeMessageTrace.Read.All'] }, { state: 'present' })).toMatchObject({ permission: 'done', consent: 'done', servicePrincipal: 'done' });
  });
});

describe('the README', () => {
  it('shows the check as test-module gives it for a token with another role only', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Onboarding self-check'));
    const shown = /```\n([\s\S]*?)\n```/.exec(section)?.[1];
    const explained = await explainRefusal(mapGraphError(403, '{}', new Headers({ 'request-id': 'r' })), deps(fakeJwt({ roles: ['Domain.Read.All'] }), () => ({ value: [] })));
    expect(shown).toBe(explained.message);
  });
});
