/**
 * Writes events as NDJSON to stdout, for piping into another tool. `send` resolves only once the stream
 * has handed the data on (the write callback), so a closed pipe fails the send and the fetch position
 * does not move.
 */
import { IntegrationError } from '../../errors.js';
import type { EventSink } from '../sink.js';
import type { EventMeta, TraceEvent } from '../../engine/types.js';
import { serializeEvents } from './ndjson-file.js';

export interface StdoutSinkOptions {
  stream?: NodeJS.WritableStream;
}

export function createStdoutSink(options: StdoutSinkOptions = {}): EventSink {
  const stream = options.stream ?? process.stdout;
  let queue: Promise<void> = Promise.resolve();
  // A closed pipe (EPIPE) also arrives as an 'error' event, which would crash the process unhandled; the
  // write callback below already turns it into a failed send.
  const ignoreStreamError = (): void => undefined;
  stream.on('error', ignoreStreamError);

  const writeBatch = (events: readonly TraceEvent[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (events.length === 0) {
        resolve();
        return;
      }
      stream.write(serializeEvents(events), (error) => {
        if (!error) {
          resolve();
          return;
        }
        reject(
          new IntegrationError(
            'sink_failed',
            `Could not write ${events.length} events to stdout: ${error.message}. Is the program reading the output still running? The fetch position did not move.`,
            { cause: error },
          ),
        );
      });
    });

  return {
    name: 'stdout',
    send(events: readonly TraceEvent[], _meta: EventMeta): Promise<void> {
      const batch = queue.then(() => writeBatch(events));
      queue = batch.catch(() => undefined);
      return batch;
    },
    async close() {
      await queue;
      stream.removeListener('error', ignoreStreamError);
    },
  };
}
