/**
 * direction end to end: fetch-events against the simulated tenant, whose ground truth knows each row's
 * direction and whose /v1.0/domains lists the domains its mail uses (plus one unverified claim on an
 * outside domain). Every event's direction must equal the ground truth's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError, type TraceEvent } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { directionOf, tenantDomains } from '../../src/graph/direction.js';
import { main } from '../../src/main.js';
import { SIMULATED_DOMAINS } from '../../src/simulator/directory.js';
import { type GroundTruthRow, type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { fetchParams } from '../helpers/fetch-e2e.js';

const MINUTE = 60_000;
let sim: SimulatedTenant | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function collect(grantedRoles: string[], extra: Record<string, unknown>) {
  const start = Math.floor(Date.now() / MINUTE) * MINUTE;
  const engine = new MemoryEngine({ startTimeMs: start });
  sim = await startSimulatedTenant({ seed: 41, ratePerDay: 6000, historyDays: 1, order: 'random', throttle: 'off', grantedRoles, clock: () => engine.now() });
  const params = fetchParams(sim, { first_fetch: '90 minutes', max_fetch: '5000', lookback_minutes: '10', ...extra });
  for (let run = 0; run < 6; run++) {
    const outcome = await main('fetch-events', params, {}, engine);
    if (isCommandError(outcome)) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
    if (outcome.nextTrigger !== '0') engine.advance(3 * MINUTE);
  }
  const cursor = parseState(engine.lastRun)?.cursorMs ?? start;
  return { engine, truth: sim.groundTruth(start - 90 * MINUTE, cursor) };
}

/** Events whose direction differs from the ground truth row's, as "id|recipient: got → want". */
function mismatches(events: readonly TraceEvent[], truth: readonly GroundTruthRow[]): string[] {
  const byKey = new Map(truth.map((row) => [`${row.id}|${row.recipientAddress}`, row.direction]));
  const out: string[] = [];
  for (const event of events) {
    const want = byKey.get(`${String(event.id)}|${String(event.recipientAddress)}`);
    if (want === undefined) continue;
    if (event.direction !== want) out.push(`${String(event.id)}|${String(event.recipientAddress)}: ${String(event.direction)} → ${want}`);
  }
  return out;
}

describe('direction against the simulated tenant', () => {
  it('with Domain.Read.All, from the domains Graph lists: every event matches the ground truth', async () => {
    const { engine, truth } = await collect(['ExchangeMessageTrace.Read.All', 'Domain.Read.All'], { discover_domains: 'true' });
    expect(engine.events.length).toBeGreaterThan(300);
    const matched = engine.events.filter((event) => truth.some((row) => row.id === event.id));
    expect(matched.length).toBeGreaterThan(300);
    const seen = new Set(engine.events.map((event) => event.direction));
    for (const direction of ['inbound', 'outbound', 'internal']) expect(seen, direction).toContain(direction);
    expect(mismatches(engine.events, truth)).toEqual([]);
    // The domains were read once for the six runs.
    expect(sim?.stats().requests.byRoute['graph.domains']).toBe(1);
  });

  it('without Domain.Read.All: one warning naming it, then internal_domains alone, still matching the ground truth', async () => {
    const { engine, truth } = await collect(['ExchangeMessageTrace.Read.All'], {
      discover_domains: 'true',
      internal_domains: 'contoso.com, contoso.onmicrosoft.com',
    });
    expect(mismatches(engine.events, truth)).toEqual([]);
    const warnings = engine.logs.filter((record) => record.level === 'warn' && record.message.includes('Domain.Read.All'));
    expect(warnings).toHaveLength(1);
  });

  it("the simulator's ground truth agrees with the domain rule over the domains it serves as verified", async () => {
    const now = Date.now();
    sim = await startSimulatedTenant({ seed: 42, ratePerDay: 20_000, historyDays: 1, clock: () => now });
    const truth = sim.groundTruth(now - 6 * 60 * MINUTE, now);
    const domains = tenantDomains(SIMULATED_DOMAINS.filter((domain) => domain.isVerified).map((domain) => domain.id));
    const disagreeing = truth.filter((row) => directionOf(row.senderAddress, row.recipientAddress, domains) !== row.direction);
    expect(truth.length).toBeGreaterThan(3000);
    expect(disagreeing).toEqual([]);
  });
});
