/**
 * Authentication against the simulated tenant over HTTPS with TLS verification on (the simulator's CA is
 * passed as `ca_certificate`): test-module and o365-message-trace-auth-test through main() for the client
 * secret, certificate (SHA-1 and SHA-256 thumbprints) and authorization code methods; the code is redeemed
 * exactly once across several process-like runs. Managed identity is in auth-managed-identity.test.ts
 * (msal-node picks its managed identity source once per process).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isCommandError } from '../../src/engine/types.js';
import { main } from '../../src/main.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { Runs, certificateParams, expectEachServiceGotOnlyItsOwnRequests, expectOk, signIn, simulatorParams } from '../helpers/auth-e2e.js';

let sim: SimulatedTenant;

beforeAll(async () => {
  sim = await startSimulatedTenant({ seed: 4, ratePerDay: 200, historyDays: 0 });
});
afterAll(async () => {
  await sim?.stop();
});
beforeEach(() => {
  sim.configure({ tokenTtlSeconds: 3600 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** The wall clock, unaffected by faked Dates (the simulator and the Graph window keep real time). */
const wallClock = Date.now.bind(Date);

const clientCredentialMethods: [string, () => Promise<Record<string, unknown>>][] = [
  ['client secret', async () => ({ ...simulatorParams(sim), client_secret: sim.clientSecret })],
  ['certificate (SHA-1)', () => certificateParams(sim, 'sha1')],
  ['certificate (SHA-256, certificate pasted with the key)', () => certificateParams(sim, 'sha256')],
];

describe.each(clientCredentialMethods)('%s', (_name, params) => {
  it('test-module → ok and auth-test → success; the second run reuses the token', async () => {
    const p = await params();
    const before = sim.stats().tokensIssued.client_credentials;
    const runs = new Runs();
    expect(expectOk(await runs.run('test-module', p))).toBe('ok');
    expect(expectOk(await runs.run('o365-message-trace-auth-test', p))).toBe('Authentication was successful.');
    expect(sim.stats().tokensIssued.client_credentials - before).toBe(1);
  });
});

describe('authorization code', () => {
  it('is redeemed exactly once across runs; later runs refresh silently; revocation → reset → new code', async () => {
    const base = { ...simulatorParams(sim), client_secret: sim.clientSecret, redirect_uri: sim.redirectUri };
    const start = sim.stats();
    const code = await signIn(sim, base);
    const params = { ...base, auth_code: code };
    const runs = new Runs(wallClock);

    // test-module before auth-test: points to auth-test and redeems nothing.
    const early = await runs.run('test-module', params);
    expect(isCommandError(early) && early.error.message).toContain('o365-message-trace-auth-test');
    expect(sim.stats().codesRedeemed).toBe(start.codesRedeemed);

    expect(expectOk(await runs.run('o365-message-trace-auth-test', params))).toBe('Authentication was successful.');
    expect(expectOk(await runs.run('test-module', params))).toBe('ok');
    expect(expectOk(await runs.run('o365-message-trace-auth-test', params))).toBe('Authentication was successful.');
    let stats = sim.stats();
    expect(stats.codesRedeemed - start.codesRedeemed).toBe(1);
    expect(stats.tokensIssued.authorization_code - start.tokensIssued.authorization_code).toBe(1);
    expect(stats.tokensIssued.refresh_token - start.tokensIssued.refresh_token).toBe(0);

    // Two hours later (as MSAL sees it) the access token has expired: the refresh token is used, never the code.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(wallClock() + 2 * 3600_000);
    expectOk(await runs.run('o365-message-trace-auth-test', params));
    expectOk(await runs.run('o365-message-trace-auth-test', params));
    stats = sim.stats();
    expect(stats.codesRedeemed - start.codesRedeemed).toBe(1);
    expect(stats.tokensIssued.refresh_token - start.tokensIssued.refresh_token).toBe(1);

    // Revoked refresh token (and two more hours): the message says what to do.
    sim.revokeRefreshTokens();
    vi.setSystemTime(wallClock() + 4 * 3600_000);
    const revoked = await runs.run('o365-message-trace-auth-test', params);
    expect(isCommandError(revoked) && revoked.error.code).toBe('auth_grant_expired');
    expect(isCommandError(revoked) && revoked.error.message).toMatch(/AADSTS50173/);
    expect(isCommandError(revoked) && revoked.error.message).toMatch(/o365-message-trace-auth-reset.*generate-login-url/s);

    // Reset, sign in again, paste the new code: redeemed once more.
    expectOk(await runs.run('o365-message-trace-auth-reset', params));
    expect(Object.keys(runs.context)).not.toContain('msalCache');
    const second = { ...base, auth_code: await signIn(sim, base) };
    expect(expectOk(await runs.run('o365-message-trace-auth-test', second))).toBe('Authentication was successful.');
    expectOk(await runs.run('test-module', second));
    expect(sim.stats().codesRedeemed - start.codesRedeemed).toBe(2);
  });

  it('the old code pasted again after a reset gets the "already redeemed" advice', async () => {
    const base = { ...simulatorParams(sim), client_secret: sim.clientSecret, redirect_uri: sim.redirectUri };
    const params = { ...base, auth_code: await signIn(sim, base) };
    const runs = new Runs(wallClock);
    expectOk(await runs.run('o365-message-trace-auth-test', params));
    expectOk(await runs.run('o365-message-trace-auth-reset', params));
    const again = await runs.run('o365-message-trace-auth-test', params);
    expect(isCommandError(again) && again.error.code).toBe('auth_grant_expired');
    expect(isCommandError(again) && again.error.message).toMatch(/already redeemed.*AADSTS54005/s);
  });
});

describe('errors over the wire', () => {
  it('a wrong secret → AADSTS7000215 advice', async () => {
    const outcome = await main('test-module', { ...simulatorParams(sim), client_secret: 'wrong8Q~secret' }, {}, new MemoryEngine());
    expect(isCommandError(outcome) && outcome.error.message).toMatch(/secret Value.*AADSTS7000215/s);
  });

  it('without the simulator CA, TLS verification fails and the message names ca_certificate', async () => {
    const { ca_certificate: _ca, ...noCa } = simulatorParams(sim);
    const outcome = await main('test-module', { ...noCa, client_secret: sim.clientSecret }, {}, new MemoryEngine());
    expect(isCommandError(outcome) && outcome.error.code).toBe('network');
    expect(isCommandError(outcome) && outcome.error.message).toContain('ca_certificate');
  });

  it('a missing permission → 403 advice', async () => {
    sim.configure({ grantedRoles: [] });
    try {
      const outcome = await main('test-module', { ...simulatorParams(sim), client_secret: sim.clientSecret }, {}, new MemoryEngine());
      expect(isCommandError(outcome) && outcome.error.code).toBe('graph_forbidden');
      expect(isCommandError(outcome) && outcome.error.message).toContain('ExchangeMessageTrace.Read.All');
    } finally {
      sim.configure({ grantedRoles: ['ExchangeMessageTrace.Read.All'] });
    }
  });
});

// Last in the file: every sign-in above (client secret, certificate (SHA-1, SHA-256) and authorization code) and its Graph calls, each on its own service's origin.
it('sent token requests only to the authority and Graph calls only to Graph', () => {
  expect(new URL(sim.graphUrl).origin).not.toBe(new URL(sim.authorityUrl).origin);
  expectEachServiceGotOnlyItsOwnRequests(sim, 'authority');
});
