import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/standalone/atomic.js';
import {
  type FileEngine,
  INTEGRATION_CONTEXT_FILE_NAME,
  LAST_RUN_FILE_NAME,
  openFileEngine,
} from '../../src/standalone/file-engine.js';
import { identityFromProc, LOCK_FILE_NAME, processIdentity } from '../../src/standalone/lock.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { createStderrLogger, formatLogLine, logLevelFromEnv } from '../../src/standalone/stderr-logger.js';
import { EVENT_META, type Logger } from '../../src/engine/types.js';
import { IntegrationError } from '../../src/errors.js';
import { rejectionOf } from '../helpers/rejection.js';

const ROOT = resolve(import.meta.dirname, '../..');
const quietLog: Logger = new MemoryEngine().log;
const posix = process.platform !== 'win32';

let base: string;
let dir: string;
const opened: FileEngine[] = [];
const children: ChildProcess[] = [];

async function open(options: Parameters<typeof openFileEngine>[0] = {}): Promise<FileEngine> {
  const engine = await openFileEngine({ dir, log: quietLog, ...options });
  opened.push(engine);
  return engine;
}

const failureOf = (promise: Promise<unknown>) => rejectionOf(promise, IntegrationError);

/** Runs an ES module snippet under tsx in a child process; `src` points at the repository's src/. */
function spawnSnippet(code: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SRC: join(ROOT, 'src') },
  });
  children.push(child);
  return child;
}

async function outputOf(child: ChildProcess): Promise<{ stdout: string; stderr: string; code: number | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { stdout, stderr, code };
}

async function waitForLine(child: ChildProcess, line: string): Promise<void> {
  let seen = '';
  await new Promise<void>((resolveWait, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(line)) resolveWait();
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before '${line}': ${seen}`)));
  });
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-engine-'));
  dir = join(base, 'state');
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const engine of opened.splice(0)) await engine.close();
  await rm(base, { recursive: true, force: true });
});

describe('file engine state', () => {
  it('starts empty and round-trips last run and integration context', async () => {
    const engine = await open();
    expect(await engine.getLastRun()).toEqual({});
    expect(await engine.getIntegrationContext()).toEqual({});
    await engine.setLastRun({ version: 1, cursor: '2026-01-01T00:00:00Z' });
    await engine.setIntegrationContext({ requestLog: [1, 2] });
    await engine.close();

    const reopened = await open();
    expect(await reopened.getLastRun()).toEqual({ version: 1, cursor: '2026-01-01T00:00:00Z' });
    expect(await reopened.getIntegrationContext()).toEqual({ requestLog: [1, 2] });
  });

  it('keeps writes to one file in call order', async () => {
    const engine = await open();
    await Promise.all(Array.from({ length: 20 }, (_, index) => engine.setLastRun({ step: index })));
    expect(await engine.getLastRun()).toEqual({ step: 19 });
  });

  it.skipIf(!posix)('creates the directory 0700 and every file 0600', async () => {
    const engine = await open();
    await engine.setLastRun({ version: 1 });
    await engine.setIntegrationContext({ msalCache: 'x' });
    await engine.sendEvents([{ id: 'a', _time: '2026-01-01T00:00:00Z' }], EVENT_META);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const name of [LAST_RUN_FILE_NAME, INTEGRATION_CONTEXT_FILE_NAME, 'events.ndjson', LOCK_FILE_NAME]) {
      expect({ name, mode: (await stat(join(dir, name))).mode & 0o777 }).toEqual({ name, mode: 0o600 });
    }
  });

  it.each([
    [LAST_RUN_FILE_NAME, '{"version": 1,', 'getLastRun'],
    [LAST_RUN_FILE_NAME, '[1, 2]', 'getLastRun'],
    [INTEGRATION_CONTEXT_FILE_NAME, 'not json', 'getIntegrationContext'],
  ] as const)('refuses an unreadable %s (%s) with state_invalid naming the file and the reset', async (file, content, method) => {
    const engine = await open();
    await writeFile(join(dir, file), content);
    const error = await failureOf(engine[method]());
    expect(error.code).toBe('state_invalid');
    expect(error.message).toContain(join(dir, file));
    expect(error.message).toMatch(/delete it/);
    expect(error.message).toContain(dir);
  });
});

describe('atomic writes', () => {
  it('keeps the old state when the rename fails after the temp file was written', async () => {
    const first = await open();
    await first.setLastRun({ version: 1, cursor: 'old' });
    await first.close();

    const failing = await open({
      atomicWrite: {
        rename: async () => {
          throw Object.assign(new Error('simulated crash before rename'), { code: 'EIO' });
        },
      },
    });
    await expect(failing.setLastRun({ version: 1, cursor: 'new' })).rejects.toThrow(/Cannot save/);
    expect(await failing.getLastRun()).toEqual({ version: 1, cursor: 'old' });
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the old state parseable when the process is SIGKILLed between write and rename, and recovers the lock', async () => {
    const engine = await open();
    await engine.setLastRun({ version: 1, cursor: 'old' });
    await engine.close();

    // The child takes the lock, writes the new state's temp file (fsynced), then stalls in the rename and is killed.
    const child = spawnSnippet(`
      const { openFileEngine } = await import(process.env.SRC + '/standalone/file-engine.ts');
      const engine = await openFileEngine({ dir: ${JSON.stringify(dir)}, log: { debug() {}, info() {}, warn() {}, error() {} },
        atomicWrite: { rename: () => { console.log('TEMP_WRITTEN'); return new Promise(() => {}); } } });
      await engine.setLastRun({ version: 1, cursor: 'new' });
    `);
    await waitForLine(child, 'TEMP_WRITTEN');
    expect((await readdir(dir)).some((name) => name.startsWith(`.${LAST_RUN_FILE_NAME}.`) && name.endsWith('.tmp'))).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');

    // The dead child's lock is stale: the next open takes it over, sweeps the temp file and reads the old state.
    const reopened = await open();
    expect(await reopened.getLastRun()).toEqual({ version: 1, cursor: 'old' });
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('writeFileAtomic replaces content and leaves no temp file', async () => {
    await open(); // creates the directory
    const target = join(dir, 'x.json');
    await writeFileAtomic(target, 'one');
    await writeFileAtomic(target, 'two');
    expect(await readFile(target, 'utf8')).toBe('two');
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('state directory lock', () => {
  it('refuses a second open in this process at once', async () => {
    await open();
    const started = Date.now();
    const error = await failureOf(openFileEngine({ dir, log: quietLog }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.code).toBe('state_locked');
    expect(error.message).toContain(dir);
    expect(error.message).toContain(`process ${process.pid}`);
    expect(error.message).toContain(join(dir, LOCK_FILE_NAME));
  });

  it('refuses a second open from another process at once, naming the holder and the lock', async () => {
    await open();
    const child = spawnSnippet(`
      const { openFileEngine } = await import(process.env.SRC + '/standalone/file-engine.ts');
      const started = Date.now();
      try {
        await openFileEngine({ dir: ${JSON.stringify(dir)} });
        console.log(JSON.stringify({ opened: true }));
      } catch (error) {
        console.log(JSON.stringify({ code: error.code, message: error.message, ms: Date.now() - started }));
      }
    `);
    const { stdout, code } = await outputOf(child);
    expect(code).toBe(0);
    const result = JSON.parse(stdout.trim()) as { code: string; message: string; ms: number };
    expect(result.code).toBe('state_locked');
    expect(result.message).toContain(`process ${process.pid}`);
    expect(result.message).toContain(join(dir, LOCK_FILE_NAME));
    expect(result.ms).toBeLessThan(1000);
  });

  it('can be opened again after close', async () => {
    const engine = await open();
    await engine.close();
    await expect(stat(join(dir, LOCK_FILE_NAME))).rejects.toThrow();
    const again = await open();
    expect(await again.getLastRun()).toEqual({});
  });

  it('takes over a lock whose process is dead', async () => {
    const child = spawnSnippet('process.exit(0)');
    await once(child, 'exit');
    const deadPid = child.pid as number;
    await open();
    await opened.splice(0)[0]?.close();
    await writeFile(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: deadPid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'dead' }),
    );
    const engine = await open();
    expect(await engine.getLastRun()).toEqual({});
    expect(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')).toContain(`"pid":${process.pid}`);
  });

  it('lets exactly one of several processes take over a stale lock', async () => {
    const child = spawnSnippet('process.exit(0)');
    await once(child, 'exit');
    await open();
    await opened.splice(0)[0]?.close();
    await writeFile(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: child.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'dead' }),
    );
    // The contenders start together once all are ready; a winner holds the lock until every outcome is known.
    const go = join(base, 'go');
    const done = join(base, 'done');
    const contenders = Array.from({ length: 3 }, () =>
      spawnSnippet(`
        const { existsSync } = await import('node:fs');
        const { openFileEngine } = await import(process.env.SRC + '/standalone/file-engine.ts');
        const until = async (path) => { while (!existsSync(path)) await new Promise((r) => setTimeout(r, 5)); };
        console.log('READY');
        await until(${JSON.stringify(go)});
        try {
          const engine = await openFileEngine({ dir: ${JSON.stringify(dir)}, log: { debug() {}, info() {}, warn() {}, error() {} } });
          console.log('OPENED');
          await until(${JSON.stringify(done)});
          await engine.close();
        } catch (error) {
          console.log(error.code);
        }
      `),
    );
    const outputs = contenders.map(() => '');
    const outcomes = contenders.map(
      (contender, index) =>
        new Promise<string>((resolveOutcome) => {
          contender.stdout?.on('data', (chunk: Buffer) => {
            outputs[index] += chunk.toString();
            const outcome = /^(OPENED|state_\w+)$/m.exec(outputs[index] ?? '');
            if (outcome?.[1]) resolveOutcome(outcome[1]);
          });
        }),
    );
    await Promise.all(contenders.map((contender) => waitForLine(contender, 'READY')));
    await writeFile(go, '');
    const results = (await Promise.all(outcomes)).sort();
    await writeFile(done, '');
    await Promise.all(contenders.map((contender) => once(contender, 'exit')));
    expect(results).toEqual(['OPENED', 'state_locked', 'state_locked']);
  });

  // Pids are reused: after a reboot or a container restart the dead owner's pid may be any live process,
  // this one included. The lock records who its owner was, and a live pid that is someone else is stale.
  const procHasIdentity = processIdentity(process.pid) !== undefined;

  it.runIf(procHasIdentity)('takes over a lock whose pid is alive but is not the process that took it (reused pid)', async () => {
    await open();
    await opened.splice(0)[0]?.close();
    await writeFile(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'before-reboot', identity: 'another-boot/4242' }),
    );
    const engine = await open();
    expect(await engine.getLastRun()).toEqual({});
    const lock = JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')) as { pid: number; identity?: string; token: string };
    expect(lock.pid).toBe(process.pid);
    expect(lock.identity).toBe(processIdentity(process.pid));
    expect(lock.token).not.toBe('before-reboot');
  });

  it.runIf(procHasIdentity)('respects a lock whose pid is still the process that took it', async () => {
    const child = spawnSnippet('console.log("READY"); setInterval(() => {}, 1000);');
    await waitForLine(child, 'READY');
    await open();
    await opened.splice(0)[0]?.close();
    const pid = child.pid as number;
    await writeFile(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'live', identity: processIdentity(pid) }),
    );
    const error = await failureOf(openFileEngine({ dir, log: quietLog }));
    expect(error.code).toBe('state_locked');
    expect(error.message).toContain(`process ${pid}`);
  });

  it('reads a process identity from /proc text, whatever its command name holds', () => {
    const fields = (name: string) => `4321 (${name}) S 1 4321 4321 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000 200 18446744073709551615`;
    expect(identityFromProc('boot-a\n', fields('node'))).toBe('boot-a/987654');
    expect(identityFromProc('boot-a\n', fields('a) S 9 (b'))).toBe('boot-a/987654');
    expect(identityFromProc('boot-a', fields('node'))).not.toBe(identityFromProc('boot-b', fields('node')));
    expect(identityFromProc('', fields('node'))).toBeUndefined();
    expect(identityFromProc('boot-a', '4321 (node) S 1')).toBeUndefined();
  });

  // A process can die in the middle of taking over a stale lock as well as anywhere else (CI saw a SIGKILL
  // land there): the takeover file it leaves must not keep every later run out.
  async function staleLockWithTakeover(takeover: string): Promise<void> {
    const child = spawnSnippet('process.exit(0)');
    await once(child, 'exit');
    await open();
    await opened.splice(0)[0]?.close();
    const record = { pid: child.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'dead' };
    await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify(record));
    await writeFile(join(dir, `${LOCK_FILE_NAME}.takeover`), takeover.replace('$DEAD', JSON.stringify({ ...record, token: 'dead-takeover' })));
  }

  it('takes over a stale lock whose earlier takeover was left by a process that died in the middle of it', async () => {
    await staleLockWithTakeover('$DEAD');
    const started = Date.now();
    const engine = await open();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await engine.getLastRun()).toEqual({});
    expect(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')).toContain(`"pid":${process.pid}`);
    expect(await readdir(dir)).not.toContain(`${LOCK_FILE_NAME}.takeover`);
  });

  it('clears a takeover file it cannot read once it is older than 10 s, and takes over the stale lock', async () => {
    await staleLockWithTakeover('garbage');
    const takeover = join(dir, `${LOCK_FILE_NAME}.takeover`);
    expect((await failureOf(openFileEngine({ dir, log: quietLog }))).message).toContain(takeover);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(takeover, minuteAgo, minuteAgo);
    const engine = await open();
    expect(await engine.getLastRun()).toEqual({});
    expect(await readdir(dir)).not.toContain(`${LOCK_FILE_NAME}.takeover`);
  });

  it.runIf(procHasIdentity)('waits for a takeover by a live process, then names that process and its takeover file', async () => {
    const live = spawnSnippet('console.log("READY"); setInterval(() => {}, 1000);');
    await waitForLine(live, 'READY');
    const pid = live.pid as number;
    await staleLockWithTakeover(
      JSON.stringify({ pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'live', identity: processIdentity(pid) }),
    );
    const started = Date.now();
    const error = await failureOf(openFileEngine({ dir, log: quietLog }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(error.code).toBe('state_locked');
    expect(error.message).toContain(`process ${pid}`);
    expect(error.message).toContain(join(dir, `${LOCK_FILE_NAME}.takeover`));
    expect(await readFile(join(dir, `${LOCK_FILE_NAME}.takeover`), 'utf8')).toContain('"token":"live"');
  });

  it('respects a lock from another host and one it cannot read', async () => {
    await open();
    await opened.splice(0)[0]?.close();
    await writeFile(
      join(dir, LOCK_FILE_NAME),
      JSON.stringify({ pid: 999999, hostname: 'other-host', startedAt: '2026-01-01T00:00:00.000Z', token: 't' }),
    );
    expect((await failureOf(openFileEngine({ dir, log: quietLog }))).message).toContain('process 999999 on other-host');
    await writeFile(join(dir, LOCK_FILE_NAME), 'garbage');
    const error = await failureOf(openFileEngine({ dir, log: quietLog }));
    expect(error.code).toBe('state_locked');
    expect(error.message).toContain('could not be read');
  });
});

describe('sending events', () => {
  it('appends events to events.ndjson, one per line', async () => {
    const engine = await open();
    await engine.sendEvents([{ id: 'a', _time: 't1' }], EVENT_META);
    await engine.sendEvents([], EVENT_META);
    await engine.sendEvents([{ id: 'b', _time: 't2' }, { id: 'c', _time: 't3' }], EVENT_META);
    const lines = (await readFile(join(dir, 'events.ndjson'), 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(['a', 'b', 'c']);
  });

  it('uses the sink it was given and closes it', async () => {
    const sent: number[] = [];
    let closed = false;
    const engine = await open({
      sink: {
        name: 'test',
        send: async (events) => {
          sent.push(events.length);
        },
        close: async () => {
          closed = true;
        },
      },
    });
    await engine.sendEvents([{ id: 'a', _time: 't' }], EVENT_META);
    await engine.close();
    expect(sent).toEqual([1]);
    expect(closed).toBe(true);
  });

  it('turns a failing sink into sink_failed', async () => {
    const engine = await open({
      sink: {
        name: 'broken',
        send: async () => {
          throw new Error('connection reset');
        },
      },
    });
    const error = await failureOf(engine.sendEvents([{ id: 'a', _time: 't' }], EVENT_META));
    expect(error.code).toBe('sink_failed');
    expect(error.message).toContain('broken');
  });

  it('refuses use after close', async () => {
    const engine = await open();
    await engine.close();
    await expect(engine.getLastRun()).rejects.toThrow(/after it was closed/);
    await expect(engine.setLastRun({ version: 1 })).rejects.toThrow(/after it was closed/);
    await expect(engine.sendEvents([], EVENT_META)).rejects.toThrow(/after it was closed/);
  });
});

describe('stderr logger', () => {
  it('writes one key=value line per record at or above its level', () => {
    const lines: string[] = [];
    const log = createStderrLogger({ level: 'info', now: () => Date.UTC(2026, 0, 1), stream: { write: (line: string) => lines.push(line) > 0 } });
    log.debug('hidden');
    log.info('Events sent', { count: 3, sink: 'file', note: 'two words', skipped: undefined });
    log.error('Failed\nbadly', { message: 'line one\nline two' });
    expect(lines).toEqual([
      '2026-01-01T00:00:00.000Z info  Events sent count=3 sink=file note="two words"\n',
      '2026-01-01T00:00:00.000Z error Failed badly message="line one\\nline two"\n',
    ]);
  });

  it('takes its level from O365MT_LOG_LEVEL, info by default', () => {
    expect(logLevelFromEnv({ O365MT_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevelFromEnv({ O365MT_LOG_LEVEL: 'loud' })).toBe('info');
    expect(logLevelFromEnv({})).toBe('info');
    expect(formatLogLine(0, 'warn', 'x', { error: new Error('boom') })).toBe('1970-01-01T00:00:00.000Z warn  x error=boom\n');
  });
});
