/** Ground truth: every row received in a range, with its whole life, for tests and benchmarks to compare against. */
import type { SimulatorContext } from './context.js';
import { bucketOfTicks, finalStatus, servedFields, statusAt, type Direction, type ServedFields, type TraceStatus } from './data.js';
import { msToTicks } from './instant.js';

/** Nullable served fields are null where Graph holds no value (`nullShare`), as served. */
export interface GroundTruthRow extends ServedFields {
  /** Status now (by the simulator's clock); null while the row is not yet visible to Graph queries. */
  status: TraceStatus | null;
  /** When the row first appears in Graph results (ISO, ms precision). */
  visibleAt: string;
  /** Every status the row had and when, in order; a recalled row ends `delivered` → `recalled`. */
  statusHistory: { status: TraceStatus; at: string }[];
  /** The last status. `recalled` is served as `unknownFutureValue` to requests without the Prefer header. */
  finalStatus: TraceStatus;
  /**
   * What the row itself tells: the message's direction, or `unknown` when the row's sender or recipient
   * address is null (nullShare), since no reader of that row can tell it.
   */
  direction: Direction | 'unknown';
  /** Which way the message really went, whatever the row shows. */
  messageDirection: Direction;
}

export const GROUND_TRUTH_LIMIT = 2_000_000;

export class RangeTooLargeError extends Error {}

/**
 * Rows with receivedDateTime in [startMs, endMs] (both inclusive, compared at full precision against the
 * millisecond instants) that have been received by now, ascending by receivedDateTime. Streams bucket by
 * bucket, so benchmarks can walk millions of rows without holding them.
 */
export function* iterateGroundTruth(ctx: SimulatorContext, startMs: number, endMs: number): Generator<GroundTruthRow> {
  const now = ctx.clock();
  const startTicks = msToTicks(startMs);
  const endTicks = Math.min(msToTicks(endMs), msToTicks(now));
  if (endTicks < startTicks) return;
  for (let bucket = bucketOfTicks(startTicks); bucket <= bucketOfTicks(endTicks); bucket++) {
    for (const row of ctx.data.bucketRows(bucket)) {
      if (row.receivedTicks < startTicks || row.receivedTicks > endTicks) continue;
      yield {
        ...servedFields(row),
        status: statusAt(row, now),
        visibleAt: new Date(row.visibleAtMs).toISOString(),
        statusHistory: row.history.map((h) => ({ status: h.status, at: new Date(h.atMs).toISOString() })),
        finalStatus: finalStatus(row),
        direction: row.senderAddress === null || row.recipientAddress === null ? 'unknown' : row.direction,
        messageDirection: row.direction,
      };
    }
  }
}

/** The same rows as an array; refuses ranges over GROUND_TRUTH_LIMIT rows (use iterateGroundTruth). */
export function groundTruth(ctx: SimulatorContext, startMs: number, endMs: number): GroundTruthRow[] {
  const out: GroundTruthRow[] = [];
  for (const row of iterateGroundTruth(ctx, startMs, endMs)) {
    if (out.length >= GROUND_TRUTH_LIMIT) {
      throw new RangeTooLargeError(`More than ${GROUND_TRUTH_LIMIT} rows in range; use iterateGroundTruth or format=ndjson.`);
    }
    out.push(row);
  }
  return out;
}
