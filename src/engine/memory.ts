/**
 * An engine that keeps everything in memory: for tests, benchmarks and embedding. Its clock can be driven
 * (`advance`), and sleeping advances the clock instead of waiting, so retry schedules run instantly.
 */
import { realSleep } from './clock.js';
import type { Engine, EventMeta, JsonObject, Logger, LogLevel, TraceEvent } from './types.js';

export interface LogRecord {
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown> | undefined;
}

export interface MemoryEngineOptions {
  /** Epoch ms; when set the clock is virtual and only moves by `advance` and `sleep`. */
  startTimeMs?: number;
  lastRun?: JsonObject;
  integrationContext?: JsonObject;
  /** Make `sendEvents` fail, e.g. to test that state does not move. */
  failSendEvents?: (events: readonly TraceEvent[]) => Error | undefined;
}

export class MemoryEngine implements Engine {
  lastRun: JsonObject;
  integrationContext: JsonObject;
  readonly events: TraceEvent[] = [];
  readonly sends: { count: number; meta: EventMeta }[] = [];
  readonly logs: LogRecord[] = [];
  private virtualNowMs: number | undefined;
  private readonly failSendEvents: MemoryEngineOptions['failSendEvents'];

  readonly log: Logger = {
    debug: (message, fields) => this.record('debug', message, fields),
    info: (message, fields) => this.record('info', message, fields),
    warn: (message, fields) => this.record('warn', message, fields),
    error: (message, fields) => this.record('error', message, fields),
  };

  constructor(options: MemoryEngineOptions = {}) {
    this.virtualNowMs = options.startTimeMs;
    this.lastRun = structuredClone(options.lastRun ?? {});
    this.integrationContext = structuredClone(options.integrationContext ?? {});
    this.failSendEvents = options.failSendEvents;
  }

  private record(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.logs.push({ level, message, fields });
  }

  async getLastRun(): Promise<unknown> {
    return structuredClone(this.lastRun);
  }

  async setLastRun(state: JsonObject): Promise<void> {
    this.lastRun = structuredClone(state);
  }

  async getIntegrationContext(): Promise<unknown> {
    return structuredClone(this.integrationContext);
  }

  async setIntegrationContext(context: JsonObject): Promise<void> {
    this.integrationContext = structuredClone(context);
  }

  async sendEvents(events: readonly TraceEvent[], meta: EventMeta): Promise<void> {
    const failure = this.failSendEvents?.(events);
    if (failure) throw failure;
    this.events.push(...events);
    this.sends.push({ count: events.length, meta });
  }

  now(): number {
    return this.virtualNowMs ?? Date.now();
  }

  /** Moves a virtual clock forward (no effect on a real clock). */
  advance(ms: number): void {
    if (this.virtualNowMs !== undefined) this.virtualNowMs += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.virtualNowMs !== undefined) {
      this.virtualNowMs += ms;
      return;
    }
    await realSleep(ms, signal);
  }
}
