/**
 * Help text, built from integration.yml so the CLI describes the same commands, arguments and parameters
 * an XSIAM administrator sees in the instance settings.
 */
import { type Manifest, type ManifestCommand, allCommands, secretParamIds } from '../manifest.js';
import { RUN_COMMAND, SERVICE_DEFAULTS, SIMULATE_COMMAND, STATUS_COMMAND } from './args.js';
import { XSIAM_API_KEY_ENV, envNameFor } from './params.js';

const WIDTH = 100;

const CLI_COMMAND_DESCRIPTIONS: Readonly<Record<string, string>> = {
  [RUN_COMMAND]:
    'Runs fetch-events every eventFetchInterval minutes (at once while a backlog is left) until Ctrl-C or SIGTERM, printing progress on stderr. With "instances" in the config file, serves several tenants, each in its own folder of the state directory.',
  [STATUS_COMMAND]:
    'Shows each instance of a state directory: position, lag, backlog, last run and its outcome, Graph requests in the last 5 minutes, last error. Reads without the lock and changes nothing; --json for scripts.',
  [SIMULATE_COMMAND]:
    'Starts a simulated Microsoft tenant (Entra ID and Graph) on this machine, for demos and tests.',
};

function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((wrapped) => `${' '.repeat(indent)}${wrapped}`);
}

function describeArguments(command: ManifestCommand): string[] {
  if (command.arguments.length === 0) return [];
  const nameWidth = Math.max(...command.arguments.map((argument) => argument.name.length)) + 2;
  const lines = ['      Arguments (--arg name=value):'];
  for (const argument of command.arguments) {
    const extras: string[] = [];
    if (argument.predefined) extras.push(`one of ${argument.predefined.join(', ')}`);
    if (argument.defaultValue !== undefined) extras.push(`default ${argument.defaultValue}`);
    if (argument.required) extras.push('required');
    const text = extras.length > 0 ? `${argument.description} (${extras.join('; ')})` : argument.description;
    const [firstLine = '', ...rest] = wrap(text, 8 + nameWidth);
    lines.push(`        ${argument.name.padEnd(nameWidth)}${firstLine.trimStart()}`, ...rest);
  }
  return lines;
}

function describeCommand(name: string, description: string, command?: ManifestCommand): string[] {
  return [`  ${name}`, ...wrap(description, 6), ...(command ? describeArguments(command) : [])];
}

export function buildHelp(manifest: Manifest): string {
  const secretEnv = secretParamIds(manifest).map(envNameFor).join(', ');
  const paramWidth = Math.max(...manifest.configuration.map((spec) => spec.name.length)) + 2;
  const lines = [
    `o365-message-trace: ${manifest.description}`,
    '',
    'Usage:',
    '  o365-message-trace <command> [--config FILE] [--param id=value]... [--arg name=value]...',
    '                     [--state-dir DIR] [--json] [--sink file|stdout|xsiam] [--xsiam-url URL]',
    '                     [--format raw|ecs|ocsf]',
    '  o365-message-trace run [--config FILE] [--param id=value]... [--state-dir DIR] [--sink ...]',
    '                     [--concurrency N] [--metrics-listen HOST:PORT] [--retry-delay S] [--max-retry-delay S]',
    '                     [--ready-intervals N] [--log-format text|json]',
    '  o365-message-trace status [--state-dir DIR] [--json]',
    '  o365-message-trace simulate [options]',
    '  o365-message-trace <command> --help',
    '',
    'Commands:',
  ];
  for (const command of allCommands(manifest)) lines.push(...describeCommand(command.name, command.description, command));
  lines.push('', 'CLI commands:');
  for (const [name, description] of Object.entries(CLI_COMMAND_DESCRIPTIONS)) lines.push(...describeCommand(name, description));
  lines.push(
    '',
    'Options:',
    '  --config FILE       JSON object of parameter ids and values, e.g. {"tenant_id": "...", "max_fetch": "500"}',
    '  --param id=value    Set one parameter (repeatable). Not for secrets: use the environment.',
    '  --arg name=value    Set one command argument (repeatable).',
    '  --state-dir DIR     State directory (default ./.o365-message-trace): fetch position, token cache, events.',
    '  --json              Print the whole result object as JSON instead of the markdown table.',
    '  --sink KIND         Where collected events go: file (DIR/events.ndjson, default), stdout (NDJSON; the',
    '                      command output then goes to stderr), or xsiam (an XSIAM HTTP collector).',
    '  --xsiam-url URL     The XSIAM HTTP collector URL, for --sink xsiam.',
    '  --format FORMAT     The shape of the events the sink gets: raw (the Graph row with _time and direction,',
    '                      default), ecs (Elastic Common Schema) or ocsf (OCSF Email Activity, class 4009).',
    '  --log-format F      text (default): time level message key=value; json: one JSON object a line.',
    `  --concurrency N     run: most fetch runs at a time over all instances (default ${SERVICE_DEFAULTS.concurrency}).`,
    '  --metrics-listen HOST:PORT  run: serve /metrics (Prometheus), /healthz and /readyz, e.g. 127.0.0.1:9464.',
    `  --retry-delay S     run: wait after an instance's first failed run, doubling per failure (default ${SERVICE_DEFAULTS.retryDelaySeconds}).`,
    `  --max-retry-delay S run: longest wait between failed runs (default ${SERVICE_DEFAULTS.maxRetryDelaySeconds}).`,
    `  --ready-intervals N run: /readyz wants a success within N intervals of every instance (default ${SERVICE_DEFAULTS.readyIntervals}).`,
    '  -h, --help          Show this help, or a command\'s help after the command.',
    '',
    'Parameters (lowest precedence first: --config file, then O365MT_<PARAM_ID> environment variables, then --param):',
  );
  for (const spec of manifest.configuration) {
    const label = spec.display ?? spec.displaypassword ?? spec.name;
    const defaultText = spec.defaultvalue === undefined ? '' : ` (default ${String(spec.defaultvalue)})`;
    lines.push(`  ${spec.name.padEnd(paramWidth)}${label}${defaultText}`);
  }
  lines.push(
    '',
    'Environment:',
    ...wrap(`${secretEnv}: the secrets; set them here rather than with --param.`, 2),
    `  ${XSIAM_API_KEY_ENV}: the API key of the XSIAM HTTP collector, for --sink xsiam.`,
    ...wrap(
      'O365MT_<SECRET>_FILE, or <secret>_file in the config file: a file holding that secret (Docker and Kubernetes secrets, systemd credentials), read at each use; a relative path is taken inside $CREDENTIALS_DIRECTORY when set.',
      2,
    ),
    '  O365MT_LOG_LEVEL: debug, info (default), warn or error; logs go to stderr.',
    '',
    'Exit status: 0 when the command worked, 1 when it failed (the reason is printed on stderr).',
  );
  return `${lines.join('\n')}\n`;
}

export function buildCommandHelp(manifest: Manifest, name: string): string {
  const command = allCommands(manifest).find((candidate) => candidate.name === name);
  const description = command?.description ?? CLI_COMMAND_DESCRIPTIONS[name] ?? '';
  const lines = [`Usage: o365-message-trace ${name} [options]`, '', ...describeCommand(name, description, command)];
  if (command && command.outputs.length > 0) {
    lines.push('      Outputs (with --json, under outputs):');
    for (const output of command.outputs) lines.push(`        ${output.contextPath} (${output.type ?? 'Unknown'})`);
  }
  lines.push('', 'Run o365-message-trace --help for the options and parameters.');
  return `${lines.join('\n')}\n`;
}
