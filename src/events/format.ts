/**
 * The shapes events can leave the standalone CLI in (`--format`): `raw` is the event the engine gets
 * (the Graph row, `_time`, `direction`), `ecs` the Elastic Common Schema view, `ocsf` the OCSF Email
 * Activity view. Formatting happens where events are handed on, after every enrichment, so each format
 * carries the same facts.
 */
import { mapSentEvents } from '../engine/map-sent-events.js';
import type { Engine, TraceEvent } from '../engine/types.js';
import { toEcs } from './ecs.js';
import { toOcsf } from './ocsf.js';

export const EVENT_FORMATS = ['raw', 'ecs', 'ocsf'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

const MAPPERS: Record<Exclude<EventFormat, 'raw'>, (event: TraceEvent) => Record<string, unknown>> = {
  ecs: toEcs,
  ocsf: toOcsf,
};

export function formatEvent(event: TraceEvent, format: EventFormat): Record<string, unknown> {
  return format === 'raw' ? event : MAPPERS[format](event);
}

/**
 * The engine with `sendEvents` handing on formatted events; everything else is the engine's own. The
 * sinks only serialise what they get, so a formatted event travels where a TraceEvent would (it has no
 * `_time`: an ECS or OCSF consumer reads `@timestamp` or `time`).
 */
export function withEventFormat(engine: Engine, format: EventFormat): Engine {
  if (format === 'raw') return engine;
  return mapSentEvents(engine, (events) => events.map((event) => formatEvent(event, format) as TraceEvent));
}
