/**
 * The local file engine, the embedded default: state lives in a directory (default
 * ./.o365-message-trace/) that one process at a time may use.
 *
 *   lock                      who holds the directory (pid, host, start time)
 *   last-run.json             the fetch position, replaced atomically
 *   integration-context.json  token cache and other per-instance data, replaced atomically, 0600;
 *                             AES-256-GCM sealed when a state key is configured (standalone/state-crypto.ts)
 *   events.ndjson             collected events, one per line (the default sink)
 *
 * A state file that does not parse is an error naming the file, never a silent fresh start: a fresh start
 * would re-collect or skip days of mail.
 */
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { IntegrationError, isIntegrationError } from '../errors.js';
import { type StateKey, loadStateKey, looksSealed, openSealed, sealText } from './state-crypto.js';
import { PRIVATE_DIR_MODE, type AtomicWriteOptions, sweepTempFiles, writeFileAtomic } from './atomic.js';
import { acquireStateLock, type StateLock } from './lock.js';
import type { EventSink } from './sink.js';
import { EVENTS_FILE_NAME, createNdjsonFileSink } from './sinks/ndjson-file.js';
import { createStderrLogger } from './stderr-logger.js';
import type { Engine, EventMeta, JsonObject, Logger, TraceEvent } from '../engine/types.js';

export const DEFAULT_STATE_DIR = '.o365-message-trace';
export const LAST_RUN_FILE_NAME = 'last-run.json';
export const INTEGRATION_CONTEXT_FILE_NAME = 'integration-context.json';

export interface FileEngineOptions {
  /** State directory; default ./.o365-message-trace (relative to the working directory). */
  dir?: string;
  /** Where events go; default events.ndjson in the state directory. The engine closes it on close(). */
  sink?: EventSink;
  /** Default: structured lines on stderr, level from O365MT_LOG_LEVEL (info when unset). */
  log?: Logger;
  now?: () => number;
  /** Test seam: the rename step of atomic writes. */
  atomicWrite?: AtomicWriteOptions;
  /**
   * The state key file (state_key_file / O365MT_STATE_KEY_FILE). With it, integration-context.json (the
   * tokens) is encrypted at rest, and a plaintext one is encrypted when the engine opens. last-run.json
   * holds no secret and stays plain, so the fetch position is readable whatever happens to the key.
   */
  stateKeyFile?: string | undefined;
}

export interface FileEngine extends Engine {
  /** Absolute path of the state directory. */
  readonly dir: string;
  readonly sink: EventSink;
  /** Closes the sink and releases the lock. Safe to call twice. */
  close(): Promise<void>;
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function describeFsError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates `dir` and missing parents, 0700; true when `dir` itself was created. Not `mkdir({recursive: true})`:
 * on Node 20 that never settles where mkdir answers ENOENT under an existing parent (`--state-dir /proc/x`).
 * One level per call, so it ends after at most the path's depth.
 */
async function makeDirectory(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { mode: PRIVATE_DIR_MODE });
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    const parent = dirname(dir);
    if (!isErrno(error, 'ENOENT') || parent === dir) throw error;
    await makeDirectory(parent);
    await mkdir(dir, { mode: PRIVATE_DIR_MODE });
    return true;
  }
}

/** Creates the directory 0700, or checks an existing one is not readable by others. */
async function prepareDirectory(dir: string, log: Logger): Promise<void> {
  try {
    const created = await makeDirectory(dir);
    // Only a directory we created is chmod'ed: pointing --state-dir at an existing folder must not change it.
    if (created) await chmod(dir, PRIVATE_DIR_MODE);
    const info = await stat(dir);
    if (!info.isDirectory()) throw new Error('it is not a directory');
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      log.warn('The state directory is readable by other users; it holds tokens. Run chmod 700 on it.', {
        dir,
        mode: (info.mode & 0o777).toString(8),
      });
    }
  } catch (error) {
    throw new IntegrationError(
      'state_invalid',
      `Cannot use the state directory ${dir}: ${describeFsError(error)}. Choose a writable directory with --state-dir.`,
      { cause: error },
    );
  }
}

class LocalFileEngine implements FileEngine {
  private closed = false;
  /** Per-file write chains, so two writes of the same file land in call order. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    readonly dir: string,
    readonly sink: EventSink,
    readonly log: Logger,
    private readonly clock: () => number,
    private readonly lock: StateLock,
    private readonly atomicWrite: AtomicWriteOptions,
    private readonly stateKey: StateKey | undefined,
  ) {}

  now(): number {
    return this.clock();
  }

  async getLastRun(): Promise<unknown> {
    return await this.readState(LAST_RUN_FILE_NAME);
  }

  async setLastRun(state: JsonObject): Promise<void> {
    await this.writeState(LAST_RUN_FILE_NAME, state);
  }

  async getIntegrationContext(): Promise<unknown> {
    return await this.readState(INTEGRATION_CONTEXT_FILE_NAME);
  }

  async setIntegrationContext(context: JsonObject): Promise<void> {
    await this.writeState(INTEGRATION_CONTEXT_FILE_NAME, context);
  }

  async sendEvents(events: readonly TraceEvent[], meta: EventMeta): Promise<void> {
    this.assertOpen();
    try {
      await this.sink.send(events, meta);
    } catch (error) {
      if (isIntegrationError(error)) throw error;
      throw new IntegrationError(
        'sink_failed',
        `The ${this.sink.name} sink did not accept ${events.length} events: ${describeFsError(error)}. The fetch position did not move.`,
        { cause: error },
      );
    }
    this.log.debug('Events handed to the sink', { sink: this.sink.name, count: events.length });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await Promise.all(this.writes.values());
      await this.sink.close?.();
    } finally {
      await this.lock.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new IntegrationError('internal', `The file engine for ${this.dir} was used after it was closed.`);
  }

  private async readState(fileName: string): Promise<unknown> {
    this.assertOpen();
    await this.writes.get(fileName);
    const path = join(this.dir, fileName);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return {};
      throw new IntegrationError('state_invalid', `Cannot read ${path}: ${describeFsError(error)}. Check its permissions.`, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw this.invalidState(path, 'is not valid JSON', error);
    }
    if (fileName === INTEGRATION_CONTEXT_FILE_NAME && looksSealed(parsed)) {
      try {
        parsed = JSON.parse(openSealed(parsed, this.stateKey, fileName, path));
      } catch (error) {
        if (isIntegrationError(error)) throw error;
        throw this.invalidState(path, 'decrypts to something that is not JSON', error);
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw this.invalidState(path, 'does not hold a JSON object');
    }
    return parsed;
  }

  /** Encrypts a plaintext integration context left from a run without a key (first run with a key). */
  async sealPlaintextContext(): Promise<boolean> {
    if (this.stateKey === undefined) return false;
    const path = join(this.dir, INTEGRATION_CONTEXT_FILE_NAME);
    const text = await readFile(path, 'utf8').catch((error: unknown) => (isErrno(error, 'ENOENT') ? undefined : Promise.reject(error)));
    if (text === undefined) return false;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return false; // reported, with what to do, by the first read
    }
    if (looksSealed(raw)) return false;
    await this.writeState(INTEGRATION_CONTEXT_FILE_NAME, (await this.readState(INTEGRATION_CONTEXT_FILE_NAME)) as JsonObject);
    return true;
  }

  private invalidState(path: string, problem: string, cause?: unknown): IntegrationError {
    const consequence =
      path.endsWith(LAST_RUN_FILE_NAME)
        ? 'Deleting it makes the next fetch start again from first_fetch (events may be collected twice or missed).'
        : 'Deleting it clears saved tokens; the next run signs in again.';
    return new IntegrationError(
      'state_invalid',
      `The state file ${path} ${problem}. Restore it from a backup, or delete it (or the whole directory ${this.dir}) to reset. ${consequence}`,
      { cause },
    );
  }

  private writeState(fileName: string, value: JsonObject): Promise<void> {
    this.assertOpen();
    const path = join(this.dir, fileName);
    // Serialised now, so a caller mutating the object afterwards cannot change what is written.
    const plain = JSON.stringify(value, null, 2);
    const key = fileName === INTEGRATION_CONTEXT_FILE_NAME ? this.stateKey : undefined;
    const content = `${key ? JSON.stringify(sealText(key, fileName, plain), null, 2) : plain}\n`;
    const previous = this.writes.get(fileName) ?? Promise.resolve();
    const write = previous
      .catch(() => undefined)
      .then(() => writeFileAtomic(path, content, this.atomicWrite))
      .catch((error: unknown) => {
        throw new IntegrationError('state_invalid', `Cannot save ${path}: ${describeFsError(error)}. Check free disk space and permissions.`, {
          cause: error,
        });
      });
    const settled = write.catch(() => undefined);
    this.writes.set(fileName, settled);
    void settled.then(() => {
      if (this.writes.get(fileName) === settled) this.writes.delete(fileName);
    });
    return write;
  }
}

export async function openFileEngine(options: FileEngineOptions = {}): Promise<FileEngine> {
  const dir = resolve(options.dir ?? DEFAULT_STATE_DIR);
  const log = options.log ?? createStderrLogger();
  const now = options.now ?? Date.now;
  // A bad key file is refused before the directory is created or locked.
  const stateKey = options.stateKeyFile === undefined ? undefined : await loadStateKey(options.stateKeyFile);
  await prepareDirectory(dir, log);
  const lock = await acquireStateLock(dir, { now }).catch((error: unknown) => {
    if (isIntegrationError(error)) throw error;
    throw new IntegrationError(
      'state_invalid',
      `Cannot create the lock file in the state directory ${dir}: ${describeFsError(error)}. Choose a writable local directory with --state-dir.`,
      { cause: error },
    );
  });
  try {
    const leftovers = await sweepTempFiles(dir);
    if (leftovers.length > 0) log.info('Removed temp files of an interrupted write', { dir, count: leftovers.length });
    const sink = options.sink ?? createNdjsonFileSink({ path: join(dir, EVENTS_FILE_NAME), log });
    log.debug('State directory opened', { dir, sink: sink.name, encrypted: stateKey !== undefined });
    const engine = new LocalFileEngine(dir, sink, log, now, lock, options.atomicWrite ?? {}, stateKey);
    await engine.sealPlaintextContext().then(
      (sealed) => sealed && log.info('Encrypted the saved tokens with the state key', { file: INTEGRATION_CONTEXT_FILE_NAME, keyId: stateKey?.id }),
      // Not fatal: the next token write seals the file anyway.
      (error: unknown) => log.warn('Could not encrypt the saved tokens yet; the next write will', { message: describeFsError(error) }),
    );
    return engine;
  } catch (error) {
    await lock.release();
    throw error;
  }
}
