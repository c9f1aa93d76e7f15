/**
 * The fault matrix: fetch-events through the real client (HTTPS, certificate verification on through the
 * ca_certificate param) against the simulated tenant, one fault at a time. Under the fault a run either
 * delivers or ends with a clear error; then, with the fault removed, the next runs deliver every
 * ground-truth row: nothing missing, nothing that was never a row, nothing twice.
 *
 * Faults the simulator injects itself (429 with Retry-After in seconds, 5xx, reset, no headers, slow body,
 * cut-off body, 401, missing service principal or permission, revoked refresh tokens) are set on it; the
 * rest (429 without Retry-After or with an HTTP-date, a complete body that is not JSON, a nextLink that
 * loops or leaves the origin) come from a front server in this process (helpers/reliability-proxy.ts).
 * Engines and simulator share one virtual clock, so Retry-After and backoff waits cost no real time. The
 * client's own timeouts are not reachable through main(), so headers and body timeouts are tested on the
 * Graph client with short timeouts at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenProvider } from '../../src/auth/provider.js';
import { selectAuthMethod } from '../../src/auth/select.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, isCommandError } from '../../src/engine/types.js';
import { IntegrationError } from '../../src/errors.js';
import { parseState } from '../../src/fetch/state.js';
import { createGraphClient } from '../../src/graph/client.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { parseParams } from '../../src/input/params.js';
import { main } from '../../src/main.js';
import { type SimulatedTenant, type SimulatorConfigPatch, startSimulatedTenant } from '../../src/simulator/index.js';
import { signIn } from '../helpers/auth-e2e.js';
import { compareWithTruth, fetchParams } from '../helpers/fetch-e2e.js';
import { type GraphFront, type ProxyFault, startGraphFront } from '../helpers/reliability-proxy.js';

const MINUTE = 60_000;
const NO_FAULTS: SimulatorConfigPatch = {
  faults: {},
  servicePrincipalProvisioned: true,
  grantedRoles: ['ExchangeMessageTrace.Read.All'],
  tokenTtlSeconds: 3600,
  timeoutHoldMs: 200,
  slowBodyMs: 300,
  // The simulator's default: seconds, an HTTP-date or no header, chosen per response.
  retryAfter: { seconds: 1, httpDate: 1, none: 1 },
};
const TRANSIENT_CODES = ['graph_throttled', 'graph_unavailable', 'network', 'graph_invalid_response'];

/** An engine whose clock moves `stepMs` at every read of the integration context (every request reads it). */
class SlowNetworkEngine extends MemoryEngine {
  constructor(
    startTimeMs: number,
    public stepMs: number,
  ) {
    super({ startTimeMs });
  }
  override async getIntegrationContext(): Promise<unknown> {
    this.advance(this.stepMs);
    return super.getIntegrationContext();
  }
}

let sim: SimulatedTenant;
let front: GraphFront;
/** The engine whose clock the simulator and the front follow. */
let active = new MemoryEngine({ startTimeMs: Math.floor(Date.now() / MINUTE) * MINUTE });
const clock = () => active.now();

beforeAll(async () => {
  sim = await startSimulatedTenant({
    seed: 21,
    ratePerDay: 2000,
    // The clock starts at the wall clock's minute: the same volume whatever the hour (at night the daily
    // wave halves it, and the token-expiry listing below then barely reaches the pages it needs).
    dailyWave: false,
    historyDays: 1,
    maxDelaySeconds: 60,
    statusDelaySeconds: 120,
    order: 'random',
    throttle: { limit: 100, windowSeconds: 300 },
    clock,
    ...NO_FAULTS,
  });
  front = await startGraphFront(sim, { now: clock, seed: 5 });
});

afterAll(async () => {
  await front?.stop();
  await sim?.stop();
});

function paramsFor(via: 'simulator' | 'front', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return fetchParams(sim, {
    url: via === 'front' ? front.url : sim.graphUrl,
    authority_url: via === 'front' ? front.url : sim.authorityUrl,
    ca_certificate: `${sim.caCertPem}\n${front.caCertPem}`,
    first_fetch: '2 hours',
    max_fetch: '100000',
    lookback_minutes: '10',
    ...extra,
  });
}

function describeOutcome(outcome: CommandOutcome): string {
  return isCommandError(outcome) ? `${outcome.error.code}: ${outcome.error.message}` : 'ok';
}

/** A clear error: a known code, a sentence with what to do, no stack, no secret. */
function expectClearError(outcome: CommandOutcome, codes: readonly string[], message?: RegExp): void {
  if (!isCommandError(outcome)) throw new Error('expected an error');
  const { code, message: text } = outcome.error;
  expect(codes, text).toContain(code);
  expect(text.length).toBeGreaterThan(30);
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/undefined|\[object Object\]/);
  expect(text).not.toContain(sim.clientSecret);
  if (message) expect(text).toMatch(message);
}

/** Faults of `kind` injected so far, by the simulator or the front. */
function injectedCount(kind: string): number {
  return (sim.stats().faultsByKind[kind] ?? 0) + (front.injected[kind] ?? 0);
}

interface Scenario {
  via: 'simulator' | 'front';
  /** Keep running under the fault (up to 12 runs) until this many faults of this kind were injected. */
  atLeast?: { kind: string; count: number };
  simulator?: SimulatorConfigPatch;
  front?: Partial<Record<ProxyFault, number>>;
  /** Runs made under the fault. */
  faultRuns?: number;
  /** Error codes a run under the fault may end with. */
  codes?: readonly string[];
  /** Every run under the fault must end with this error. */
  mustFail?: RegExp;
  /** At least one run under the fault ends with an error. */
  someFail?: boolean;
  engine?: (startMs: number) => MemoryEngine;
  /** Called when the fault is removed. */
  afterFault?: (engine: MemoryEngine) => void;
  /** What the user does once the cause is fixed, before the next run. */
  recover?: (engine: MemoryEngine, params: Record<string, unknown>) => Promise<void>;
}

interface ScenarioResult {
  outcomes: CommandOutcome[];
  engine: MemoryEngine;
}

/**
 * Runs fetch-events under the fault, removes it, and runs until caught up; then checks the delivery against
 * the ground truth of every row received from first_fetch up to the final cursor.
 */
async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const startMs = active.now() + MINUTE;
  active = scenario.engine?.(startMs) ?? new MemoryEngine({ startTimeMs: startMs });
  const engine = active;
  const params = paramsFor(scenario.via);
  sim.configure({ ...NO_FAULTS, ...scenario.simulator });
  front.faults = { ...scenario.front };
  const outcomes: CommandOutcome[] = [];
  /**
   * A relative first_fetch is pinned by the first run that saves state; a first run that fails before
   * that resolves it again next time (see the README: a failed first run moves the start).
   */
  let pinnedAt: number | undefined;
  const run = async (): Promise<CommandOutcome> => {
    const at = engine.now();
    const outcome = await main('fetch-events', params, {}, engine);
    if (pinnedAt === undefined && Object.keys(engine.lastRun).length > 0) pinnedAt = at;
    return outcome;
  };
  const injectedBefore = scenario.atLeast ? injectedCount(scenario.atLeast.kind) : 0;
  const enoughFaults = () =>
    scenario.atLeast === undefined || injectedCount(scenario.atLeast.kind) - injectedBefore >= scenario.atLeast.count;
  try {
    for (let attempt = 0; attempt < (scenario.faultRuns ?? 3) || (!enoughFaults() && attempt < 12); attempt++) {
      const outcome = await run();
      outcomes.push(outcome);
      if (isCommandError(outcome)) {
        expectClearError(outcome, scenario.codes ?? TRANSIENT_CODES, scenario.mustFail);
        engine.advance(MINUTE);
      } else {
        if (scenario.mustFail) throw new Error(`expected ${scenario.mustFail} under the fault, got a result`);
        if (outcome.nextTrigger !== '0') engine.advance(MINUTE);
      }
      // New rows, so every run under the fault makes requests.
      engine.advance(2 * MINUTE);
    }
  } finally {
    sim.configure(NO_FAULTS);
    front.faults = {};
    scenario.afterFault?.(engine);
  }
  if (scenario.atLeast) expect(enoughFaults(), `fewer than ${scenario.atLeast.count} ${scenario.atLeast.kind} faults`).toBe(true);
  if (scenario.someFail) expect(outcomes.some(isCommandError), outcomes.map(describeOutcome).join('\n')).toBe(true);

  await scenario.recover?.(engine, params);
  engine.advance(MINUTE);
  for (let attempt = 0; ; attempt++) {
    expect(attempt, 'recovery runs').toBeLessThan(30);
    const outcome = await run();
    if (isCommandError(outcome)) throw new Error(`after the fault was removed: ${describeOutcome(outcome)}`);
    if (outcome.nextTrigger !== '0') break;
  }
  expectEveryRowOnce(engine, pinnedAt ?? startMs);
  return { outcomes, engine };
}

function expectEveryRowOnce(engine: MemoryEngine, firstRunMs: number): void {
  const from = firstRunMs - 120 * MINUTE;
  const cursor = parseState(engine.lastRun)?.cursorMs ?? 0;
  expect(cursor).toBeGreaterThan(from + 100 * MINUTE);
  const result = compareWithTruth(sim.groundTruth(from, cursor), engine.events, from, cursor);
  expect(result.expected).toBeGreaterThan(100);
  expect(result.missing).toEqual([]);
  expect(result.unexpected).toEqual([]);
  // In one process a failed run sends nothing it did not also save, so not even at-least-once repeats.
  expect(result.duplicated).toEqual([]);
}

function retryLogs(engine: MemoryEngine) {
  return engine.logs
    .filter((record) => record.message === 'Graph request failed; retrying')
    .map((record) => record.fields as { delayMs: number; serverNamedWait: boolean; status?: number; code: string });
}

describe('fault matrix: fetch-events against the simulated tenant over HTTPS', () => {
  it('429 storm with Retry-After in seconds: waits exactly what the server named', async () => {
    const { engine } = await runScenario({ via: 'simulator', simulator: { faults: { '429': 0.6 }, retryAfter: { seconds: 1 } }, atLeast: { kind: '429', count: 3 } });
    const waits = retryLogs(engine).filter((r) => r.status === 429);
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) {
      expect(wait.serverNamedWait).toBe(true);
      expect(wait.delayMs % 1000).toBe(0);
      expect(wait.delayMs).toBeLessThanOrEqual(300_000);
    }
  });

  it('429 storm without Retry-After: backs off on its own', async () => {
    const { engine } = await runScenario({ via: 'front', front: { '429-none': 0.6 }, atLeast: { kind: '429-none', count: 3 } });
    const waits = retryLogs(engine).filter((r) => r.status === 429);
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) expect(wait.serverNamedWait).toBe(false);
    expect(front.injected['429-none']).toBeGreaterThan(0);
  });

  it('429 storm with Retry-After as an HTTP-date: waits until that date', async () => {
    const { engine } = await runScenario({ via: 'front', front: { '429-date': 0.6 }, atLeast: { kind: '429-date', count: 3 } });
    const waits = retryLogs(engine).filter((r) => r.status === 429);
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) {
      expect(wait.serverNamedWait).toBe(true);
      expect(wait.delayMs).toBeGreaterThanOrEqual(2_000);
      expect(wait.delayMs).toBeLessThanOrEqual(8_000);
    }
  });

  it.each(['500', '502', '503', '504'] as const)('%s storm', async (status) => {
    const before = sim.stats().faultsByKind[status] ?? 0;
    const { engine } = await runScenario({ via: 'simulator', simulator: { faults: { [status]: 0.6 } }, atLeast: { kind: status, count: 3 } });
    expect(sim.stats().faultsByKind[status] ?? 0).toBeGreaterThan(before);
    expect(retryLogs(engine).some((r) => r.status === Number(status))).toBe(true);
  });

  it.each([
    ['connection reset', 'reset', 0.5],
    ['server never sends headers (held, then dropped)', 'timeout', 0.4],
    ['slow body', 'slow', 0.5],
    ['truncated JSON body', 'truncate', 0.5],
  ] as const)('%s', async (_name, kind, p) => {
    const before = sim.stats().faultsByKind[kind] ?? 0;
    const { engine } = await runScenario({ via: 'simulator', simulator: { faults: { [kind]: p } }, atLeast: { kind, count: 3 } });
    expect(sim.stats().faultsByKind[kind] ?? 0).toBeGreaterThan(before);
    if (kind !== 'slow') expect(retryLogs(engine).some((r) => r.code === 'network')).toBe(true);
  });

  it('a complete 200 body that is not JSON', async () => {
    const { engine } = await runScenario({ via: 'front', front: { 'invalid-json': 0.4 }, atLeast: { kind: 'invalid-json', count: 3 } });
    expect(retryLogs(engine).some((r) => r.code === 'graph_invalid_response')).toBe(true);
  });

  it('a nextLink that loops: paging stops with a clear error, state does not move past it', async () => {
    await runScenario({
      via: 'front',
      front: { loop: 0.4 },
      faultRuns: 4,
      atLeast: { kind: 'loop', count: 2 },
      codes: ['graph_invalid_response'],
      someFail: true,
    });
    await runScenario({ via: 'front', front: { loop: 1 }, faultRuns: 1, codes: ['graph_invalid_response'], mustFail: /does not advance/ });
  });

  it('a nextLink that leaves the origin: refused, the token is never sent there', async () => {
    await runScenario({
      via: 'front',
      front: { 'off-origin': 1 },
      faultRuns: 1,
      codes: ['graph_invalid_response'],
      mustFail: /outside the configured Graph URL/,
    });
    await runScenario({
      via: 'front',
      front: { 'off-origin': 0.4 },
      faultRuns: 4,
      atLeast: { kind: 'off-origin', count: 2 },
      codes: ['graph_invalid_response'],
      someFail: true,
    });
    expect(front.foreign).toEqual([]);
  });

  it('access tokens that expire mid-run: a fresh token, and the same request again', async () => {
    const before = sim.stats();
    // Tokens live 10 minutes (+5 min accepted skew; msal-node renews only in the last 5 minutes, on the
    // wall clock, so it keeps using them); every request takes minutes of engine time.
    await runScenario({
      via: 'simulator',
      simulator: { tokenTtlSeconds: 600 },
      faultRuns: 6,
      engine: (startMs) => new SlowNetworkEngine(startMs, 100_000),
      afterFault: (engine) => {
        (engine as SlowNetworkEngine).stepMs = 0;
      },
      codes: ['graph_unauthorized'],
    });
    const after = sim.stats();
    expect(after.requests.byStatus['401'] ?? 0).toBeGreaterThan(before.requests.byStatus['401'] ?? 0);
    expect(after.tokensIssued.client_credentials - before.tokensIssued.client_credentials).toBeGreaterThan(1);
  });

  it('spurious 401s: one refresh each; two in a row end the run with a clear error', async () => {
    await runScenario({
      via: 'simulator',
      simulator: { faults: { '401': 0.3 } },
      atLeast: { kind: '401', count: 3 },
      codes: ['graph_unauthorized'],
    });
  });

  it('service principal not provisioned: a clear error naming the app to create; delivers once it exists', async () => {
    await runScenario({
      via: 'simulator',
      simulator: { servicePrincipalProvisioned: false },
      faultRuns: 2,
      codes: ['graph_unauthorized'],
      mustFail: /service principal.*8bd644d1-64a1-4d4b-ae52-2e0cbf64e373/,
    });
  });

  it('missing permission: a clear error naming the permission; delivers at the first run after it is granted', async () => {
    const before = sim.stats().tokensIssued.client_credentials;
    // Entra ID writes permissions into a token when it issues it: the run after the grant gets a 403 with
    // the cached token, takes a fresh one (which carries the grant) and goes on. No auth-reset needed.
    await runScenario({
      via: 'simulator',
      simulator: { grantedRoles: [] },
      faultRuns: 2,
      codes: ['graph_forbidden'],
      mustFail: /ExchangeMessageTrace\.Read\.All.*admin consent/,
    });
    expect(sim.stats().tokensIssued.client_credentials - before).toBeGreaterThan(1);
  });

  it('revoked refresh token (authorization code flow): says to sign in again; a new code resumes without loss', async () => {
    const startMs = active.now() + MINUTE;
    active = new MemoryEngine({ startTimeMs: startMs });
    const engine = active;
    sim.configure({ ...NO_FAULTS, tokenTtlSeconds: 600 });
    const base = paramsFor('simulator', { redirect_uri: sim.redirectUri });
    const firstCode = await signIn(sim, base);
    const withCode = (code: string) => ({ ...base, auth_code: code });
    expect(describeOutcome(await main('o365-message-trace-auth-test', withCode(firstCode), {}, engine))).toBe('ok');
    expect(describeOutcome(await main('fetch-events', withCode(firstCode), {}, engine))).toBe('ok');

    sim.revokeRefreshTokens();
    engine.advance(15 * MINUTE); // the access token has expired; only the refresh token could renew it
    const failed = await main('fetch-events', withCode(firstCode), {}, engine);
    expectClearError(failed, ['auth_grant_expired'], /o365-message-trace-generate-login-url|sign in/i);

    const secondCode = await signIn(sim, base);
    for (let run = 0; ; run++) {
      expect(run).toBeLessThan(30);
      const outcome = await main('fetch-events', withCode(secondCode), {}, engine);
      if (isCommandError(outcome)) throw new Error(describeOutcome(outcome));
      if (outcome.nextTrigger !== '0') break;
    }
    expectEveryRowOnce(engine, startMs);
  });
});

describe('client timeouts (the Graph client with short, injected timeouts)', () => {
  async function client(timeouts: { headersTimeoutMs?: number; bodyTimeoutMs?: number }, top = 5000, maxTries = 3) {
    const engine = new MemoryEngine({ startTimeMs: active.now() + MINUTE });
    active = engine;
    const params = parseParams(paramsFor('simulator'));
    const http = createHttpFetch({ proxy: false, insecure: false, caCertificate: sim.caCertPem, ...timeouts });
    const tokens = createTokenProvider({ params, plan: selectAuthMethod(params, {}), engine, http });
    const graph = createGraphClient({ params, engine, http, tokens, random: () => 0.5, retryPolicy: { maxTries } });
    const list = async () => {
      const rows: unknown[] = [];
      const now = engine.now();
      for await (const page of graph.listMessageTraces({ startMs: now - 60 * MINUTE, endMs: now - MINUTE, top })) rows.push(...page.rows);
      return rows.length;
    };
    return { engine, graph, list };
  }

  /** Under the fault every try fails: the listing ends with a network error naming the timeout. */
  async function expectTimeoutError(list: () => Promise<number>, code: string, tries = 3): Promise<void> {
    const error = await list().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IntegrationError);
    expect((error as IntegrationError).code).toBe('network');
    expect((error as IntegrationError).message).toContain(code);
    expect((error as IntegrationError).message).toContain(`gave up after ${tries} tries`);
  }

  /** Lists until a fault was met and retried (at most 8 times); every listing returns all rows. */
  async function expectRetriedListings(graph: { stats: { retries: number } }, list: () => Promise<number>, clean: number): Promise<void> {
    for (let i = 0; i < 8 && graph.stats.retries === 0; i++) expect(await list()).toBe(clean);
    expect(graph.stats.retries).toBeGreaterThan(0);
  }

  // undici checks these timeouts on a timer of about one second, so they are set to 1 s here.
  it('headers timeout: retried, then a network error naming UND_ERR_HEADERS_TIMEOUT', async () => {
    sim.configure({ ...NO_FAULTS, timeoutHoldMs: 10_000 });
    try {
      const { graph, list } = await client({ headersTimeoutMs: 1_000 });
      const clean = await list();
      sim.configure({ faults: { timeout: 1 } });
      const started = Date.now();
      await expectTimeoutError(list, 'UND_ERR_HEADERS_TIMEOUT');
      // Three tries of about 1-2 s (backoff waits are on the engine clock), not three holds of 10 s.
      expect(Date.now() - started).toBeLessThan(8_000);
      sim.configure({ faults: { timeout: 0.5 } });
      await expectRetriedListings(graph, list, clean);
    } finally {
      sim.configure(NO_FAULTS);
    }
  });

  it('body timeout on a trickled body: retried, then a network error naming UND_ERR_BODY_TIMEOUT', async () => {
    // Ten pieces 2.5 s apart: the first gap passes the 1 s body timeout.
    sim.configure({ ...NO_FAULTS, slowBodyMs: 25_000 });
    try {
      const { graph, list } = await client({ bodyTimeoutMs: 1_000 }, 5000, 2);
      const clean = await list();
      sim.configure({ faults: { slow: 1 } });
      await expectTimeoutError(list, 'UND_ERR_BODY_TIMEOUT', 2);
      sim.configure({ faults: { slow: 0.5 } });
      await expectRetriedListings(graph, list, clean);
    } finally {
      sim.configure(NO_FAULTS);
    }
  });

  it('token expiry mid-paging: every page of a listing arrives, with a refresh in between', async () => {
    const { engine, graph } = await client({}, 20);
    // 10-minute tokens (msal-node renews a token only in its last 5 minutes, on the wall clock), accepted
    // for 5 more minutes of clock skew: expired after 15 minutes of engine time.
    sim.configure({ ...NO_FAULTS, tokenTtlSeconds: 600 });
    try {
      const now = engine.now();
      const rows: { id: string; recipientAddress?: string | null }[] = [];
      let pages = 0;
      for await (const page of graph.listMessageTraces({ startMs: now - 60 * MINUTE, endMs: now - MINUTE, top: 20 })) {
        pages++;
        rows.push(...page.rows);
        engine.advance(4 * MINUTE); // paging is slow: the token expires between pages
      }
      expect(pages).toBeGreaterThan(3);
      expect(graph.stats.tokenRefreshes).toBeGreaterThan(0);
      const keys = rows.map((row) => `${row.id}|${row.recipientAddress}`);
      expect(new Set(keys).size).toBe(keys.length);
      // Paging is one consistent snapshot (the skiptoken pins it): every row visible at the first page.
      expect(keys.length).toBeGreaterThan(20);
    } finally {
      sim.configure(NO_FAULTS);
    }
  });
});
