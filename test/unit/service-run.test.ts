/**
 * startService with memory engines and a scripted Graph: instances are independent (one that cannot even
 * open its state directory is retried with a growing delay and never holds up the others), events carry
 * the instance name only when there are several, and the per-instance facts reach /readyz's input.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { CollectorProgress } from '../../src/service/collector-loop.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import type { Logger } from '../../src/engine/types.js';
import { IntegrationError } from '../../src/errors.js';
import { type ClosableEngine, INSTANCE_EVENT_FIELD, type ServiceInstance, startService } from '../../src/service/instances.js';
import { FakeGraph, type TruthRow } from '../helpers/fetch-fake-graph.js';

const graphs = new Map<string, FakeGraph>();
vi.mock('../../src/commands/clients.js', () => ({
  buildClients: (context: { params: { tenantId: string } }) => ({ graph: graphs.get(context.params.tenantId), tokens: undefined, http: undefined }),
}));

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const MINUTE = 60_000;
const TENANTS = { a: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5a', b: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5b', c: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5c' };

function rows(prefix: string, count: number): TruthRow[] {
  const from = NOW - 2 * 60 * MINUTE;
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    recipientAddress: 'u@contoso.test',
    receivedMs: from + i * MINUTE,
    subTicks: 0,
    precision: 0 as const,
    visibleAtMs: from + i * MINUTE,
    history: [{ status: 'delivered', atMs: from + i * MINUTE }],
  }));
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let scratch: string | undefined;
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function instance(name: string | undefined, tenantId: string, dir?: string): ServiceInstance {
  return {
    name,
    dir,
    intervalMs: 5 * MINUTE,
    params: async () => ({ tenant_id: tenantId, client_id: '11111111-2222-4333-8444-555555555555', client_secret: 's3cret', first_fetch: '2 hours', eventFetchInterval: '5' }),
  };
}

describe('startService', () => {
  it('runs every instance on its own engine; one that cannot open is retried, reported, and stops nobody', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'o365mt-service-run-'));
    const engines = new Map<string, MemoryEngine>();
    for (const [name, tenant] of Object.entries(TENANTS)) {
      const engine = new MemoryEngine({ startTimeMs: NOW });
      engines.set(name, engine);
      graphs.set(tenant, new FakeGraph({ rows: rows(name, 90), clock: engine, seed: 1, maxPageSize: 5000, maxPageLatencyMs: 0 }));
    }
    const opens: Record<string, number> = {};
    const runs: Array<[string, CollectorProgress]> = [];
    const service = await startService({
      instances: [instance('a', TENANTS.a), instance('b', TENANTS.b), instance('c', TENANTS.c, scratch)],
      openEngine: async (which) => {
        const name = which.name as string;
        opens[name] = (opens[name] ?? 0) + 1;
        if (name === 'c') throw new IntegrationError('state_locked', `The state directory ${scratch} is in use by another process.`);
        return Object.assign(engines.get(name) as MemoryEngine, { close: async () => {} }) as ClosableEngine;
      },
      log: silent,
      signal: new AbortController().signal,
      concurrency: 1,
      retry: { initialMs: 5, maxMs: 20 },
      readyIntervals: 3,
      maxRuns: 3,
      onRun: (label, progress) => runs.push([label, progress]),
    });
    await service.done;

    for (const name of ['a', 'b']) {
      const events = (engines.get(name) as MemoryEngine).events;
      expect(new Set(events.map((e) => e.id)).size).toBe(90);
      expect(new Set(events.map((e) => e[INSTANCE_EVENT_FIELD]))).toEqual(new Set([name]));
    }
    expect(opens.c).toBe(3);
    const failures = runs.filter(([label]) => label === 'c').map(([, p]) => [p.error?.code, p.consecutiveFailures]);
    expect(failures).toEqual([
      ['state_locked', 1],
      ['state_locked', 2],
      ['state_locked', 3],
    ]);
    // The directory it could not lock is not written to.
    expect(await readdir(scratch)).toEqual([]);
    const health = new Map(service.health().map((h) => [h.instance, h]));
    expect(health.get('a')?.lastSuccessAtMs).toBeDefined();
    expect(health.get('c')).toMatchObject({ lastSuccessAtMs: undefined, consecutiveFailures: 3, lastError: { code: 'state_locked' } });
  });

  it('the single-tenant form adds no instance field', async () => {
    const engine = new MemoryEngine({ startTimeMs: NOW });
    graphs.set(TENANTS.a, new FakeGraph({ rows: rows('s', 30), clock: engine, seed: 2, maxPageSize: 5000, maxPageLatencyMs: 0 }));
    const service = await startService({
      instances: [instance(undefined, TENANTS.a)],
      openEngine: async () => Object.assign(engine, { close: async () => {} }) as ClosableEngine,
      log: silent,
      signal: new AbortController().signal,
      concurrency: 1,
      readyIntervals: 3,
      maxRuns: 2,
    });
    await service.done;
    expect(engine.events.length).toBeGreaterThanOrEqual(30);
    expect(engine.events.some((e) => INSTANCE_EVENT_FIELD in e)).toBe(false);
    expect(service.health().map((h) => h.instance)).toEqual(['default']);
  });
});
