/**
 * An engine that changes events on their way to the real one: `sendEvents` first applies `map`, the rest
 * is the engine's own. Enrichment (direction) and formatting (--format) use it, so the fetch loop and
 * the sinks stay unaware of either.
 */
import type { Engine, TraceEvent } from './types.js';

export function mapSentEvents(engine: Engine, map: (events: readonly TraceEvent[]) => readonly TraceEvent[]): Engine {
  return withSendEvents(engine, (events, meta) => engine.sendEvents(map(events), meta));
}

/** The engine with `onAccepted` told of each batch once the engine accepted it (counting what a run delivered). */
export function observeSentEvents(engine: Engine, onAccepted: (events: readonly TraceEvent[]) => void): Engine {
  return withSendEvents(engine, async (events, meta) => {
    await engine.sendEvents(events, meta);
    onAccepted(events);
  });
}

function withSendEvents(engine: Engine, sendEvents: Engine['sendEvents']): Engine {
  const sleep = engine.sleep;
  return {
    getLastRun: () => engine.getLastRun(),
    setLastRun: (state) => engine.setLastRun(state),
    getIntegrationContext: () => engine.getIntegrationContext(),
    setIntegrationContext: (context) => engine.setIntegrationContext(context),
    sendEvents,
    log: engine.log,
    now: () => engine.now(),
    ...(sleep ? { sleep: (ms: number, signal?: AbortSignal) => sleep.call(engine, ms, signal) } : {}),
  };
}
