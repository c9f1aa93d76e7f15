/**
 * The Graph client for message traces: URLs and filters, one request path shared by every call (request
 * budget → token → one try by `sendOnce`, http/attempt.ts), retries around it, paging on top, zod at the edge.
 *
 * Every request that goes out, retries and the one retry after a 401 or 403 included, takes one request from
 * the budget first. On 401 the token provider is asked for a fresh token (`forceRefresh`) and the request is
 * repeated once; a second 401 is reported. A 403 gets the same single retry: Entra ID writes an app's
 * permissions into a token when it issues it, so after an administrator grants ExchangeMessageTrace.Read.All
 * the cached token (valid for up to an hour) would keep being refused; only a fresh one carries the grant.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { TokenProvider } from '../auth/types.js';
import type { Engine } from '../engine/types.js';
import { IntegrationError } from '../errors.js';
import { sendOnce } from '../http/attempt.js';
import { type BodyLimitError, type BodyLimits, GRAPH_BODY_LIMITS } from '../http/body-limits.js';
import { RequestBudget, type RequestBudgetOptions } from '../http/budget.js';
import {
  type AttemptResult,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  runWithRetry,
} from '../http/retry.js';
import type { HttpFetch } from '../http/transport.js';
import type { IntegrationParams } from '../input/params.js';
import { mapGraphError } from './errors.js';
import { buildMessageTraceFilter, odataString } from './filter.js';
import { MAX_PAGE_SIZE } from './limits.js';
import { type Page, iteratePages } from './pages.js';
import { describeIssue, messageTraceDetailPageSchema, messageTracePageSchema } from './schema.js';
import type { GraphClient, MessageTraceDetail, MessageTracePage, MessageTraceQuery, MessageTraceRow } from './types.js';

export const MESSAGE_TRACES_PATH = '/v1.0/admin/exchange/tracing/messageTraces';

export interface GraphClientDeps {
  params: IntegrationParams;
  engine: Engine;
  http: HttpFetch;
  tokens: TokenProvider;
  /** Epoch ms (engine clock) after which no request starts and no retry waits. */
  deadlineMs?: number;
  /** This integration's share of the tenant's Graph quota; default 90 requests per 300 s. */
  requestBudget?: Partial<RequestBudgetOptions>;
  retryPolicy?: Partial<RetryPolicy>;
  /** Jitter source in [0, 1); tests pin it. */
  random?: () => number;
  /** Default GRAPH_BODY_LIMITS; tests lower them. */
  bodyLimits?: BodyLimits;
}

/** What a client spent, for logs and summaries. */
export interface GraphClientStats {
  requests: number;
  retries: number;
  tokenRefreshes: number;
}

export interface GraphClientWithStats extends GraphClient {
  readonly stats: GraphClientStats;
  /**
   * One GET of another Graph resource (`/v1.0/domains`, `/v1.0/servicePrincipals?…`) through the same
   * path: budget, token, retries, error mapping. The caller parses the JSON it gets with its own schema.
   */
  getJson(pathAndQuery: `/${string}`, what: string, signal?: AbortSignal): Promise<unknown>;
}

/** No answer (or an answer cut off): retried when the code says the same request may work. */
function unreachable(code: string | undefined, cause: unknown, what: string): IntegrationError {
  return new IntegrationError(
    'network',
    `Could not reach Microsoft Graph while ${what}${code ? ` (${code})` : ''}. Check the Graph URL, proxy and TLS settings and the network path.`,
    { cause },
  );
}

/** A body over a documented limit: treated like a cut-off body (retried, then reported), never parsed. */
function refusedBody(error: BodyLimitError, what: string, response: Response): IntegrationError {
  return new IntegrationError(
    'graph_invalid_response',
    `Microsoft Graph sent ${error.message} while ${what}; it was refused unread. Graph never sends such responses: check what is on the network path (a proxy or TLS inspection) and the Graph URL (url).`,
    { status: response.status, requestId: response.headers.get('request-id') ?? undefined },
  );
}

function parseJson(text: string, what: string, response: Response): AttemptResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return {
      ok: false,
      outcome: { kind: 'invalid_body' },
      error: new IntegrationError(
        'graph_invalid_response',
        `Microsoft Graph sent a response that is not valid JSON while ${what} (probably cut off).`,
        { status: response.status, requestId: response.headers.get('request-id') ?? undefined },
      ),
    };
  }
}

export function createGraphClient(deps: GraphClientDeps): GraphClientWithStats {
  const { engine, http, tokens } = deps;
  const origin = new URL(deps.params.url).origin;
  const budget = new RequestBudget({ engine, options: deps.requestBudget, deadlineMs: deps.deadlineMs });
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...deps.retryPolicy };
  const stats: GraphClientStats = { requests: 0, retries: 0, tokenRefreshes: 0 };

  /** One try: one request, or two when the first is a 401 or 403 (fresh token, once). */
  async function attempt(url: string, what: string, signal: AbortSignal | undefined): Promise<AttemptResult<unknown>> {
    let refreshed = false;
    for (;;) {
      await budget.acquire(signal);
      const token = await tokens.getAccessToken({ forceRefresh: refreshed, ...(signal ? { signal } : {}) });
      stats.requests++;
      const result = await sendOnce({
        http,
        url,
        init: {
          method: 'GET',
          // Never follow a redirect: the bearer token must not travel anywhere but the Graph origin.
          redirect: 'manual',
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            'client-request-id': randomUUID(),
            // Without it Graph reports statuses added to the enum later (such as `recalled`) as
            // `unknownFutureValue`; a SOC wants to see a recalled message as recalled.
            prefer: 'include-unknown-enum-members',
          },
          ...(signal ? { signal } : {}),
        },
        now: () => engine.now(),
        body: {
          kind: 'json',
          limits: deps.bodyLimits ?? GRAPH_BODY_LIMITS,
          refused: (error, response) => refusedBody(error, what, response),
        },
        unreachable: (code, cause, cutOff) => unreachable(code, cause, cutOff ? `${what} (the response was cut off)` : what),
        refused: (response, text) => mapGraphError(response.status, text, response.headers),
        accept: (response, text) => parseJson(text, what, response),
      });
      const status = !result.ok && result.outcome.kind === 'status' ? result.outcome.status : undefined;
      if ((status === 401 || status === 403) && !refreshed) {
        refreshed = true;
        stats.tokenRefreshes++;
        engine.log.info(
          status === 401
            ? 'Graph refused the access token (401); getting a new one and retrying once'
            : 'Graph denied access (403); getting a new token, which carries permissions granted since the last one, and retrying once',
        );
        continue;
      }
      return result;
    }
  }

  async function getJson(url: string, what: string, signal: AbortSignal | undefined): Promise<unknown> {
    return runWithRetry(() => attempt(url, what, signal), {
      engine,
      deadlineMs: deps.deadlineMs,
      signal,
      policy,
      ...(deps.random ? { random: deps.random } : {}),
      onRetry: ({ attempt: n, delayMs, error, serverNamedWait }) => {
        stats.retries++;
        engine.log.warn('Graph request failed; retrying', {
          what,
          attempt: n,
          delayMs,
          serverNamedWait,
          code: error.code,
          status: error.status,
          requestId: error.requestId,
        });
      },
    });
  }

  function parsePage<T>(
    schema: z.ZodType<{ value: T[]; '@odata.nextLink'?: string | undefined }>,
    json: unknown,
    what: string,
  ): Page<T> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new IntegrationError(
        'graph_invalid_response',
        `Microsoft Graph sent a page that does not match the documented shape while ${what} (${describeIssue(parsed.error)}).`,
      );
    }
    return { items: parsed.data.value, nextLink: parsed.data['@odata.nextLink'] };
  }

  async function* listMessageTraces(query: MessageTraceQuery, signal?: AbortSignal): AsyncGenerator<MessageTracePage> {
    const top = query.top ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE_SIZE) throw new RangeError(`The page size must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
    const { filter } = buildMessageTraceFilter(query);
    const firstUrl = `${origin}${MESSAGE_TRACES_PATH}?$filter=${encodeURIComponent(filter)}&$top=${top}`;
    let pageNumber = 0;
    const pages = iteratePages<MessageTraceRow>(
      firstUrl,
      {
        origin,
        getPage: async (url, pageSignal) => {
          pageNumber++;
          const what = `reading message traces (page ${pageNumber})`;
          return parsePage<MessageTraceRow>(messageTracePageSchema, await getJson(url, what, pageSignal), what);
        },
      },
      signal,
    );
    for await (const page of pages) yield { rows: page.items, more: page.nextLink !== undefined };
  }

  async function getDetailsByRecipient(id: string, recipientAddress: string, signal?: AbortSignal): Promise<MessageTraceDetail[]> {
    const path = `${MESSAGE_TRACES_PATH}/${encodeURIComponent(id)}/getDetailsByRecipient(recipientAddress=${encodeURIComponent(odataString(recipientAddress))})`;
    const details: MessageTraceDetail[] = [];
    const pages = iteratePages<MessageTraceDetail>(
      `${origin}${path}`,
      {
        origin,
        getPage: async (url, pageSignal) => {
          const what = 'reading message trace details';
          return parsePage<MessageTraceDetail>(messageTraceDetailPageSchema, await getJson(url, what, pageSignal), what);
        },
      },
      signal,
    );
    for await (const page of pages) details.push(...page.items);
    return details;
  }

  return {
    listMessageTraces,
    getDetailsByRecipient,
    stats,
    budget,
    getJson: (pathAndQuery, what, signal) => getJson(`${origin}${pathAndQuery}`, what, signal),
  };
}

