/**
 * The entry an engine calls: `main(command, params, args, engine)`. It parses params and args, runs the
 * command's check, and only then opens the engine and runs the command, so input a command would refuse
 * anyway never locks or touches state. It always resolves: to a result, or to an error a person can act
 * on. It never throws, the way an XSIAM engine expects `return_results` / `return_error`.
 */
import type { Environment } from './auth/select.js';
import type { Command, CheckContext } from './commands/types.js';
import { defaultEngineOpener } from './standalone/default.js';
import type { ClosableEngine, CommandOutcome, Engine, EngineOpener } from './engine/types.js';
import { IntegrationError, isIntegrationError } from './errors.js';
import { type ParsedArgs, parseArgs } from './input/args.js';
import { type IntegrationParams, parseParams } from './input/params.js';

/**
 * Each command's module is imported when the command runs, not when the integration loads: the engine
 * starts a process per command, and each command then loads only what it uses (MSAL and undici stay
 * unloaded for generate-login-url and auth-reset, for instance). The bundle keeps each in its own chunk.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  'test-module': () => import('./commands/test-module.js').then((m) => m.command),
  'fetch-events': () => import('./commands/fetch-events.js').then((m) => m.command),
  'o365-message-trace-generate-login-url': () => import('./commands/generate-login-url.js').then((m) => m.command),
  'o365-message-trace-auth-test': () => import('./commands/auth-test.js').then((m) => m.command),
  'o365-message-trace-auth-reset': () => import('./commands/auth-reset.js').then((m) => m.command),
  'o365-message-trace-get-events': () => import('./commands/get-events.js').then((m) => m.command),
  'o365-message-trace-get-details': () => import('./commands/get-details.js').then((m) => m.command),
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

export interface MainOptions {
  /** The environment the sign-in method may fall back to (workload identity); default `process.env`. */
  env?: Environment;
}

/** What the checks know before the engine is open. */
export type CheckSetting = Pick<CheckContext, 'nowMs' | 'env' | 'hasSavedRun'>;

export interface CheckedInput {
  command: Command;
  params: IntegrationParams;
  args: ParsedArgs;
}

/**
 * Parses params and args and runs the command's check: everything that can be refused without opening
 * state or calling out. Throws the IntegrationError the command would end with.
 */
export async function checkInput(
  name: string,
  rawParams: Record<string, unknown>,
  rawArgs: Record<string, unknown>,
  setting: CheckSetting,
): Promise<CheckedInput> {
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    throw new IntegrationError('unknown_command', `Unknown command '${name}'. Known commands: ${COMMAND_NAMES.join(', ')}.`);
  }
  const params = parseParams(rawParams);
  const args = parseArgs(name, rawArgs);
  const command = await load();
  await command.check?.({ params, args, ...setting });
  return { command, params, args };
}

/** A caller's engine is already open: its state answers whether a fetch position is saved. */
async function hasSavedRunIn(engine: Engine): Promise<boolean> {
  const saved = await engine.getLastRun();
  return saved !== undefined && saved !== null && !(typeof saved === 'object' && Object.keys(saved).length === 0);
}

function isOpener(engine: Engine | EngineOpener): engine is EngineOpener {
  return 'open' in engine && typeof engine.open === 'function';
}

/**
 * `engine`: an open engine (the caller's; it stays open), or an opener `main` opens after the checks and
 * closes at the end; none: the local file engine in ./.o365-message-trace/.
 */
export async function main(
  command: string,
  params: Record<string, unknown>,
  args: Record<string, unknown> = {},
  engine?: Engine | EngineOpener,
  options: MainOptions = {},
): Promise<CommandOutcome> {
  const source = engine ?? defaultEngineOpener();
  const given = isOpener(source) ? undefined : source;
  let log: Engine['log'] | undefined = given?.log;
  // Only an engine opened here is closed here; a caller's engine stays the caller's.
  let openedEngine: ClosableEngine | undefined;
  try {
    const input = await checkInput(command, params, args, {
      env: options.env ?? process.env,
      nowMs: source.now(),
      hasSavedRun: () => (given ? hasSavedRunIn(given) : (source as EngineOpener).hasSavedRun()),
    });
    if (given === undefined) openedEngine = await (source as EngineOpener).open({ stateKeyFile: input.params.stateKeyFile });
    const activeEngine = given ?? (openedEngine as ClosableEngine);
    log = activeEngine.log;
    return await input.command.run({ params: input.params, args: input.args, engine: activeEngine });
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
