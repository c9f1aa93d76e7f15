/**
 * `$skiptoken`: an opaque, authenticated cursor. It pins the snapshot instant (so a page set is consistent
 * while rows keep arriving and changing status), the window, the order mode and a hash of the filter, plus
 * the position reached. Tampered, truncated or foreign tokens fail the MAC and become a 400.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { OrderMode } from './context.js';

export interface Cursor {
  /** Snapshot instant (epoch ms): rows visible at this instant, with their status at this instant. */
  snapshotMs: number;
  startTicks: number;
  endTicks: number;
  order: OrderMode;
  filterHash: number;
  /** Ordinal of the bucket in iteration order. */
  ordinal: number;
  /** Matching rows of that bucket already returned. */
  offset: number;
}

const ORDERS: readonly OrderMode[] = ['newest', 'oldest', 'random'];

export function encodeCursor(cursor: Cursor, key: Buffer): string {
  const fields = [
    1,
    cursor.snapshotMs,
    cursor.startTicks,
    cursor.endTicks,
    ORDERS.indexOf(cursor.order),
    cursor.filterHash,
    cursor.ordinal,
    cursor.offset,
  ];
  const body = Buffer.from(fields.map((n) => n.toString(36)).join('.'), 'utf8').toString('base64url');
  const mac = createHmac('sha256', key).update(body).digest().subarray(0, 12).toString('base64url');
  return `${body}${mac}`;
}

export function decodeCursor(token: string, key: Buffer): Cursor | null {
  if (token.length <= 16 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const body = token.slice(0, -16);
  const mac = Buffer.from(token.slice(-16), 'base64url');
  const expected = createHmac('sha256', key).update(body).digest().subarray(0, 12);
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return null;
  const fields = Buffer.from(body, 'base64url')
    .toString('utf8')
    .split('.')
    .map((part) => Number.parseInt(part, 36));
  if (fields.length !== 8 || fields.some((n) => !Number.isFinite(n)) || fields[0] !== 1) return null;
  const [, snapshotMs, startTicks, endTicks, order, filterHash, ordinal, offset] = fields as [
    number, number, number, number, number, number, number, number,
  ];
  const orderMode = ORDERS[order];
  if (!orderMode) return null;
  return { snapshotMs, startTicks, endTicks, order: orderMode, filterHash, ordinal, offset };
}
