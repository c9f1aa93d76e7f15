/**
 * The service's HTTP side, off unless --metrics-listen is given: `/metrics` (Prometheus text format),
 * `/healthz` (the process answers) and `/readyz` (every instance had a successful run within N of its
 * intervals; 503 naming those that did not). Readiness is a pure function of what the instances report.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../engine/types.js';
import { IntegrationError } from '../errors.js';

export interface InstanceHealth {
  /** The metric label: the instance name, or `default` in the single-tenant form. */
  instance: string;
  intervalMs: number;
  lastSuccessAtMs: number | undefined;
  lastError: { code: string; message: string } | undefined;
  consecutiveFailures: number;
}

export interface Readiness {
  ready: boolean;
  failing: Array<{ instance: string; reason: string }>;
}

export const DEFAULT_READY_INTERVALS = 3;

/**
 * Ready when every instance's last success is at most `intervals` of its intervals old. An instance that
 * has not succeeded yet (starting, or failing from the start) is not ready: nothing proves it works.
 */
export function readiness(instances: readonly InstanceHealth[], nowMs: number, intervals: number): Readiness {
  const failing: Readiness['failing'] = [];
  for (const health of instances) {
    const allowedMs = intervals * health.intervalMs;
    const fresh = health.lastSuccessAtMs !== undefined && nowMs - health.lastSuccessAtMs <= allowedMs;
    if (fresh) continue;
    const when =
      health.lastSuccessAtMs === undefined
        ? 'no successful run yet'
        : `no successful run for ${Math.round((nowMs - health.lastSuccessAtMs) / 1000)} s (allowed ${Math.round(allowedMs / 1000)} s)`;
    const error = health.lastError ? `; ${health.consecutiveFailures} failed in a row, last error [${health.lastError.code}] ${health.lastError.message}` : '';
    failing.push({ instance: health.instance, reason: `${when}${error}` });
  }
  return { ready: failing.length === 0, failing };
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** HOST:PORT, [IPv6]:PORT; port 0 picks a free one (the log says which). */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  const host = match ? (match[1] ?? match[2]) : undefined;
  if (host === undefined || !(port >= 0 && port <= 65_535)) {
    throw new IntegrationError(
      'invalid_param',
      `--metrics-listen must be HOST:PORT, such as 127.0.0.1:9464 or [::1]:9464; got '${text}'.`,
    );
  }
  return { host, port };
}

export interface HealthServerOptions {
  listen: ListenAddress;
  metrics: () => Promise<{ contentType: string; body: string }>;
  readiness: () => Readiness;
  log: Logger;
}

export interface HealthServer {
  /** host:port actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

function handler(options: HealthServerOptions) {
  return async (path: string): Promise<{ status: number; type: string; body: string }> => {
    const text = 'text/plain; charset=utf-8';
    if (path === '/metrics') {
      const { contentType, body } = await options.metrics();
      return { status: 200, type: contentType, body };
    }
    if (path === '/healthz') return { status: 200, type: text, body: 'ok\n' };
    if (path === '/readyz') {
      const state = options.readiness();
      if (state.ready) return { status: 200, type: text, body: 'ready\n' };
      const lines = state.failing.map(({ instance, reason }) => `${instance}: ${reason}`);
      return { status: 503, type: text, body: `not ready: ${state.failing.map((f) => f.instance).join(', ')}\n${lines.join('\n')}\n` };
    }
    return { status: 404, type: text, body: 'Not found. Paths: /metrics, /healthz, /readyz\n' };
  };
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const answer = handler(options);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    answer(path).then(
      ({ status, type, body }) => {
        response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        options.log.warn('Could not answer a metrics or health request', { path, message: error instanceof Error ? error.message : String(error) });
        response.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new IntegrationError(
          'invalid_param',
          `Cannot listen on ${options.listen.host}:${options.listen.port} for --metrics-listen: ${error.code ?? error.message}. Choose a free port and an address of this machine.`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.listen.port, options.listen.host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    address: `${host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
