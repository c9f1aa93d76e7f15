import type { BuildOptions } from 'esbuild';

export function selfContainedBuildOptions(root: string): Promise<BuildOptions>;
export const REQUIRE_SHIM: string;
