/**
 * integration.yml as plain data (the YAML parsed, not yet checked; manifest.ts checks it). Here the file is
 * read and parsed when first asked for. The engine bundle replaces this module with one that holds the data
 * parsed at build time (scripts/bundle-options.mjs), so a bundled process neither reads the file nor loads
 * a YAML parser; integration.yml stays the one source either way.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export const MANIFEST_PATH = new URL('../integration.yml', import.meta.url);

export function readManifestData(): unknown {
  return parseYaml(readFileSync(MANIFEST_PATH, 'utf8'));
}
