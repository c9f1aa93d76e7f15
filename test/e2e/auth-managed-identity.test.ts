/**
 * Azure Managed Identities against the simulator's IMDS endpoint (plain HTTP, like 169.254.169.254),
 * reached through AZURE_POD_IDENTITY_AUTHORITY_HOST. Own file: msal-node picks its managed identity source
 * once per process, at the first acquisition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { Runs, expectEachServiceGotOnlyItsOwnRequests, expectOk } from '../helpers/auth-e2e.js';

let sim: SimulatedTenant;

beforeAll(async () => {
  sim = await startSimulatedTenant({ seed: 5, ratePerDay: 200, historyDays: 0 });
  for (const name of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT']) delete process.env[name];
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = sim.imdsUrl;
});
afterAll(async () => {
  delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  await sim?.stop();
});

function params(userAssigned: boolean): Record<string, unknown> {
  return {
    url: sim.graphUrl,
    authority_url: sim.authorityUrl,
    ca_certificate: sim.caCertPem,
    use_managed_identities: true,
    ...(userAssigned ? { managed_identities_client_id: sim.managedIdentityClientId } : {}),
  };
}

describe.each([
  ['system-assigned', false],
  ['user-assigned', true],
])('managed identity (%s)', (_name, userAssigned) => {
  it('test-module → ok, auth-test → success, the token is reused by the next run', async () => {
    const before = sim.stats().tokensIssued.managed_identity;
    const runs = new Runs();
    expect(expectOk(await runs.run('test-module', params(userAssigned)))).toBe('ok');
    expect(expectOk(await runs.run('o365-message-trace-auth-test', params(userAssigned)))).toBe('Authentication was successful.');
    expect(sim.stats().tokensIssued.managed_identity - before).toBe(1);
  });
});

// Last in the file: every sign-in above (managed identity (system- and user-assigned)) and its Graph calls, each on its own service's origin.
it('sent token requests only to the IMDS endpoint and Graph calls only to Graph', () => {
  expect(new URL(sim.graphUrl).origin).not.toBe(new URL(sim.authorityUrl).origin);
  expectEachServiceGotOnlyItsOwnRequests(sim, 'imds');
});
