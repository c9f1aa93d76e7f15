/** Small HTTP helpers shared by the simulator's routes: bodies, JSON replies, Graph's error shape. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > limit) throw new BodyTooLargeError('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function jsonBody(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = jsonBody(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(payload.length),
    ...headers,
  });
  res.end(payload);
}

/** Graph's innerError date is second precision without a zone designator. */
export function graphDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export interface RequestIds {
  requestId: string;
  clientRequestId: string;
}

export function requestIds(req: IncomingMessage): RequestIds {
  const requestId = randomUUID();
  const sent = req.headers['client-request-id'];
  const clientRequestId = typeof sent === 'string' && sent.length > 0 ? sent : requestId;
  return { requestId, clientRequestId };
}

/** Headers Graph puts on every response. */
export function graphHeaders(ids: RequestIds): Record<string, string> {
  return {
    'request-id': ids.requestId,
    'client-request-id': ids.clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({ ServerInfo: { DataCenter: 'Simulated', Slice: 'E', Ring: '5' } }),
    'strict-transport-security': 'max-age=31536000',
  };
}

export function graphErrorBody(code: string, message: string, ids: RequestIds, nowMs: number): unknown {
  return {
    error: {
      code,
      message,
      innerError: {
        date: graphDate(nowMs),
        'request-id': ids.requestId,
        'client-request-id': ids.clientRequestId,
      },
    },
  };
}
