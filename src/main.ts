/**
 * The entry an engine calls: `main(command, params, args, engine)`. It parses params and args, looks the
 * command up in one table, and always resolves: to a result, or to an error a person can act on. It never
 * throws, the way an XSIAM engine expects `return_results` / `return_error`.
 */
import type { CommandHandler } from './commands/types.js';
import { type ClosableEngine, defaultEngine } from './standalone/default.js';
import type { CommandOutcome, Engine } from './engine/types.js';
import { IntegrationError, isIntegrationError } from './errors.js';
import { parseArgs } from './input/args.js';
import { parseParams } from './input/params.js';

/**
 * A handler whose module is imported when the command runs, not when the integration loads: the engine
 * starts a process per command, and each command then loads only what it uses (MSAL and undici stay
 * unloaded for generate-login-url and auth-reset, for instance). The bundle keeps each in its own chunk.
 */
function lazy<M>(load: () => Promise<M>, pick: (module: M) => CommandHandler): CommandHandler {
  return async (context) => pick(await load())(context);
}

export const COMMANDS: Readonly<Record<string, CommandHandler>> = {
  'test-module': lazy(() => import('./commands/test-module.js'), (m) => m.testModule),
  'fetch-events': lazy(() => import('./commands/fetch-events.js'), (m) => m.fetchEvents),
  'o365-message-trace-generate-login-url': lazy(() => import('./commands/generate-login-url.js'), (m) => m.generateLoginUrl),
  'o365-message-trace-auth-test': lazy(() => import('./commands/auth-test.js'), (m) => m.authTest),
  'o365-message-trace-auth-reset': lazy(() => import('./commands/auth-reset.js'), (m) => m.authReset),
  'o365-message-trace-get-events': lazy(() => import('./commands/get-events.js'), (m) => m.getEvents),
  'o365-message-trace-get-details': lazy(() => import('./commands/get-details.js'), (m) => m.getDetails),
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

export async function main(
  command: string,
  params: Record<string, unknown>,
  args: Record<string, unknown> = {},
  engine?: Engine,
): Promise<CommandOutcome> {
  let log: Engine['log'] | undefined = engine?.log;
  // Only an engine opened here is closed here; a caller's engine stays the caller's.
  let openedEngine: ClosableEngine | undefined;
  try {
    const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (handler === undefined) {
      throw new IntegrationError(
        'unknown_command',
        `Unknown command '${command}'. Known commands: ${COMMAND_NAMES.join(', ')}.`,
      );
    }
    // Input is checked before any state is opened, so bad input never touches state.
    const parsedParams = parseParams(params);
    const parsedArgs = parseArgs(command, args);
    if (engine === undefined) openedEngine = await defaultEngine(parsedParams.stateKeyFile);
    const activeEngine = engine ?? (openedEngine as ClosableEngine);
    log = activeEngine.log;
    return await handler({ params: parsedParams, args: parsedArgs, engine: activeEngine });
  } catch (error) {
    if (isIntegrationError(error)) {
      // The error is the command's answer; the engine shows it. The log only keeps it for debugging.
      log?.debug(`${command} failed`, { code: error.code, message: error.fullMessage });
      return { error: { code: error.code, message: error.fullMessage } };
    }
    const message = error instanceof Error ? error.message : String(error);
    log?.error(`${command} failed unexpectedly`, { message });
    return { error: { code: 'internal', message: `${command} failed unexpectedly: ${message}` } };
  } finally {
    await openedEngine?.close().catch((error: unknown) => {
      log?.warn('Could not close the state directory cleanly', { message: error instanceof Error ? error.message : String(error) });
    });
  }
}
