/** What the rest of the integration knows about the Graph message trace API. */
import type { RequestBudgetView } from '../http/budget.js';

/** Filters Graph supports besides the time window (all combined with `and`). */
export interface MessageTraceFilters {
  senderAddress?: string | undefined;
  recipientAddress?: string | undefined;
  status?: string | undefined;
  messageId?: string | undefined;
  /** `contains(subject, '…')`. */
  subjectContains?: string | undefined;
}

/** One listing: `receivedDateTime ge start and receivedDateTime le end` (both inclusive), at most 10 days. */
export interface MessageTraceQuery {
  startMs: number;
  endMs: number;
  filters?: MessageTraceFilters;
  /** Page size, 1 to 5000. */
  top?: number;
}

/**
 * One row: one message and one recipient. Fields follow Microsoft's CSDL for exchangeMessageTrace; unknown
 * fields Graph adds later are kept, so events carry every field.
 */
export interface MessageTraceRow {
  id: string;
  receivedDateTime: string;
  status: string;
  messageId?: string | null | undefined;
  senderAddress?: string | null | undefined;
  recipientAddress?: string | null | undefined;
  subject?: string | null | undefined;
  size?: number | undefined;
  fromIP?: string | null | undefined;
  toIP?: string | null | undefined;
  [field: string]: unknown;
}

export interface MessageTracePage {
  rows: MessageTraceRow[];
  /** Graph sent a next link: the listing has more pages. A reader may stop here without a request more. */
  more: boolean;
}

export interface MessageTraceDetail {
  id: string;
  dateTime: string;
  event: string;
  messageId?: string | null | undefined;
  action?: string | null | undefined;
  description?: string | null | undefined;
  data?: string | null | undefined;
  [field: string]: unknown;
}

export interface GraphClient {
  /** Pages of one listing, following `@odata.nextLink` to the end. The consumer decides when to stop. */
  listMessageTraces(query: MessageTraceQuery, signal?: AbortSignal): AsyncIterable<MessageTracePage>;
  getDetailsByRecipient(id: string, recipientAddress: string, signal?: AbortSignal): Promise<MessageTraceDetail[]>;
  /** The request budget every request of this client takes from; absent: the client spends none. */
  readonly budget?: RequestBudgetView;
}
