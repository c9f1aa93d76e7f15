/** Shared helpers for the reliability tests: directory snapshots, the CLI as a child process, NDJSON reads. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI_SCRIPT = join(ROOT, 'src/cli.ts');

/** Every entry under `dir` (recursively): kind, mode, size, mtime and a content hash; the directory itself too. */
export async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (path: string, rel: string): Promise<void> => {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      out[rel] = 'absent';
      return;
    }
    if (info.isDirectory()) {
      out[rel] = `dir mode=${(info.mode & 0o777).toString(8)} mtime=${info.mtimeMs}`;
      for (const name of (await readdir(path)).sort()) await visit(join(path, name), `${rel}/${name}`);
      return;
    }
    const hash = createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16);
    out[rel] = `file mode=${(info.mode & 0o777).toString(8)} size=${info.size} mtime=${info.mtimeMs} sha=${hash}`;
  };
  await visit(dir, '.');
  return out;
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript entry point with node + tsx (one process, so a kill hits it and not a wrapper). */
export function runTs(
  script: string,
  argv: readonly string[],
  options: { env?: Record<string, string | undefined>; stdin?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...argv], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, O365MT_LOG_LEVEL: 'info', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** The CLI (`src/cli.ts`) as a user runs it. */
export function runCliChild(argv: readonly string[], options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}) {
  return runTs(CLI_SCRIPT, argv, options);
}

export async function readNdjson(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** `--param id=value` pairs for a params object (strings as they are, others JSON). */
export function paramFlags(params: Record<string, unknown>): string[] {
  const flags: string[] = [];
  for (const [id, value] of Object.entries(params)) {
    if (value === undefined) continue;
    flags.push('--param', `${id}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return flags;
}
