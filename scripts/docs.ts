/**
 * `npm run docs`: renders the README's parameter table and command sections from integration.yml, with
 * examples captured against the simulated tenant. `npm run docs -- --check` only reports whether the README
 * is up to date (exit code 1 when not).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadManifest } from '../src/manifest.js';
import { captureExamples } from './docs/examples.js';
import { type GeneratedSections, applySections, renderCommands, renderParameterTable } from './docs/render.js';

export const README_PATH = new URL('../README.md', import.meta.url);

export async function renderReadmeSections(): Promise<GeneratedSections> {
  const manifest = loadManifest();
  return {
    parameters: renderParameterTable(manifest),
    commands: renderCommands(manifest, await captureExamples()),
  };
}

async function run(): Promise<number> {
  const current = readFileSync(README_PATH, 'utf8');
  const updated = applySections(current, await renderReadmeSections());
  if (process.argv.includes('--check')) {
    if (updated === current) return 0;
    process.stderr.write('README.md is out of date with integration.yml; run npm run docs.\n');
    return 1;
  }
  if (updated !== current) writeFileSync(README_PATH, updated);
  process.stdout.write(updated === current ? 'README.md is up to date.\n' : 'README.md updated.\n');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
