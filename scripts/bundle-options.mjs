/**
 * The esbuild settings every self-contained build of this project shares: the engine bundle
 * (scripts/bundle.mjs), and the bundled children of the memory benchmark and the crash test, so all three
 * run the same code the engine would load.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** @param {string} root the repository root */
export async function selfContainedBuildOptions(root) {
  const manifestText = await readFile(resolve(root, 'integration.yml'), 'utf8');
  return {
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Prefer the ESM builds of dependencies (msal-node, undici and zod ship both).
    mainFields: ['module', 'main'],
    conditions: ['node', 'import'],
    define: {
      // src/manifest.ts uses this instead of reading ../integration.yml next to the file.
      __O365MT_INTEGRATION_YML__: JSON.stringify(manifestText),
    },
  };
}

/**
 * CommonJS dependencies bundled into ESM still call require() for Node built-ins (jsonwebtoken requires
 * 'crypto', for example); this banner gives them a real one.
 */
export const REQUIRE_SHIM =
  "import { createRequire as __o365mtCreateRequire } from 'node:module';\nconst require = __o365mtCreateRequire(import.meta.url);";
