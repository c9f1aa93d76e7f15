/**
 * The facts of one trace event that the ECS and OCSF views share, read once from the raw event (the Graph
 * row plus `_time` and `direction`). Values are kept only when they are what their name says: an address
 * with an @, an IP address that parses. Graph writes `""` for a missing IP (inbound mail has no `toIP`),
 * and a schema field typed as an IP or address must not hold that.
 */
import { isIP } from 'node:net';
import type { TraceEvent } from '../engine/types.js';
import { DIRECTIONS, type Direction } from '../graph/direction.js';

export type { Direction };

/** How a delivery status ended for the recipient, as both schemas say it. */
export type Outcome = 'success' | 'failure' | 'unknown';

export interface TraceFacts {
  /** Graph's message trace id (shared by the rows of one message). */
  traceId: string;
  /** One event's identity: trace id, recipient and status, as the dedup key. */
  eventId: string;
  timeIso: string;
  timeMs: number;
  /** Lower-case status as Graph spells it in v1.0 (`delivered`, `filteredAsSpam` → `filteredasspam`). */
  status: string;
  /** The status with Graph's casing, for display. */
  statusText: string;
  outcome: Outcome;
  direction: Direction;
  sender: string | undefined;
  recipient: string | undefined;
  subject: string | undefined;
  messageId: string | undefined;
  size: number | undefined;
  fromIp: string | undefined;
  toIp: string | undefined;
  /** The raw event as one JSON line, for `event.original` / `raw_data`. */
  original: string;
}

const OUTCOMES: Record<string, Outcome> = {
  delivered: 'success',
  expanded: 'success',
  // Delivered, to the Junk Email folder.
  filteredasspam: 'success',
  failed: 'failure',
  // Held back, not delivered.
  quarantined: 'failure',
};

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function address(value: unknown): string | undefined {
  const candidate = text(value);
  return candidate !== undefined && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(candidate) ? candidate : undefined;
}

function ip(value: unknown): string | undefined {
  const candidate = text(value);
  return candidate !== undefined && isIP(candidate) !== 0 ? candidate : undefined;
}

function direction(value: unknown): Direction {
  return (DIRECTIONS as readonly unknown[]).includes(value) ? (value as Direction) : 'unknown';
}

/**
 * The facts of one detail event (src/details/event.ts): one processing step of a traced row. The trace's
 * own facts (addresses, direction, message id) come from the row the step belongs to.
 */
/** What trace and detail events both say about the message. */
export type MessageFacts = Pick<TraceFacts, 'traceId' | 'timeIso' | 'timeMs' | 'direction' | 'sender' | 'recipient' | 'messageId' | 'original'>;

export interface DetailFacts extends MessageFacts {
  /** trace id / recipient / step, as `detailKey`. */
  eventId: string;
  /** Graph's name for the step (`Receive`, `Fail`, `Quarantine`…). */
  step: string;
  sequence: number | undefined;
  description: string | undefined;
}

export function detailFacts(event: TraceEvent): DetailFacts {
  return {
    traceId: String(event.traceId ?? ''),
    eventId: String(event.detailKey ?? ''),
    timeIso: event._time,
    timeMs: Date.parse(event._time),
    direction: direction(event.direction),
    sender: address(event.senderAddress),
    recipient: address(event.recipientAddress),
    messageId: text(event.messageId),
    step: text(event.event) ?? 'unknown',
    sequence: typeof event.step === 'number' && Number.isSafeInteger(event.step) ? event.step : undefined,
    description: text(event.description),
    original: JSON.stringify(event),
  };
}

export function traceFacts(event: TraceEvent): TraceFacts {
  const traceId = String(event.id ?? '');
  const statusText = text(event.status) ?? 'unknown';
  const status = statusText.toLowerCase();
  const recipient = address(event.recipientAddress);
  const timeMs = Date.parse(event._time);
  return {
    traceId,
    eventId: `${traceId}/${text(event.recipientAddress) ?? ''}/${status}`,
    timeIso: event._time,
    timeMs,
    status,
    statusText,
    outcome: OUTCOMES[status] ?? 'unknown',
    direction: direction(event.direction),
    sender: address(event.senderAddress),
    recipient,
    subject: text(event.subject),
    messageId: text(event.messageId),
    size: typeof event.size === 'number' && Number.isSafeInteger(event.size) && event.size >= 0 ? event.size : undefined,
    fromIp: ip(event.fromIP),
    toIp: ip(event.toIP),
    original: JSON.stringify(event),
  };
}

/** Drops `undefined` members so the JSON carries no empty keys. */
export function compact<T extends Record<string, unknown>>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
