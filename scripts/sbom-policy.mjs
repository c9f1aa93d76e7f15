/**
 * What goes into the SBOM and which licences production dependencies may carry. Pure functions over a
 * package-lock.json (v2/v3) and a CycloneDX document; scripts/sbom.mjs does the I/O.
 *
 * Why not `npm sbom --omit dev` alone: npm 10/11 drop from it a production dependency that a dev tool also
 * names as an optional peer (here `yaml`, an optional peer of vite), so the SBOM would miss a package that
 * ships in the bundle. The production set is therefore computed from the lockfile the way Node resolves
 * packages, and the full `npm sbom` document is cut down to it.
 */

/** SPDX ids a production dependency may be licensed under (any one alternative of an OR). */
export const ALLOWED_LICENCES = ['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD'];

function nameOf(path, entry) {
  return entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Where Node finds `dependency` when required from the package at `fromPath` ('' is the root). */
function resolvePath(packages, fromPath, dependency) {
  let base = fromPath;
  for (;;) {
    const candidate = base === '' ? `node_modules/${dependency}` : `${base}/node_modules/${dependency}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/**
 * `name@version` of every package reachable from the root's dependencies and optionalDependencies through
 * dependencies, optionalDependencies and required peers: what `npm ci --omit=dev` installs.
 */
export function productionPackages(lock) {
  const packages = lock.packages ?? {};
  const seen = new Set();
  const refs = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    const entry = packages[path] ?? {};
    if (path !== '') refs.add(`${nameOf(path, entry)}@${entry.version}`);
    const optionalPeers = new Set(Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m?.optional).map(([n]) => n));
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers.has(name)),
    ];
    for (const name of names) {
      const target = resolvePath(packages, path, name);
      if (target !== undefined) visit(target);
    }
  };
  visit('');
  return refs;
}

/** The full `npm sbom` document cut down to `keep` (bom-refs), with the root named as package.json names it. */
export function productionSbom(fullSbom, keep, pkg) {
  const components = (fullSbom.components ?? []).filter((c) => keep.has(c['bom-ref'])).map((c) => ({ ...c, scope: 'required' }));
  const rootRef = fullSbom.metadata?.component?.['bom-ref'];
  const dependencies = (fullSbom.dependencies ?? [])
    .filter((d) => d.ref === rootRef || keep.has(d.ref))
    .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((ref) => keep.has(ref)) }));
  const missing = [...keep].filter((ref) => !components.some((c) => c['bom-ref'] === ref));
  if (missing.length > 0) throw new Error(`npm sbom did not describe ${missing.join(', ')}; run npm ci and try again.`);
  return {
    ...fullSbom,
    metadata: {
      ...fullSbom.metadata,
      // npm names the root after the checkout's folder; the package's own name is what a reader looks for.
      component: { ...fullSbom.metadata?.component, name: pkg.name, version: pkg.version, type: 'application' },
    },
    components,
    dependencies,
  };
}

/** SPDX ids and operators of a component's licences; a bare `name` without id counts as that text. */
function licenceExpression(component) {
  const parts = (component.licenses ?? []).map((l) => l.expression ?? l.license?.id ?? l.license?.name).filter(Boolean);
  return parts.join(' AND ');
}

/** True when the expression can be satisfied with allowed licences: one side of an OR, both sides of an AND. */
export function licenceAllowed(expression, allowed = ALLOWED_LICENCES) {
  const text = expression.trim().replace(/^\((.*)\)$/, '$1');
  if (text === '') return false;
  if (/[()]/.test(text)) {
    // Nested expressions are rare in npm; every id in them must then be allowed.
    return text.match(/[A-Za-z0-9.+-]+/g).filter((t) => t !== 'AND' && t !== 'OR' && t !== 'WITH').every((id) => allowed.includes(id));
  }
  return text.split(/\s+OR\s+/).some((alternative) => alternative.split(/\s+AND\s+/).every((id) => allowed.includes(id.trim())));
}

/** Components whose licence is missing or not allowed, as `name@version: licence` lines. */
export function licenceProblems(sbom, allowed = ALLOWED_LICENCES) {
  return (sbom.components ?? [])
    .map((component) => ({ ref: component['bom-ref'] ?? `${component.name}@${component.version}`, expression: licenceExpression(component) }))
    .filter(({ expression }) => !licenceAllowed(expression, allowed))
    .map(({ ref, expression }) => `${ref}: ${expression === '' ? 'no licence declared' : expression}`);
}
