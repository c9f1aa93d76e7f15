/**
 * Counts the Graph requests each instance sends, by HTTP status, without touching the Graph client: undici
 * publishes every request on node:diagnostics_channel, and the instance a request belongs to is the
 * AsyncLocalStorage context its fetch-events run was started in (`runAs`). The request object links the
 * `create` message (sent in the caller's context) to the `headers` message (sent from the socket).
 * Retries are separate requests, so a 429 followed by a 200 counts once for each status.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';

/** Graph paths start with the API version; token requests (/{tenant}/oauth2/…) are not counted. */
const GRAPH_PATH = /^\/(v1\.0|beta)\//;

interface UndiciRequest {
  path?: unknown;
}

function requestOf(message: unknown): UndiciRequest | undefined {
  const request = (message as { request?: unknown } | undefined)?.request;
  return typeof request === 'object' && request !== null ? (request as UndiciRequest) : undefined;
}

function statusOf(message: unknown): number | undefined {
  const status = (message as { response?: { statusCode?: unknown } } | undefined)?.response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export interface GraphRequestObserver {
  /** Runs `work` so that the Graph requests it sends are counted for `instance`. */
  runAs<T>(instance: string, work: () => Promise<T>): Promise<T>;
  close(): void;
}

export function observeGraphRequests(onResponse: (instance: string, status: number) => void): GraphRequestObserver {
  const context = new AsyncLocalStorage<string>();
  const owners = new WeakMap<object, string>();
  const onCreate = (message: unknown): void => {
    const request = requestOf(message);
    const instance = context.getStore();
    if (request && instance !== undefined && typeof request.path === 'string' && GRAPH_PATH.test(request.path)) owners.set(request, instance);
  };
  const onHeaders = (message: unknown): void => {
    const request = requestOf(message);
    const instance = request && owners.get(request);
    const status = statusOf(message);
    if (instance !== undefined && status !== undefined) onResponse(instance, status);
  };
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:request:headers', onHeaders);
  return {
    runAs: (instance, work) => context.run(instance, work),
    close() {
      diagnostics.unsubscribe('undici:request:create', onCreate);
      diagnostics.unsubscribe('undici:request:headers', onHeaders);
    },
  };
}
