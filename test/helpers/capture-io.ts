/** A CliIo that records what runCli writes, for tests that run the CLI in process. */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/run-cli.js';

export interface CapturedIo {
  io: CliIo;
  stdout: () => string;
  stderr: () => string;
  /** Where the test sends SIGINT or SIGTERM to the running CLI. */
  signals: EventEmitter;
}

export function captureIo(env: Record<string, string | undefined> = {}): CapturedIo {
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
  const signals = new EventEmitter();
  const io: CliIo = {
    stdout,
    stderr,
    env,
    signals,
    forceExit: (code) => {
      throw new Error(`forceExit(${code})`);
    },
  };
  return { io, stdout: () => out, stderr: () => err, signals };
}
