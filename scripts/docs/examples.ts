/**
 * Real example outputs for the README: each command run through `main` against the simulated tenant, on a
 * fixed virtual clock and seed, so the same code produces the same text and a stale README is noticed.
 */
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError } from '../../src/engine/types.js';
import { main } from '../../src/main.js';
import { instanceParams } from '../../src/simulator/harness.js';
import { startSimulatedTenant } from '../../src/simulator/index.js';
import type { CommandExample } from './render.js';

/** The virtual "now" of every example: fixed so the captured text does not change from run to run. */
export const EXAMPLES_NOW = Date.parse('2026-03-02T09:30:00Z');
const SEED = 11;

function quoteArg(name: string, value: string): string {
  return /\s/.test(value) ? `${name}="${value}"` : `${name}=${value}`;
}

function cliArg(name: string, value: string): string {
  return /\s/.test(value) ? `--arg '${name}=${value}'` : `--arg ${name}=${value}`;
}

async function capture(
  engine: MemoryEngine,
  params: Record<string, unknown>,
  command: string,
  args: Record<string, string> = {},
): Promise<CommandExample> {
  const outcome = await main(command, params, args, engine);
  if (isCommandError(outcome)) throw new Error(`${command} failed while capturing examples: ${outcome.error.message}`);
  const pairs = Object.entries(args);
  return {
    warRoom: [`!${command}`, ...pairs.map(([k, v]) => quoteArg(k, v))].join(' '),
    cli: ['o365-message-trace', command, '--config instance.json', ...pairs.map(([k, v]) => cliArg(k, v))].join(' '),
    output: outcome.readableOutput,
  };
}

export async function captureExamples(): Promise<Record<string, CommandExample>> {
  const engine = new MemoryEngine({ startTimeMs: EXAMPLES_NOW });
  const sim = await startSimulatedTenant({
    seed: SEED,
    ratePerDay: 3000,
    historyDays: 0.1,
    throttle: 'off',
    clock: () => engine.now(),
  });
  try {
    const params = instanceParams(sim, {
      first_fetch: '15 minutes',
    });
    const examples: Record<string, CommandExample> = {};
    examples['test-module'] = await capture(engine, params, 'test-module');
    examples['o365-message-trace-auth-test'] = await capture(engine, params, 'o365-message-trace-auth-test');
    const getEvents = await main('o365-message-trace-get-events', params, { limit: '3', start_time: '10 minutes ago' }, engine);
    examples['o365-message-trace-get-events'] = await capture(engine, params, 'o365-message-trace-get-events', {
      limit: '3',
      start_time: '10 minutes ago',
    });
    const first = isCommandError(getEvents) ? undefined : (getEvents.outputs as { id: string; recipientAddress: string }[])[0];
    if (!first) throw new Error('the simulated tenant returned no event to show details for');
    examples['o365-message-trace-get-details'] = await capture(engine, params, 'o365-message-trace-get-details', {
      id: first.id,
      recipient_address: first.recipientAddress,
    });
    examples['fetch-events'] = await capture(engine, params, 'fetch-events');
    examples['o365-message-trace-auth-reset'] = await capture(engine, params, 'o365-message-trace-auth-reset');
    // The login URL needs no network; shown for the real Microsoft sign-in host rather than a loopback port.
    examples['o365-message-trace-generate-login-url'] = await capture(
      new MemoryEngine({ startTimeMs: EXAMPLES_NOW }),
      {
        tenant_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
        client_id: '11111111-2222-4333-8444-555555555555',
        client_secret: 'not-shown',
        redirect_uri: 'https://localhost/o365-message-trace/callback',
      },
      'o365-message-trace-generate-login-url',
    );
    return examples;
  } finally {
    await sim.stop();
  }
}
