/**
 * An engine that changes events on their way to the real one: `sendEvents` first applies `map`, the rest
 * is the engine's own. Enrichment (direction) and formatting (--format) use it, so the fetch loop and
 * the sinks stay unaware of either.
 */
import type { Engine, EventMeta, TraceEvent } from './types.js';

export function mapSentEvents(engine: Engine, map: (events: readonly TraceEvent[]) => readonly TraceEvent[]): Engine {
  const sleep = engine.sleep;
  return {
    getLastRun: () => engine.getLastRun(),
    setLastRun: (state) => engine.setLastRun(state),
    getIntegrationContext: () => engine.getIntegrationContext(),
    setIntegrationContext: (context) => engine.setIntegrationContext(context),
    sendEvents: (events: readonly TraceEvent[], meta: EventMeta) => engine.sendEvents(map(events), meta),
    log: engine.log,
    now: () => engine.now(),
    ...(sleep ? { sleep: (ms: number, signal?: AbortSignal) => sleep.call(engine, ms, signal) } : {}),
  };
}
