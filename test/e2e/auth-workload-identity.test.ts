/**
 * Workload identity federation against the simulated tenant over HTTPS with TLS verification on (the
 * simulator's CA is passed as `ca_certificate`): the simulator plays the platform (it writes an identity
 * token to `federatedTokenPath` and rotates it) and Entra ID (it accepts the token as client_assertion only
 * when the app's federated credential matches). test-module, o365-message-trace-auth-test and fetch-events
 * run through main(); rotation, mismatches and bad files give the messages a person needs.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, isCommandError } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { main } from '../../src/main.js';
import { connectionInfo } from '../../src/simulator/cli.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { Runs, expectEachServiceGotOnlyItsOwnRequests, expectOk, simulatorParams } from '../helpers/auth-e2e.js';
import { compareWithTruth } from '../helpers/fetch-e2e.js';

let sim: SimulatedTenant;

beforeAll(async () => {
  sim = await startSimulatedTenant({ seed: 9, ratePerDay: 3000, historyDays: 1, maxDelaySeconds: 60, statusDelaySeconds: 120 });
});
afterAll(async () => {
  await sim?.stop();
});
beforeEach(async () => {
  sim.configureFederatedCredential({});
  await sim.rotateFederatedToken();
});

const params = () => ({ ...simulatorParams(sim), use_workload_identity: true, federated_token_file: sim.federatedTokenPath });

function failure(outcome: CommandOutcome): { code: string; message: string } {
  if (!isCommandError(outcome)) throw new Error('expected the command to fail');
  return outcome.error;
}

describe('workload identity federation', () => {
  it('the info file names the token file', () => {
    expect(connectionInfo(sim).federatedTokenPath).toBe(sim.federatedTokenPath);
  });

  it('test-module → ok and auth-test → success; the second run reuses the cached token', async () => {
    const before = sim.federationStats();
    const tokensBefore = sim.stats().tokensIssued.client_credentials;
    const runs = new Runs();
    expect(expectOk(await runs.run('test-module', params()))).toBe('ok');
    expect(expectOk(await runs.run('o365-message-trace-auth-test', params()))).toBe('Authentication was successful.');
    expect(sim.federationStats().accepted - before.accepted).toBe(1);
    expect(sim.stats().tokensIssued.client_credentials - tokensBefore).toBe(1);
    const token = await readFile(sim.federatedTokenPath, 'utf8');
    for (const engine of runs.engines) expect(JSON.stringify({ logs: engine.logs, context: engine.integrationContext })).not.toContain(token);
  });

  it('fetch-events collects the events of the last hour with the federated sign-in', async () => {
    const engine = new MemoryEngine();
    const p = { ...params(), first_fetch: '1 hour', max_fetch: '5000' };
    const before = sim.federationStats().accepted;
    let outcome = await main('fetch-events', p, {}, engine);
    for (let i = 0; i < 5 && !isCommandError(outcome) && outcome.nextTrigger === '0'; i++) {
      outcome = await main('fetch-events', p, {}, engine);
    }
    if (isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
    expect(sim.federationStats().accepted - before).toBe(1);
    expect(engine.events.length, outcome.readableOutput).toBeGreaterThan(0);
    const cursor = parseState(engine.lastRun)?.cursorMs ?? 0;
    const from = Date.now() - 60 * 60_000 + 60_000;
    const result = compareWithTruth(sim.groundTruth(from, cursor), engine.events, from, cursor);
    expect(result.missing).toEqual([]);
    expect(result.duplicated).toEqual([]);
  });

  it('rotation: each new sign-in presents what the file holds now', async () => {
    // A token for another service account is refused by the app's federated credential…
    await sim.rotateFederatedToken({ subject: 'system:serviceaccount:default:someone-else' });
    const refused = failure(await new Runs().run('o365-message-trace-auth-test', params()));
    expect(refused.message).toMatch(/AADSTS700213/);
    expect(refused.message).toContain("subject 'system:serviceaccount:default:someone-else'");
    // …and after the platform rotates the file, the next sign-in uses the new, matching token.
    const before = sim.federationStats().accepted;
    await sim.rotateFederatedToken();
    expectOk(await new Runs().run('o365-message-trace-auth-test', params()));
    expect(sim.federationStats().accepted - before).toBe(1);
  });

  it.each([
    ['no federated credential on the app', () => sim.configureFederatedCredential(null), /AADSTS70021\b/, /no federated credential on the app that matches/],
    ['another issuer on the credential', () => sim.configureFederatedCredential({ issuer: 'https://oidc.prod-aks.azure.com/other/' }), /AADSTS700211/, /set Issuer to the token's issuer/],
    ['another subject on the credential', () => sim.configureFederatedCredential({ subject: 'system:serviceaccount:security:collector' }), /AADSTS700213/, /Subject identifier/],
    ['another audience on the credential', () => sim.configureFederatedCredential({ audiences: ['api://custom'] }), /AADSTS700212/, /Audience/],
    ['a forged signature', () => sim.rotateFederatedToken({ forgedSignature: true }), /AADSTS7000274/, /could not verify the signature/],
  ] as const)('%s → the AADSTS code and what to change', async (_name, arrange, code, says) => {
    await arrange();
    const token = await readFile(sim.federatedTokenPath, 'utf8');
    const error = failure(await new Runs().run('test-module', params()));
    expect(error.code).toBe('auth_failed');
    expect(error.message).toMatch(code);
    expect(error.message).toMatch(says);
    expect(error.message).toContain(sim.federatedIssuer);
    expect(error.message).not.toContain(token);
  });

  it('an expired token file is refused before any request, naming the file and the setting', async () => {
    await sim.rotateFederatedToken({ lifetimeSeconds: -120 });
    const before = sim.federationStats();
    const error = failure(await new Runs().run('test-module', params()));
    expect(error.code).toBe('auth_failed');
    expect(error.message).toContain(sim.federatedTokenPath);
    expect(error.message).toMatch(/federated_token_file.*expired at/s);
    expect(sim.federationStats()).toEqual(before);
  });

  it('the certificate method keeps working next to federation (both come as client_assertion)', async () => {
    const [key] = await Promise.all([readFile(sim.privateKeyPath, 'utf8')]);
    const outcome = await new Runs().run('test-module', { ...simulatorParams(sim), certificate_thumbprint: sim.certificateThumbprint, private_key: key });
    expect(expectOk(outcome)).toBe('ok');
  });
});

// Last in the file: every sign-in above (workload identity federation and certificate) and its Graph calls, each on its own service's origin.
it('sent token requests only to the authority and Graph calls only to Graph', () => {
  expect(new URL(sim.graphUrl).origin).not.toBe(new URL(sim.authorityUrl).origin);
  expectEachServiceGotOnlyItsOwnRequests(sim, 'authority');
});
