/**
 * The default sink: appends one JSON event per line to a file (the state directory's events.ndjson) and
 * fsyncs before `send` resolves, so the fetch position only moves past events that are on disk.
 *
 * A crash in the middle of an append can leave a torn last line. Those events were never acknowledged
 * (the fetch position did not move), so on open the torn tail is cut off and they are fetched again.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { IntegrationError } from '../../errors.js';
import { PRIVATE_FILE_MODE, syncDirectory } from '../atomic.js';
import type { EventSink } from '../sink.js';
import type { EventMeta, Logger, TraceEvent } from '../../engine/types.js';

export const EVENTS_FILE_NAME = 'events.ndjson';

/** The file operations the sink needs; tests wrap them to observe the write → fsync order. */
export interface AppendFile {
  write(data: Buffer): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface NdjsonFileSinkOptions {
  path: string;
  log?: Logger;
  /** Opens the file for appending; the default opens it 0600 and repairs a torn tail. */
  openFile?: (path: string) => Promise<AppendFile>;
}

export function serializeEvents(events: readonly TraceEvent[]): Buffer {
  return Buffer.from(events.map((event) => `${JSON.stringify(event)}\n`).join(''), 'utf8');
}

/** Length of the file up to and including its last newline. */
async function lengthOfWholeLines(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline !== -1) return start + newline + 1;
    end = start;
  }
  return 0;
}

async function openForAppend(path: string, log: Logger | undefined): Promise<AppendFile> {
  // O_APPEND: every write lands at the end, wherever a previous (failed) write left off.
  const handle = await open(path, 'a+', PRIVATE_FILE_MODE);
  await handle.chmod(PRIVATE_FILE_MODE);
  const { size } = await handle.stat();
  let endOfFile = size;
  if (size > 0) {
    endOfFile = await lengthOfWholeLines(handle, size);
    if (endOfFile < size) {
      await handle.truncate(endOfFile);
      await handle.sync();
      log?.warn('Removed an incomplete last line from the events file (a write was interrupted; those events are fetched again)', {
        file: path,
        bytes: size - endOfFile,
      });
    }
  } else {
    await syncDirectory(dirname(path));
  }
  return {
    async write(data) {
      const batchStart = endOfFile;
      try {
        let offset = 0;
        while (offset < data.length) {
          const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
          offset += bytesWritten;
          endOfFile += bytesWritten;
        }
      } catch (error) {
        // A half-written batch (disk full) would glue the next batch onto a torn line: cut it off.
        endOfFile = batchStart;
        await handle.truncate(batchStart).catch(() => undefined);
        throw error;
      }
    },
    sync: () => handle.sync(),
    close: () => handle.close(),
  };
}

export function createNdjsonFileSink(options: NdjsonFileSinkOptions): EventSink {
  const openFile = options.openFile ?? ((path: string) => openForAppend(path, options.log));
  let file: AppendFile | undefined;
  // Sends run one after another so lines of two batches never interleave.
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const appendBatch = async (events: readonly TraceEvent[]): Promise<void> => {
    if (events.length === 0) return;
    try {
      file ??= await openFile(options.path);
      await file.write(serializeEvents(events));
      await file.sync();
    } catch (error) {
      throw new IntegrationError(
        'sink_failed',
        `Could not write ${events.length} events to ${options.path}: ${(error as Error).message}. Check free disk space and the file's permissions; the fetch position did not move.`,
        { cause: error },
      );
    }
  };

  return {
    name: 'file',
    send(events: readonly TraceEvent[], _meta: EventMeta): Promise<void> {
      if (closed) return Promise.reject(new IntegrationError('internal', 'The events file sink was used after it was closed.'));
      const batch = queue.then(() => appendBatch(events));
      queue = batch.catch(() => undefined);
      return batch;
    },
    async close() {
      closed = true;
      await queue;
      await file?.close();
      file = undefined;
    },
  };
}
