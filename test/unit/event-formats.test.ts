/**
 * The ECS and OCSF views of a trace event, checked against Elastic's published ECS field definitions and
 * the OCSF schema files; and the checks themselves shown able to fail.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EcsVersion } from '@elastic/ecs';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { EVENT_META, type TraceEvent } from '../../src/engine/types.js';
import { ECS_VERSION, toEcs } from '../../src/events/ecs.js';
import { formatEvent, withEventFormat } from '../../src/events/format.js';
import { OCSF_SCHEMA_VERSION, toOcsf } from '../../src/events/ocsf.js';
import { checkEcsEvent } from '../helpers/ecs-check.js';
import { OcsfSchema, findOcsfSchemaDir } from '../helpers/ocsf-check.js';

const ocsf = new OcsfSchema();

function traceEvent(overrides: Record<string, unknown> = {}): TraceEvent {
  return {
    id: '4c9f1d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    messageId: '<a1b2c3@mail.fabrikam.com>',
    receivedDateTime: '2026-11-30T08:15:42.1234567Z',
    senderAddress: 'alice@fabrikam.com',
    recipientAddress: 'bob@contoso.com',
    subject: 'Quarterly numbers',
    status: 'delivered',
    size: 48213,
    fromIP: '2001:db8::25',
    toIP: '',
    direction: 'inbound',
    _time: '2026-11-30T08:15:42.123Z',
    ...overrides,
  };
}

const SAMPLES: Record<string, TraceEvent> = {
  'delivered inbound, IPv6 sender, no toIP': traceEvent(),
  'failed outbound with both IPs': traceEvent({ status: 'failed', direction: 'outbound', fromIP: '40.107.22.5', toIP: '203.0.113.9' }),
  'quarantined, direction unknown': traceEvent({ status: 'quarantined', direction: 'unknown' }),
  'filteredAsSpam, PascalCase as beta sends it': traceEvent({ status: 'FilteredAsSpam' }),
  'pending internal': traceEvent({ status: 'pending', direction: 'internal', recipientAddress: 'carol@contoso.com' }),
  'recalled (a status added later), no direction field': traceEvent({ status: 'recalled', direction: undefined }),
  'null sender, no subject, no IPs, no size': traceEvent({ senderAddress: '<>', subject: null, fromIP: null, toIP: null, size: undefined }),
};

describe('ECS view', () => {
  it.each(Object.entries(SAMPLES))('%s: every field is defined by ECS with its type', (_name, event) => {
    expect(checkEcsEvent(toEcs(event))).toEqual([]);
  });

  it('says what a SOC filters on', () => {
    const ecs = toEcs(SAMPLES['failed outbound with both IPs'] as TraceEvent);
    expect(ecs).toMatchObject({
      '@timestamp': '2026-11-30T08:15:42.123Z',
      event: { kind: 'event', category: ['email'], action: 'failed', outcome: 'failure' },
      email: { direction: 'outbound', from: { address: ['alice@fabrikam.com'] }, to: { address: ['bob@contoso.com'] } },
      source: { ip: '40.107.22.5' },
      destination: { ip: '203.0.113.9' },
      related: { ip: ['40.107.22.5', '203.0.113.9'] },
    });
    expect(JSON.parse((ecs.event as { original: string }).original)).toMatchObject({ size: 48213, status: 'failed' });
  });

  it('claims the ECS release it was checked against', () => {
    expect(ECS_VERSION).toBe(EcsVersion);
  });

  it.each([
    ['a field ECS does not define', (e: Record<string, unknown>) => ({ ...e, email: { ...(e.email as object), delivery_status: 'delivered' } }), 'email.delivery_status is not an ECS field'],
    ['a wrong type', (e: Record<string, unknown>) => ({ ...e, source: { ip: 'not-an-ip' } }), 'source.ip is an ip'],
    ['a single value where ECS wants an array', (e: Record<string, unknown>) => ({ ...e, event: { ...(e.event as object), category: 'email' } }), 'event.category must be an array'],
    ['a value outside the allowed ones', (e: Record<string, unknown>) => ({ ...e, event: { ...(e.event as object), outcome: 'partial' } }), 'event.outcome value "partial"'],
    ['an event.type the category does not expect', (e: Record<string, unknown>) => ({ ...e, event: { ...(e.event as object), type: ['creation'] } }), 'event.type "creation" is not one ECS expects'],
    ['no @timestamp', ({ '@timestamp': _dropped, ...rest }: Record<string, unknown>) => rest, '@timestamp is missing'],
  ])('fails on %s', (_what, spoil, problem) => {
    const problems = checkEcsEvent(spoil(toEcs(traceEvent())));
    expect(problems.join('\n')).toContain(problem);
  });
});

describe('OCSF view', () => {
  it.each(Object.entries(SAMPLES))('%s: a valid Email Activity (4009) Trace event', (_name, event) => {
    expect(ocsf.check(toOcsf(event))).toEqual([]);
  });

  it('maps direction and delivery status to the schema ids', () => {
    expect(toOcsf(traceEvent())).toMatchObject({
      class_uid: 4009,
      activity_id: 4,
      type_uid: 400904,
      direction_id: 1,
      status_id: 1,
      status: 'Success',
      status_code: 'delivered',
      message_trace_uid: '4c9f1d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
      email: { from: 'alice@fabrikam.com', to: ['bob@contoso.com'], message_uid: '<a1b2c3@mail.fabrikam.com>', size: 48213 },
      src_endpoint: { ip: '2001:db8::25' },
      time: Date.parse('2026-11-30T08:15:42.123Z'),
    });
    expect(toOcsf(traceEvent({ direction: 'outbound', status: 'failed' }))).toMatchObject({ direction_id: 2, status_id: 2, status: 'Failure' });
    expect(toOcsf(traceEvent({ direction: 'internal', status: 'pending' }))).toMatchObject({ direction_id: 3, status_id: 0, status: 'Unknown' });
    expect(toOcsf(traceEvent({ direction: 'unknown' }))).toMatchObject({ direction_id: 0, direction: 'Unknown' });
  });

  it('claims the schema version it is checked against', () => {
    expect(OCSF_SCHEMA_VERSION).toBe(ocsf.version);
  });

  const spoilers: [string, (e: Record<string, unknown>) => Record<string, unknown>, string][] = [
    ['an attribute the class does not define', (e) => ({ ...e, delivery_status: 'delivered' }), 'delivery_status is not an attribute of class email_activity'],
    ['an attribute an object does not define', (e) => ({ ...e, email: { ...(e.email as object), status: 'x' } }), 'email.status is not an attribute of email (email)'],
    ['a wrong type', (e) => ({ ...e, time: '2026-11-30T08:15:42Z' }), 'time must be timestamp_t'],
    ['a value breaking the type pattern', (e) => ({ ...e, src_endpoint: { ip: 'mail.fabrikam.com' } }), 'src_endpoint.ip "mail.fabrikam.com" does not match the ip_t pattern'],
    ['a missing required attribute', ({ severity_id: _dropped, ...rest }) => rest, 'severity_id is required in class email_activity but missing'],
    ['a missing required attribute of an object', (e) => ({ ...e, metadata: { version: OCSF_SCHEMA_VERSION } }), 'metadata.product is required'],
    ['an undefined enum id', (e) => ({ ...e, direction_id: 7 }), 'direction_id 7 is not an enum value'],
    ['a caption that does not match its id', (e) => ({ ...e, status: 'Delivered' }), 'status "Delivered" must be the caption of status_id 1'],
    ['a deprecated attribute', (e) => ({ ...e, smtp_hello: 'mail.fabrikam.com' }), 'smtp_hello is deprecated'],
    ['an array where one value is expected', (e) => ({ ...e, from: ['alice@fabrikam.com'] }), 'from must be a single email_t'],
    ['a type_uid that does not add up', (e) => ({ ...e, type_uid: 400901 }), 'type_uid must be class_uid × 100 + activity_id = 400904'],
  ];
  it.each(spoilers)('fails on %s', (_what, spoil, problem) => {
    expect(ocsf.check(spoil(toOcsf(traceEvent()))).join('\n')).toContain(problem);
  });

  it('finds the schema kept in the repository and fails loudly where there is none', async () => {
    expect(findOcsfSchemaDir()).toMatch(/test[\\/]fixtures[\\/]ocsf-schema$/);
    const empty = await mkdtemp(join(tmpdir(), 'o365mt-no-ocsf-'));
    try {
      expect(() => findOcsfSchemaDir(empty)).toThrow(/OCSF schema files were not found/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('--format on the way to the sink', () => {
  it('hands the sink the chosen view and leaves raw events as they are', async () => {
    const engine = new MemoryEngine();
    const event = traceEvent();
    await withEventFormat(engine, 'ocsf').sendEvents([event], EVENT_META);
    await withEventFormat(engine, 'ecs').sendEvents([event], EVENT_META);
    await withEventFormat(engine, 'raw').sendEvents([event], EVENT_META);
    expect(engine.events).toEqual([toOcsf(event), toEcs(event), event]);
    expect(formatEvent(event, 'raw')).toBe(event);
  });
});

describe('the README', () => {
  it('shows one event in each format, as the mappings write it, and each passes its check', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Events'), readme.indexOf('## CLI usage'));
    const blocks = [...section.matchAll(/```json\n([\s\S]*?)\n```/g)].map((match) => JSON.parse(match[1] as string) as Record<string, unknown>);
    expect(blocks).toHaveLength(3);
    const [raw, ecs, ocsfEvent] = blocks as [TraceEvent, Record<string, unknown>, Record<string, unknown>];
    expect(raw.direction).toBe('inbound');
    expect(ecs).toEqual(toEcs(raw));
    expect(ocsfEvent).toEqual(toOcsf(raw));
    expect(checkEcsEvent(ecs)).toEqual([]);
    expect(ocsf.check(ocsfEvent)).toEqual([]);
  });
});
