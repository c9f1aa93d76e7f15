/**
 * Hostile or broken responses from the simulated tenant (its `hostile` setting), through the real client
 * over HTTPS:
 * - a Graph page past 64 MiB (streamed, no Content-Length), JSON nested 100,000 deep, a 1,000,000-character
 *   subject: the run ends with graph_invalid_response after the usual retries, the fetch position does not
 *   move, and once the server behaves the next runs deliver every row once;
 * - an oversized or deeply nested token response: a clear network error naming the authority, no event sent;
 * - subjects and sender addresses carrying terminal escapes, CR/LF, C1 controls, line separators and bidi
 *   overrides: through the CLI (debug logs on stderr, the get-events table on stdout) every log record stays
 *   one line and no such character reaches the terminal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type CommandOutcome, isCommandError } from '../../src/engine/types.js';
import { parseState } from '../../src/fetch/state.js';
import { main } from '../../src/main.js';
import { type SimulatedTenant, startSimulatedTenant } from '../../src/simulator/index.js';
import { captureIo } from '../helpers/capture-io.js';
import { compareWithTruth, fetchParams } from '../helpers/fetch-e2e.js';
import { paramFlags } from '../helpers/reliability.js';

const MINUTE = 60_000;
let sim: SimulatedTenant;
let base: string;
/** The simulator follows this clock: the wall clock for the CLI, an engine's virtual clock otherwise. */
let clock: () => number = Date.now;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-hostile-'));
  sim = await startSimulatedTenant({ seed: 44, ratePerDay: 1500, historyDays: 1, maxDelaySeconds: 30, statusDelaySeconds: 60, clock: () => clock() });
});

afterAll(async () => {
  await sim?.stop();
  await rm(base, { recursive: true, force: true });
});

function errorOf(outcome: CommandOutcome): { code: string; message: string } {
  if (!isCommandError(outcome)) throw new Error('expected an error');
  return outcome.error;
}

/** Control characters (line feed aside), C1, line separators and bidi overrides, by code point. */
function unsafeCharacters(text: string): string[] {
  return [...text].filter((char) => {
    const code = char.codePointAt(0) ?? 0;
    return (code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f) || (code >= 0x2028 && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
  });
}

describe('hostile responses against the simulated tenant', () => {
  it('subjects and addresses with terminal escapes and line breaks cannot forge log lines or steer the terminal', async () => {
    sim.configure({ hostile: { graph: 'control-chars' } });
    const captured = captureIo({ O365MT_LOG_LEVEL: 'debug' });
    const { io } = captured;
    const flags = ['--state-dir', join(base, 'cli'), ...paramFlags({ ...fetchParams(sim), first_fetch: '1 hour' })];
    try {
      expect(await runCli(['o365-message-trace-get-events', ...flags, '--arg', 'limit=20'], io), captured.stderr()).toBe(0);
      expect(await runCli(['fetch-events', ...flags], io), captured.stderr()).toBe(0);
    } finally {
      sim.configure({ hostile: { graph: 'off' } });
    }
    const out = captured.stdout();
    const err = captured.stderr();
    // The hostile rows really were shown: their subjects are in the table, escaped.
    expect(out).toContain('forged log line \\u001b[2J');
    expect(unsafeCharacters(out + err)).toEqual([]);
    for (const line of err.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z (debug|info |warn |error) /);
    expect(err).not.toMatch(/^2026-01-01T00:00:00\.000Z error forged/m);
  }, 60_000);

  it.each([
    ['a page past 64 MiB', 'oversize', /larger than 64 MiB/],
    ['JSON nested 100,000 levels deep', 'deep-json', /nested deeper than 32 levels/],
    ['a 1,000,000-character subject', 'long-string', /string longer than 65536 characters/],
  ] as const)('%s ends the run with a clear error, the position unmoved; afterwards every row arrives once', async (_case, kind, message) => {
    const engine = new MemoryEngine({ startTimeMs: Math.floor(Date.now() / MINUTE) * MINUTE });
    clock = () => engine.now();
    const params = { ...fetchParams(sim), first_fetch: '90 minutes', max_fetch: '100000', lookback_minutes: '5' };
    const firstRunMs = engine.now();
    try {
      const first = await main('fetch-events', params, {}, engine);
      expect(isCommandError(first), JSON.stringify(first)).toBe(false);
      const position = structuredClone(engine.lastRun);
      const delivered = engine.events.length;
      engine.advance(3 * MINUTE);

      sim.configure({ hostile: { graph: kind } });
      const before = sim.stats().graphRequests;
      const failed = errorOf(await main('fetch-events', params, {}, engine));
      sim.configure({ hostile: { graph: 'off' } });
      expect(failed.code).toBe('graph_invalid_response');
      expect(failed.message).toMatch(message);
      expect(failed.message).toMatch(/refused unread\. Graph never sends such responses/);
      expect(sim.stats().graphRequests - before, 'tries under the usual retry rules').toBe(5);
      expect(engine.lastRun).toEqual(position);
      expect(engine.events.length).toBe(delivered);

      engine.advance(MINUTE);
      for (let run = 0; ; run++) {
        expect(run, 'runs to catch up').toBeLessThan(10);
        const outcome = await main('fetch-events', params, {}, engine);
        expect(isCommandError(outcome), JSON.stringify(outcome)).toBe(false);
        if (!isCommandError(outcome) && outcome.nextTrigger !== '0') break;
      }
      const from = firstRunMs - 90 * MINUTE;
      const cursor = parseState(engine.lastRun)?.cursorMs ?? 0;
      const result = compareWithTruth(sim.groundTruth(from, cursor), engine.events, from, cursor);
      expect(result.expected).toBeGreaterThan(50);
      expect(result.missing).toEqual([]);
      expect(result.duplicated).toEqual([]);
    } finally {
      sim.configure({ hostile: { graph: 'off' } });
      clock = Date.now;
    }
  }, 120_000);

  it.each([
    ['an oversized token response', 'oversize', /sent a body larger than 1 MiB; it was refused unread/],
    ['a deeply nested token response', 'deep-json', /sent JSON nested deeper than 32 levels; it was refused unread/],
  ] as const)('%s is a clear sign-in error naming the authority; no event is sent, no window is read', async (_case, kind, message) => {
    const engine = new MemoryEngine({ startTimeMs: Date.now() });
    clock = Date.now;
    sim.configure({ hostile: { token: kind } });
    try {
      const failed = errorOf(await main('fetch-events', { ...fetchParams(sim), first_fetch: '1 hour' }, {}, engine));
      expect(failed.code).toBe('network');
      expect(failed.message).toMatch(message);
      expect(failed.message).toContain(new URL(sim.authorityUrl).host);
      expect(engine.events).toEqual([]);
      // fetch-events may pin first_fetch before it signs in; it never records a window as read.
      const state = parseState(engine.lastRun);
      if (state) expect(state.readUpToMs).toBe(state.cursorMs);
    } finally {
      sim.configure({ hostile: { token: 'off' } });
    }
  }, 60_000);
});
