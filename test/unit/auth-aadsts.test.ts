/**
 * The AADSTS tables (src/auth/aadsts.ts): every code of every row reaches that row through the mapper, with
 * Microsoft's code kept on the error a person sees, and no code is claimed by two rows of one table (the
 * second would never be reached). The wording of each message is held by auth-errors.test.ts and
 * auth-workload-identity.test.ts, through main() and a fake Entra ID.
 */
import { ServerError } from '@azure/msal-node';
import { describe, expect, it } from 'vitest';
import { type AadstsRow, FEDERATION_REFUSALS, TOKEN_REFUSALS } from '../../src/auth/aadsts.js';
import { mapAuthError } from '../../src/auth/errors.js';
import type { AuthErrorContext } from '../../src/auth/types.js';

const TRACE_ID = '0f0e0d0c-0b0a-4909-8807-060504030201';
const CLAIMS = { issuer: 'https://oidc.example/issuer/', subject: 'system:serviceaccount:mail:collector', audiences: ['api://AzureADTokenExchange'], expiresOnMs: Date.UTC(2026, 10, 30, 12) };

const secretContext: AuthErrorContext = {
  method: 'client_secret',
  phase: 'client_credential',
  tenantId: 'contoso.onmicrosoft.com',
  clientId: '11111111-2222-4333-8444-555555555555',
  url: 'https://graph.microsoft.com',
  secrets: ['unit-test-secret'],
};

const federatedContext: AuthErrorContext = {
  ...secretContext,
  method: 'workload_identity',
  federation: { tokenFile: { path: '/var/run/secrets/azure/tokens/azure-identity-token', setting: 'federated_token_file' }, claims: () => CLAIMS },
};

/** An Entra ID refusal as MSAL hands it over: the AADSTS number in `errorNo`, the description in the text. */
function refusal(aadsts: number): ServerError {
  return new ServerError(
    'invalid_client',
    'correlation-1',
    `Description: AADSTS${aadsts}: Microsoft says no. Trace ID: ${TRACE_ID} - Correlation ID: correlation-1`,
    '',
    String(aadsts),
    400,
  );
}

function codesOf<Facts>(rows: readonly AadstsRow<Facts>[]): number[] {
  return rows.flatMap((row) => row.aadsts);
}

describe.each([
  { table: 'FEDERATION_REFUSALS', rows: FEDERATION_REFUSALS as readonly AadstsRow<never>[], context: federatedContext },
  { table: 'TOKEN_REFUSALS', rows: TOKEN_REFUSALS as readonly AadstsRow<never>[], context: secretContext },
])('$table', ({ rows, context }) => {
  it('claims each code in one row only', () => {
    const codes = codesOf(rows);
    expect(codes.length).toBeGreaterThan(0);
    expect(new Set(codes).size).toBe(codes.length);
  });

  const cases = rows.flatMap((row, index) => row.aadsts.map((aadsts) => ({ aadsts, row: index })));
  it.each(cases)('AADSTS$aadsts reaches row $row and keeps the code', ({ aadsts, row }) => {
    const error = mapAuthError(refusal(aadsts), context);
    const others = rows.filter((_, index) => index !== row);
    expect(error.code).toBe(rows[row]?.code);
    expect(error.upstreamCode).toBe(`AADSTS${aadsts}`);
    expect(error.requestId).toBe(TRACE_ID);
    expect(error.fullMessage).toContain(`Microsoft error: AADSTS${aadsts}`);
    // The row's own message, not the generic one and not another row's.
    expect(error.message).not.toContain('login.microsoftonline.com/error?code=');
    expect(error.message).not.toContain('Microsoft says no');
    for (const phase of ['client_credential', 'redeem_code', 'refresh'] as const) {
      const again = mapAuthError(refusal(aadsts), { ...context, phase });
      expect(again.upstreamCode).toBe(`AADSTS${aadsts}`);
      expect(again.message).not.toContain('login.microsoftonline.com/error?code=');
    }
    for (const other of others) {
      for (const otherCode of other.aadsts) {
        expect(mapAuthError(refusal(otherCode), context).message).not.toBe(error.message);
      }
    }
  });
});

describe('which table answers', () => {
  it('a code in both tables reads as the federated token refusal only for workload identity', () => {
    const shared = codesOf(FEDERATION_REFUSALS).filter((code) => codesOf(TOKEN_REFUSALS).includes(code));
    expect(shared).toContain(700024);
    for (const code of shared) {
      const federated = mapAuthError(refusal(code), federatedContext).message;
      const plain = mapAuthError(refusal(code), secretContext).message;
      expect(federated).toContain('/var/run/secrets/azure/tokens/azure-identity-token');
      expect(plain).not.toContain('/var/run/secrets');
      expect(plain).not.toBe(federated);
    }
  });

  it('a federation code without a workload identity gets the generic answer with the lookup link', () => {
    const message = mapAuthError(refusal(70021), secretContext).message;
    expect(message).toContain('Microsoft says no');
    expect(message).toContain('https://login.microsoftonline.com/error?code=70021');
  });
});
