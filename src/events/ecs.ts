/**
 * A trace event in the Elastic Common Schema (ECS 9): `@timestamp`, `email.*`, `event.*`, `source.ip`,
 * `destination.ip`, `related.ip`, `observer.*`. ECS has no delivery-status field: the status is
 * `event.action` and its result `event.outcome`. Graph's other fields (size included) travel unchanged in
 * `event.original`. A test checks every field and type against Elastic's published definitions
 * (@elastic/ecs), so a name ECS does not define cannot slip in.
 * https://www.elastic.co/guide/en/ecs/current/ecs-email.html
 */
import type { TraceEvent } from '../engine/types.js';
import { isDetailEvent } from '../details/event.js';
import { type MessageFacts, compact, detailFacts, traceFacts } from './fields.js';

/** The ECS release the mapping was checked against. */
export const ECS_VERSION = '9.4.0';
export const ECS_DATASET = 'o365_message_trace.trace';
export const ECS_DETAIL_DATASET = 'o365_message_trace.detail';

export function toEcs(event: TraceEvent): Record<string, unknown> {
  return isDetailEvent(event) ? detailToEcs(event) : traceToEcs(event);
}

/** The `email.*` fields trace and detail events share. */
function emailFields(facts: MessageFacts) {
  return {
    direction: facts.direction,
    from: facts.sender === undefined ? undefined : { address: [facts.sender] },
    to: facts.recipient === undefined ? undefined : { address: [facts.recipient] },
    message_id: facts.messageId,
    local_id: facts.traceId || undefined,
  };
}

/** A detail event: the step is `event.action`, its place `event.sequence`, Graph's description `message`. */
function detailToEcs(event: TraceEvent): Record<string, unknown> {
  const facts = detailFacts(event);
  return compact({
    '@timestamp': facts.timeIso,
    ecs: { version: ECS_VERSION },
    message: facts.description,
    event: compact({
      kind: 'event',
      category: ['email'],
      type: ['info'],
      action: facts.step,
      dataset: ECS_DETAIL_DATASET,
      id: facts.eventId,
      sequence: facts.sequence,
      original: facts.original,
    }),
    email: compact(emailFields(facts)),
    observer: { vendor: 'Microsoft', product: 'Exchange Online' },
  });
}

function traceToEcs(event: TraceEvent): Record<string, unknown> {
  const facts = traceFacts(event);
  const ips = [facts.fromIp, facts.toIp].filter((ip): ip is string => ip !== undefined);
  return compact({
    '@timestamp': facts.timeIso,
    ecs: { version: ECS_VERSION },
    event: compact({
      kind: 'event',
      category: ['email'],
      type: ['info'],
      action: facts.statusText,
      outcome: facts.outcome,
      dataset: ECS_DATASET,
      id: facts.eventId,
      original: facts.original,
    }),
    email: compact({ ...emailFields(facts), subject: facts.subject, delivery_timestamp: facts.timeIso }),
    source: facts.fromIp === undefined ? undefined : { ip: facts.fromIp },
    destination: facts.toIp === undefined ? undefined : { ip: facts.toIp },
    related: ips.length === 0 ? undefined : { ip: [...new Set(ips)] },
    observer: { vendor: 'Microsoft', product: 'Exchange Online' },
  });
}
