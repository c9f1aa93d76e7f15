import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importOptional, loadSimulatorCli, loadXsiamSinkModule } from '../../src/cli/optional-modules.js';
import { runCli } from '../../src/cli/run-cli.js';
import { openFileEngine } from '../../src/standalone/file-engine.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { captureIo } from '../helpers/capture-io.js';
import { COMMAND_NAMES } from '../../src/main.js';

const ROOT = resolve(import.meta.dirname, '../..');
const execFileAsync = promisify(execFile);

/** Loopback endpoints that refuse at once, so no test can reach Microsoft even once commands are live. */
const OFFLINE = ['--param', 'url=https://127.0.0.1:9', '--param', 'authority_url=https://127.0.0.1:9'];

let base: string;
let stateDir: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-cli-'));
  stateDir = join(base, 'state');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The CLI as a user runs it: a separate process through tsx. */
async function runCliProcess(argv: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...argv], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('o365-message-trace (child process)', () => {
  it('--help lists every command, their arguments, run and simulate', async () => {
    const { code, stdout } = await runCliProcess(['--help']);
    expect(code).toBe(0);
    for (const name of [...COMMAND_NAMES, 'run', 'simulate']) expect(stdout).toMatch(new RegExp(`^  ${name}$`, 'm'));
    expect(stdout).toContain('should_push_events');
    expect(stdout).toContain('O365MT_CLIENT_SECRET');
  });

  it('exits 1 on an unknown command with one line listing the commands', async () => {
    const { code, stdout, stderr } = await runCliProcess(['nope']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^Error \[unknown_command\]: Unknown command 'nope'\. Commands: test-module, fetch-events/);
  });

  it('rejects a bad max_fetch naming max_fetch, without a stack trace or a state directory', async () => {
    const results = await Promise.all(
      ['abc', '0', '-5'].map((value) => runCliProcess(['fetch-events', '--state-dir', stateDir, '--param', `max_fetch=${value}`])),
    );
    for (const { code, stderr } of results) {
      expect(code).toBe(1);
      expect(stderr).toMatch(/^Error \[invalid_param\]: Invalid parameter: max_fetch .*Use a whole number from 1 to/);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
    await expect(stat(stateDir)).rejects.toThrow();
  });

  it('takes params from the config file, then O365MT_ variables, then --param', async () => {
    // Each source holds a different bad value, so the message shows which one won.
    const config = join(base, 'config.json');
    await writeFile(config, JSON.stringify({ max_fetch: 'abc', lookback_minutes: '9999' }));
    const { stderr } = await runCliProcess(
      ['fetch-events', '--state-dir', stateDir, '--config', config, '--param', 'max_fetch=-5'],
      { O365MT_MAX_FETCH: '0', O365MT_LOOKBACK_MINUTES: '5000' },
    );
    expect(stderr).toContain('max_fetch -5 is out of range');
    expect(stderr).toContain('lookback_minutes 5000 is out of range');
  });
});

describe('runCli (in process)', () => {
  it.each([
    ['the file', {}, [], "max_fetch 'abc' is not a whole number"],
    ['the environment over the file', { O365MT_MAX_FETCH: '0' }, [], 'max_fetch 0 is out of range'],
    ['--param over both', { O365MT_MAX_FETCH: '0' }, ['--param', 'max_fetch=-5'], 'max_fetch -5 is out of range'],
  ])('takes max_fetch from %s', async (_label, env, flags, message) => {
    const config = join(base, 'config.json');
    await writeFile(config, JSON.stringify({ max_fetch: 'abc' }));
    const captured = captureIo(env);
    expect(await runCli(['fetch-events', '--state-dir', stateDir, '--config', config, ...flags], captured.io)).toBe(1);
    expect(captured.stderr()).toContain(message);
  });

  it('lets a valid --param override a bad value from the file and the environment', async () => {
    const config = join(base, 'config.json');
    await writeFile(config, JSON.stringify({ max_fetch: 'abc' }));
    const captured = captureIo({ O365MT_MAX_FETCH: '0' });
    await runCli(
      ['o365-message-trace-auth-reset', '--state-dir', stateDir, '--config', config, '--param', 'max_fetch=10', ...OFFLINE],
      captured.io,
    );
    expect(captured.stderr()).not.toContain('invalid_param');
  });

  it('answers with the whole result object as JSON, also for an error', async () => {
    const captured = captureIo();
    const code = await runCli(['fetch-events', '--state-dir', stateDir, '--json', '--param', 'max_fetch=0'], captured.io);
    expect(code).toBe(1);
    expect(JSON.parse(captured.stdout())).toMatchObject({ error: { code: 'invalid_param' } });
    expect(captured.stderr()).toMatch(/^Error \[invalid_param\]/);
  });

  it('never prints a secret given on the command line or in a broken config file', async () => {
    const secret = 'Sup3r-Secret-Value~';
    const config = join(base, 'broken.json');
    await writeFile(config, `{"client_secret": ${secret}}`);
    const broken = captureIo();
    expect(await runCli(['test-module', '--state-dir', stateDir, '--config', config], broken.io)).toBe(1);
    expect(broken.stderr()).toMatch(/^Error \[usage\]: The config file .* is not valid JSON/);

    const flagged = captureIo();
    await runCli(['test-module', '--state-dir', stateDir, '--param', `client_secret=${secret}`, '--param', 'max_fetch=x'], flagged.io);
    expect(flagged.stderr()).toContain('client_secret was given with --param');
    for (const text of [broken.stdout(), broken.stderr(), flagged.stdout(), flagged.stderr()]) expect(text).not.toContain(secret);
  });

  it.skipIf(process.platform === 'win32')('warns when a config file with secrets is readable by others', async () => {
    const config = join(base, 'config.json');
    await writeFile(config, JSON.stringify({ client_secret: 'x', max_fetch: 'bad' }));
    await chmod(config, 0o644);
    const captured = captureIo();
    await runCli(['test-module', '--state-dir', stateDir, '--config', config], captured.io);
    expect(captured.stderr()).toContain(`chmod 600 ${config}`);
  });

  it('fails at once when another run holds the state directory', async () => {
    const holder = await openFileEngine({ dir: stateDir, log: new MemoryEngine().log });
    try {
      const captured = captureIo();
      const code = await runCli(['o365-message-trace-auth-reset', '--state-dir', stateDir, ...OFFLINE], captured.io);
      expect(code).toBe(1);
      expect(captured.stderr()).toMatch(/Error \[state_locked\]: The state directory .* is in use by process \d+/);
    } finally {
      await holder.close();
    }
  });

  it('releases the state directory after a command', async () => {
    const captured = captureIo();
    await runCli(['o365-message-trace-auth-reset', '--state-dir', stateDir, ...OFFLINE], captured.io);
    expect(await readdir(stateDir)).not.toContain('lock');
  });

  it('with --sink stdout keeps stdout for events and prints the command output on stderr', async () => {
    const captured = captureIo();
    expect(await runCli(['o365-message-trace-auth-reset', '--state-dir', stateDir, '--sink', 'stdout', ...OFFLINE], captured.io)).toBe(0);
    expect(captured.stdout()).toBe('');
    expect(captured.stderr()).toContain('Authorization was reset');
  });

  it('asks for the XSIAM API key in the environment', async () => {
    const captured = captureIo();
    const code = await runCli(['fetch-events', '--state-dir', stateDir, '--xsiam-url', 'https://127.0.0.1:9/logs/v1/event'], captured.io);
    expect(code).toBe(1);
    expect(captured.stderr()).toContain('O365MT_XSIAM_API_KEY');
  });

  it('prints help for one command, with its outputs', async () => {
    const captured = captureIo();
    expect(await runCli(['o365-message-trace-get-events', '--help'], captured.io)).toBe(0);
    expect(captured.stdout()).toContain('Usage: o365-message-trace o365-message-trace-get-events');
    expect(captured.stdout()).toContain('O365MessageTrace.Event.messageId');
  });

  it('prints help and fails when no command is given', async () => {
    const captured = captureIo();
    expect(await runCli([], captured.io)).toBe(1);
    expect(captured.stderr()).toContain('Error [usage]: No command given.');
  });

  it('run stops on SIGINT, removes its signal handlers and releases the state directory', async () => {
    const captured = captureIo({ O365MT_CLIENT_SECRET: 'offline-secret' });
    const identity = ['--param', 'tenant_id=8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f', '--param', 'client_id=11111111-2222-4333-8444-555555555555'];
    const running = runCli(['run', '--state-dir', stateDir, ...OFFLINE, ...identity], captured.io);
    setTimeout(() => captured.signals.emit('SIGINT'), 300);
    expect(await running, captured.stderr()).toBe(0);
    expect(captured.stderr()).toContain('Collector stopped');
    expect(captured.signals.listenerCount('SIGINT')).toBe(0);
    expect(captured.signals.listenerCount('SIGTERM')).toBe(0);
    expect(await readdir(stateDir)).not.toContain('lock');
  });
});

describe('optional modules', () => {
  it('loads the simulator CLI and the XSIAM sink when they are there', async () => {
    expect(typeof (await loadSimulatorCli()).runSimulateCommand).toBe('function');
    expect(typeof (await loadXsiamSinkModule()).createXsiamSink).toBe('function');
  });

  it('reports a missing module as not_available with the given message', async () => {
    await expect(importOptional('../standalone/sinks/missing-sink.js', 'The missing sink is not in this installation.')).rejects.toMatchObject({
      code: 'not_available',
      message: 'The missing sink is not in this installation.',
    });
  });
});
