/**
 * Runs many CLI invocations in one process (spawning tsx per case costs seconds): reads
 * `{cases: [{argv, env}], watchDir}` as JSON on stdin, runs each through `runCli` with captured output,
 * snapshots `watchDir` around each case and prints one JSON array of results on stdout.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/run-cli.js';
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
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const before = await snapshotDir(watchDir);
  const code = await runCli(testCase.argv, {
    stdout,
    stderr,
    env: testCase.env,
    signals: new EventEmitter(),
    forceExit: () => undefined,
  });
  const after = await snapshotDir(watchDir);
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changed = [...keys].filter((key) => before[key] !== after[key]);
  results.push({ code, stdout: out, stderr: err, changed });
}
process.stdout.write(JSON.stringify(results));
process.exit(0);
