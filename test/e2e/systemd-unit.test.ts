/**
 * The shipped systemd unit passes `systemd-analyze verify` (Debian package: systemd) without a warning,
 * in a scratch root that holds the unit, the system's own units (for the targets it names) and a stand-in
 * for the installed CLI at the path ExecStart names. Skipped where systemd-analyze is not installed.
 * The README's "Run as a service" section is checked against the unit as shipped.
 */
import { spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/reliability.js';

const UNIT = 'o365-message-trace@.service';
const UNIT_PATH = join(ROOT, 'deploy', UNIT);
const SYSTEM_UNITS = ['/usr/lib/systemd/system', '/lib/systemd/system'];
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

let scratch: string | undefined;
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function unitText(): Promise<string> {
  return readFile(UNIT_PATH, 'utf8');
}

describe('the systemd unit', () => {
  it.skipIf(!hasAnalyze)('passes systemd-analyze verify without a warning', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'o365mt-unit-'));
    const text = await unitText();
    const exec = /^ExecStart=(\S+)/m.exec(text)?.[1] as string;
    expect(exec.startsWith('/')).toBe(true);
    await mkdir(join(scratch, dirname(exec)), { recursive: true });
    await writeFile(join(scratch, exec), '#!/bin/sh\n');
    await chmod(join(scratch, exec), 0o755);
    await mkdir(join(scratch, 'etc/systemd/system'), { recursive: true });
    await cp(UNIT_PATH, join(scratch, 'etc/systemd/system', UNIT));
    await mkdir(join(scratch, 'usr/lib/systemd'), { recursive: true });
    const systemUnits = SYSTEM_UNITS.find((dir) => spawnSync('test', ['-d', dir]).status === 0) as string;
    await cp(systemUnits, join(scratch, 'usr/lib/systemd/system'), { recursive: true, dereference: false });
    const run = spawnSync('systemd-analyze', ['verify', `--root=${scratch}`, 'o365-message-trace@contoso.service'], { encoding: 'utf8' });
    expect({ status: run.status, output: `${run.stdout}${run.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });

  it('is hardened the way the README says', async () => {
    const text = await unitText();
    for (const line of [
      'DynamicUser=yes',
      'StateDirectory=o365-message-trace/%i',
      'LoadCredential=secret:%E/o365-message-trace/%i.credentials',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'Restart=on-failure',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('the README section follows the unit as shipped', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Run as a service'), readme.indexOf('\n## ', readme.indexOf('## Run as a service') + 5));
    expect(section.length).toBeGreaterThan(500);
    const text = await unitText();
    const exec = /^ExecStart=(\S+)/m.exec(text)?.[1] as string;
    // It installs the unit file itself, puts the CLI where ExecStart looks, and uses the unit's paths.
    expect(section).toContain(`deploy/${UNIT}`);
    expect(section).toContain(exec);
    for (const path of ['/etc/o365-message-trace/', '.credentials/', '/var/lib/o365-message-trace/', 'secret_', 'COLLECTOR_OPTIONS=']) {
      expect(section).toContain(path);
    }
    expect(section).not.toMatch(/sed |cat > .*\.service/);
  });
});
