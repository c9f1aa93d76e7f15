/**
 * Imports in src/ run one way: the floors of src/README.md's layer table, top to bottom. This test reads that
 * table (so the code map and the check cannot drift apart), finds every relative import of every src file
 * with TypeScript's own scanner (static, type-only, re-exports and literal dynamic imports; never text in a
 * comment), and fails on an import that points up, across to a peer folder of the same floor, into or out of
 * the simulator, or out of src. Tools stand on their own too: nothing in scripts/ imports from test/. Each
 * rule also proves it can fire: a copy of the tree broken in one small way must be caught.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC_README = join(ROOT, 'src/README.md');
/** Stands apart from the layers: imports only itself, and nothing imports it by path. */
const APART = 'simulator';

type Tree = ReadonlyMap<string, string>;

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return /\.(ts|mts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function readTree(dirs: readonly string[]): Map<string, string> {
  return new Map(dirs.flatMap((dir) => filesUnder(dir)).map((path) => [path, readFileSync(join(ROOT, path), 'utf8')]));
}

/** The floors of the README table, top first; each floor lists its units (`cli`, `main.ts`, …). */
function floorsOf(readme: string): string[][] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (!section) throw new Error('src/README.md has no "## Layers" section');
  return section
    .split('\n')
    .filter((line) => /^\|\s*\d+\s*\|/.test(line))
    .map((line) => [...(line.split('|')[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => (m[1] ?? '').replace(/\/$/, '')));
}

/** The relative module specifiers a file imports, as TypeScript scans them (comments are not imports). */
function relativeImports(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'));
}

/** `cli` for src/cli/args.ts, `main.ts` for src/main.ts; undefined outside src. */
function unitOf(path: string): string | undefined {
  const [top, first] = path.split('/');
  return top === 'src' ? first : undefined;
}

function resolveImport(from: string, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
}

/** Every import in `tree` that breaks the layer order, as `importer → imported: why`. */
function layerViolations(tree: Tree, floors: readonly (readonly string[])[]): string[] {
  const floorOf = new Map(floors.flatMap((units, index) => units.map((unit) => [unit, index] as const)));
  const problems: string[] = [];
  for (const [file, text] of tree) {
    const from = unitOf(file);
    if (from === undefined) continue;
    for (const specifier of relativeImports(text)) {
      const target = resolveImport(file, specifier);
      const to = unitOf(target);
      const edge = `${file} → ${target}`;
      if (to === undefined) problems.push(`${edge}: src imports nothing outside src`);
      else if (from === to) continue;
      else if (from === APART || to === APART) problems.push(`${edge}: ${APART}/ stands apart from the client side`);
      else {
        const a = floorOf.get(from);
        const b = floorOf.get(to);
        if (a === undefined || b === undefined) problems.push(`${edge}: ${a === undefined ? from : to} is not in src/README.md's layers`);
        else if (a === b) problems.push(`${edge}: ${from} and ${to} are peers on floor ${a + 1}`);
        else if (b < a) problems.push(`${edge}: ${from} (floor ${a + 1}) imports upward, ${to} (floor ${b + 1})`);
      }
    }
  }
  return problems;
}

/** Folders and root files of src/ that the layer table leaves out, or lists twice, or lists but lack. */
function mapGaps(tree: Tree, floors: readonly (readonly string[])[]): string[] {
  const listed = floors.flat();
  const present = new Set([...tree.keys()].map(unitOf).filter((u): u is string => u !== undefined && u !== APART));
  return [
    ...[...present].filter((unit) => !listed.includes(unit)).map((unit) => `${unit} is not on the map`),
    ...listed.filter((unit, i) => listed.indexOf(unit) !== i).map((unit) => `${unit} is listed twice`),
    ...listed.filter((unit) => !present.has(unit)).map((unit) => `${unit} is on the map but not in src/`),
  ];
}

/** Tools in scripts/ stand on their own: they may use src/, never test/. */
function toolViolations(tree: Tree): string[] {
  return [...tree]
    .filter(([file]) => file.startsWith('scripts/'))
    .flatMap(([file, text]) =>
      relativeImports(text)
        .map((specifier) => resolveImport(file, specifier))
        .filter((target) => target.startsWith('test/'))
        .map((target) => `${file} → ${target}: a tool must not depend on test code`),
    );
}

const realTree = readTree(['src', 'scripts']);
const realFloors = floorsOf(readFileSync(SRC_README, 'utf8'));

/** The real tree with `line` added at the top of `file` (a new file when the tree has none). */
function withLine(file: string, line: string): Map<string, string> {
  return new Map([...realTree, [file, `${line}\n${realTree.get(file) ?? ''}`]]);
}

/** One small break per rule: the line added to the file; each must be caught, naming that file. */
const LAYER_BREAKS: Array<{ rule: string; file: string; line: string }> = [
  { rule: 'the contract imports a layer above it', file: 'src/engine/types.ts', line: "import type { HttpFetch } from '../http/transport.js';" },
  { rule: 'a root file imports upward', file: 'src/errors.ts', line: "import { main } from './main.js';" },
  { rule: 'a multi-line type-only import reaches upward', file: 'src/auth/types.ts', line: "import type {\n  CommandContext,\n} from '../commands/types.js';" },
  { rule: 'a dynamic import reaches upward', file: 'src/http/retry.ts', line: "export const later = () => import('../graph/client.js');" },
  { rule: 'a re-export reaches upward', file: 'src/standalone/sink.ts', line: "export { main } from '../main.js';" },
  { rule: 'peers import each other', file: 'src/time/expressions.ts', line: "import { loadManifest } from '../manifest.js';" },
  { rule: 'the simulator imports the client side', file: 'src/simulator/graph.ts', line: "import { IntegrationError } from '../errors.js';" },
  { rule: 'the client imports the simulator by path', file: 'src/cli/run-cli.ts', line: "import { startSimulatedTenant } from '../simulator/index.js';" },
  { rule: 'src imports test code', file: 'src/main.ts', line: "import { fetchParams } from '../test/helpers/fetch-e2e.js';" },
  { rule: 'a folder missing from the map imports anything', file: 'src/newfolder/thing.ts', line: "import { IntegrationError } from '../errors.js';" },
];

describe('imports in src/ follow the layers of src/README.md', () => {
  it('the layer table lists every folder and root file of src/ once', () => {
    expect(realFloors.length).toBeGreaterThan(5);
    expect(mapGaps(realTree, realFloors)).toEqual([]);
  });

  it('the map check fires on a folder the table leaves out, lists twice, or lists but src/ lacks', () => {
    expect(mapGaps(withLine('src/newfolder/thing.ts', ''), realFloors)).toEqual(['newfolder is not on the map']);
    expect(mapGaps(realTree, [...realFloors, ['gone']])).toEqual(['gone is on the map but not in src/']);
    expect(mapGaps(realTree, [...realFloors, ['errors.ts']])).toEqual(['errors.ts is listed twice']);
  });

  it('no import points up, across to a peer, into or out of the simulator, or out of src', () => {
    expect(layerViolations(realTree, realFloors)).toEqual([]);
  });

  it.each(LAYER_BREAKS.map((b) => [b.rule, b] as const))('fires when %s', (_rule, broken) => {
    const found = layerViolations(withLine(broken.file, broken.line), realFloors);
    expect(found).toHaveLength(1);
    expect(found[0]?.startsWith(`${broken.file} → `), found[0]).toBe(true);
  });

  it('does not take an import written in a comment for an import', () => {
    const tree = withLine('src/engine/types.ts', "// import { main } from '../main.js';\n/* export * from '../cli/args.js'; */");
    expect(layerViolations(tree, realFloors)).toEqual([]);
  });

  it('reads the order from the table: swapping two floors turns their imports into violations', () => {
    const swapped = realFloors.map((units) => (units.includes('http') ? ['engine'] : units.includes('engine') ? ['http'] : units));
    expect(layerViolations(realTree, swapped).some((v) => v.includes('src/http/') && v.includes('imports upward'))).toBe(true);
  });
});

describe('tools stand on their own', () => {
  it('nothing in scripts/ imports from test/', () => {
    expect(toolViolations(realTree)).toEqual([]);
  });

  it('fires when a script imports a test helper', () => {
    const tree = withLine('scripts/tool.ts', "import { fetchParams } from '../test/helpers/fetch-e2e.js';");
    expect(toolViolations(tree)).toEqual(['scripts/tool.ts → test/helpers/fetch-e2e.ts: a tool must not depend on test code']);
  });
});
