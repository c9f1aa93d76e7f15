/**
 * One process at a time per state directory. Two collectors sharing a directory would each move the fetch
 * position and duplicate or lose events, so the second one must fail at once, not wait.
 *
 * The lock is a file named `lock` holding the owner's pid, host and start time. It is created complete:
 * written to a private candidate file, then hard-linked to `lock`, which fails with EEXIST when another
 * process holds it. A lock whose pid is dead on this host is stale (the owner crashed) and is taken over.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { IntegrationError } from '../errors.js';
import { PRIVATE_FILE_MODE, syncDirectory } from './atomic.js';

export const LOCK_FILE_NAME = 'lock';

const lockOwnerSchema = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  startedAt: z.string(),
  /** Random per acquisition, so a process can tell its own lock from a later one with a reused pid. */
  token: z.string(),
});

export type LockOwner = z.infer<typeof lockOwnerSchema>;

export interface StateLock {
  readonly path: string;
  readonly owner: LockOwner;
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  now?: () => number;
  /** Whether a pid runs on this host; replaceable in tests. */
  isProcessAlive?: (pid: number) => boolean;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const parsed = lockOwnerSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function lockedError(dir: string, lockPath: string, owner: LockOwner | undefined): IntegrationError {
  const holder = owner
    ? `process ${owner.pid} on ${owner.hostname} (started ${owner.startedAt})`
    : 'another process (its lock file could not be read)';
  return new IntegrationError(
    'state_locked',
    `The state directory ${dir} is in use by ${holder}. Only one o365-message-trace may use a state directory at a time: ` +
      `wait for that run to finish or stop it, or use another --state-dir. If no such process is running, delete ${lockPath}.`,
  );
}

/**
 * Hard-links the complete candidate to `lock`. Where the file system has no hard links, falls back to an
 * exclusive create: equally exclusive, but a reader may briefly see the lock before its content.
 */
async function linkOrCreate(candidate: string, lockPath: string, owner: LockOwner): Promise<void> {
  try {
    await link(candidate, lockPath);
  } catch (error) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errnoCode(error) ?? '')) throw error;
    const handle = await open(lockPath, 'wx', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(`${JSON.stringify(owner)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** Writes our owner record to a private candidate file and links it to `lock`; false when `lock` exists. */
async function tryCreate(lockPath: string, owner: LockOwner): Promise<boolean> {
  const candidate = `${lockPath}-candidate.${process.pid}.${owner.token}`;
  const handle = await open(candidate, 'wx', PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`, 'utf8');
    await handle.sync();
    await handle.close();
    await linkOrCreate(candidate, lockPath, owner);
    return true;
  } catch (error) {
    await handle.close().catch(() => undefined);
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(candidate, { force: true });
  }
}

/**
 * Moves a stale lock aside and checks that what was moved is still the stale one: another process may have
 * taken the stale lock over between our read and our move. Returns true when the stale lock is gone.
 */
async function removeStale(lockPath: string, stale: LockOwner): Promise<boolean> {
  const aside = `${lockPath}-stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return true; // someone else removed it; just try again
    throw error;
  }
  const moved = await readOwner(aside);
  if (moved?.token !== stale.token) {
    // We moved a fresh lock: put it back (unless yet another process linked one meanwhile).
    await link(aside, lockPath).catch(() => undefined);
    await rm(aside, { force: true });
    return false;
  }
  await rm(aside, { force: true });
  return true;
}

export async function acquireStateLock(dir: string, options: AcquireLockOptions = {}): Promise<StateLock> {
  const lockPath = join(dir, LOCK_FILE_NAME);
  const alive = options.isProcessAlive ?? isProcessAlive;
  const owner: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date((options.now ?? Date.now)()).toISOString(),
    token: randomBytes(8).toString('hex'),
  };

  // Two attempts: the second follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (await tryCreate(lockPath, owner)) {
      await syncDirectory(dir);
      return createHeldLock(lockPath, owner);
    }
    const current = await readOwner(lockPath);
    // A pid can be checked only on its own host; a lock from another host is respected.
    const stale = current !== undefined && current.hostname === owner.hostname && !alive(current.pid);
    if (!stale || !(await removeStale(lockPath, current))) {
      throw lockedError(dir, lockPath, current ?? (await readOwner(lockPath)));
    }
  }
  throw lockedError(dir, lockPath, await readOwner(lockPath));
}

function createHeldLock(path: string, owner: LockOwner): StateLock {
  let released = false;
  // If the process exits without close() (process.exit, an uncaught error), the lock still goes away.
  const onExit = (): void => {
    try {
      if (readFileSync(path, 'utf8').includes(owner.token)) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    path,
    owner,
    async release() {
      if (released) return;
      released = true;
      process.removeListener('exit', onExit);
      const current = await readOwner(path);
      // Never remove a lock that is no longer ours (someone deleted ours by hand and started a run).
      if (current?.token === owner.token) await rm(path, { force: true });
    },
  };
}
