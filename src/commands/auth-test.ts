import type { CommandResult } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import { buildClients } from './clients.js';
import { explainRefusal } from './onboarding-check.js';
import { checkSignIn } from './sign-in.js';
import type { Command, CommandContext, CommandHandler } from './types.js';

/**
 * The cheapest real Graph call: the first page of a one-minute window with `$top=1`. It proves the token
 * is accepted and the permission and service principal are in place; when Graph refuses (401/403), the
 * error says which onboarding step is missing (onboarding-check.ts).
 */
export async function probeGraph(context: CommandContext): Promise<void> {
  const { tokens, graph } = buildClients(context);
  // A token first, so an authorization code is redeemed (and kept) even if Graph then refuses.
  await tokens.getAccessToken();
  const endMs = context.engine.now();
  try {
    for await (const _page of graph.listMessageTraces({ startMs: endMs - 60_000, endMs, top: 1 })) {
      break;
    }
  } catch (error) {
    if (isIntegrationError(error) && (error.status === 401 || error.status === 403)) {
      throw await explainRefusal(error, { accessToken: () => tokens.getAccessToken(), graph });
    }
    throw error;
  }
}

/** o365-message-trace-auth-test: redeems an authorization code once if needed, then probes Graph. */
export const authTest: CommandHandler = async (context): Promise<CommandResult> => {
  await probeGraph(context);
  return { readableOutput: 'Authentication was successful.' };
};

export const command: Command = { signsIn: true, check: checkSignIn, run: authTest };
