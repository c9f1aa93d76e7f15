/**
 * Runs many CLI invocations in one process (spawning tsx per case costs seconds): reads
 * `{cases: [{argv, env}], watchDir}` as JSON on stdin, runs each through `runCli` with captured output,
 * snapshots `watchDir` around each case and prints one JSON array of results on stdout.
 */
import { runCli } from '../../src/cli/run-cli.js';
import { captureIo } from './capture-io.js';
import { snapshotDir } from './reliability.js';

export interface BatchCase {
  argv: string[];
  env: Record<string, string>;
}

export interface BatchResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Entries of watchDir that differ after the case (empty when untouched). */
  changed: string[];
}

let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const { cases, watchDir } = JSON.parse(input) as { cases: BatchCase[]; watchDir: string };

const results: BatchResult[] = [];
for (const testCase of cases) {
  const captured = captureIo(testCase.env);
  // A batch never signals the CLI; should it ask to force an exit, the case's exit code says what happened.
  captured.io.forceExit = () => undefined;
  const before = await snapshotDir(watchDir);
  const code = await runCli(testCase.argv, captured.io);
  const after = await snapshotDir(watchDir);
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changed = [...keys].filter((key) => before[key] !== after[key]);
  results.push({ code, stdout: captured.stdout(), stderr: captured.stderr(), changed });
}
process.stdout.write(JSON.stringify(results));
process.exit(0);
