#!/usr/bin/env node
/**
 * Writes a CycloneDX SBOM of the production dependencies (what the bundle and `npm ci --omit=dev` ship) and
 * checks their licences against the allow-list in sbom-policy.mjs; exits 1 naming any package outside it.
 * Needs only npm and the lockfile (`--package-lock-only`), so it works on a fresh clone before `npm ci`.
 *
 *   node scripts/sbom.mjs [--out FILE] [--cwd DIR]      default FILE: dist/<package name>.cdx.json
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ALLOWED_LICENCES, licenceProblems, productionPackages, productionSbom } from './sbom-policy.mjs';

const { values } = parseArgs({ options: { out: { type: 'string' }, cwd: { type: 'string' } } });
const cwd = resolve(values.cwd ?? fileURLToPath(new URL('..', import.meta.url)));
const pkg = JSON.parse(await readFile(resolve(cwd, 'package.json'), 'utf8'));
const out = resolve(cwd, values.out ?? `dist/${pkg.name.replace(/^@/, '').replace('/', '-')}.cdx.json`);
const lock = JSON.parse(await readFile(resolve(cwd, 'package-lock.json'), 'utf8'));
// npm_execpath is set when run through `npm run`; otherwise npm from the PATH.
const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : [process.platform === 'win32' ? 'npm.cmd' : 'npm', []];
const { stdout } = await promisify(execFile)(npm[0], [...npm[1], 'sbom', '--sbom-format', 'cyclonedx', '--package-lock-only'], {
  cwd,
  maxBuffer: 64 * 1024 * 1024,
});
const sbom = productionSbom(JSON.parse(stdout), productionPackages(lock), pkg);

await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(sbom, null, 2)}\n`);
process.stdout.write(`Wrote ${out}: ${sbom.components.length} production packages.\n`);

const problems = licenceProblems(sbom);
if (problems.length > 0) {
  process.stderr.write(`Licences outside the allow-list (${ALLOWED_LICENCES.join(', ')}):\n${problems.map((p) => `  ${p}\n`).join('')}`);
  process.exit(1);
}
