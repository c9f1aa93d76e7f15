/**
 * The CLI program: turns the command line into a call of `main` (or the collector loop, or the simulator)
 * and prints the outcome. All integration work happens in `main`; this file only gathers input, opens the
 * state directory and prints. It resolves to the exit code and never throws.
 */
import { openFileEngine } from '../standalone/file-engine.js';
import type { EventSink } from '../standalone/sink.js';
import { createStdoutSink } from '../standalone/sinks/stdout.js';
import { createStderrLogger, logLevelFromEnv } from '../standalone/stderr-logger.js';
import { hasSavedRunFile } from '../standalone/default.js';
import type { ClosableEngine, EngineOpener, Logger } from '../engine/types.js';
import { IntegrationError, isIntegrationError } from '../errors.js';
import { withEventFormat } from '../events/format.js';
import { parseParams } from '../input/params.js';
import { COMMAND_NAMES, checkInput, main } from '../main.js';
import { type Manifest, loadManifest, secretParamIds } from '../manifest.js';
import { type CommandLineOptions, CliUsageError, parseCommandLine } from './args.js';
import { readConfigFile } from './config-file.js';
import { buildCommandHelp, buildHelp } from './help.js';
import { loadSimulatorCli, loadXsiamSinkModule } from './optional-modules.js';
import { errorLine, formatOutcome } from './output.js';
import { parseListenAddress } from '../service/health.js';
import type { ServiceInstance } from '../service/instances.js';
import { readSecretFile, resolveSecretPath, withSecretFiles } from '../standalone/secret-files.js';
import { type ServicePlan, planInstances } from './instance-plan.js';
import { XSIAM_API_KEY_ENV } from './params.js';
import { formatStatus, readStatus } from './status.js';

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

/**
 * Config file, then environment, then --param (and, per instance, the instance's own entries); secrets may
 * be files. Warnings (never values) go to the log; mistakes are reported all at once.
 */
async function planService(options: CommandLineOptions, io: CliIo, manifest: Manifest, log: Logger): Promise<ServicePlan> {
  const secretIds = new Set(secretParamIds(manifest));
  const file = options.configPath ? await readConfigFile(options.configPath, secretIds) : { values: {}, warnings: [] };
  const plan = planInstances({
    paramIds: manifest.configuration.map((spec) => spec.name),
    secretIds,
    config: file.values,
    configPath: options.configPath,
    env: io.env,
    fromFlags: options.params,
    stateDir: options.stateDir,
  });
  for (const warning of [...file.warnings, ...plan.warnings]) log.warn(warning);
  if (plan.problems.length > 0) throw new CliUsageError('usage', plan.problems.join(' '));
  return plan;
}

/** The one instance of a one-shot command, its secret files read now. */
async function gatherParams(options: CommandLineOptions, io: CliIo, manifest: Manifest, log: Logger) {
  const plan = await planService(options, io, manifest, log);
  const [instance, ...others] = plan.instances;
  if (instance === undefined || instance.name !== undefined || others.length > 0) {
    throw new CliUsageError(
      'usage',
      `The config file ${options.configPath ?? ''} lists instances, which only run serves. For one command on one tenant, use a config file with that tenant's parameters (or --param and O365MT_ variables).`,
    );
  }
  return { params: await withSecretFiles(instance.params, instance.secretFiles, io.env), plan };
}

async function createSink(options: CommandLineOptions, io: CliIo, log: Logger, plan: ServicePlan): Promise<EventSink | undefined> {
  switch (options.sink) {
    case 'file':
      return undefined; // the file engine's default: events.ndjson in the state directory
    case 'stdout':
      return createStdoutSink({ stream: io.stdout });
    case 'xsiam': {
      const { createXsiamSink } = await loadXsiamSinkModule();
      return createXsiamSink({ url: options.xsiamUrl as string, apiKey: await xsiamApiKey(io, plan), log });
    }
  }
}

/** The XSIAM collector's API key (a value or a file); asked for before anything else runs, since nothing can be delivered without it. */
async function xsiamApiKey(io: CliIo, plan: ServicePlan): Promise<string> {
  const apiKey = io.env[XSIAM_API_KEY_ENV];
  if (apiKey !== undefined && apiKey !== '') return apiKey;
  if (plan.xsiamApiKeyFile) return readSecretFile(plan.xsiamApiKeyFile, io.env);
  throw new CliUsageError(
    'usage',
    `--sink xsiam needs the collector's API key: in the ${XSIAM_API_KEY_ENV} environment variable, or in a file named by ${XSIAM_API_KEY_ENV}_FILE or by xsiam_api_key_file in the config file.`,
  );
}

/** The engine handing events to its sink in the chosen format; closing it closes the engine. */
function inFormat(engine: ClosableEngine, format: CommandLineOptions['format']): ClosableEngine {
  if (format === 'raw') return engine;
  return { ...withEventFormat(engine, format), close: () => engine.close() };
}

/**
 * The state directory with the chosen sink, opened by `main` only once the command's input passed its
 * checks, so bad input never creates, locks or changes state; `main` closes it (releasing the lock).
 */
function cliEngine(options: CommandLineOptions, io: CliIo, log: Logger, plan: ServicePlan): EngineOpener {
  return {
    now: Date.now,
    hasSavedRun: () => hasSavedRunFile(options.stateDir),
    async open({ stateKeyFile }): Promise<ClosableEngine> {
      const sink = await createSink(options, io, log, plan);
      let engine: Awaited<ReturnType<typeof openFileEngine>>;
      try {
        const keyFile = stateKeyPath(stateKeyFile, io);
        engine = await openFileEngine({ ...(options.stateDir ? { dir: options.stateDir } : {}), ...(sink ? { sink } : {}), log, stateKeyFile: keyFile });
      } catch (error) {
        await sink?.close?.().catch(() => undefined);
        throw error;
      }
      // A sink accepts events durably before `send` resolves, so a failing close loses nothing: main reports it.
      return inFormat(engine, options.format);
    },
  };
}

async function runIntegrationCommand(command: string, options: CommandLineOptions, io: CliIo, manifest: Manifest, log: Logger) {
  const { params, plan } = await gatherParams(options, io, manifest, log);
  if (options.sink === 'xsiam') await xsiamApiKey(io, plan);
  const outcome = await main(command, params, options.args, cliEngine(options, io, log, plan), { env: io.env });
  const printed = formatOutcome(outcome, options.json);
  // With events on stdout, the command's own output moves to stderr so the NDJSON stream stays clean.
  (options.sink === 'stdout' ? io.stderr : io.stdout).write(printed.output);
  if (printed.error) io.stderr.write(printed.error);
  return printed.exitCode;
}

/**
 * What each instance runs with. Settings no cycle could ever succeed with (contradictory credentials, an
 * unreadable key, a first_fetch out of reach, a state key that cannot open the saved tokens) stop the
 * collector at once, for every instance together, instead of failing every cycle. A secret file that cannot
 * be read yet is not one of them: it may appear (a credential mounted late, a rotation), so that instance
 * fails its cycles and is retried.
 */
async function serviceInstances(
  plan: ServicePlan,
  io: CliIo,
  manifest: Manifest,
  log: Logger,
): Promise<{ instances: ServiceInstance[]; stateKeyFiles: Map<ServiceInstance, string | undefined> }> {
  const problems: IntegrationError[] = [];
  const instances: ServiceInstance[] = [];
  const stateKeyFiles = new Map<ServiceInstance, string | undefined>();
  for (const instance of plan.instances) {
    const prefix = instance.name === undefined ? '' : `Instance '${instance.name}': `;
    try {
      const resolved = await withSecretFiles(instance.params, instance.secretFiles, io.env).catch(() => undefined);
      // The checks fetch-events makes before it opens state; with a secret file unreadable for now, only the form.
      const parsed = resolved
        ? (await checkInput('fetch-events', resolved, {}, { env: io.env, nowMs: Date.now(), hasSavedRun: () => hasSavedRunFile(instance.dir) })).params
        : parseParams(instance.params, manifest);
      const stateKeyFile = stateKeyPath(parsed.stateKeyFile, io);
      await checkStateKey(instance.dir, stateKeyFile, log);
      const serviceInstance: ServiceInstance = {
        name: instance.name,
        dir: instance.dir,
        intervalMs: parsed.eventFetchInterval * 60_000,
        params: () => withSecretFiles(instance.params, instance.secretFiles, io.env),
      };
      instances.push(serviceInstance);
      stateKeyFiles.set(serviceInstance, stateKeyFile);
    } catch (error) {
      if (!isIntegrationError(error)) throw error;
      problems.push(prefix === '' ? error : new IntegrationError(error.code, `${prefix}${error.fullMessage}`));
    }
  }
  const [first, ...more] = problems;
  if (first !== undefined && more.length === 0) throw first;
  if (first !== undefined) throw new IntegrationError('invalid_param', problems.map((problem) => problem.fullMessage).join('\n'));
  return { instances, stateKeyFiles };
}

/** Like the secret files, a relative state key path is taken inside $CREDENTIALS_DIRECTORY when systemd set it. */
function stateKeyPath(stateKeyFile: string | undefined, io: CliIo): string | undefined {
  return stateKeyFile === undefined ? undefined : resolveSecretPath(stateKeyFile, io.env);
}

/** Saved tokens the state key cannot open would fail every cycle of that instance: found before the first. */
async function checkStateKey(dir: string | undefined, stateKeyFile: string | undefined, log: Logger): Promise<void> {
  const engine = await openFileEngine({ ...(dir ? { dir } : {}), log, stateKeyFile });
  try {
    await engine.getIntegrationContext();
  } finally {
    await engine.close();
  }
}

/** A sink several engines share: closing an engine must not close it; the caller closes it once at the end. */
function shared(sink: EventSink): EventSink {
  return { name: sink.name, send: (events, meta) => sink.send(events, meta) };
}

async function runCollectorLoop(options: CommandLineOptions, io: CliIo, manifest: Manifest, log: Logger) {
  // Signals are heard from the start: a Ctrl-C during the start-up checks stops before the first cycle.
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
  let sink: EventSink | undefined;
  try {
    const plan = await planService(options, io, manifest, log);
    const { instances, stateKeyFiles } = await serviceInstances(plan, io, manifest, log);
    const listen = options.service.metricsListen === undefined ? undefined : parseListenAddress(options.service.metricsListen);
    // Loaded only for run: prom-client alone takes a noticeable share of a one-shot command's start.
    const { startService } = await import('../service/instances.js');
    sink = await createSink(options, io, log, plan);
    const sharedSink = sink === undefined ? undefined : shared(sink);
    if (instances.length > 1) log.info('Collector starting', { instances: instances.map((i) => i.name).join(','), concurrency: options.service.concurrency });
    const service = await startService({
      instances,
      openEngine: async (instance, instanceLog) => {
        const engine = await openFileEngine({
          ...(instance.dir ? { dir: instance.dir } : {}),
          ...(sharedSink ? { sink: sharedSink } : {}),
          log: instanceLog,
          stateKeyFile: stateKeyFiles.get(instance),
        });
        return inFormat(engine, options.format);
      },
      log,
      signal: controller.signal,
      concurrency: options.service.concurrency,
      retry: { initialMs: options.service.retryDelaySeconds * 1000, maxMs: options.service.maxRetryDelaySeconds * 1000 },
      readyIntervals: options.service.readyIntervals,
      metricsListen: listen,
    });
    await service.done;
  } finally {
    io.signals.removeListener('SIGINT', onSigint);
    io.signals.removeListener('SIGTERM', onSigterm);
    await sink?.close?.().catch((error: unknown) => {
      log.warn('Could not close the event sink cleanly', { message: error instanceof Error ? error.message : String(error) });
    });
  }
  log.info('Collector stopped');
  return 0;
}

async function runStatus(options: CommandLineOptions, io: CliIo): Promise<number> {
  const statuses = await readStatus(options.stateDir, Date.now());
  io.stdout.write(options.json ? `${JSON.stringify({ instances: statuses }, null, 2)}\n` : formatStatus(statuses));
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
    const format = 'options' in invocation ? invocation.options.logFormat : 'text';
    const log = createStderrLogger({ stream: io.stderr, level: logLevelFromEnv(io.env), format });
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
      case 'status':
        return await runStatus(invocation.options, io);
    }
  } catch (error) {
    return printFailure(io, error);
  }
}
