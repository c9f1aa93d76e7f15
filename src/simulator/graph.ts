/**
 * Microsoft Graph message trace routes:
 *   GET /v1.0/admin/exchange/tracing/messageTraces
 *   GET /v1.0/admin/exchange/tracing/messageTraces/{id}/getDetailsByRecipient(recipientAddress='…')
 * Each request runs the same pipeline as the service appears to: injected fault → bearer token →
 * tenant quota → handler. Handlers return a reply value; the pipeline decides how the bytes go out
 * (normally, trickled, or cut off) so that faults compose with real responses.
 * Docs: https://learn.microsoft.com/graph/api/messagetracingroot-list-messagetraces
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OrderMode, SimulatorContext } from './context.js';
import {
  bucketOfTicks,
  EVOLVABLE_STATUSES,
  finalStatus,
  NULLABLE_PROPERTIES,
  statusAt,
  servedFields,
  type TraceRow,
  type TraceStatus,
} from './data.js';
import { type FaultKind, retryAfterHeader } from './faults.js';
import { sendHostileGraph } from './hostile.js';
import { formatTicks, msToTicks, TICKS_PER_MS } from './instant.js';
import { verifyAccessToken } from './entra.js';
import { graphErrorBody, graphHeaders, jsonBody, type RequestIds, requestIds } from './http-util.js';
import { FilterSyntaxError, type ParsedFilter, type Predicate, parseFilter } from './odata-filter.js';
import { hash32, hashString, Rng } from './rng.js';
import { type Cursor, decodeCursor, encodeCursor } from './skiptoken.js';

export const LIST_PATH = '/v1.0/admin/exchange/tracing/messageTraces';
const DETAILS_PATH = /^\/v1\.0\/admin\/exchange\/tracing\/messageTraces\/([^/]+)\/([^/]+)$/;
const REQUIRED_PERMISSION = 'ExchangeMessageTrace.Read.All';
const MESSAGE_TRACE_APP_ID = '8bd644d1-64a1-4d4b-ae52-2e0cbf64e373';
const DAY_MS = 86_400_000;
const DEFAULT_TOP = 1000;
const MAX_TOP = 5000;
/** How far back a listing may start, counted from 00:00 UTC of today, not from now. */
const RETENTION_DAYS = 90;
const MAX_SPAN_DAYS = 10;
const THROTTLED_TEXT = 'Your recent queries have surpassed the permitted limit, please try again later.';

/** The oldest start Graph accepts at `nowMs`: 90 days before 00:00 UTC of today. */
function oldestAcceptedStartMs(nowMs: number): number {
  return Math.floor(nowMs / DAY_MS) * DAY_MS - RETENTION_DAYS * DAY_MS;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Route name for stats, or null when the path is not a Graph message trace route. */
export function graphRouteName(pathname: string): string | null {
  if (pathname === LIST_PATH || pathname === `${LIST_PATH}/`) return 'graph.messageTraces';
  if (DETAILS_PATH.test(pathname)) return 'graph.getDetailsByRecipient';
  return null;
}

export function handleGraph(ctx: SimulatorContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const ids = requestIds(req);
  const now = ctx.clock();
  ctx.stats.graphRequests++;

  if (req.method !== 'GET') {
    send(ctx, res, ids, null, {
      status: 405,
      body: graphErrorBody('Request_BadRequest', `The HTTP method '${req.method}' is not supported for this resource.`, ids, now),
    });
    return;
  }

  const fault = ctx.faults.pick(ctx.config.faults);
  if (fault) ctx.stats.fault(fault);
  if (fault === 'reset') {
    req.socket.destroy();
    return;
  }
  if (fault === 'timeout') {
    // Headers are never sent; the connection is closed after a while (or at stop) so sockets don't leak.
    ctx.held.add(res);
    const timer = setTimeout(() => {
      ctx.held.delete(res);
      req.socket.destroy();
    }, ctx.config.timeoutHoldMs);
    timer.unref();
    res.on('close', () => {
      clearTimeout(timer);
      ctx.held.delete(res);
    });
    return;
  }
  const injected = injectedReply(ctx, fault, ids, now);
  if (injected) {
    send(ctx, res, ids, null, injected);
    return;
  }

  const auth = authenticate(ctx, req, ids, now);
  if (auth) {
    send(ctx, res, ids, null, auth);
    return;
  }

  const decision = ctx.throttle.decide(ctx.config.throttle, now);
  if (!decision.allowed) {
    ctx.stats.throttled++;
    send(ctx, res, ids, null, throttledReply(ctx, ids, now, decision.retryAfterSeconds));
    return;
  }

  const reply =
    url.pathname === LIST_PATH || url.pathname === `${LIST_PATH}/`
      ? listMessageTraces(ctx, url, ids, now, statusView(ctx, req))
      : detailsByRecipient(ctx, url, ids, now);
  send(ctx, res, ids, fault, reply);
}

function injectedReply(ctx: SimulatorContext, fault: FaultKind | null, ids: RequestIds, now: number): Reply | null {
  switch (fault) {
    case '500':
      return { status: 500, body: graphErrorBody('InternalServerError', 'An internal server error occurred.', ids, now) };
    case '502':
      return { status: 502, body: graphErrorBody('BadGateway', 'The service received an invalid response from an upstream server.', ids, now) };
    case '503':
      return {
        status: 503,
        body: graphErrorBody('ServiceUnavailable', 'The service is temporarily unavailable. Please retry later.', ids, now),
        headers: retryAfter(ctx, ctx.faults.retryAfterSeconds(), now),
      };
    case '504':
      return { status: 504, body: graphErrorBody('GatewayTimeout', 'The request timed out.', ids, now) };
    case '429':
      return throttledReply(ctx, ids, now, ctx.faults.retryAfterSeconds());
    case '401':
      return unauthorized(ctx, ids, now, 'Lifetime validation failed, the token is expired.');
    default:
      return null;
  }
}

/** Retry-After as seconds, as an HTTP-date, or absent, chosen per response by the configured mix. */
function retryAfter(ctx: SimulatorContext, seconds: number, now: number): Record<string, string> {
  const form = ctx.faults.retryAfterForm(ctx.config.retryAfter);
  ctx.stats.retryAfter(form);
  return retryAfterHeader(form, seconds, now);
}

function throttledReply(ctx: SimulatorContext, ids: RequestIds, now: number, retryAfterSeconds: number): Reply {
  return {
    status: 429,
    body: graphErrorBody('TooManyRequests', THROTTLED_TEXT, ids, now),
    headers: retryAfter(ctx, retryAfterSeconds, now),
  };
}

function unauthorized(ctx: SimulatorContext, ids: RequestIds, now: number, message: string, code = 'InvalidAuthenticationToken'): Reply {
  return {
    status: 401,
    body: graphErrorBody(code, message, ids, now),
    headers: {
      'www-authenticate': `Bearer realm="", authorization_uri="${ctx.authorityOrigin}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
    },
  };
}

function authenticate(ctx: SimulatorContext, req: IncomingMessage, ids: RequestIds, now: number): Reply | null {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return unauthorized(ctx, ids, now, 'Access token is empty.');
  const verdict = verifyAccessToken(ctx, match[1], now);
  if (!verdict.ok) return unauthorized(ctx, ids, now, verdict.message);
  if (!ctx.config.servicePrincipalProvisioned) {
    return unauthorized(
      ctx,
      ids,
      now,
      `Service principal-less authentication failed: The service principal for App ID ${MESSAGE_TRACE_APP_ID} was not found. Please create a service principal for this app in your tenant. Provisioning may take several hours to complete.`,
      'Unauthorized',
    );
  }
  const granted = [...verdict.roles, ...verdict.scopes];
  if (!granted.includes(REQUIRED_PERMISSION)) {
    return {
      status: 403,
      body: graphErrorBody(
        'Authorization_RequestDenied',
        `Insufficient privileges to complete the operation. The application needs the '${REQUIRED_PERMISSION}' permission with admin consent.`,
        ids,
        now,
      ),
    };
  }
  return null;
}

function badRequest(ids: RequestIds, now: number, message: string, code = 'BadRequest'): Reply {
  return { status: 400, body: graphErrorBody(code, message, ids, now) };
}

// --- List ----------------------------------------------------------------------------------------

function listMessageTraces(ctx: SimulatorContext, url: URL, ids: RequestIds, now: number, view: StatusView): Reply {
  const params = url.searchParams;
  const rawTop = params.get('$top');
  let top = DEFAULT_TOP;
  if (rawTop !== null) {
    if (!/^\d+$/.test(rawTop) || Number(rawTop) < 1 || Number(rawTop) > MAX_TOP) {
      // Exchange's name for the page size, as lab runs report it.
      return badRequest(ids, now, 'ResultSize is invalid');
    }
    top = Number(rawTop);
  }

  const rawFilter = params.get('$filter');
  let filter: ParsedFilter = { startTicks: null, endTicks: null, predicates: [] };
  if (rawFilter !== null) {
    try {
      filter = parseFilter(rawFilter);
    } catch (error) {
      if (error instanceof FilterSyntaxError) return badRequest(ids, now, `Invalid filter clause: ${error.message}`);
      throw error;
    }
  }
  const filterHash = hashString(rawFilter ?? '');

  const rawToken = params.get('$skiptoken') ?? params.get('$skipToken');
  let cursor: Cursor;
  if (rawToken !== null) {
    const decoded = decodeCursor(rawToken, ctx.skiptokenKey);
    if (!decoded || decoded.filterHash !== filterHash) {
      return badRequest(ids, now, 'The $skiptoken is invalid or does not belong to this query. Restart paging from the first page.');
    }
    cursor = decoded;
  } else {
    const nowTicks = msToTicks(now);
    if (filter.startTicks !== null && filter.endTicks === null) {
      return badRequest(ids, now, 'EndDate is required when a StartDate is entered.');
    }
    let startTicks = filter.startTicks ?? nowTicks - 2 * DAY_MS * TICKS_PER_MS;
    const endTicks = filter.endTicks ?? nowTicks;
    if (startTicks > endTicks) {
      return badRequest(ids, now, 'The start date must be earlier than or equal to the end date.');
    }
    if (endTicks - startTicks > MAX_SPAN_DAYS * DAY_MS * TICKS_PER_MS) {
      return badRequest(ids, now, `The interval between StartDate and EndDate can't be longer than ${MAX_SPAN_DAYS} days.`);
    }
    if (startTicks < msToTicks(oldestAcceptedStartMs(now))) {
      return badRequest(ids, now, `Invalid StartDate value. The StartDate can't be older than ${RETENTION_DAYS} days from today.`);
    }
    if (endTicks > nowTicks + TICKS_PER_MS - 1) {
      return badRequest(ids, now, 'The end date cannot be in the future.');
    }
    startTicks = Math.max(startTicks, 0);
    cursor = { snapshotMs: now, startTicks, endTicks, order: ctx.config.order, filterHash, ordinal: 0, offset: 0 };
  }

  const page = readPage(ctx, cursor, filter.predicates, top, view);
  ctx.stats.rowsServed += page.rows.length;
  const body: Record<string, unknown> = {
    '@odata.context': `${ctx.graphOrigin}/v1.0/$metadata#admin/exchange/tracing/messageTraces`,
  };
  if (page.next) body['@odata.nextLink'] = nextLink(ctx, url, encodeCursor(page.next, ctx.skiptokenKey));
  const pascal = ctx.faults.pascalCase(ctx.config.pascalCaseShare);
  if (pascal) ctx.stats.served.pascalCaseResponses++;
  body.value = page.rows.map((row) => {
    const actual = statusAt(row, cursor.snapshotMs) ?? finalStatus(row);
    const shown = view(actual);
    if (actual === 'recalled') ctx.stats.served[shown === 'recalled' ? 'recalled' : 'unknownFutureValue']++;
    if (row.fromIP?.includes(':')) ctx.stats.served.ipv6FromIP++;
    for (const property of NULLABLE_PROPERTIES) if (row[property] === null) ctx.stats.served.nullFields++;
    return toResource(row, pascal ? toPascalCase(shown) : shown);
  });
  return { status: 200, body };
}

/**
 * The status as a request sees it: members added after v1.0's enum (`recalled`) only for requests with
 * `Prefer: include-unknown-enum-members`, `unknownFutureValue` for the others.
 */
type StatusView = (status: TraceStatus) => TraceStatus;

function statusView(ctx: SimulatorContext, req: IncomingMessage): StatusView {
  const prefer = String(req.headers.prefer ?? '');
  const evolvable = prefer.split(',').some((part) => part.trim().toLowerCase() === 'include-unknown-enum-members');
  if (evolvable) return (status) => status;
  ctx.stats.served.requestsWithoutPrefer++;
  return (status) => ((EVOLVABLE_STATUSES as readonly string[]).includes(status) ? 'unknownFutureValue' : status);
}

function toPascalCase(status: string): string {
  return status.charAt(0).toUpperCase() + status.slice(1);
}

function toResource(row: TraceRow, status: string): Record<string, unknown> {
  return servedFields(row, status);
}

/** The original query with the skiptoken replaced, on the same origin and path. */
function nextLink(ctx: SimulatorContext, url: URL, token: string): string {
  const kept = url.search
    .replace(/^\?/, '')
    .split('&')
    .filter((part) => part.length > 0 && !/^(%24|\$)skip[tT]oken=/i.test(part));
  kept.push(`$skiptoken=${token}`);
  return `${ctx.graphOrigin}${url.pathname}?${kept.join('&')}`;
}

interface Page {
  rows: TraceRow[];
  next: Cursor | null;
}

/**
 * Walks buckets in the cursor's order from its position, collecting matching rows until the page is
 * full, then looks ahead for the next matching row so a nextLink never leads to an empty page.
 */
function readPage(ctx: SimulatorContext, cursor: Cursor, predicates: Predicate[], top: number, view: StatusView): Page {
  const first = bucketOfTicks(cursor.startTicks);
  const last = bucketOfTicks(cursor.endTicks);
  const count = last - first + 1;
  const bucketAt = bucketSequence(ctx.seed, cursor.order, first, count);
  const rows: TraceRow[] = [];
  for (let ordinal = cursor.ordinal; ordinal < count; ordinal++) {
    const bucket = bucketAt(ordinal);
    const matching = matchingRows(ctx, bucket, cursor, predicates, view);
    const skip = ordinal === cursor.ordinal ? cursor.offset : 0;
    for (let i = skip; i < matching.length; i++) {
      if (rows.length === top) return { rows, next: { ...cursor, ordinal, offset: i } };
      rows.push(matching[i] as TraceRow);
    }
  }
  return { rows, next: null };
}

function bucketSequence(seed: number, order: OrderMode, first: number, count: number): (ordinal: number) => number {
  if (order === 'oldest') return (k) => first + k;
  if (order === 'newest') return (k) => first + count - 1 - k;
  // A seeded affine permutation of the buckets: every bucket exactly once, in no time order.
  let step = (hash32(seed, 0x5e9, first, count) % count) + 1;
  while (gcd(step, count) !== 1) step++;
  const shift = hash32(seed, 0x5ea, first, count) % count;
  return (k) => first + ((step * k + shift) % count);
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

function matchingRows(ctx: SimulatorContext, bucket: number, cursor: Cursor, predicates: Predicate[], view: StatusView): TraceRow[] {
  const all = ctx.data.bucketRows(bucket);
  const out: TraceRow[] = [];
  for (const row of all) {
    if (row.receivedTicks < cursor.startTicks || row.receivedTicks > cursor.endTicks) continue;
    if (row.visibleAtMs > cursor.snapshotMs) continue;
    const status = statusAt(row, cursor.snapshotMs);
    if (!matches(row, status === null ? null : view(status), predicates)) continue;
    out.push(row);
  }
  if (cursor.order === 'newest') out.reverse();
  else if (cursor.order === 'random') new Rng(ctx.seed, 0x5f1, bucket).shuffle(out);
  return out;
}

function sameText(a: string | null, b: string): boolean {
  return a !== null && a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

function matches(row: TraceRow, status: TraceStatus | null, predicates: Predicate[]): boolean {
  for (const p of predicates) {
    switch (p.kind) {
      case 'eq':
        if (p.property === 'status') {
          if (status !== p.value) return false;
        } else if (!sameText(row[p.property], p.value)) {
          return false;
        }
        break;
      case 'startswith':
        if (!row.subject?.toLowerCase().startsWith(p.value.toLowerCase())) return false;
        break;
      case 'endswith':
        if (!row.subject?.toLowerCase().endsWith(p.value.toLowerCase())) return false;
        break;
      case 'contains':
        if (!row.subject?.toLowerCase().includes(p.value.toLowerCase())) return false;
        break;
    }
  }
  return true;
}

// --- Details -------------------------------------------------------------------------------------

function detailsByRecipient(ctx: SimulatorContext, url: URL, ids: RequestIds, now: number): Reply {
  const m = DETAILS_PATH.exec(url.pathname);
  let traceId = '';
  let call = '';
  try {
    traceId = decodeURIComponent(m?.[1] ?? '');
    call = decodeURIComponent(m?.[2] ?? '');
  } catch {
    return badRequest(ids, now, 'The request URI is not valid.');
  }
  const fn = /^getDetailsByRecipient\(recipientAddress='((?:[^']|'')*)'\)$/.exec(call);
  if (!fn) {
    if (/^getDetailsByRecipient/i.test(call)) {
      return badRequest(ids, now, "getDetailsByRecipient requires the parameter recipientAddress='…'.");
    }
    return { status: 400, body: graphErrorBody('BadRequest', `Resource not found for the segment '${call}'.`, ids, now) };
  }
  const recipient = (fn[1] ?? '').replace(/''/g, "'");
  const rows = ctx.data.messageById(traceId);
  const row = rows?.find((r) => sameText(r.recipientAddress, recipient) && r.visibleAtMs <= now);
  if (!row) {
    return {
      status: 404,
      body: graphErrorBody(
        'NotFound',
        `No message trace with id '${traceId}' and recipient '${recipient}' was found.`,
        ids,
        now,
      ),
    };
  }
  return {
    status: 200,
    body: {
      '@odata.context': `${ctx.graphOrigin}/v1.0/$metadata#Collection(microsoft.graph.exchangeMessageTraceDetail)`,
      value: detailEvents(row, now),
    },
  };
}

const EVENT_TEXT: Record<TraceStatus, { event: string; action: string; description: string }> = {
  gettingStatus: { event: 'Submit', action: '', description: 'The message was submitted and is being processed.' },
  pending: { event: 'Defer', action: '', description: 'Message delivery is pending; a retry is scheduled.' },
  delivered: { event: 'Deliver', action: '', description: 'The message was successfully delivered.' },
  failed: { event: 'Fail', action: '', description: 'Reason: [{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup}]' },
  expanded: { event: 'Expand', action: '', description: 'The distribution group was expanded to its members.' },
  quarantined: { event: 'Quarantine', action: 'Quarantine', description: 'The message was quarantined by policy.' },
  filteredAsSpam: { event: 'Spam', action: 'MoveToJmf', description: 'The message was marked as spam and moved to the Junk Email folder.' },
  unknownFutureValue: { event: 'Unknown', action: '', description: '' },
  recalled: { event: 'Recall', action: '', description: 'The sender recalled the message; it was removed from the mailbox.' },
};

function detailEvents(row: TraceRow, now: number): Record<string, unknown>[] {
  const server = `BY5PR${String(row.bucket % 90).padStart(2, '0')}MB${1000 + (row.messageIndex % 9000)}.namprd04.prod.outlook.com`;
  const events: Record<string, unknown>[] = [
    {
      id: row.id,
      messageId: row.messageId,
      dateTime: row.receivedDateTime,
      event: 'Receive',
      action: '',
      description: `Message received by: ${server}`,
      data: `<root><MEP Name="Directionality" String="${row.direction === 'inbound' ? 'Incoming' : 'Originating'}"/><MEP Name="ClientIP" String="${row.fromIP ?? ''}"/><MEP Name="ServerHostName" String="${server}"/></root>`,
    },
  ];
  for (const change of row.history) {
    if (change.atMs > now) break;
    const text = EVENT_TEXT[change.status];
    events.push({
      id: row.id,
      messageId: row.messageId,
      dateTime: formatTicks(msToTicks(change.atMs)),
      event: text.event,
      action: text.action,
      description: text.description,
      data: `<root><MEP Name="RecipientStatus" String="${change.status}"/><MEP Name="Recipient" String="${escapeXml(row.recipientAddress ?? '')}"/></root>`,
    });
  }
  return events;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/</g, '&lt;');
}

// --- Writing -------------------------------------------------------------------------------------

function send(ctx: SimulatorContext, res: ServerResponse, ids: RequestIds, fault: FaultKind | null, reply: Reply): void {
  if (reply.status === 200 && sendHostileGraph(res, ctx.config.hostile?.graph, reply.body, graphHeaders(ids))) return;
  const payload = jsonBody(reply.body);
  res.writeHead(reply.status, {
    // What Graph sends for OData payloads; clients should not compare content types for equality.
    'content-type':
      reply.status === 200
        ? 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8'
        : 'application/json',
    'content-length': String(payload.length),
    ...graphHeaders(ids),
    ...(reply.headers ?? {}),
  });
  if (fault === 'truncate') {
    // Promise the whole body, deliver part of it, then drop the connection.
    res.write(payload.subarray(0, Math.max(1, Math.floor(payload.length / 2))), () => res.socket?.destroy());
    return;
  }
  if (fault === 'slow') {
    trickle(ctx, res, payload);
    return;
  }
  res.end(payload);
}

function trickle(ctx: SimulatorContext, res: ServerResponse, payload: Buffer): void {
  const pieces = 10;
  const size = Math.ceil(payload.length / pieces);
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      return;
    }
    const chunk = payload.subarray(sent, sent + size);
    sent += chunk.length;
    if (sent >= payload.length) {
      clearInterval(timer);
      res.end(chunk);
    } else {
      res.write(chunk);
    }
  }, Math.max(1, Math.floor(ctx.config.slowBodyMs / pieces)));
  res.on('close', () => clearInterval(timer));
}
