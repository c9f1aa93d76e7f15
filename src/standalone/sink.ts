import type { EventMeta, TraceEvent } from '../engine/types.js';

/**
 * Where the file engine hands events: the state directory's events.ndjson (default), stdout, or an XSIAM
 * HTTP collector. `send` resolves only once every event is durably accepted.
 */
export interface EventSink {
  readonly name: string;
  send(events: readonly TraceEvent[], meta: EventMeta): Promise<void>;
  close?(): Promise<void>;
}
