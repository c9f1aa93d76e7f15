/**
 * The command line as data: a pure function from argv to what the user asked for. Nothing here reads
 * files, the environment or integration.yml, so every form can be tested in a table.
 */
import { LOG_FORMATS, type LogFormat } from '../standalone/stderr-logger.js';

import { EVENT_FORMATS, type EventFormat } from '../events/format.js';

export const SINK_KINDS = ['file', 'stdout', 'xsiam'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

/** CLI-only subcommands besides the integration's commands. */
export const RUN_COMMAND = 'run';
export const STATUS_COMMAND = 'status';
export const SIMULATE_COMMAND = 'simulate';

/** `run` as a service: how many runs at a time, where metrics listen, how failures are retried. */
export interface ServiceOptions {
  concurrency: number;
  /** HOST:PORT as typed; checked when the listener opens. */
  metricsListen: string | undefined;
  retryDelaySeconds: number;
  maxRetryDelaySeconds: number;
  readyIntervals: number;
}

export const SERVICE_DEFAULTS: ServiceOptions = {
  concurrency: 4,
  metricsListen: undefined,
  retryDelaySeconds: 30,
  maxRetryDelaySeconds: 900,
  readyIntervals: 3,
};

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
  logFormat: LogFormat;
  service: ServiceOptions;
}

export type CliInvocation =
  /** `command` set: help for that command. `missingCommand`: nothing was asked, so help is an error. */
  | { kind: 'help'; command?: string; missingCommand?: boolean }
  | { kind: 'integration'; command: string; options: CommandLineOptions }
  | { kind: 'run'; options: CommandLineOptions }
  | { kind: 'status'; options: CommandLineOptions }
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
/** Options that only `run` takes, with the whole number each needs (0: not a number). */
const SERVICE_NUMBERS: Readonly<Record<string, { key: keyof ServiceOptions; min: number; max: number }>> = {
  '--concurrency': { key: 'concurrency', min: 1, max: 1000 },
  '--retry-delay': { key: 'retryDelaySeconds', min: 1, max: 86_400 },
  '--max-retry-delay': { key: 'maxRetryDelaySeconds', min: 1, max: 86_400 },
  '--ready-intervals': { key: 'readyIntervals', min: 1, max: 1000 },
};
const SERVICE_OPTIONS = new Set([...Object.keys(SERVICE_NUMBERS), '--metrics-listen']);
const VALUE_OPTIONS = new Set(['--config', '--param', '--arg', '--state-dir', '--sink', '--xsiam-url', '--format', '--log-format', ...SERVICE_OPTIONS]);
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
  return [...integrationCommands, RUN_COMMAND, STATUS_COMMAND, SIMULATE_COMMAND];
}

function wholeNumber(option: string, value: string, min: number, max: number): number {
  const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(number >= min && number <= max)) throw new CliUsageError('usage', `${option} takes a whole number from ${min} to ${max}; got '${value}'.`);
  return number;
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
  let logFormat: LogFormat = 'text';
  const service: ServiceOptions = { ...SERVICE_DEFAULTS };
  const serviceOptionsGiven: string[] = [];
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
    if (SERVICE_OPTIONS.has(option)) serviceOptionsGiven.push(option);
    const number = SERVICE_NUMBERS[option];
    if (number) {
      (service[number.key] as number) = wholeNumber(option, value, number.min, number.max);
      continue;
    }

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
      case '--metrics-listen':
        service.metricsListen = value;
        break;
      case '--log-format':
        if (!(LOG_FORMATS as readonly string[]).includes(value)) {
          throw new CliUsageError('usage', `--log-format must be one of ${LOG_FORMATS.join(', ')}; got '${value}'.`);
        }
        logFormat = value as LogFormat;
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

  const options: CommandLineOptions = { configPath, params, args, stateDir, json, sink: resolvedSink, xsiamUrl, format, logFormat, service };
  if (command !== RUN_COMMAND && serviceOptionsGiven.length > 0) {
    throw new CliUsageError('usage', `${serviceOptionsGiven.join(', ')} ${serviceOptionsGiven.length === 1 ? 'applies' : 'apply'} only to run.`);
  }
  if (service.maxRetryDelaySeconds < service.retryDelaySeconds) {
    throw new CliUsageError('usage', `--max-retry-delay (${service.maxRetryDelaySeconds}) must be at least --retry-delay (${service.retryDelaySeconds}).`);
  }
  if (command === STATUS_COMMAND) {
    if (Object.keys(args).length > 0 || params.length > 0) {
      throw new CliUsageError('usage', 'status takes no --param or --arg; it reads the state directory (--state-dir).');
    }
    return { kind: 'status', options };
  }
  if (command === RUN_COMMAND) {
    if (Object.keys(args).length > 0) throw new CliUsageError('usage', 'run takes no --arg; it runs fetch-events with the parameters.');
    if (json) throw new CliUsageError('usage', 'run has no --json output; it reports progress on stderr.');
    return { kind: 'run', options };
  }
  return { kind: 'integration', command, options };
}
