/**
 * The esbuild settings every self-contained build of this project shares: the engine bundle
 * (scripts/bundle.mjs), and the bundled children of the memory benchmark and the crash test, so all three
 * run the same code the engine would load.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * Swaps src/manifest-data.ts (which reads and parses integration.yml at run time) for a module holding
 * integration.yml's data, parsed here at build time: a bundled process neither needs the file beside it
 * nor loads a YAML parser. manifest.ts still checks the data with its schema when it is first used.
 * JSON.parse of a string literal, because V8 reads that faster than the same object as JavaScript.
 *
 * @param {string} root the repository root
 * @returns {import('esbuild').Plugin}
 */
export function inlineManifestPlugin(root) {
  const manifestPath = resolve(root, 'integration.yml');
  return {
    name: 'o365mt-inline-manifest',
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]manifest-data\.ts$/ }, async () => {
        const data = parseYaml(await readFile(manifestPath, 'utf8'));
        const json = JSON.stringify(JSON.stringify(data));
        return {
          loader: 'js',
          watchFiles: [manifestPath],
          contents: [
            '// integration.yml, parsed at build time by scripts/bundle-options.mjs (inlineManifestPlugin).',
            "export const MANIFEST_PATH = new URL('../integration.yml', import.meta.url);",
            `export function readManifestData() { return JSON.parse(${json}); }`,
          ].join('\n'),
        };
      });
    },
  };
}

/** @param {string} root the repository root */
export async function selfContainedBuildOptions(root) {
  return {
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Prefer the ESM builds of dependencies (msal-node, undici and zod ship both).
    mainFields: ['module', 'main'],
    conditions: ['node', 'import'],
    plugins: [inlineManifestPlugin(root)],
  };
}

/**
 * CommonJS dependencies bundled into ESM still call require() for Node built-ins (jsonwebtoken requires
 * 'crypto', for example); this banner gives them a real one.
 */
export const REQUIRE_SHIM =
  "import { createRequire as __o365mtCreateRequire } from 'node:module';\nconst require = __o365mtCreateRequire(import.meta.url);";
