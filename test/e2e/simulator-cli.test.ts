/** `o365-message-trace simulate`: argument errors, the info file, and a clean stop on SIGTERM. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, fetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { parseSimulateArgs, runSimulateCommand } from '../../src/simulator/cli.js';

function capture(): { io: { stdout: { write(t: string): boolean }; stderr: { write(t: string): boolean } }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: {
        write: (t: string) => {
          out += t;
          return true;
        },
      },
      stderr: {
        write: (t: string) => {
          err += t;
          return true;
        },
      },
    },
    out: () => out,
    err: () => err,
  };
}

async function waitForFile(file: string, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      return await readFile(file, 'utf8');
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${file} did not appear`);
}

describe('simulate arguments', () => {
  it('parses every flag', () => {
    const parsed = parseSimulateArgs([
      '--port', '0', '--seed', '9', '--rate', '1000000', '--history', '3', '--max-delay', '60', '--status-delay', '120',
      '--order', 'random', '--throttle', '90/300', '--fault', '503=0.1', '--fault=reset=0.05', '--token-ttl', '600', '--info-file', 'x.json',
    ]);
    expect(parsed.options).toEqual({
      port: 0, seed: 9, ratePerDay: 1_000_000, historyDays: 3, maxDelaySeconds: 60, statusDelaySeconds: 120,
      order: 'random', throttle: { limit: 90, windowSeconds: 300 }, faults: { '503': 0.1, reset: 0.05 }, tokenTtlSeconds: 600,
    });
    expect(parsed.infoFile).toBe('x.json');
    expect(parseSimulateArgs(['--throttle', 'off']).options.throttle).toBe('off');
    expect(
      parseSimulateArgs([
        '--fault-seed', '77', '--authority-port', '0', '--recalled-share', '0.2', '--null-share', '0', '--ipv6-share', '1',
        '--pascal-case-share', '0.5', '--retry-after', 'http-date,none',
      ]).options,
    ).toEqual({
      faultSeed: 77, authorityPort: 0, recalledShare: 0.2, nullShare: 0, ipv6Share: 1, pascalCaseShare: 0.5,
      retryAfter: { seconds: 0, httpDate: 1, none: 1 },
    });
  });

  for (const argv of [
    ['--bogus'],
    ['--port'],
    ['--port', 'abc'],
    ['--order', 'sideways'],
    ['--throttle', '100'],
    ['--fault', 'explode=0.1'],
    ['--fault', '500=2'],
    ['--fault', '500=0.7', '--fault', '502=0.7'],
    ['--rate', '-5'],
    ['--fault-seed', '1.5'],
    ['--recalled-share', '2'],
    ['--retry-after', 'minutes'],
  ]) {
    it(`rejects ${argv.join(' ')} with one line and exit code 2`, async () => {
      const c = capture();
      expect(await runSimulateCommand(argv, c.io)).toBe(2);
      expect(c.err().trim().split('\n')).toHaveLength(1);
      expect(c.out()).toBe('');
    });
  }

  it('prints help', async () => {
    const c = capture();
    expect(await runSimulateCommand(['--help'], c.io)).toBe(0);
    expect(c.out()).toContain('--info-file');
    expect(c.out()).toMatch(/--fault-seed N +seed of the fault rolls/);
    expect(c.out()).toContain('--authority-port');
  });
});

describe('simulate run', () => {
  it('writes the info file (0600) once ready and stops when aborted', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sim-cli-'));
    const infoFile = path.join(dir, 'info.json');
    const c = capture();
    const controller = new AbortController();
    const running = runSimulateCommand(['--seed', '4', '--rate', '100', '--info-file', infoFile], c.io, controller.signal);
    const info = JSON.parse(await waitForFile(infoFile)) as Record<string, string>;
    expect((await stat(infoFile)).mode & 0o777).toBe(0o600);
    for (const k of [
      'graphUrl', 'authorityUrl', 'tenantId', 'clientId', 'clientSecret', 'caCertPath', 'certificatePath', 'privateKeyPath',
      'certificateThumbprint', 'certificateThumbprintSha256', 'redirectUri', 'controlUrl', 'imdsUrl',
    ]) {
      expect(typeof info[k]).toBe('string');
    }
    expect((await stat(info.privateKeyPath ?? '')).mode & 0o777).toBe(0o600);
    expect(await readFile(info.certificatePath ?? '', 'utf8')).toContain('BEGIN CERTIFICATE');
    const dispatcher = new Agent({ connect: { ca: await readFile(info.caCertPath ?? '', 'utf8') } });
    const res = await fetch(`${info.authorityUrl}/${info.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: info.clientId ?? '',
        client_secret: info.clientSecret ?? '',
        scope: 'https://graph.microsoft.com/.default',
      }),
      dispatcher,
    });
    expect(res.status).toBe(200);
    expect(c.out()).toContain('Simulated tenant ready');
    // Defaults as documented: 100 requests per 300 s, newest first.
    const config = (await (await fetch(`${info.controlUrl}/config`, { dispatcher })).json()) as Record<string, unknown>;
    expect(config.throttle).toEqual({ limit: 100, windowSeconds: 300 });
    expect(config.order).toBe('newest');
    await dispatcher.close();
    controller.abort();
    expect(await running).toBe(0);
    expect(c.out()).toContain('stopped');
  });

  it('stops cleanly on SIGTERM as a separate process', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sim-cli-'));
    const infoFile = path.join(dir, 'info.json');
    const bin = new URL('../../src/simulator/bin.ts', import.meta.url).pathname;
    const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
    const child = spawn(tsx, [bin, '--rate', '10', '--info-file', infoFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitForFile(infoFile, 30_000);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
