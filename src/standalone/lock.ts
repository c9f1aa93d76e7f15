/**
 * One process at a time per state directory. Two collectors sharing a directory would each move the fetch
 * position and duplicate or lose events, so the second one must fail at once, not wait.
 *
 * The lock is a file named `lock` holding the owner's pid, host and start time. It is created complete:
 * written to a private candidate file, then hard-linked to `lock`, which fails with EEXIST when another
 * process holds it. A lock whose pid is dead on this host is stale (the owner crashed) and is taken over.
 *
 * A live pid is not proof enough: pids are reused, and after a reboot (or a container restart, where the
 * collector is often pid 1 or 7 again) the dead owner's pid may well belong to another process, or to this
 * one. So the lock also records the owner's identity where the system gives one (Linux: the boot id and the
 * process's start time in clock ticks, from /proc), and a pid whose identity differs is not the owner.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, rm, stat } from 'node:fs/promises';
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
  /** processIdentity(pid) when the lock was taken; absent in locks written before it was recorded. */
  identity: z.string().optional(),
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
  /** Who runs as a pid on this host now (processIdentity); replaceable in tests. */
  processIdentity?: (pid: number) => string | undefined;
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

/**
 * What tells one process from a later one with the same pid: the boot id and the process's start time
 * (field 22 of /proc/<pid>/stat, clock ticks since boot). Undefined where /proc has neither (not Linux,
 * or the pid is gone).
 */
export function processIdentity(pid: number): string | undefined {
  try {
    return identityFromProc(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'), readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The identity from the boot id file's text and a /proc/<pid>/stat line; undefined when either is malformed. */
export function identityFromProc(bootIdText: string, statText: string): string | undefined {
  const bootId = bootIdText.trim();
  // The command name (field 2) is in parentheses and may hold spaces and ')': the fields after it start
  // past the last ')'. Field 3 is the first of them, so field 22 is the 20th.
  const closing = statText.lastIndexOf(')');
  const startTicks = closing === -1 ? undefined : statText.slice(closing + 2).split(' ')[19];
  return bootId !== '' && startTicks !== undefined && /^\d+$/.test(startTicks) ? `${bootId}/${startTicks}` : undefined;
}

/**
 * Whether the lock's owner still runs: its pid is alive and, when the lock recorded who it was, the pid
 * is still that process (not a reused pid, not a pid from before a reboot).
 */
function ownerRuns(owner: LockOwner, alive: (pid: number) => boolean, identityOf: (pid: number) => string | undefined): boolean {
  if (!alive(owner.pid)) return false;
  if (owner.identity === undefined) return true;
  const now = identityOf(owner.pid);
  return now === undefined || now === owner.identity;
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

function takeoverError(dir: string, takeoverPath: string, holder: LockOwner | undefined): IntegrationError {
  const who = holder ? `process ${holder.pid} on ${holder.hostname}` : 'another process';
  return new IntegrationError(
    'state_locked',
    `The state directory ${dir} is being taken over from a stopped run by ${who}, which has not finished. ` +
      `Only one o365-message-trace may use a state directory at a time: try again in a moment. If no such process is running, delete ${takeoverPath}.`,
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

/** A takeover whose holder cannot be checked (unreadable, or from another host) is abandoned after this long. */
const ABANDONED_TAKEOVER_MS = 10_000;
/** How long to wait for another process's takeover to finish: it takes milliseconds when its holder runs. */
const TAKEOVER_WAIT_MS = 2_000;
const TAKEOVER_POLL_MS = 20;

interface Liveness {
  hostname: string;
  alive: (pid: number) => boolean;
  identityOf: (pid: number) => string | undefined;
}

/** Whether a lock (or takeover) record names a process on this host that no longer runs. */
function ownerGone(record: LockOwner, liveness: Liveness): boolean {
  return record.hostname === liveness.hostname && !ownerRuns(record, liveness.alive, liveness.identityOf);
}

/**
 * Whether the takeover file was left by a process that died in the middle of a takeover (a crash there,
 * or a SIGKILL, is as likely as anywhere else). Its holder is checked like a lock's owner; a holder that
 * cannot be checked is given ABANDONED_TAKEOVER_MS.
 */
async function takeoverAbandoned(takeoverPath: string, holder: LockOwner | undefined, liveness: Liveness): Promise<boolean> {
  if (holder !== undefined && holder.hostname === liveness.hostname) return ownerGone(holder, liveness);
  const age = await stat(takeoverPath).then((info) => Date.now() - info.mtimeMs).catch(() => 0);
  return age > ABANDONED_TAKEOVER_MS;
}

type Removal = { removed: true } | { removed: false; takeoverHolder: LockOwner | undefined };

/**
 * Removes a stale lock, if it is still the stale one. Only the holder of `lock.takeover` may remove a lock,
 * so two processes that both found the same stale lock cannot remove a lock the other has just created:
 * the live lock is never moved or removed by anyone but its owner. The takeover file is created complete
 * (as the lock is) with our record, so that a process finding it can tell a takeover in progress from one
 * whose holder died, and clear the latter. `removed: false` means another process is taking over now.
 */
async function removeStale(lockPath: string, stale: LockOwner, us: LockOwner, liveness: Liveness): Promise<Removal> {
  const takeoverPath = `${lockPath}.takeover`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (await tryCreate(takeoverPath, us)) {
      try {
        const current = await readOwner(lockPath);
        if (current !== undefined && current.token !== stale.token) return { removed: false, takeoverHolder: undefined };
        await rm(lockPath, { force: true });
        return { removed: true };
      } finally {
        await removeIfOurs(takeoverPath, us.token);
      }
    }
    const holder = await readOwner(takeoverPath);
    if (!(await takeoverAbandoned(takeoverPath, holder, liveness))) return { removed: false, takeoverHolder: holder };
    if (holder === undefined) await rm(takeoverPath, { force: true });
    else await removeIfOurs(takeoverPath, holder.token);
  }
  return { removed: false, takeoverHolder: await readOwner(takeoverPath) };
}

/** Removes a lock or takeover file if it still holds the record with this token. */
async function removeIfOurs(path: string, token: string): Promise<void> {
  if ((await readOwner(path))?.token === token) await rm(path, { force: true });
}

/** Resolves once the takeover file is gone, or after TAKEOVER_WAIT_MS. */
async function takeoverEnded(takeoverPath: string): Promise<boolean> {
  for (let waited = 0; waited < TAKEOVER_WAIT_MS; waited += TAKEOVER_POLL_MS) {
    if ((await stat(takeoverPath).catch(() => undefined)) === undefined) return true;
    await new Promise((resolveWait) => setTimeout(resolveWait, TAKEOVER_POLL_MS));
  }
  return false;
}

export async function acquireStateLock(dir: string, options: AcquireLockOptions = {}): Promise<StateLock> {
  const lockPath = join(dir, LOCK_FILE_NAME);
  const liveness: Liveness = {
    hostname: hostname(),
    alive: options.isProcessAlive ?? isProcessAlive,
    identityOf: options.processIdentity ?? processIdentity,
  };
  const identity = liveness.identityOf(process.pid);
  const owner: LockOwner = {
    pid: process.pid,
    hostname: liveness.hostname,
    startedAt: new Date((options.now ?? Date.now)()).toISOString(),
    token: randomBytes(8).toString('hex'),
    ...(identity === undefined ? {} : { identity }),
  };

  // A few rounds: after a stale lock is removed, or after another process's takeover of one has ended
  // (it then holds the lock, or died in the middle and left the lock stale again).
  for (let round = 0; round < 4; round += 1) {
    if (await tryCreate(lockPath, owner)) {
      await syncDirectory(dir);
      return createHeldLock(lockPath, owner);
    }
    const current = await readOwner(lockPath);
    // Released between our attempt and the read: try again.
    if (current === undefined && (await stat(lockPath).catch(() => undefined)) === undefined) continue;
    // A pid can be checked only on its own host; a lock from another host, or one we cannot read, is respected.
    if (current === undefined || !ownerGone(current, liveness)) throw lockedError(dir, lockPath, current);
    const removal = await removeStale(lockPath, current, owner, liveness);
    if (removal.removed) continue;
    if (!(await takeoverEnded(`${lockPath}.takeover`))) {
      throw takeoverError(dir, `${lockPath}.takeover`, removal.takeoverHolder);
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
