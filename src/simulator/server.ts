/**
 * The two loopback listeners: HTTPS for Entra, Graph and the control API (one origin, like a client
 * pointed at a private cloud), and plain HTTP for IMDS (the real one is http://169.254.169.254).
 * Routing only; each route family lives in its own module. Every response is counted by route and status.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SimulatorContext } from './context.js';
import { CONTROL_PREFIX, controlRouteName, handleControl } from './control.js';
import { directoryRouteName, handleDirectory } from './directory.js';
import { entraRouteName, handleEntra, handleImds } from './entra.js';
import { graphRouteName, handleGraph } from './graph.js';
import { graphErrorBody, requestIds, sendJson } from './http-util.js';

export interface Listeners {
  httpsPort: number;
  httpPort: number;
  close(): Promise<void>;
}

function track(ctx: SimulatorContext, res: ServerResponse, route: string): void {
  let counted = false;
  const count = (status: string): void => {
    if (counted) return;
    counted = true;
    ctx.stats.request(route, status);
  };
  res.on('finish', () => count(String(res.statusCode)));
  // Closed before the response completed: reset, timeout or truncate faults (or a client giving up).
  res.on('close', () => count(res.headersSent ? `${res.statusCode}-incomplete` : 'no-response'));
}

function fail(res: ServerResponse, error: unknown): void {
  if (!res.headersSent) {
    sendJson(res, 500, { error: 'simulator_error', error_description: error instanceof Error ? error.message : String(error) });
  } else {
    res.destroy();
  }
}

export async function startListeners(
  ctx: SimulatorContext,
  tls: { cert: string; key: string },
  ports: { https: number; http: number },
  revokeRefreshTokens: () => void,
): Promise<Listeners> {
  const onHttps = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', ctx.origin || 'https://127.0.0.1');
    const graphRoute = graphRouteName(url.pathname);
    const directoryRoute = directoryRouteName(url.pathname);
    const entraRoute = graphRoute || directoryRoute ? null : entraRouteName(url.pathname);
    const controlRoute = url.pathname.startsWith(CONTROL_PREFIX) ? controlRouteName(url.pathname) : null;
    const route = graphRoute ?? directoryRoute ?? entraRoute ?? controlRoute ?? 'unknown';
    track(ctx, res, route);
    try {
      if (graphRoute) {
        handleGraph(ctx, req, res, url);
      } else if (directoryRoute) {
        handleDirectory(ctx, req, res, url);
      } else if (entraRoute) {
        handleEntra(ctx, req, res, url).catch((error: unknown) => fail(res, error));
      } else if (controlRoute) {
        handleControl(ctx, req, res, url, revokeRefreshTokens).catch((error: unknown) => fail(res, error));
      } else {
        const ids = requestIds(req);
        sendJson(res, 400, graphErrorBody('BadRequest', `Resource not found for the segment '${url.pathname.split('/').filter(Boolean).pop() ?? ''}'.`, ids, ctx.clock()));
      }
    } catch (error) {
      fail(res, error);
    }
  };
  const onHttp = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    track(ctx, res, 'imds.token');
    try {
      handleImds(ctx, req, res, url);
    } catch (error) {
      fail(res, error);
    }
  };

  const secure = https.createServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: 5_000 }, onHttps);
  const plain = http.createServer({ keepAliveTimeout: 5_000 }, onHttp);
  await Promise.all([listen(secure, ports.https), listen(plain, ports.http)]);
  return {
    httpsPort: (secure.address() as AddressInfo).port,
    httpPort: (plain.address() as AddressInfo).port,
    async close() {
      for (const res of ctx.held) res.socket?.destroy();
      ctx.held.clear();
      const closing = [close(secure), close(plain)];
      secure.closeAllConnections();
      plain.closeAllConnections();
      await Promise.all(closing);
    },
  };
}

function listen(server: http.Server | https.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
