import type { AuthPlan } from '../auth/select.js';
import type { CommandResult, Engine } from '../engine/types.js';
import type { ParsedArgs } from '../input/args.js';
import type { IntegrationParams } from '../input/params.js';

/** What a command's check gets: the parsed input and what is known before any state is opened. */
export interface CheckContext {
  params: IntegrationParams;
  args: ParsedArgs;
  /** The sign-in method chosen from the params; always set for a command that `signsIn`. */
  auth: AuthPlan | undefined;
  /** The clock of the engine that will run the command. */
  nowMs: number;
  /** Whether a fetch position is saved, answered without opening (or locking) the state. */
  hasSavedRun: () => Promise<boolean>;
}

/** Everything a command handler gets: parsed params and args, the sign-in method, and the engine. */
export interface CommandContext {
  params: IntegrationParams;
  args: ParsedArgs;
  /** The sign-in method chosen from the params; always set for a command that `signsIn`. */
  auth?: AuthPlan | undefined;
  engine: Engine;
  /**
   * Aborting asks the command to stop soon without losing anything: the fetch loop stops between windows
   * with its state at the last window it sent; waits and requests end at once.
   */
  signal?: AbortSignal | undefined;
}

export type CommandHandler<R extends CommandResult = CommandResult> = (context: CommandContext) => Promise<R>;

/**
 * One command. `check` throws the IntegrationError the command would end with for input it can refuse
 * without state or network (contradictory credentials, dates out of range), so `main` refuses such input
 * before it opens the engine; `run` does the work.
 */
export interface Command<R extends CommandResult = CommandResult> {
  /**
   * The command signs in: main chooses the sign-in method when it parses the params, and reports
   * contradictory or missing credentials together with the parameters' own problems.
   */
  signsIn?: boolean;
  check?: (context: CheckContext) => void | Promise<void>;
  run: CommandHandler<R>;
}
