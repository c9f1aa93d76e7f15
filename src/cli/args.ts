/**
 * The command line as data: a pure function from argv to what the user asked for. Nothing here reads
 * files, the environment or integration.yml, so every form can be tested in a table.
 */

import { EVENT_FORMATS, type EventFormat } from '../events/format.js';

export const SINK_KINDS = ['file', 'stdout', 'xsiam'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

/** CLI-only subcommands besides the integration's commands. */
export const RUN_COMMAND = 'run';
export const SIMULATE_COMMAND = 'simulate';

export interface CommandLineOptions {
  configPath: string | undefined;
  /** `--param id=value` in the order given (later wins). */
  params: ReadonlyArray<readonly [string, string]>;
  /** `--arg name=value` (later wins). */
  args: Readonly<Record<string, string>>;
  stateDir: string | undefined;
  json: boolean;
  sink: SinkKind;
  xsiamUrl: string | undefined;
  /** The shape events are handed to the sink in (`--format`); raw is what the engine gets. */
  format: EventFormat;
}

export type CliInvocation =
  /** `command` set: help for that command. `missingCommand`: nothing was asked, so help is an error. */
  | { kind: 'help'; command?: string; missingCommand?: boolean }
  | { kind: 'integration'; command: string; options: CommandLineOptions }
  | { kind: 'run'; options: CommandLineOptions }
  | { kind: 'simulate'; argv: string[] };

export type CliErrorCode = 'usage' | 'unknown_command';

/** A mistake on the command line; printed as one line, never with a stack trace. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const HELP_FLAGS = new Set(['--help', '-h']);
const VALUE_OPTIONS = new Set(['--config', '--param', '--arg', '--state-dir', '--sink', '--xsiam-url', '--format']);
const FLAG_OPTIONS = new Set(['--json']);

function splitPair(option: string, text: string): [string, string] {
  const equals = text.indexOf('=');
  const name = equals === -1 ? '' : text.slice(0, equals).trim();
  if (name === '') {
    const what = option === '--param' ? 'id=value, for example --param max_fetch=500' : 'name=value, for example --arg limit=10';
    // The text is not echoed: a mistyped --param may hold a secret.
    throw new CliUsageError('usage', `${option} needs ${what}.`);
  }
  return [name, text.slice(equals + 1)];
}

function allCommands(integrationCommands: readonly string[]): string[] {
  return [...integrationCommands, RUN_COMMAND, SIMULATE_COMMAND];
}

/**
 * Parses argv (without `node` and the script). `integrationCommands` are the names `main` knows. Throws
 * CliUsageError for anything it cannot make sense of.
 */
export function parseCommandLine(argv: readonly string[], integrationCommands: readonly string[]): CliInvocation {
  const first = argv[0];
  if (first === undefined) return { kind: 'help', missingCommand: true };
  if (HELP_FLAGS.has(first) || first === 'help') {
    const topic = argv[1];
    if (topic === undefined || topic.startsWith('-')) return { kind: 'help' };
    const known = allCommands(integrationCommands);
    if (!known.includes(topic)) {
      throw new CliUsageError('unknown_command', `Unknown command '${topic}'. Commands: ${known.join(', ')}.`);
    }
    return { kind: 'help', command: topic };
  }
  // The simulator parses its own options.
  if (first === SIMULATE_COMMAND) return { kind: 'simulate', argv: argv.slice(1) };

  let command: string | undefined;
  let configPath: string | undefined;
  let stateDir: string | undefined;
  let sink: SinkKind | undefined;
  let xsiamUrl: string | undefined;
  let format: EventFormat = 'raw';
  let json = false;
  let wantsHelp = false;
  const params: Array<readonly [string, string]> = [];
  const args: Record<string, string> = {};

  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] as string;
    if (HELP_FLAGS.has(token)) {
      wantsHelp = true;
      continue;
    }
    if (!token.startsWith('-')) {
      if (command !== undefined) {
        throw new CliUsageError(
          'usage',
          `Unexpected '${token}' after the command ${command}. Give command arguments as --arg name=value.`,
        );
      }
      command = token;
      continue;
    }
    const equals = token.indexOf('=');
    const option = equals === -1 ? token : token.slice(0, equals);
    if (FLAG_OPTIONS.has(option)) {
      if (equals !== -1) throw new CliUsageError('usage', `${option} takes no value.`);
      json = true;
      continue;
    }
    if (!VALUE_OPTIONS.has(option)) {
      throw new CliUsageError('usage', `Unknown option ${option}. Run o365-message-trace --help for the options.`);
    }
    let value: string | undefined;
    if (equals !== -1) value = token.slice(equals + 1);
    else {
      value = argv[index + 1];
      index += 1;
    }
    if (value === undefined) throw new CliUsageError('usage', `${option} needs a value.`);

    switch (option) {
      case '--config':
        configPath = value;
        break;
      case '--state-dir':
        stateDir = value;
        break;
      case '--param':
        params.push(splitPair(option, value));
        break;
      case '--arg': {
        const [name, argValue] = splitPair(option, value);
        args[name] = argValue;
        break;
      }
      case '--sink':
        if (!(SINK_KINDS as readonly string[]).includes(value)) {
          throw new CliUsageError('usage', `--sink must be one of ${SINK_KINDS.join(', ')}; got '${value}'.`);
        }
        sink = value as SinkKind;
        break;
      case '--xsiam-url':
        xsiamUrl = value;
        break;
      case '--format':
        if (!(EVENT_FORMATS as readonly string[]).includes(value)) {
          throw new CliUsageError('usage', `--format must be one of ${EVENT_FORMATS.join(', ')}; got '${value}'.`);
        }
        format = value as EventFormat;
        break;
    }
  }

  if (command === undefined) {
    if (wantsHelp) return { kind: 'help' };
    throw new CliUsageError('usage', `No command given. Commands: ${allCommands(integrationCommands).join(', ')}.`);
  }
  const known = allCommands(integrationCommands);
  if (!known.includes(command)) {
    throw new CliUsageError('unknown_command', `Unknown command '${command}'. Commands: ${known.join(', ')}.`);
  }
  if (wantsHelp) return { kind: 'help', command };

  if (xsiamUrl !== undefined && sink !== undefined && sink !== 'xsiam') {
    throw new CliUsageError('usage', `--xsiam-url applies only to --sink xsiam (the sink is ${sink}).`);
  }
  const resolvedSink: SinkKind = sink ?? (xsiamUrl !== undefined ? 'xsiam' : 'file');
  if (resolvedSink === 'xsiam' && xsiamUrl === undefined) {
    throw new CliUsageError('usage', '--sink xsiam needs --xsiam-url URL (and the API key in O365MT_XSIAM_API_KEY).');
  }

  const options: CommandLineOptions = { configPath, params, args, stateDir, json, sink: resolvedSink, xsiamUrl, format };
  if (command === RUN_COMMAND) {
    if (Object.keys(args).length > 0) throw new CliUsageError('usage', 'run takes no --arg; it runs fetch-events with the parameters.');
    if (json) throw new CliUsageError('usage', 'run has no --json output; it reports progress on stderr.');
    return { kind: 'run', options };
  }
  return { kind: 'integration', command, options };
}
