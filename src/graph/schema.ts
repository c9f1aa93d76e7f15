/**
 * zod schemas for what Graph sends back, following Microsoft's CSDL (exchangeMessageTrace,
 * exchangeMessageTraceDetail; a copy is test/fixtures/exchange-message-trace.csdl.xml). Objects are loose:
 * fields Graph adds later are kept, so events carry every field. `status` is any string: the enum is
 * evolvable (`recalled`, `unknownFutureValue`), and refusing a page over a new status would stall a
 * collector for good. Known members are brought to v1.0's spelling (`Delivered`, as in beta examples, becomes
 * `delivered`), so one status never makes two events or two spellings in a SOC's searches.
 *
 * Rows are checked field by field in place (`Shape`, `checkShape`) rather than by z.looseObject: a loose object
 * copies every field of every row into a new object, and at a few thousand rows a second that copy and its
 * garbage were a quarter of the collector's CPU. The row zod hands back is the object JSON.parse made, its
 * documented fields checked, `status` respelled. Problems are zod issues with the field's path, as before.
 */
import * as z from 'zod';
import { graphInstantMs } from './instant.js';
import type { MessageTraceDetail, MessageTraceRow } from './types.js';

/** What one field must hold: the problem with its value (said without the value), or undefined. */
type FieldRule = (value: unknown) => string | undefined;

const dateTimeOffset: FieldRule = (value) =>
  typeof value !== 'string' ? 'must be a date-time string' : graphInstantMs(value) === undefined ? 'is not an ISO 8601 date-time with a time zone' : undefined;
const requiredString: FieldRule = (value) => (typeof value === 'string' ? undefined : 'must be a string');
const nonEmptyString: FieldRule = (value) => (typeof value === 'string' && value.length > 0 ? undefined : 'must be a non-empty string');
const nullableString: FieldRule = (value) => (value === undefined || value === null || typeof value === 'string' ? undefined : 'must be a string or null');
const optionalInteger: FieldRule = (value) => (value === undefined || Number.isSafeInteger(value) ? undefined : 'must be a whole number');

/** An object's documented fields and their rules; `finish` then adjusts an object that follows them. */
interface Shape<T> {
  fields: Record<string, FieldRule>;
  finish?: (value: T) => void;
}

interface Problem {
  path: PropertyKey[];
  message: string;
}

/** The first field of `value` that breaks its rule, or undefined (then `finish` has run on it). */
function checkShape<T>(shape: Shape<T>, names: readonly string[], value: unknown): Problem | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { path: [], message: 'must be an object' };
  const record = value as Record<string, unknown>;
  for (const name of names) {
    const message = (shape.fields[name] as FieldRule)(record[name]);
    if (message !== undefined) return { path: [name], message };
  }
  shape.finish?.(value as T);
  return undefined;
}

/**
 * An object whose listed fields follow their rules (absent fields are undefined to a rule), other fields
 * kept as they are. The object itself is the output: no copy.
 */
function shapeSchema<T extends object>(shape: Shape<T>) {
  const names = Object.keys(shape.fields);
  return z.unknown().transform((value, ctx): T => {
    const problem = checkShape(shape, names, value);
    if (problem === undefined) return value as T;
    ctx.issues.push({ code: 'custom', message: problem.message, path: problem.path, input: value });
    return z.NEVER;
  });
}

/** exchangeMessageTraceStatus members (CSDL v1.0) and the evolvable `recalled`, in v1.0's spelling. */
const TRACE_STATUS_SPELLING = new Map(
  ['gettingStatus', 'pending', 'failed', 'delivered', 'expanded', 'quarantined', 'filteredAsSpam', 'recalled', 'unknownFutureValue'].map(
    (name) => [name.toLowerCase(), name] as const,
  ),
);

/** A known status in v1.0's spelling whatever case it came in; anything else as sent. */
export function canonicalStatus(status: string): string {
  return TRACE_STATUS_SPELLING.get(status.toLowerCase()) ?? status;
}

const messageTraceRowShape: Shape<MessageTraceRow> = {
  fields: {
    id: nonEmptyString,
    receivedDateTime: dateTimeOffset,
    status: nonEmptyString,
    messageId: nullableString,
    senderAddress: nullableString,
    recipientAddress: nullableString,
    subject: nullableString,
    size: optionalInteger,
    fromIP: nullableString,
    toIP: nullableString,
  },
  finish: (row) => {
    // Most rows come in v1.0's spelling already: no new string for them.
    const status = canonicalStatus(row.status);
    if (status !== row.status) row.status = status;
  },
};

const messageTraceDetailShape: Shape<MessageTraceDetail> = {
  fields: {
    id: nonEmptyString,
    dateTime: dateTimeOffset,
    event: requiredString,
    messageId: nullableString,
    action: nullableString,
    description: nullableString,
    data: nullableString,
  },
};

export const messageTraceRowSchema = shapeSchema(messageTraceRowShape);
export const messageTraceDetailSchema = shapeSchema(messageTraceDetailShape);

/** One page of a collection: `value` and, when more follow, `@odata.nextLink`. */
/**
 * One page of a collection: `value` and, when more follow, `@odata.nextLink`. The items are checked in one
 * loop rather than one zod parse each (with 5,000 rows a page, zod's own work per item was as much as the
 * checks); a problem is reported at `value.<index>.<field>` all the same.
 */
export function collectionPageSchema<T extends object>(shape: Shape<T>) {
  const names = Object.keys(shape.fields);
  return z.looseObject({
    value: z.unknown().transform((items, ctx): T[] => {
      if (!Array.isArray(items)) {
        ctx.issues.push({ code: 'custom', message: 'must be an array', input: items });
        return z.NEVER;
      }
      for (let i = 0; i < items.length; i++) {
        const problem = checkShape(shape, names, items[i]);
        if (problem !== undefined) {
          ctx.issues.push({ code: 'custom', message: problem.message, path: [i, ...problem.path], input: items[i] });
          return z.NEVER;
        }
      }
      return items as T[];
    }),
    '@odata.nextLink': z.string().min(1).optional(),
  });
}

export const messageTracePageSchema = collectionPageSchema(messageTraceRowShape);
export const messageTraceDetailPageSchema = collectionPageSchema(messageTraceDetailShape);

/** `{error: {code, message, innerError: {'request-id', date}}}`; every part optional, extra parts kept. */
export const graphErrorBodySchema = z.looseObject({
  error: z.looseObject({
    code: z.string().optional(),
    message: z.string().optional(),
    innerError: z
      .looseObject({
        'request-id': z.string().optional(),
        'client-request-id': z.string().optional(),
        date: z.string().optional(),
      })
      .optional(),
  }),
});

/** Where the first problem is and what it is, without echoing values (rows hold addresses and subjects). */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'it does not match the documented shape';
  const path = issue.path.length === 0 ? 'the body' : issue.path.map(String).join('.');
  return `${path}: ${issue.message}`;
}
