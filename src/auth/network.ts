/**
 * MSAL's network module over the integration's one HTTP transport, so token requests use the same proxy,
 * TLS and timeout settings as Graph calls (and stay visible to msw in unit tests).
 *
 * Failures are thrown as `TransportFailure`, an msal `AuthError`, because MSAL passes AuthErrors through
 * unchanged and turns anything else into a bare `network_error`. It carries the host and the low-level
 * error code (ECONNREFUSED, CERT_HAS_EXPIRED, …), never a request body (which holds the credential).
 */
import { AuthError, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { BodyLimitError, TOKEN_BODY_LIMITS, readJsonTextWithin } from '../http/body-limits.js';
import { networkErrorCode } from '../http/error-code.js';
import type { HttpFetch } from '../http/transport.js';

export type TransportFailureKind = 'unreachable' | 'timeout' | 'tls' | 'invalid_response' | 'refused_body';

export class TransportFailure extends AuthError {
  readonly kind: TransportFailureKind;
  readonly host: string;
  /** The low-level code, e.g. ECONNREFUSED or UNABLE_TO_VERIFY_LEAF_SIGNATURE; for refused_body, which limit. */
  readonly causeCode: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(kind: TransportFailureKind, host: string, causeCode?: string, httpStatus?: number) {
    super('network_error', '', `${kind} ${host}${causeCode ? ` (${causeCode})` : ''}`);
    Object.setPrototypeOf(this, TransportFailure.prototype);
    this.name = 'TransportFailure';
    this.kind = kind;
    this.host = host;
    this.causeCode = causeCode;
    this.httpStatus = httpStatus;
  }
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function classifyFetchFailure(error: unknown, host: string): TransportFailure {
  const code = networkErrorCode(error);
  if (code !== undefined && TLS_CODES.test(code)) return new TransportFailure('tls', host, code);
  if (code !== undefined && (TIMEOUT_CODES.has(code) || code === 'TimeoutError' || code === 'AbortError')) {
    return new TransportFailure('timeout', host, code);
  }
  return new TransportFailure('unreachable', host, code);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the authority';
  }
}

export interface MsalNetworkOptions {
  /** Upper bound for one token request, in ms (the transport has its own connect/header timeouts too). */
  timeoutMs?: number;
}

export function createMsalNetworkClient(http: HttpFetch, options: MsalNetworkOptions = {}): INetworkModule {
  async function send<T>(method: 'GET' | 'POST', url: string, request?: NetworkRequestOptions, timeout?: number) {
    const host = hostOf(url);
    const limit = timeout ?? options.timeoutMs;
    let response: Response;
    try {
      response = await http(url, {
        method,
        headers: request?.headers ?? {},
        ...(method === 'POST' ? { body: request?.body ?? '' } : {}),
        ...(limit ? { signal: AbortSignal.timeout(limit) } : {}),
      });
    } catch (error) {
      throw classifyFetchFailure(error, host);
    }
    let text: string | undefined;
    try {
      text = await readJsonTextWithin(response, TOKEN_BODY_LIMITS);
    } catch (error) {
      if (error instanceof BodyLimitError) throw new TransportFailure('refused_body', host, error.message, response.status);
      text = undefined;
    }
    let body: unknown;
    try {
      body = text === undefined || text === '' ? {} : JSON.parse(text);
    } catch {
      // A proxy or gateway page instead of Entra ID's JSON.
      throw new TransportFailure('invalid_response', host, undefined, response.status);
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    const result: NetworkResponse<T> = { headers, body: body as T, status: response.status };
    return result;
  }
  return {
    sendGetRequestAsync: <T>(url: string, request?: NetworkRequestOptions, timeout?: number) =>
      send<T>('GET', url, request, timeout),
    sendPostRequestAsync: <T>(url: string, request?: NetworkRequestOptions) => send<T>('POST', url, request),
  };
}
