/**
 * The three loopback listeners, one per service, as a client meets them in Microsoft's cloud:
 *   authority (HTTPS)  Entra ID: discovery, authorize, token          — like login.microsoftonline.com
 *   graph     (HTTPS)  Graph message trace, and the /_simulator/ API — like graph.microsoft.com
 *   imds      (HTTP)   managed identity tokens                        — like http://169.254.169.254
 * Each listener serves only its own routes; anything else is that service's "not found", so a client that
 * sends a token request to Graph, or a Graph call to the sign-in host, fails as it would against Microsoft.
 * Every response is counted by listener, route and status.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ListenerName, SimulatorContext } from './context.js';
import { CONTROL_PREFIX, controlRouteName, handleControl } from './control.js';
import { directoryRouteName, handleDirectory } from './directory.js';
import { entraRouteName, handleEntra, handleImds, sendEntraNotFound } from './entra.js';
import { graphRouteName, handleGraph } from './graph.js';
import { graphErrorBody, graphHeaders, requestIds, sendJson } from './http-util.js';

export interface Listeners {
  authorityPort: number;
  graphPort: number;
  httpPort: number;
  close(): Promise<void>;
}

function track(ctx: SimulatorContext, res: ServerResponse, listener: ListenerName, route: string): void {
  let counted = false;
  const count = (status: string): void => {
    if (counted) return;
    counted = true;
    ctx.stats.request(listener, route, status);
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
  ports: { authority: number; graph: number; http: number },
  revokeRefreshTokens: () => void,
): Promise<Listeners> {
  const onAuthority = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', ctx.authorityOrigin || 'https://127.0.0.1');
    const route = entraRouteName(url.pathname);
    track(ctx, res, 'authority', route ?? 'unknown');
    if (route === null) {
      sendEntraNotFound(ctx, req, res);
      return;
    }
    handleEntra(ctx, req, res, url).catch((error: unknown) => fail(res, error));
  };
  const onGraph = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', ctx.graphOrigin || 'https://127.0.0.1');
    const graphRoute = graphRouteName(url.pathname);
    const directoryRoute = graphRoute ? null : directoryRouteName(url.pathname);
    const controlRoute =
      graphRoute || directoryRoute ? null : url.pathname.startsWith(CONTROL_PREFIX) ? controlRouteName(url.pathname) : null;
    track(ctx, res, 'graph', graphRoute ?? directoryRoute ?? controlRoute ?? 'unknown');
    try {
      if (graphRoute) {
        handleGraph(ctx, req, res, url);
      } else if (directoryRoute) {
        handleDirectory(ctx, req, res, url);
      } else if (controlRoute) {
        handleControl(ctx, req, res, url, revokeRefreshTokens).catch((error: unknown) => fail(res, error));
      } else {
        // Graph's answer to a path it has no resource for: 400, with the ids it puts on every response.
        const ids = requestIds(req);
        const segment = url.pathname.split('/').filter(Boolean).pop() ?? '';
        sendJson(res, 400, graphErrorBody('BadRequest', `Resource not found for the segment '${segment}'.`, ids, ctx.clock()), graphHeaders(ids));
      }
    } catch (error) {
      fail(res, error);
    }
  };
  const onImds = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    track(ctx, res, 'imds', 'imds.token');
    try {
      handleImds(ctx, req, res, url);
    } catch (error) {
      fail(res, error);
    }
  };

  const authority = https.createServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: 5_000 }, onAuthority);
  const graph = https.createServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: 5_000 }, onGraph);
  const plain = http.createServer({ keepAliveTimeout: 5_000 }, onImds);
  const servers = [authority, graph, plain];
  await Promise.all([listen(authority, ports.authority), listen(graph, ports.graph), listen(plain, ports.http)]);
  return {
    authorityPort: (authority.address() as AddressInfo).port,
    graphPort: (graph.address() as AddressInfo).port,
    httpPort: (plain.address() as AddressInfo).port,
    async close() {
      for (const res of ctx.held) res.socket?.destroy();
      ctx.held.clear();
      const closing = servers.map(close);
      for (const server of servers) server.closeAllConnections();
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
