/**
 * The engine contract: what the integration needs from whatever runs it (an XSIAM-style engine, the local
 * file engine, or a test). Everything is async so an engine may persist remotely.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One collected event: the Graph row with every field, plus `_time`. */
export type TraceEvent = Record<string, unknown> & { _time: string };

export interface EventMeta {
  vendor: 'microsoft';
  product: 'o365_message_trace';
}

export const EVENT_META: EventMeta = { vendor: 'microsoft', product: 'o365_message_trace' };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logger. Fields must never hold secrets; callers pass facts (counts, ids, windows). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface Engine {
  /** Last-run state of fetch-events; `{}` when there is none. Parsed by the caller, never trusted. */
  getLastRun(): Promise<unknown>;
  /** Replaces the last-run state. Called only after the events it covers were handed to `sendEvents`. */
  setLastRun(state: JsonObject): Promise<void>;
  /** Per-instance storage shared by every command (token cache, request budget). `{}` when empty. */
  getIntegrationContext(): Promise<unknown>;
  setIntegrationContext(context: JsonObject): Promise<void>;
  /** Resolves only once the events are durably accepted; rejects otherwise (then state must not move). */
  sendEvents(events: readonly TraceEvent[], meta: EventMeta): Promise<void>;
  readonly log: Logger;
  /** The current time in epoch milliseconds. Tests and benchmarks drive it; production uses Date.now. */
  now(): number;
  /**
   * Waits `ms` milliseconds of engine time, or rejects when `signal` aborts. Engines on a virtual clock
   * advance their clock instead of sleeping. Optional: the integration falls back to a real timer.
   */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

/** An engine the caller must close when the command is done (a local one holds the state directory's lock). */
export type ClosableEngine = Engine & { close(): Promise<void> };

/**
 * An engine not opened yet. `main` checks a command's input first and opens the engine only then, so bad
 * input never locks or touches state; the checks may ask the clock and whether a fetch position is saved.
 */
export interface EngineOpener {
  now(): number;
  /** Whether a fetch position is saved, answered without opening (or locking) the state. */
  hasSavedRun(): Promise<boolean>;
  /** `stateKeyFile`: the state_key_file parameter, as parsed. */
  open(options: { stateKeyFile: string | undefined }): Promise<ClosableEngine>;
}

/** What a command resolves to when it worked: the shape an XSIAM engine's `return_results` expects. */
export interface CommandResult {
  readableOutput: string;
  outputs?: unknown;
  outputsPrefix?: string;
  outputsKeyField?: string;
  rawResponse?: unknown;
  /** fetch-events only: ask the engine to run again at once (backlog left). */
  nextTrigger?: '0';
}

/** What a command resolves to when it failed: the shape of `return_error`. */
export interface CommandError {
  error: { code: string; message: string };
}

export type CommandOutcome = CommandResult | CommandError;

export function isCommandError(outcome: CommandOutcome): outcome is CommandError {
  return 'error' in outcome;
}
