/** Public surface of the package. */
export { main, COMMAND_NAMES } from './main.js';
export type { FetchEventsOutcome, MainOptions } from './main.js';
export type {
  ClosableEngine,
  CommandError,
  CommandOutcome,
  CommandResult,
  Engine,
  EngineOpener,
  EventMeta,
  JsonObject,
  JsonValue,
  Logger,
  TraceEvent,
} from './engine/types.js';
export { EVENT_META, isCommandError } from './engine/types.js';
export { MemoryEngine } from './engine/memory.js';
export { DEFAULT_STATE_DIR, openFileEngine } from './standalone/file-engine.js';
export type { FileEngine, FileEngineOptions } from './standalone/file-engine.js';
export type { EventSink } from './standalone/sink.js';
export { createNdjsonFileSink } from './standalone/sinks/ndjson-file.js';
export { createStdoutSink } from './standalone/sinks/stdout.js';
export { createStderrLogger } from './standalone/stderr-logger.js';
export { IntegrationError } from './errors.js';
export type { ErrorCode } from './errors.js';
