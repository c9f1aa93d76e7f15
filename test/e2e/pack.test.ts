/**
 * `npm pack` → `npm install -g` from the tarball in an empty directory → the `o365-message-trace` command
 * works. `npm pack` runs the `prepare` script (the full `npm run build`: tsc and the bundle), exactly as it
 * would for a release. The install uses `--prefer-offline`, not `--offline`: `npm ci` fetches tarballs by the
 * lock file's URLs and never caches the registry metadata (packuments) that resolving the tarball's
 * dependencies needs, so on a fresh machine an offline install ends in ENOTCACHED. With `--prefer-offline`
 * npm uses what the cache has and asks the registry (the one network this project may use) for the rest.
 *
 * Paths are the POSIX layout of a global install (<prefix>/bin, <prefix>/lib/node_modules).
 *
 * Measured on the 2-core dev box (2026-11-25): pack with build ≈ 25-30 s, global install from a warm cache ≈ 6 s.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM = 'npm';

const COMMANDS = [
  'test-module',
  'fetch-events',
  'o365-message-trace-generate-login-url',
  'o365-message-trace-auth-test',
  'o365-message-trace-auth-reset',
  'o365-message-trace-get-events',
  'o365-message-trace-get-details',
];

/**
 * The environment for npm children: the caller's, minus what `npm test` injects about this project
 * (npm_package_*, npm_lifecycle_*, npm_config_* except where the cache and registry live), so the global
 * install behaves as it would in a user's shell.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.toLowerCase().startsWith('npm_') && !keep.has(key.toLowerCase())) continue;
    env[key] = value;
  }
  return env;
}

let workDir: string;
let prefix: string;
let tarball: string;
let tarballEntries: string[];
const timings: Record<string, number> = {};

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[label] = Date.now() - started;
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'o365mt-pack-'));
  prefix = path.join(workDir, 'prefix');
  const empty = path.join(workDir, 'empty');
  await mkdir(empty, { recursive: true });

  await timed('pack (with prepare → build)', () =>
    run(NPM, ['pack', '--pack-destination', workDir, '--silent'], {
      cwd: ROOT,
      env: npmEnv(),
      timeout: 150_000,
      maxBuffer: 16 * 1024 * 1024,
    }),
  );
  const packed = (await readdir(workDir)).filter((name) => name.endsWith('.tgz'));
  expect(packed).toHaveLength(1);
  tarball = path.join(workDir, packed[0] ?? '');
  const listing = await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 });
  tarballEntries = listing.stdout.split('\n').filter(Boolean);

  await timed('global install (prefer-offline)', () =>
    run(NPM, ['install', '--global', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: empty,
      env: npmEnv(),
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    }),
  );
}, 240_000);

afterAll(async () => {
  if (Object.keys(timings).length > 0) console.info('pack test timings (ms):', timings);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships the build, the bundle and integration.yml, and nothing from src or test', () => {
    for (const file of ['package/package.json', 'package/integration.yml', 'package/dist/index.js', 'package/dist/cli.js', 'package/dist/bundle/o365-message-trace.mjs']) {
      expect(tarballEntries, file).toContain(file);
    }
    expect(tarballEntries.filter((entry) => /^package\/(src|test|scripts)\//.test(entry))).toEqual([]);
    expect(tarballEntries.filter((entry) => /\.o365-message-trace\//.test(entry))).toEqual([]);
  });

  it('installs globally from the tarball, and the command lists every command', async () => {
    const bin = path.join(prefix, 'bin', 'o365-message-trace');
    const { stdout } = await run(bin, ['--help'], { cwd: workDir, env: { PATH: process.env.PATH ?? '', HOME: workDir }, timeout: 30_000 });
    for (const command of COMMANDS) expect(stdout, command).toContain(command);
  });

  it('exposes main from the installed package entry point', async () => {
    const entry = path.join(prefix, 'lib', 'node_modules', 'o365-message-trace', 'dist', 'index.js');
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', `import(${JSON.stringify(entry)}).then((m) => console.log(typeof m.main, m.COMMAND_NAMES.length))`],
      { cwd: workDir, env: { PATH: process.env.PATH ?? '', HOME: workDir }, timeout: 30_000 },
    );
    expect(stdout.trim()).toBe(`function ${COMMANDS.length}`);
  });
});
