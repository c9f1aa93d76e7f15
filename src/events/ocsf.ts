/**
 * A trace event as an OCSF Email Activity event (class 4009, category Network Activity), activity 4
 * "Trace", the activity OCSF defines for following a message as Office 365 message trace does. One row is
 * one message to one recipient: `email.to` and the envelope `to` hold that recipient, `status_id` is how
 * delivery ended for them (Graph's own word in `status_code`), and the Graph row is kept whole in
 * `raw_data`. A test checks every event against the OCSF schema files (attributes, types, required ones,
 * enum ids). https://schema.ocsf.io/classes/email_activity
 */
import type { TraceEvent } from '../engine/types.js';
import { isDetailEvent } from '../details/event.js';
import { type Direction, type MessageFacts, type Outcome, compact, detailFacts, traceFacts } from './fields.js';

/** The OCSF schema release the mapping was checked against (test/fixtures/ocsf-schema/version.json, a copy of the schema data). */
export const OCSF_SCHEMA_VERSION = '1.9.0-dev';

const CATEGORY_UID = 4;
const CLASS_UID = 4009;
const ACTIVITY_TRACE = 4;

/** direction_id of Email Activity: 0 Unknown, 1 Inbound, 2 Outbound, 3 Internal. */
const DIRECTION_IDS: Record<Direction, { id: number; caption: string }> = {
  unknown: { id: 0, caption: 'Unknown' },
  inbound: { id: 1, caption: 'Inbound' },
  outbound: { id: 2, caption: 'Outbound' },
  internal: { id: 3, caption: 'Internal' },
};

/** status_id: 0 Unknown, 1 Success, 2 Failure; `status` is the caption, as the schema asks. */
const STATUS_IDS: Record<Outcome, { id: number; caption: string }> = {
  unknown: { id: 0, caption: 'Unknown' },
  success: { id: 1, caption: 'Success' },
  failure: { id: 2, caption: 'Failure' },
};

const CLASS_FIELDS = {
  activity_id: ACTIVITY_TRACE,
  activity_name: 'Trace',
  category_uid: CATEGORY_UID,
  category_name: 'Network Activity',
  class_uid: CLASS_UID,
  class_name: 'Email Activity',
  type_uid: CLASS_UID * 100 + ACTIVITY_TRACE,
  type_name: 'Email Activity: Trace',
  severity_id: 1,
  severity: 'Informational',
};

const PRODUCT = { name: 'Exchange Online', vendor_name: 'Microsoft', feature: { name: 'Message Trace' } };

/** What trace and detail events share: the class, the time, the direction, the trace id, the addresses. */
function commonFields(facts: MessageFacts) {
  const direction = DIRECTION_IDS[facts.direction];
  return {
    ...CLASS_FIELDS,
    time: facts.timeMs,
    timezone_offset: 0,
    direction_id: direction.id,
    direction: direction.caption,
    message_trace_uid: facts.traceId || undefined,
    from: facts.sender,
    to: facts.recipient === undefined ? undefined : [facts.recipient],
  };
}

export function toOcsf(event: TraceEvent): Record<string, unknown> {
  return isDetailEvent(event) ? detailToOcsf(event) : traceToOcsf(event);
}

/**
 * A detail event: also a Trace activity of the same message and recipient, one processing step. The step
 * is `status_code`, Graph's description `status_detail`; how delivery ended is the trace event's to say.
 */
function detailToOcsf(event: TraceEvent): Record<string, unknown> {
  const facts = detailFacts(event);
  const recipients = facts.recipient === undefined ? undefined : [facts.recipient];
  return compact({
    ...commonFields(facts),
    email: compact({ from: facts.sender, to: recipients, message_uid: facts.messageId }),
    status_id: STATUS_IDS.unknown.id,
    status: STATUS_IDS.unknown.caption,
    status_code: facts.step,
    status_detail: facts.description,
    metadata: { version: OCSF_SCHEMA_VERSION, uid: facts.eventId, original_time: facts.timeIso, product: PRODUCT },
    raw_data: facts.original,
  });
}

function traceToOcsf(event: TraceEvent): Record<string, unknown> {
  const facts = traceFacts(event);
  const status = STATUS_IDS[facts.outcome];
  const recipients = facts.recipient === undefined ? undefined : [facts.recipient];
  return compact({
    ...commonFields(facts),
    email: compact({
      from: facts.sender,
      to: recipients,
      subject: facts.subject,
      message_uid: facts.messageId,
      size: facts.size,
    }),
    src_endpoint: facts.fromIp === undefined ? undefined : { ip: facts.fromIp },
    dst_endpoint: facts.toIp === undefined ? undefined : { ip: facts.toIp },
    status_id: status.id,
    status: status.caption,
    status_code: facts.statusText,
    metadata: {
      version: OCSF_SCHEMA_VERSION,
      uid: facts.eventId,
      original_time: facts.timeIso,
      product: PRODUCT,
    },
    raw_data: facts.original,
  });
}
