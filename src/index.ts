/** Public surface of the package. */
export { main, COMMAND_NAMES } from './main.js';
export type {
  CommandError,
  CommandOutcome,
  CommandResult,
  Engine,
  EventMeta,
  JsonObject,
  JsonValue,
  Logger,
  TraceEvent,
} from './engine/types.js';
export { EVENT_META, isCommandError } from './engine/types.js';
export { MemoryEngine } from './engine/memory.js';
export { IntegrationError } from './errors.js';
export type { ErrorCode } from './errors.js';
