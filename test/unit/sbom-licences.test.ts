/**
 * Supply chain: `npm run sbom` (scripts/sbom.mjs) writes a CycloneDX SBOM of exactly the production
 * dependencies, and fails when one of them is licensed outside the documented allow-list. The failure path
 * is exercised on a fixture project, so this test would notice a check that can no longer fail.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALLOWED_LICENCES,
  type CycloneDx,
  licenceAllowed,
  licenceProblems,
  productionPackages,
} from '../../scripts/sbom-policy.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-sbom-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function sbomScript(cwd: string, out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'scripts/sbom.mjs'), '--cwd', cwd, '--out', out]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run sbom', () => {
  it('describes exactly what npm installs without dev dependencies, each licence allowed', async () => {
    const out = join(base, 'repo.cdx.json');
    const result = await sbomScript(ROOT, out);
    expect(result.code, result.stderr).toBe(0);
    const sbom = JSON.parse(await readFile(out, 'utf8')) as CycloneDx & { bomFormat: string };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.metadata?.component?.name).toBe('o365-message-trace');
    const refs = new Set((sbom.components ?? []).map((c) => c['bom-ref']));

    // npm's own view of the production tree, independent of the lockfile walk in sbom-policy.mjs.
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--json', '--package-lock-only'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const fromNpm = new Set<string>();
    const walk = (deps: Record<string, { version?: string; dependencies?: Record<string, unknown> }> | undefined) => {
      for (const [name, node] of Object.entries(deps ?? {})) {
        if (node.version === undefined) continue;
        fromNpm.add(`${name}@${node.version}`);
        walk(node.dependencies as typeof deps);
      }
    };
    walk((JSON.parse(stdout) as { dependencies?: Parameters<typeof walk>[0] }).dependencies);
    expect([...refs].sort()).toEqual([...fromNpm].sort());

    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const names = new Set((sbom.components ?? []).map((c) => c.name));
    for (const name of Object.keys(pkg.dependencies)) expect(names, name).toContain(name);
    for (const name of Object.keys(pkg.devDependencies)) expect(names, name).not.toContain(name);
    expect(licenceProblems(sbom)).toEqual([]);
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8'));
    expect([...productionPackages(lock)].sort()).toEqual([...refs].sort());
  }, 60_000);

  it('fails, naming the package and its licence, when a production dependency is outside the allow-list', async () => {
    const project = join(base, 'fixture');
    await mkdir(project);
    const dependencies = { 'copyleft-lib': '^1.0.0', 'fine-lib': '^2.0.0' };
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fixture-app', version: '1.0.0', dependencies }));
    await writeFile(
      join(project, 'package-lock.json'),
      JSON.stringify({
        name: 'fixture-app',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'fixture-app', version: '1.0.0', dependencies },
          'node_modules/copyleft-lib': { version: '1.0.0', license: 'GPL-3.0-only' },
          'node_modules/fine-lib': { version: '2.0.0', license: 'MIT' },
        },
      }),
    );
    const result = await sbomScript(project, join(project, 'out.cdx.json'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('copyleft-lib@1.0.0: GPL-3.0-only');
    expect(result.stderr).not.toContain('fine-lib');
  }, 60_000);
});

describe('the licence allow-list', () => {
  it.each([
    ['MIT', true],
    ['Apache-2.0', true],
    ['BSD-3-Clause', true],
    ['(MIT OR GPL-3.0-only)', true],
    ['MIT AND ISC', true],
    ['MIT AND GPL-3.0-only', false],
    ['GPL-3.0-only', false],
    ['AGPL-3.0-or-later', false],
    ['SEE LICENSE IN LICENSE.md', false],
    ['', false],
  ])('%s allowed: %s', (expression, allowed) => {
    expect(licenceAllowed(expression)).toBe(allowed);
  });

  it('reports a component without any licence', () => {
    expect(licenceProblems({ components: [{ name: 'mystery', version: '1.0.0' }] })).toEqual(['mystery@1.0.0: no licence declared']);
  });

  it('is the one the README documents', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Supply chain'));
    const listed = section.match(/allow-list: ((?:`[^`]+`(?:, )?)+)/)?.[1] ?? '';
    expect(listed.split(/,\s*/).map((id) => id.replaceAll('`', '').trim())).toEqual(ALLOWED_LICENCES);
  });
});
