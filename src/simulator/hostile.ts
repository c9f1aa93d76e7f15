/**
 * Hostile or broken responses on demand (`configure({ hostile: { graph, token } })` or the same patch on
 * POST /_simulator/config): what a compromised or broken proxy, or a hostile server, could send instead of
 * a real answer. Each stays in force until set back to 'off', so a client's retries meet it too.
 *
 *   oversize       a 200 whose body never ends in time: valid-looking rows streamed past 64 MiB (Graph) or
 *                  1 MiB (token), without Content-Length, until the client hangs up
 *   deep-json      a 200 whose JSON nests 100,000 levels deep
 *   long-string    (Graph) a page whose first row has a 1,000,000-character subject
 *   control-chars  (Graph) the real page, with terminal escapes, CR/LF, C1 controls, line separators and
 *                  bidi overrides put into every row's subject and sender address
 */
import type { ServerResponse } from 'node:http';

export const HOSTILE_KINDS = ['oversize', 'deep-json', 'long-string', 'control-chars'] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];
export interface HostileSettings {
  graph?: HostileKind | 'off';
  token?: HostileKind | 'off';
}

const MiB = 1024 * 1024;
/** Past the client's documented limits (64 MiB a Graph body, 1 MiB a token body), by one MiB. */
const OVERSIZE_BYTES = { graph: 65 * MiB, token: 2 * MiB } as const;
export const HOSTILE_DEPTH = 100_000;
export const HOSTILE_STRING_CHARS = 1_000_000;
/** What `control-chars` puts in front of every subject (and after every sender address). */
export const HOSTILE_TEXT =
  '\r\n2026-01-01T00:00:00.000Z error forged log line \u001b[2J\u001b]0;owned\u0007\u009b31m\u202eexe.pdf\u2028';

function rowsOf(body: unknown): Record<string, unknown>[] {
  const value = (body as { value?: unknown } | null)?.value;
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
}

function deepJson(): string {
  return `{"value":[{"id":"deep","nested":${'['.repeat(HOSTILE_DEPTH)}${']'.repeat(HOSTILE_DEPTH)}}]}`;
}

/** Streams `prefix`, then `filler` until `bytes` were sent or the client went away. No Content-Length. */
function streamEndless(res: ServerResponse, headers: Record<string, string>, prefix: string, filler: string, bytes: number): void {
  res.writeHead(200, { ...headers, 'content-type': 'application/json' });
  const chunk = Buffer.from(filler.repeat(Math.max(1, Math.ceil(MiB / filler.length))), 'utf8');
  let sent = 0;
  const pump = (): void => {
    while (!res.destroyed && sent < bytes) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end('{}]}');
  };
  res.write(prefix);
  pump();
}

/**
 * Answers a successful Graph request the hostile way, or returns false (then the real reply is sent).
 * `body` is the real page.
 */
export function sendHostileGraph(res: ServerResponse, kind: HostileSettings['graph'], body: unknown, headers: Record<string, string>): boolean {
  switch (kind) {
    case undefined:
    case 'off':
      return false;
    case 'oversize': {
      const sample = rowsOf(body)[0] ?? { id: 'filler', subject: 'filler' };
      streamEndless(res, headers, '{"value":[', `${JSON.stringify(sample)},`, OVERSIZE_BYTES.graph);
      return true;
    }
    case 'deep-json':
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(deepJson());
      return true;
    case 'long-string': {
      const [first, ...rest] = rowsOf(body);
      const page = { ...(body as object), value: [{ ...(first ?? { id: 'long' }), subject: 'A'.repeat(HOSTILE_STRING_CHARS) }, ...rest] };
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(page));
      return true;
    }
    case 'control-chars': {
      const value = rowsOf(body).map((row) => ({
        ...row,
        subject: `${HOSTILE_TEXT}${String(row.subject ?? '')}`,
        senderAddress: `${String(row.senderAddress ?? '')}${HOSTILE_TEXT}`,
      }));
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...(body as object), value }));
      return true;
    }
  }
}

/** Answers a token request the hostile way, or returns false. Only oversize and deep-json apply here. */
export function sendHostileToken(res: ServerResponse, kind: HostileSettings['token']): boolean {
  if (kind === 'oversize') {
    streamEndless(res, {}, '{"token_type":"Bearer","padding":[', '"0123456789abcdef",', OVERSIZE_BYTES.token);
    return true;
  }
  if (kind === 'deep-json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(deepJson());
    return true;
  }
  return false;
}
