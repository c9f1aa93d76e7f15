/**
 * The onboarding self-check of test-module and o365-message-trace-auth-test against the simulated tenant,
 * which can run without the message trace service principal and without the permission: each missing
 * step is named, and the service principal is looked up when the app may read service principals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, isCommandError } from '../../src/engine/types.js';
import { main } from '../../src/main.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { fetchParams } from '../helpers/fetch-e2e.js';

const SP_APP = '8bd644d1-64a1-4d4b-ae52-2e0cbf64e373';
let sim: SimulatedTenant | undefined;
let lookupsBefore = 0;

beforeAll(async () => {
  sim = await startSimulatedTenant({ seed: 3, throttle: 'off' });
});
afterAll(async () => {
  await sim?.stop();
});

/** Both commands, each with a fresh engine (so a fresh token carrying the roles configured now). */
async function probe(options: { grantedRoles: string[]; servicePrincipalProvisioned: boolean }) {
  if (!sim) throw new Error('simulator not started');
  sim.configure(options);
  lookupsBefore = sim.stats().requests.byRoute['graph.servicePrincipals'] ?? 0;
  const outcomes: Record<string, CommandOutcome> = {};
  for (const command of ['test-module', 'o365-message-trace-auth-test']) {
    outcomes[command] = await main(command, fetchParams(sim), {}, new MemoryEngine());
  }
  return outcomes;
}

/** Service principal look-ups the simulator answered since the last probe started. */
function lookups(): number {
  return (sim?.stats().requests.byRoute['graph.servicePrincipals'] ?? 0) - lookupsBefore;
}

function errorOf(outcome: CommandOutcome | undefined): { code: string; message: string } {
  if (outcome === undefined || !isCommandError(outcome)) throw new Error(`expected an error, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

describe('onboarding self-check', () => {
  it('no application role at all: admin consent is the missing step', async () => {
    const outcomes = await probe({ grantedRoles: [], servicePrincipalProvisioned: true });
    for (const outcome of Object.values(outcomes)) {
      const { code, message } = errorOf(outcome);
      expect(code).toBe('graph_forbidden');
      expect(message).toContain('Onboarding is incomplete, missing: admin consent (and maybe the permission ExchangeMessageTrace.Read.All itself).');
      expect(message).toContain('2. Admin consent: MISSING. The access token carries no application roles at all');
      expect(message).toContain('not looked up (the app lacks Application.Read.All); check by hand');
    }
  });

  it('other roles but not the permission: the permission is the missing step', async () => {
    const { 'test-module': outcome } = await probe({ grantedRoles: ['Domain.Read.All'], servicePrincipalProvisioned: true });
    const { code, message } = errorOf(outcome);
    expect(code).toBe('graph_forbidden');
    expect(message).toContain('Onboarding is incomplete, missing: the permission ExchangeMessageTrace.Read.All.');
    expect(message).toContain('MISSING from the access token (it carries Domain.Read.All)');
  });

  it('permission in place, no service principal, no Application.Read.All: says so and how to check by hand', async () => {
    const outcomes = await probe({ grantedRoles: ['ExchangeMessageTrace.Read.All'], servicePrincipalProvisioned: false });
    for (const outcome of Object.values(outcomes)) {
      const { code, message } = errorOf(outcome);
      expect(code).toBe('graph_unauthorized');
      expect(message).toContain(`the step left is most likely the service principal of app ${SP_APP}`);
      expect(message).toContain('1. Permission ExchangeMessageTrace.Read.All: in place');
      expect(message).toContain(`Get-MgServicePrincipal -Filter "appId eq '${SP_APP}'"`);
    }
  });

  it('with Application.Read.All the service principal is looked up, and its absence named', async () => {
    const outcomes = await probe({ grantedRoles: ['ExchangeMessageTrace.Read.All', 'Application.Read.All'], servicePrincipalProvisioned: false });
    for (const outcome of Object.values(outcomes)) {
      const { message } = errorOf(outcome);
      expect(message).toContain(`Onboarding is incomplete, missing: the service principal of app ${SP_APP}.`);
      expect(message).toContain('MISSING, the tenant has none (looked up)');
      expect(message).toContain(`New-MgServicePrincipal -AppId ${SP_APP}`);
    }
    expect(lookups()).toBe(2);
  });

  it('every step missing at once is reported at once', async () => {
    const { 'test-module': outcome } = await probe({ grantedRoles: ['Application.Read.All'], servicePrincipalProvisioned: false });
    const { message } = errorOf(outcome);
    expect(message).toContain(`missing: the permission ExchangeMessageTrace.Read.All; the service principal of app ${SP_APP}.`);
  });

  it('with everything in place both commands pass and nothing is looked up', async () => {
    const outcomes = await probe({ grantedRoles: ['ExchangeMessageTrace.Read.All', 'Application.Read.All'], servicePrincipalProvisioned: true });
    expect(outcomes['test-module']).toMatchObject({ readableOutput: 'ok' });
    expect(outcomes['o365-message-trace-auth-test']).toMatchObject({ readableOutput: 'Authentication was successful.' });
    expect(lookups()).toBe(0);
  });
});
