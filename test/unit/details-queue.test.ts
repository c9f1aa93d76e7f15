/**
 * The details queue (src/details/queue.ts) and detail events: which rows are queued, that a row is queued
 * once, what a full queue does, the per-5-minute cap, retries, and the detail events' ECS and OCSF views.
 */
import { describe, expect, it } from 'vitest';
import { detailEvents, isDetailEvent } from '../../src/details/event.js';
import {
  CAP_WINDOW_MS,
  MAX_TRIES,
  afterFailure,
  chosenRows,
  emptyQueue,
  enqueue,
  itemKey,
  lookupsAllowed,
  parseQueue,
  recordLookup,
  serializeQueue,
} from '../../src/details/queue.js';
import type { TraceEvent } from '../../src/engine/types.js';
import { toEcs } from '../../src/events/ecs.js';
import { toOcsf } from '../../src/events/ocsf.js';
import { parseParams } from '../../src/input/params.js';
import { checkEcsEvent } from '../helpers/ecs-check.js';
import { OcsfSchema } from '../helpers/ocsf-check.js';

function trace(id: string, status: string, recipient = 'megan@contoso.com'): TraceEvent {
  return { id, status, recipientAddress: recipient, senderAddress: 'jane@fabrikam.com', receivedDateTime: '2026-11-30T08:15:42Z', _time: '2026-11-30T08:15:42.000Z' };
}

const CHOSEN = new Set(['failed', 'quarantined']);

describe('the details queue', () => {
  it('queues only rows with a chosen status (any case), each (id, recipient, status) once', () => {
    const rows = chosenRows([trace('a', 'Failed'), trace('b', 'delivered'), trace('c', 'quarantined'), trace('a', 'failed')], CHOSEN);
    expect(rows.map((row) => row.id)).toEqual(['a', 'c', 'a']);
    const first = enqueue(emptyQueue(), rows);
    expect(first.added).toBe(2);
    // The same window sent again (a crash before the position was saved): nothing new.
    const again = enqueue(first.queue, chosenRows([trace('a', 'failed', 'MEGAN@contoso.com')], CHOSEN));
    expect(again.added).toBe(0);
    expect(again.queue.items).toHaveLength(2);
  });

  it('when full, keeps what is queued and counts the rows it could not take', () => {
    const full = enqueue(emptyQueue(), chosenRows([trace('a', 'failed'), trace('b', 'failed')], CHOSEN), 2).queue;
    const over = enqueue(full, chosenRows([trace('c', 'failed'), trace('d', 'failed')], CHOSEN), 2);
    expect(over.queue.items.map((item) => item.id)).toEqual(['a', 'b']);
    expect(over.dropped).toBe(2);
    expect(over.queue.dropped).toBe(2);
    expect(parseQueue(serializeQueue(over.queue))).toEqual(over.queue);
  });

  it('allows at most the cap in any 5 minutes, lookups recorded before they go out', () => {
    let queue = emptyQueue();
    const t0 = 1_764_500_000_000;
    for (let i = 0; i < 3; i++) queue = recordLookup(queue, t0 + i * 1000);
    expect(lookupsAllowed(queue, t0 + 3000, 3)).toBe(0);
    expect(lookupsAllowed(queue, t0 + CAP_WINDOW_MS, 3)).toBe(1);
    expect(lookupsAllowed(queue, t0 + CAP_WINDOW_MS + 2000, 3)).toBe(3);
  });

  it('moves a failing row behind the others, and gives it up (counted) after MAX_TRIES', () => {
    let queue = enqueue(emptyQueue(), chosenRows([trace('a', 'failed'), trace('b', 'failed')], CHOSEN)).queue;
    const key = itemKey(queue.items[0] as NonNullable<(typeof queue.items)[0]>);
    for (let i = 1; i < MAX_TRIES; i++) {
      const failed = afterFailure(queue, key);
      expect(failed.gaveUp).toBe(false);
      queue = failed.queue;
      expect(queue.items.map((item) => item.id)).toEqual(['b', 'a']);
    }
    const last = afterFailure(queue, key);
    expect(last.gaveUp).toBe(true);
    expect(last.queue.items.map((item) => item.id)).toEqual(['b']);
    expect(last.queue.gaveUp).toBe(1);
  });

  it('refuses a stored queue it cannot read (the caller warns) and reads an absent one as empty', () => {
    expect(parseQueue(undefined)).toEqual(emptyQueue());
    expect(parseQueue({ v: 2, items: [] })).toBeUndefined();
    expect(parseQueue({ v: 1, items: [{ id: '' }] })).toBeUndefined();
  });
});

describe('detail events', () => {
  const [row] = chosenRows([{ ...trace('7f3c2a91', 'failed'), direction: 'inbound' }], CHOSEN);
  if (row === undefined) throw new Error('no row');
  const steps = [
    { id: '7f3c2a91', dateTime: '2026-11-30T08:15:44.5Z', event: 'Fail', action: '', description: 'Reason: [{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound}]', data: '<root/>' },
    { id: '7f3c2a91', dateTime: '2026-11-30T08:15:42.1234567Z', event: 'Receive', action: '', description: 'Message received by: BY5PR.prod.outlook.com', data: '<root/>' },
  ];
  const events: TraceEvent[] = detailEvents(row, steps).map((event) => ({ ...event, direction: 'inbound' }));

  it('are one per step, in time order, keyed by trace id, recipient and step', () => {
    expect(events.map((event) => [event.step, event.event, event._time, event.detailKey])).toEqual([
      [1, 'Receive', '2026-11-30T08:15:42.123Z', '7f3c2a91/megan@contoso.com/1'],
      [2, 'Fail', '2026-11-30T08:15:44.500Z', '7f3c2a91/megan@contoso.com/2'],
    ]);
    expect(events.every(isDetailEvent)).toBe(true);
    expect(isDetailEvent(trace('a', 'failed'))).toBe(false);
  });

  it('map to ECS and OCSF views that pass both checks', () => {
    const ocsf = new OcsfSchema();
    for (const event of events) {
      const ecs = toEcs(event);
      expect(checkEcsEvent(ecs)).toEqual([]);
      expect(ecs).toMatchObject({ event: { dataset: 'o365_message_trace.detail', action: event.event, id: event.detailKey }, email: { direction: 'inbound' } });
      const view = toOcsf(event);
      expect(ocsf.check(view)).toEqual([]);
      expect(view).toMatchObject({ class_uid: 4009, status_code: event.event, metadata: { uid: event.detailKey }, direction_id: 1 });
    }
  });
});

describe('details parameters', () => {
  const base = { url: 'https://graph.microsoft.com', tenant_id: 'contoso.onmicrosoft.com', client_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f' };

  it('read statuses in any case, default to none and to 10 lookups per 5 minutes', () => {
    expect(parseParams(base)).toMatchObject({ detailsStatuses: [], detailsMaxPer5Min: 10 });
    expect(parseParams({ ...base, details_statuses: 'Failed, quarantined;FILTEREDASSPAM', details_max_per_5min: '3' })).toMatchObject({
      detailsStatuses: ['failed', 'quarantined', 'filteredasspam'],
      detailsMaxPer5Min: 3,
    });
  });

  it('refuse an unknown status and a cap outside 1 to 45, naming the parameter and the accepted form', () => {
    expect(() => parseParams({ ...base, details_statuses: 'failed, bounced' })).toThrow(/details_statuses.*'bounced'.*filteredAsSpam/s);
    expect(() => parseParams({ ...base, details_max_per_5min: '90' })).toThrow(/details_max_per_5min.*1 to 45/s);
  });
});
