/**
 * V8 settings that keep a collector process small, set once before the first connection.
 *
 * Measured with the memory benchmark (one fetch-events run, bundle, plain `node`; `npm run bench -- --only
 * memory`), where the peak was 186 MB at max_fetch 50,000 and 134 MB at 5,000 before pages were streamed:
 * - About 33 MB of the peak at 5,000 was not JavaScript at all: V8 compiling undici's HTTP parser (llhttp,
 *   WebAssembly) a second time with its optimising compiler, in the background, while the first page
 *   downloads. `--liftoff-only` keeps the baseline compiler's code; llhttp only frames the response (the
 *   body bytes are handed over, not interpreted), and the run spent less CPU without the second compile.
 * - V8 grows its young generation to 2 × 16 MB while a page of 5,000 rows is parsed, and lets the garbage
 *   of earlier pages pile up in the old generation (a page lives across the awaits of its send, so it is
 *   promoted) before its first full collection. A young generation that stays at its initial size
 *   (`--semi-space-growth-factor=1`) and an old-generation limit close to what is live
 *   (`--heap-growing-percent=5`) keep both small; the run's CPU per event did not grow with them.
 *   (`--optimize-for-size` did as much for the heap but cost about 60% more CPU.)
 *
 * These flags are read when they apply (a WebAssembly compile, a young-generation resize, a heap limit), so
 * setting them at run time works; they change nothing a command computes. The engine runs a process per
 * command; the standalone collector one for all its runs.
 */
import { setFlagsFromString } from 'node:v8';

export const LEAN_V8_FLAGS: readonly string[] = ['--liftoff-only', '--semi-space-growth-factor=1', '--heap-growing-percent=5'];

let applied = false;

export function useLeanRuntime(): void {
  if (applied) return;
  applied = true;
  for (const flag of LEAN_V8_FLAGS) setFlagsFromString(flag);
}
