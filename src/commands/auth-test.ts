import type { CommandResult } from '../engine/types.js';
import { buildClients } from './clients.js';
import type { CommandContext, CommandHandler } from './types.js';

/**
 * The cheapest real Graph call: the first page of a one-minute window with `$top=1`. It proves the token
 * is accepted and the permission and service principal are in place.
 */
export async function probeGraph(context: CommandContext): Promise<void> {
  const { tokens, graph } = buildClients(context);
  // A token first, so an authorization code is redeemed (and kept) even if Graph then refuses.
  await tokens.getAccessToken();
  const endMs = context.engine.now();
  for await (const _page of graph.listMessageTraces({ startMs: endMs - 60_000, endMs, top: 1 })) {
    break;
  }
}

/** o365-message-trace-auth-test: redeems an authorization code once if needed, then probes Graph. */
export const authTest: CommandHandler = async (context): Promise<CommandResult> => {
  await probeGraph(context);
  return { readableOutput: 'Authentication was successful.' };
};
