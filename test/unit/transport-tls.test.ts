/**
 * The transport's TLS trust with `ca_certificate`: the system roots plus the given certificates, in one TLS
 * context per certificate for the process (Node would otherwise parse all ~145 system roots again for every
 * connection), against the simulated tenant over real HTTPS on loopback.
 */
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextTrusting, createHttpFetch } from '../../src/http/transport.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';

let sim: SimulatedTenant;

beforeAll(async () => {
  sim = await startSimulatedTenant({ seed: 5, ratePerDay: 100, historyDays: 1, throttle: 'off' });
});

afterAll(async () => {
  await sim?.stop();
});

/** The simulator's token endpoint's answer to a GET: any HTTP answer means TLS was accepted. */
async function reach(caCertificate: string): Promise<number> {
  const http = createHttpFetch({ proxy: false, insecure: false, caCertificate });
  const response = await http(`${sim.authorityUrl}/${sim.tenantId}/v2.0/.well-known/openid-configuration`);
  await response.arrayBuffer();
  return response.status;
}

describe('transport TLS with ca_certificate', () => {
  it('builds the context for a certificate once, and a separate one for another certificate', () => {
    const first = contextTrusting(sim.caCertPem);
    expect(contextTrusting(sim.caCertPem)).toBe(first);
    expect(contextTrusting(rootCertificates[0] as string)).not.toBe(first);
  });

  it('trusts the given certificate on every new transport, and not a server signed by another', async () => {
    expect(await reach(sim.caCertPem)).toBe(200);
    expect(await reach(sim.caCertPem)).toBe(200);
    // A system root alone does not vouch for the simulator: the cached context is the one for that certificate.
    await expect(reach(rootCertificates[0] as string)).rejects.toThrow();
  });
});
