/** Helpers for the authentication end-to-end tests against the simulated tenant. */
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, type JsonObject, isCommandError } from '../../src/engine/types.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { main } from '../../src/main.js';
import type { SimulatedTenant } from '../../src/simulator/index.js';

/** Instance params pointing at the simulator, TLS verification on with the simulator's CA. */
export function simulatorParams(sim: SimulatedTenant): Record<string, unknown> {
  return {
    url: sim.graphUrl,
    authority_url: sim.authorityUrl,
    tenant_id: sim.tenantId,
    client_id: sim.clientId,
    ca_certificate: sim.caCertPem,
    insecure: false,
  };
}

export async function certificateParams(sim: SimulatedTenant, sha: 'sha1' | 'sha256'): Promise<Record<string, unknown>> {
  const [key, certificate] = await Promise.all([readFile(sim.privateKeyPath, 'utf8'), readFile(sim.certificatePath, 'utf8')]);
  return {
    ...simulatorParams(sim),
    certificate_thumbprint: sha === 'sha1' ? sim.certificateThumbprint : sim.certificateThumbprintSha256,
    private_key: sha === 'sha1' ? key : `${key}\n${certificate}`,
  };
}

/**
 * A "process": a new MemoryEngine that starts from the integration context of the run before, runs one
 * command through main(), and hands its context on.
 */
export class Runs {
  context: JsonObject = {};
  readonly engines: MemoryEngine[] = [];

  /** `clock`: the engine's time for each run (default: the engine's own real clock). */
  constructor(private readonly clock?: () => number) {}

  async run(command: string, params: Record<string, unknown>): Promise<CommandOutcome> {
    const engine = new MemoryEngine({
      integrationContext: this.context,
      ...(this.clock ? { startTimeMs: this.clock() } : {}),
    });
    this.engines.push(engine);
    const outcome = await main(command, params, {}, engine);
    this.context = engine.integrationContext;
    return outcome;
  }
}

export function expectOk(outcome: CommandOutcome): string {
  if (isCommandError(outcome)) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.readableOutput;
}

/**
 * Plays the person: runs generate-login-url, opens the link (the simulator consents at once and redirects)
 * and copies the `code` from the redirect address.
 */
export async function signIn(sim: SimulatedTenant, params: Record<string, unknown>): Promise<string> {
  const output = expectOk(await main('o365-message-trace-generate-login-url', params, {}, new MemoryEngine()));
  const link = /\]\((https:[^)]+)\)/.exec(output)?.[1];
  expect(link).toBeDefined();
  const fetchVerified = createHttpFetch({ proxy: false, insecure: false, caCertificate: sim.caCertPem });
  const response = await fetchVerified(link ?? '', { redirect: 'manual' });
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(sim.redirectUri);
  const code = location.searchParams.get('code');
  expect(code).toBeTruthy();
  return code ?? '';
}

/**
 * Entra ID and Graph are two origins (as in Microsoft's cloud): token requests must have gone to the
 * authority only (or IMDS for managed identity), Graph calls to Graph only, nothing anywhere else, and no
 * token request may have carried the v1.0 `resource` parameter (Entra's v2.0 endpoint refuses it).
 */
export function expectEachServiceGotOnlyItsOwnRequests(sim: SimulatedTenant, tokenService: 'authority' | 'imds'): void {
  const { requests, entraErrors } = sim.stats();
  const { authority, graph, imds } = requests.byListener;
  const routes = (listener: Record<string, number>) => Object.keys(listener).sort();
  expect(routes(authority).every((route) => route.startsWith('entra.')), `authority got ${routes(authority)}`).toBe(true);
  expect(routes(graph).every((route) => route.startsWith('graph.') || route.startsWith('control.')), `graph got ${routes(graph)}`).toBe(true);
  expect(routes(imds).every((route) => route === 'imds.token'), `imds got ${routes(imds)}`).toBe(true);
  // Something really went to each: the check cannot pass on an idle tenant.
  expect(tokenService === 'authority' ? authority['entra.token'] : imds['imds.token']).toBeGreaterThan(0);
  expect(graph['graph.messageTraces'] ?? 0).toBeGreaterThan(0);
  expect(entraErrors.AADSTS901002 ?? 0).toBe(0);
  expect(entraErrors.AADSTS9010010 ?? 0).toBe(0);
}
