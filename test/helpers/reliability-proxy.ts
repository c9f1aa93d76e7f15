/**
 * A Graph front for the reliability tests: an HTTPS server on loopback (its own CA, which the client trusts
 * through the ca_certificate param next to the simulator's) that forwards Graph requests to the simulated
 * tenant and injects what the simulator cannot: 429 without Retry-After or with an HTTP-date, a complete
 * 200 body that is not JSON, an @odata.nextLink that loops or leaves the origin, a redirect to another host. Next to it, a "foreign"
 * HTTPS server that records every request and Authorization header it gets: nothing may ever reach it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SimulatedTenant } from '../../src/simulator/index.js';
import { generateCertificates } from '../../src/simulator/certs.js';
import { createHttpFetch } from '../../src/http/transport.js';

export const PROXY_FAULTS = ['429-none', '429-date', 'invalid-json', 'loop', 'off-origin', 'redirect'] as const;
export type ProxyFault = (typeof PROXY_FAULTS)[number];

export interface RecordedRequest {
  url: string;
  authorization: string | undefined;
}

export interface GraphFront {
  /** Origin of the front, https://127.0.0.1:PORT: use it as the `url` and `authority_url` params. */
  url: string;
  /** Origin of the foreign recorder. */
  foreignUrl: string;
  /** PEM of the CA that signed both servers' certificates. */
  caCertPem: string;
  /** Fault probabilities per request; replaced as a whole. */
  faults: Partial<Record<ProxyFault, number>>;
  /** Requests the front received, and the faults it injected. */
  readonly requests: RecordedRequest[];
  readonly injected: Record<string, number>;
  /** Requests the foreign server received (must stay empty). */
  readonly foreign: RecordedRequest[];
  stop(): Promise<void>;
}

/** mulberry32: seeded, so a failing run replays. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function graphError(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, innerError: { 'request-id': 'front-0000', date: new Date().toISOString() } } });
}

export async function startGraphFront(
  sim: SimulatedTenant,
  options: { now: () => number; seed?: number; faults?: Partial<Record<ProxyFault, number>> },
): Promise<GraphFront> {
  const certs = await generateCertificates(Date.now());
  const upstream = createHttpFetch({ proxy: false, insecure: false, caCertificate: sim.caCertPem });
  const random = seeded(options.seed ?? 7);
  const requests: RecordedRequest[] = [];
  const foreign: RecordedRequest[] = [];
  const injected: Record<string, number> = {};
  let origin = '';
  let foreignOrigin = '';

  const front: GraphFront = {
    url: '',
    foreignUrl: '',
    caCertPem: certs.caCertPem,
    faults: { ...options.faults },
    requests,
    injected,
    foreign,
    stop: async () => {
      await Promise.all([close(server), close(foreignServer)]);
    },
  };

  const pick = (): ProxyFault | undefined => {
    const roll = random();
    let cumulative = 0;
    for (const kind of PROXY_FAULTS) {
      cumulative += front.faults[kind] ?? 0;
      if (roll < cumulative) return kind;
    }
    return undefined;
  };

  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };

  /**
   * Graph requests go to the simulator's Graph, the others to its Entra ID (two origins there, one here).
   * Entra requests pass through unchanged but for the origin, so scopes derived from `url` name the simulator.
   */
  const forward = async (req: IncomingMessage, url: string, isGraph: boolean): Promise<{ status: number; headers: Headers; text: string }> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'accept', 'content-type', 'client-request-id', 'prefer']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const method = req.method ?? 'GET';
    const response = await upstream(`${isGraph ? sim.graphUrl : sim.authorityUrl}${url}`, {
      method,
      headers,
      redirect: 'manual',
      ...(method === 'GET' || method === 'HEAD'
        ? {}
        : { body: body.replaceAll(origin, sim.graphUrl).replaceAll(encodeURIComponent(origin), encodeURIComponent(sim.graphUrl)) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text: text.replaceAll(sim.graphUrl, origin).replaceAll(sim.authorityUrl, origin) };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const isGraph = url.startsWith('/v1.0/');
    if (isGraph) requests.push({ url, authorization: req.headers.authorization });
    const fault = isGraph ? pick() : undefined;
    if (fault) injected[fault] = (injected[fault] ?? 0) + 1;
    if (fault === '429-none') {
      reply(res, 429, graphError('TooManyRequests', 'Too many requests.'));
      return;
    }
    if (fault === '429-date') {
      // Retry-After as an HTTP-date, 3 to 8 s ahead on the clock the client runs on.
      const at = new Date(options.now() + 3_000 + Math.floor(random() * 5) * 1000);
      reply(res, 429, graphError('TooManyRequests', 'Too many requests.'), { 'retry-after': at.toUTCString() });
      return;
    }
    if (fault === 'redirect') {
      // A redirect to another host: following it would carry the bearer token there.
      reply(res, 307, '', { location: `${foreignOrigin}${url}` });
      return;
    }
    if (fault === 'invalid-json') {
      // A complete response (content-length matches), but not JSON: what a misbehaving gateway sends.
      reply(res, 200, random() < 0.5 ? '<html><body>Bad gateway</body></html>' : '{"value": [{"id": "x", }]', {
        'content-type': random() < 0.5 ? 'text/html' : 'application/json',
      });
      return;
    }
    let upstreamReply: Awaited<ReturnType<typeof forward>>;
    try {
      upstreamReply = await forward(req, url, isGraph);
    } catch {
      // The simulator broke the connection (reset, timeout, truncate): break ours too.
      req.socket.destroy();
      return;
    }
    let body = upstreamReply.text;
    if ((fault === 'loop' || fault === 'off-origin') && upstreamReply.status === 200) {
      const json = JSON.parse(body) as Record<string, unknown>;
      json['@odata.nextLink'] = fault === 'loop' ? `${origin}${url}` : `${foreignOrigin}${url}`;
      body = JSON.stringify(json);
    }
    const headers: Record<string, string> = {};
    for (const name of ['retry-after', 'request-id', 'client-request-id', 'www-authenticate', 'content-type', 'location', 'cache-control']) {
      const value = upstreamReply.headers.get(name);
      if (value !== null) headers[name] = value.replaceAll(sim.graphUrl, origin).replaceAll(sim.authorityUrl, origin);
    }
    reply(res, upstreamReply.status, body, headers);
  };

  const server = createServer({ key: certs.serverKeyPem, cert: certs.serverCertPem }, (req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  const foreignServer = createServer({ key: certs.serverKeyPem, cert: certs.serverCertPem }, (req, res) => {
    foreign.push({ url: req.url ?? '/', authorization: req.headers.authorization });
    reply(res, 200, JSON.stringify({ value: [] }));
  });
  origin = await listen(server);
  foreignOrigin = await listen(foreignServer);
  front.url = origin;
  front.foreignUrl = foreignOrigin;
  return front;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
