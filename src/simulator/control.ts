/**
 * Simulator-only control API under /_simulator/ (no auth): ground truth, counters, runtime
 * reconfiguration and refresh-token revocation. Demo scripts and benchmarks in other processes use it
 * the way in-process tests use the SimulatedTenant object.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { applyConfigPatch } from './config.js';
import type { SimulatorContext } from './context.js';
import { BodyTooLargeError, readBody, sendJson } from './http-util.js';
import { parseLooseIsoMs } from './instant.js';
import { groundTruth, iterateGroundTruth, RangeTooLargeError } from './truth.js';

export const CONTROL_PREFIX = '/_simulator/';

export function controlRouteName(pathname: string): string | null {
  return pathname.startsWith(CONTROL_PREFIX) ? `control.${pathname.slice(CONTROL_PREFIX.length) || 'root'}` : null;
}

export async function handleControl(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  revokeRefreshTokens: () => void,
): Promise<void> {
  const action = url.pathname.slice(CONTROL_PREFIX.length);
  const route = `${req.method ?? 'GET'} ${action}`;
  try {
    switch (route) {
      case 'GET rows': {
        const start = parseLooseIsoMs(url.searchParams.get('start') ?? '');
        const end = parseLooseIsoMs(url.searchParams.get('end') ?? '');
        if (start === null || end === null) {
          sendJson(res, 400, { error: 'start and end must be ISO 8601 timestamps' });
          return;
        }
        if (url.searchParams.get('format') === 'ndjson') {
          // One row per line, streamed with backpressure: for ranges too large for one JSON document.
          res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
          for (const row of iterateGroundTruth(ctx, start, end)) {
            if (!res.write(`${JSON.stringify(row)}\n`)) {
              await new Promise<void>((resolve) => {
                res.once('drain', resolve);
                res.once('close', resolve);
              });
              if (res.destroyed) return;
            }
          }
          res.end();
          return;
        }
        const rows = groundTruth(ctx, start, end);
        sendJson(res, 200, { count: rows.length, rows });
        return;
      }
      case 'GET stats':
        sendJson(res, 200, ctx.stats.snapshot());
        return;
      case 'GET config':
        sendJson(res, 200, ctx.config);
        return;
      case 'POST config': {
        const text = await readBody(req);
        let patch: unknown;
        try {
          patch = JSON.parse(text || '{}');
        } catch {
          sendJson(res, 400, { error: 'body must be JSON' });
          return;
        }
        applyConfigPatch(ctx.config, patch as Parameters<typeof applyConfigPatch>[1]);
        sendJson(res, 200, ctx.config);
        return;
      }
      case 'POST revoke-refresh-tokens':
        revokeRefreshTokens();
        sendJson(res, 200, { revokedBefore: new Date(ctx.entra.revokedBeforeMs).toISOString() });
        return;
      default:
        sendJson(res, 404, { error: `unknown control route ${route}` });
    }
  } catch (error) {
    if (error instanceof z.ZodError) {
      sendJson(res, 400, { error: 'invalid config patch', issues: error.issues });
      return;
    }
    if (error instanceof RangeTooLargeError || error instanceof BodyTooLargeError) {
      sendJson(res, 400, { error: error.message });
      return;
    }
    throw error;
  }
}
