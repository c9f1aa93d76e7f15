/**
 * The CLI program: turns the command line into a call of `main` (or the collector loop, or the simulator)
 * and prints the outcome. All integration work happens in `main`; this file only gathers input, opens the
 * state directory and prints. It resolves to the exit code and never throws.
 */
import { runCollector } from '../collector/run.js';
import { openFileEngine } from '../engine/file.js';
import type { EventSink } from '../engine/sink.js';
import { createStdoutSink } from '../engine/sinks/stdout.js';
import { createStderrLogger, logLevelFromEnv } from '../engine/stderr-logger.js';
import type { CommandError, Engine, Logger } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import { withEventFormat } from '../events/format.js';
import { parseArgs } from '../input/args.js';
import { parseParams } from '../input/params.js';
import { COMMAND_NAMES, main } from '../main.js';
import { type Manifest, ParamType, loadManifest } from '../manifest.js';
import { type CommandLineOptions, CliUsageError, parseCommandLine } from './args.js';
import { readConfigFile } from './config-file.js';
import { buildCommandHelp, buildHelp } from './help.js';
import { loadSimulatorCli, loadXsiamSinkModule } from './optional-modules.js';
import { errorLine, formatOutcome } from './output.js';
import { preflight } from './preflight.js';
import { XSIAM_API_KEY_ENV, collectParams } from './params.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Source of SIGINT/SIGTERM for `run`; the process by default. */
  signals: Pick<NodeJS.EventEmitter, 'on' | 'removeListener'>;
  /** Ends the process at once (a second Ctrl-C during `run`). */
  forceExit: (code: number) => void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    forceExit: (code) => process.exit(code),
  };
}

function secretParamIds(manifest: Manifest): Set<string> {
  const secretTypes: number[] = [ParamType.credentials, ParamType.encryptedLongText];
  return new Set(manifest.configuration.filter((spec) => secretTypes.includes(spec.type)).map((spec) => spec.name));
}

/** Config file, then environment, then --param; warnings (never values) go to the log. */
async function gatherParams(options: CommandLineOptions, io: CliIo, manifest: Manifest, log: Logger) {
  const secretIds = secretParamIds(manifest);
  const file = options.configPath ? await readConfigFile(options.configPath, secretIds) : { values: {}, warnings: [] };
  const collected = collectParams({
    paramIds: manifest.configuration.map((spec) => spec.name),
    secretIds,
    fromFile: file.values,
    env: io.env,
    fromFlags: options.params,
  });
  for (const warning of [...file.warnings, ...collected.warnings]) log.warn(warning);
  return collected.params;
}

async function createSink(options: CommandLineOptions, io: CliIo, log: Logger): Promise<EventSink | undefined> {
  switch (options.sink) {
    case 'file':
      return undefined; // the file engine's default: events.ndjson in the state directory
    case 'stdout':
      return createStdoutSink({ stream: io.stdout });
    case 'xsiam': {
      const { createXsiamSink } = await loadXsiamSinkModule();
      return createXsiamSink({ url: options.xsiamUrl as string, apiKey: xsiamApiKey(io), log });
    }
  }
}

/** The XSIAM collector's API key; asked for before anything else runs, since nothing can be delivered without it. */
function xsiamApiKey(io: CliIo): string {
  const apiKey = io.env[XSIAM_API_KEY_ENV];
  if (apiKey === undefined || apiKey === '') {
    throw new CliUsageError('usage', `--sink xsiam needs the collector's API key in the ${XSIAM_API_KEY_ENV} environment variable.`);
  }
  return apiKey;
}

/** Opens the state directory with the chosen sink, runs `work`, and always closes it (releasing the lock). */
async function withEngine<T>(
  options: CommandLineOptions,
  io: CliIo,
  log: Logger,
  stateKeyFile: string | undefined,
  work: (engine: Engine) => Promise<T>,
): Promise<T> {
  const sink = await createSink(options, io, log);
  let engine: Awaited<ReturnType<typeof openFileEngine>>;
  try {
    engine = await openFileEngine({ ...(options.stateDir ? { dir: options.stateDir } : {}), ...(sink ? { sink } : {}), log, stateKeyFile });
  } catch (error) {
    await sink?.close?.().catch(() => undefined);
    throw error;
  }
  try {
    return await work(withEventFormat(engine, options.format));
  } finally {
    // A sink accepts events durably before `send` resolves, so a failing close loses nothing: report, go on.
    await engine.close().catch((error: unknown) => {
      log.warn('Could not close the state directory cleanly', { message: error instanceof Error ? error.message : String(error) });
    });
  }
}

/**
 * `main` checks input too, but checking here first means bad input never creates or locks the state
 * directory. Same parsers, so the same messages; preflight adds the commands' own early checks
 * (credentials, dates) for the same reason.
 */
async function checkInput(
  command: string,
  params: Record<string, unknown>,
  args: Record<string, unknown>,
  manifest: Manifest,
  context: { env: CliIo['env']; stateDir: string | undefined },
): Promise<CommandError | undefined> {
  try {
    const parsedParams = parseParams(params, manifest);
    const parsedArgs = parseArgs(command, args, manifest);
    await preflight(command, parsedParams, parsedArgs, context);
    return undefined;
  } catch (error) {
    if (!isIntegrationError(error)) throw error;
    return { error: { code: error.code, message: error.fullMessage } };
  }
}

async function runIntegrationCommand(command: string, options: CommandLineOptions, io: CliIo, manifest: Manifest, log: Logger) {
  if (options.sink === 'xsiam') xsiamApiKey(io);
  const params = await gatherParams(options, io, manifest, log);
  const outcome =
    (await checkInput(command, params, options.args, manifest, { env: io.env, stateDir: options.stateDir })) ??
    (await withEngine(options, io, log, parseParams(params, manifest).stateKeyFile, (engine) => main(command, params, options.args, engine)));
  const printed = formatOutcome(outcome, options.json);
  // With events on stdout, the command's own output moves to stderr so the NDJSON stream stays clean.
  (options.sink === 'stdout' ? io.stderr : io.stdout).write(printed.output);
  if (printed.error) io.stderr.write(printed.error);
  return printed.exitCode;
}

async function runCollectorLoop(options: CommandLineOptions, io: CliIo, manifest: Manifest, log: Logger) {
  const params = await gatherParams(options, io, manifest, log);
  // Settings no cycle could ever succeed with (contradictory credentials, an unreadable key, a first_fetch
  // out of reach) end the collector at once, instead of failing every cycle.
  const parsedParams = parseParams(params, manifest);
  await preflight('fetch-events', parsedParams, {}, { env: io.env, stateDir: options.stateDir });
  const controller = new AbortController();
  const onSignal = (signal: string) => {
    if (controller.signal.aborted) {
      io.stderr.write(`Received ${signal} again: stopping now. The fetch position is as of the last finished cycle.\n`);
      io.forceExit(130);
      return;
    }
    log.info('Stopping after the current fetch cycle (press Ctrl-C again to stop at once)', { signal });
    controller.abort(new Error(`stopped by ${signal}`));
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  io.signals.on('SIGINT', onSigint);
  io.signals.on('SIGTERM', onSigterm);
  try {
    await withEngine(options, io, log, parsedParams.stateKeyFile, async (engine) => {
      // Saved tokens the state key cannot open would fail every cycle: say so once and stop.
      await engine.getIntegrationContext();
      return runCollector({
        params,
        engine,
        signal: controller.signal,
        onProgress: (progress) => {
          const facts = {
            cycle: progress.runs,
            events: progress.eventsThisRun,
            total: progress.totalEvents,
            backlog: progress.backlog,
            behindMinutes: progress.behindMs === undefined ? undefined : Math.round(progress.behindMs / 60_000),
          };
          if (progress.error) {
            log.warn(`Fetch cycle failed; trying again at the next interval: ${progress.error.message}`, { ...facts, code: progress.error.code });
          } else log.info('Fetch cycle finished', facts);
        },
      });
    });
  } finally {
    io.signals.removeListener('SIGINT', onSigint);
    io.signals.removeListener('SIGTERM', onSigterm);
  }
  log.info('Collector stopped');
  return 0;
}

function printFailure(io: CliIo, error: unknown): number {
  if (error instanceof CliUsageError) {
    io.stderr.write(errorLine(error.code, error.message));
  } else if (isIntegrationError(error)) {
    io.stderr.write(errorLine(error.code, error.fullMessage));
  } else {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(errorLine('internal', `Unexpected failure: ${message}`));
    // A stack helps a developer, not an administrator: only on request.
    if (logLevelFromEnv(io.env) === 'debug' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  }
  return 1;
}

export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const manifest = loadManifest();
    const invocation = parseCommandLine(argv, COMMAND_NAMES);
    const log = createStderrLogger({ stream: io.stderr, level: logLevelFromEnv(io.env) });
    switch (invocation.kind) {
      case 'help':
        if (invocation.missingCommand) {
          io.stderr.write(buildHelp(manifest));
          io.stderr.write(errorLine('usage', 'No command given.'));
          return 1;
        }
        io.stdout.write(invocation.command ? buildCommandHelp(manifest, invocation.command) : buildHelp(manifest));
        return 0;
      case 'simulate': {
        const simulator = await loadSimulatorCli();
        return await simulator.runSimulateCommand(invocation.argv, { stdout: io.stdout, stderr: io.stderr });
      }
      case 'integration':
        return await runIntegrationCommand(invocation.command, invocation.options, io, manifest, log);
      case 'run':
        return await runCollectorLoop(invocation.options, io, manifest, log);
    }
  } catch (error) {
    return printFailure(io, error);
  }
}
