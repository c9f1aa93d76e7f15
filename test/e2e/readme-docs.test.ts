/**
 * The README's parameter table and command sections are rendered from integration.yml, with examples run
 * against the simulated tenant on a fixed clock; this fails when someone changes one without the other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_PATH, renderReadmeSections } from '../../scripts/docs.js';
import { applySections } from '../../scripts/docs/render.js';

describe('README.md', () => {
  it('matches integration.yml and the commands’ real output (run `npm run docs` to update it)', async () => {
    const readme = readFileSync(README_PATH, 'utf8');
    const sections = await renderReadmeSections();
    expect(applySections(readme, sections)).toBe(readme);
  });

  it('documents every parameter by id', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    for (const match of readFileSync(new URL('../../integration.yml', import.meta.url), 'utf8').matchAll(/^- name: (\S+)$/gm)) {
      expect(readme).toContain(`| \`${match[1]}\` |`);
    }
  });
});
