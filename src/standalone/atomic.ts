/**
 * Crash-safe replacement of a small file: the new content goes to a temp file in the same directory, is
 * fsynced, renamed over the target, and the directory is fsynced so the rename itself survives a power
 * cut. A reader therefore sees either the old content or the new one, never a torn mix.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Temp files carry this suffix so a crash leftover can be recognised and swept. */
const TEMP_SUFFIX = '.tmp';

export interface AtomicWriteOptions {
  /** The rename step, replaceable so tests can simulate a crash between write and rename. */
  rename?: (from: string, to: string) => Promise<void>;
}

export function tempPathFor(target: string): string {
  // Hidden, unique per writer: two writers never share a temp file, and `ls` stays tidy.
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

export async function writeFileAtomic(target: string, content: string, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempPathFor(target);
  const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
  try {
    // The umask can only remove bits, but an explicit chmod keeps 0600 even under an odd umask.
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await (options.rename ?? rename)(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(target));
}

/** Makes a directory entry change (create, rename, unlink) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Windows cannot open or fsync a directory; there the rename is as durable as the platform allows.
    if (process.platform !== 'win32') throw error;
  } finally {
    await handle?.close();
  }
}

/** Removes temp files a crashed writer left behind. Call only while holding the directory's lock. */
export async function sweepTempFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  const leftovers = names.filter((name) => name.startsWith('.') && name.endsWith(TEMP_SUFFIX));
  await Promise.all(leftovers.map((name) => rm(join(dir, name), { force: true })));
  return leftovers;
}
