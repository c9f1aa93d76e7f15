export interface CycloneDxComponent {
  'bom-ref'?: string;
  name: string;
  version?: string;
  scope?: string;
  licenses?: { license?: { id?: string; name?: string }; expression?: string }[];
}
export interface CycloneDx {
  metadata?: { component?: { 'bom-ref'?: string; name?: string; version?: string; type?: string } };
  components?: CycloneDxComponent[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
  [key: string]: unknown;
}
export interface PackageLock {
  packages?: Record<string, Record<string, unknown>>;
}

export const ALLOWED_LICENCES: string[];
export function productionPackages(lock: PackageLock): Set<string>;
export function productionSbom(fullSbom: CycloneDx, keep: Set<string>, pkg: { name: string; version: string }): CycloneDx;
export function licenceAllowed(expression: string, allowed?: readonly string[]): boolean;
export function licenceProblems(sbom: CycloneDx, allowed?: readonly string[]): string[];
