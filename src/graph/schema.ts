/**
 * zod schemas for what Graph sends back, following Microsoft's CSDL (exchangeMessageTrace,
 * exchangeMessageTraceDetail; a copy is test/fixtures/exchange-message-trace.csdl.xml). Objects are loose:
 * fields Graph adds later are kept, so events carry every field. `status` is any string: the enum is
 * evolvable (`recalled`, `unknownFutureValue`), and refusing a page over a new status would stall a
 * collector for good. Known members are brought to v1.0's spelling (`Delivered`, as in beta examples, becomes
 * `delivered`), so one status never makes two events or two spellings in a SOC's searches.
 */
import * as z from 'zod';
import { parseGraphInstant } from './instant.js';

const dateTimeOffset = z.string().refine((text) => parseGraphInstant(text) !== undefined, {
  message: 'is not an ISO 8601 date-time with a time zone',
});
const nullableString = z.string().nullable().optional();

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

export const messageTraceRowSchema = z.looseObject({
  id: z.string().min(1),
  receivedDateTime: dateTimeOffset,
  status: z.string().min(1).transform(canonicalStatus),
  messageId: nullableString,
  senderAddress: nullableString,
  recipientAddress: nullableString,
  subject: nullableString,
  size: z.number().int().optional(),
  fromIP: nullableString,
  toIP: nullableString,
});

export const messageTraceDetailSchema = z.looseObject({
  id: z.string().min(1),
  dateTime: dateTimeOffset,
  event: z.string(),
  messageId: nullableString,
  action: nullableString,
  description: nullableString,
  data: nullableString,
});

/** One page of a collection: `value` and, when more follow, `@odata.nextLink`. */
export function collectionPageSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({
    value: z.array(item),
    '@odata.nextLink': z.string().min(1).optional(),
  });
}

export const messageTracePageSchema = collectionPageSchema(messageTraceRowSchema);
export const messageTraceDetailPageSchema = collectionPageSchema(messageTraceDetailSchema);

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
