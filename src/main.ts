/**
 * The entry an engine calls: `main(command, params, args, engine)`. It parses params and args, runs the
 * command's check, and only then opens the engine and runs the command, so input a command would refuse
 * anyway never locks or touches state. It always resolves: to a result, or to an error a person can act
 * on. It never throws, the way an XSIAM engine expects `return_results` / `return_error`.
 */
import { type AuthPlan, type Environment, SIGN_IN_PARAMS, selectAuthMethod } from './auth/select.js';
import type { FetchEventsResult } from './commands/fetch-events.js';
import type { Command, CheckContext } from './commands/types.js';
import { defaultEngineOpener } from './standalone/default.js';
import type { ClosableEngine, CommandError, CommandOutcome, Engine, EngineOpener } from './engine/types.js';
import { IntegrationError, isIntegrationError } from './errors.js';
import { type ParsedArgs, parseArgs } from './input/args.js';
import { type IntegrationParams, describeParamProblems, readParams } from './input/params.js';

/**
 * Each command's module is imported when the command runs, not when the integration loads: the engine
 * starts a process per command, and each command then loads only what it uses (MSAL and undici stay
 * unloaded for generate-login-url and auth-reset, for instance). The bundle keeps each in its own chunk.
 */
export const COMMANDS = {
  'test-module': () => import('./commands/test-module.js').then((m) => m.command),
  'fetch-events': () => import('./commands/fetch-events.js').then((m) => m.command),
  'o365-message-trace-generate-login-url': () => import('./commands/generate-login-url.js').then((m) => m.command),
  'o365-message-trace-auth-test': () => import('./commands/auth-test.js').then((m) => m.command),
  'o365-message-trace-auth-reset': () => import('./commands/auth-reset.js').then((m) => m.command),
  'o365-message-trace-get-events': () => import('./commands/get-events.js').then((m) => m.command),
  'o365-message-trace-get-details': () => import('./commands/get-details.js').then((m) => m.command),
} as const satisfies Readonly<Record<string, () => Promise<Command>>> & { 'fetch-events': () => Promise<Command<FetchEventsResult>> };

export const COMMAND_NAMES = Object.keys(COMMANDS);

export interface MainOptions {
  /** The environment the sign-in method may fall back to (workload identity); default `process.env`. */
  env?: Environment;
  /** Aborting asks the command to stop soon without losing anything (CommandContext.signal). */
  signal?: AbortSignal;
}

/** fetch-events' outcome, typed: the standalone collector reads its summary. */
export type FetchEventsOutcome = FetchEventsResult | CommandError;

/** What the checks know before the engine is open, and the environment the sign-in method may read. */
export type CheckSetting = Pick<CheckContext, 'nowMs' | 'hasSavedRun'> & { env: Environment };

export interface CheckedInput {
  command: Command;
  params: IntegrationParams;
  args: ParsedArgs;
  auth: AuthPlan | undefined;
}

/**
 * The params, and for a command that signs in the sign-in method chosen from them, once. The parameters'
 * own problems and the sign-in settings' contradictions come in one report, so a person fixes them in
 * one go; when a setting the choice reads is itself malformed, its own problem says enough.
 */
function paramsFor(command: Command, raw: Record<string, unknown>, env: Environment): { params: IntegrationParams; auth: AuthPlan | undefined } {
  const { params, problems } = readParams(raw);
  const signIn = command.signsIn === true && !problems.some((problem) => SIGN_IN_PARAMS.has(problem.name)) ? attempt(() => selectAuthMethod(params, env)) : undefined;
  const errors: IntegrationError[] = [];
  if (problems.length > 0) errors.push(new IntegrationError('invalid_param', describeParamProblems(problems)));
  if (signIn?.ok === false) errors.push(signIn.error);
  if (errors.length > 0) throw oneReport(errors);
  return { params, auth: signIn?.ok ? signIn.value : undefined };
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: IntegrationError };

function attempt<T>(read: () => T): Attempt<T> {
  try {
    return { ok: true, value: read() };
  } catch (error) {
    if (!isIntegrationError(error)) throw error;
    return { ok: false, error };
  }
}

/** Several input errors as one, under the first one's code. */
function oneReport(errors: readonly IntegrationError[]): IntegrationError {
  const [first, ...more] = errors as [IntegrationError, ...IntegrationError[]];
  if (more.length === 0) return first;
  return new IntegrationError(first.code, errors.map((error) => error.message).join('\n'));
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
  const load = Object.hasOwn(COMMANDS, name) ? (COMMANDS as Readonly<Record<string, () => Promise<Command>>>)[name] : undefined;
  if (load === undefined) {
    throw new IntegrationError('unknown_command', `Unknown command '${name}'. Known commands: ${COMMAND_NAMES.join(', ')}.`);
  }
  const command = await load();
  // Params and args are both read before either is refused, so one report names every problem.
  const params = attempt(() => paramsFor(command, rawParams, setting.env));
  const args = attempt(() => parseArgs(name, rawArgs));
  if (!params.ok || !args.ok) throw oneReport([params, args].flatMap((read) => (read.ok ? [] : [read.error])));
  const input = { command, params: params.value.params, args: args.value, auth: params.value.auth };
  await command.check?.({ ...input, nowMs: setting.nowMs, hasSavedRun: setting.hasSavedRun });
  return input;
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
  command: 'fetch-events',
  params: Record<string, unknown>,
  args?: Record<string, unknown>,
  engine?: Engine | EngineOpener,
  options?: MainOptions,
): Promise<FetchEventsOutcome>;
export async function main(
  command: string,
  params: Record<string, unknown>,
  args?: Record<string, unknown>,
  engine?: Engine | EngineOpener,
  options?: MainOptions,
): Promise<CommandOutcome>;
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
    return await input.command.run({ params: input.params, args: input.args, auth: input.auth, engine: activeEngine, signal: options.signal });
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
