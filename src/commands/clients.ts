/**
 * Builds the shared clients a command needs from its context: one HTTP transport, one token provider and
 * one Graph client, so every command goes out the same way and spends the same request budget.
 */
import { createTokenProvider } from '../auth/provider.js';
import type { TokenProvider } from '../auth/types.js';
import { type GraphClientWithStats, createGraphClient } from '../graph/client.js';
import { type HttpFetch, createHttpFetch } from '../http/transport.js';
import { signInPlan } from './sign-in.js';
import type { CommandContext } from './types.js';

export interface Clients {
  http: HttpFetch;
  tokens: TokenProvider;
  graph: GraphClientWithStats;
}

export function createHttpFromParams(context: CommandContext): HttpFetch {
  const { params, engine } = context;
  return createHttpFetch(
    { proxy: params.proxy, insecure: params.insecure, caCertificate: params.caCertificate },
    engine.log,
  );
}

export function buildClients(context: CommandContext, options: { deadlineMs?: number } = {}): Clients {
  const http = createHttpFromParams(context);
  const tokens = createTokenProvider({ params: context.params, plan: signInPlan(context), engine: context.engine, http });
  const graph = createGraphClient({
    params: context.params,
    engine: context.engine,
    http,
    tokens,
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
  });
  return { http, tokens, graph };
}
