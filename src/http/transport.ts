/**
 * The one way out to the network, for Graph calls and for MSAL alike: Node's global `fetch` with an
 * undici 7 dispatcher that carries proxy, TLS and timeout settings. Global `fetch` (rather than
 * `undici.request`) keeps every request visible to msw in unit tests.
 */
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, type Dispatcher, EnvHttpProxyAgent } from 'undici';
import type { Logger } from '../engine/types.js';
import { useLeanRuntime } from './lean-runtime.js';

export interface TransportOptions {
  /** Route through HTTP(S)_PROXY, honouring NO_PROXY. */
  proxy: boolean;
  /** Turn TLS verification off (the `insecure` parameter). */
  insecure: boolean;
  /** Extra CA certificates (PEM) trusted besides the system ones. */
  caCertificate?: string | undefined;
  connectTimeoutMs?: number;
  /** Time allowed until response headers arrive. */
  headersTimeoutMs?: number;
  /** Time allowed between two chunks of a response body. */
  bodyTimeoutMs?: number;
}

export type HttpFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export const DEFAULT_TIMEOUTS = { connectTimeoutMs: 10_000, headersTimeoutMs: 60_000, bodyTimeoutMs: 60_000 } as const;

/**
 * The TLS context that trusts the system roots and `caCertificate`, built once per certificate and kept for
 * the process. Given `ca` instead, Node builds a context for every connection, parsing all ~145 system
 * roots each time (about 25 ms of CPU): several times a run, and for every tenant of a service.
 */
const extraCaContexts = new Map<string, SecureContext>();
const EXTRA_CA_CONTEXTS_KEPT = 16;

export function contextTrusting(caCertificate: string): SecureContext {
  let context = extraCaContexts.get(caCertificate);
  if (context === undefined) {
    // `ca` replaces Node's default list, so the system roots are passed along with the extra ones.
    context = createSecureContext({ ca: [...rootCertificates, caCertificate] });
    if (extraCaContexts.size >= EXTRA_CA_CONTEXTS_KEPT) extraCaContexts.clear();
    extraCaContexts.set(caCertificate, context);
  }
  return context;
}

export function createDispatcher(options: TransportOptions, log?: Logger): Dispatcher {
  // Before undici compiles its HTTP parser on the first connection (lean-runtime.ts says why).
  useLeanRuntime();
  const tls = {
    rejectUnauthorized: !options.insecure,
    ...(options.caCertificate ? { secureContext: contextTrusting(options.caCertificate) } : {}),
  };
  if (options.insecure) {
    log?.warn('TLS certificate verification is off (insecure=true); use it only for testing.');
  }
  const timeouts = {
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectTimeoutMs,
    headersTimeout: options.headersTimeoutMs ?? DEFAULT_TIMEOUTS.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs ?? DEFAULT_TIMEOUTS.bodyTimeoutMs,
  };
  if (options.proxy) {
    return new EnvHttpProxyAgent({ ...timeouts, connect: tls, requestTls: tls });
  }
  return new Agent({ ...timeouts, connect: tls });
}

export function createHttpFetch(options: TransportOptions, log?: Logger): HttpFetch {
  const dispatcher = createDispatcher(options, log);
  return (url, init) => {
    // The global RequestInit type knows Node's bundled undici, not undici 7; the runtime accepts both.
    const withDispatcher: Omit<RequestInit, 'dispatcher'> & { dispatcher: unknown } = { ...init, dispatcher };
    return fetch(url, withDispatcher as RequestInit);
  };
}
