import type { CommandResult, Engine } from '../engine/types.js';
import type { ParsedArgs } from '../input/args.js';
import type { IntegrationParams } from '../input/params.js';

/** Everything a command handler gets: parsed params and args, and the engine. */
export interface CommandContext {
  params: IntegrationParams;
  args: ParsedArgs;
  engine: Engine;
}

export type CommandHandler = (context: CommandContext) => Promise<CommandResult>;
