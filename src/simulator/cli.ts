/**
 * `o365-message-trace simulate …`: runs the simulated tenant until SIGINT/SIGTERM. Argument parsing and
 * printing only; everything else is startSimulatedTenant.
 */
import { writeFile, chmod } from 'node:fs/promises';
import { FAULT_KINDS, type FaultKind, isFaultKind, type RetryAfterMix } from './faults.js';
import { type SimulatedTenant, type SimulatorOptions, startSimulatedTenant } from './index.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const SIMULATE_USAGE = `Usage: o365-message-trace simulate [options]

Runs a simulated Exchange Online tenant (Entra ID + Microsoft Graph message trace) on 127.0.0.1.

Options:
  --port N                  Graph's HTTPS port (default: a free port)
  --authority-port N        Entra ID's HTTPS port, another origin than Graph's (default: a free port)
  --seed N                  data seed (default 1)
  --fault-seed N            seed of the fault rolls, Retry-After forms and status spelling, apart from
                            the data (default: the data seed)
  --rate MSGS_PER_DAY       messages per day (default 2000)
  --history DAYS            days of history before start (default 2)
  --max-delay SECONDS       max delay before a row is visible (default 120)
  --status-delay SECONDS    max time for a row to reach its final status (default 300)
  --order newest|oldest|random   result order (default newest)
  --throttle N/SECONDS|off  tenant request budget (default 100/300)
  --fault KIND=P            inject a fault with probability P per Graph request (repeatable);
                            KIND is one of ${FAULT_KINDS.join(', ')}
  --retry-after FORMS       Retry-After forms on 429/503, one picked per response from the comma list
                            of seconds, http-date, none (default: all three)
  --recalled-share P        share of delivered rows recalled later (default 0.01)
  --null-share P            chance of each nullable property being null (default 0.002)
  --ipv6-share P            share of inbound mail from an IPv6 fromIP (default 0.1)
  --pascal-case-share P     share of list responses spelling statuses in PascalCase (default 0.05)
  --token-ttl SECONDS       access token lifetime (default 3600)
  --info-file PATH          write connection details as JSON (mode 0600) once ready
  --help                    show this help
`;

class UsageError extends Error {}

function number(flag: string, value: string, { integer = false, min = 0 } = {}): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} expects ${integer ? 'an integer' : 'a number'} >= ${min}, got '${value}'`);
  }
  return n;
}

function probability(flag: string, value: string): number {
  const p = number(flag, value);
  if (p > 1) throw new UsageError(`${flag} must be between 0 and 1, got '${value}'`);
  return p;
}

const RETRY_AFTER_NAMES: Record<string, keyof RetryAfterMix> = { seconds: 'seconds', 'http-date': 'httpDate', none: 'none' };

function retryAfterMix(value: string): RetryAfterMix {
  const mix: RetryAfterMix = { seconds: 0, httpDate: 0, none: 0 };
  const names = value.split(',').map((name) => name.trim());
  for (const name of names) {
    const form = RETRY_AFTER_NAMES[name];
    if (form === undefined) throw new UsageError(`--retry-after expects a comma list of seconds, http-date, none; got '${value}'`);
    mix[form] = 1;
  }
  return mix;
}

export interface ParsedSimulateArgs {
  help: boolean;
  options: SimulatorOptions;
  infoFile: string | null;
}

export function parseSimulateArgs(argv: string[]): ParsedSimulateArgs {
  const options: SimulatorOptions = {};
  const faults: Partial<Record<FaultKind, number>> = {};
  let infoFile: string | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case '--port':
        options.port = number(flag, takeValue(), { integer: true });
        if (options.port > 65535) throw new UsageError(`--port must be <= 65535`);
        break;
      case '--seed':
        options.seed = number(flag, takeValue(), { integer: true });
        break;
      case '--fault-seed':
        options.faultSeed = number(flag, takeValue(), { integer: true });
        break;
      case '--authority-port':
        options.authorityPort = number(flag, takeValue(), { integer: true });
        if (options.authorityPort > 65535) throw new UsageError('--authority-port must be <= 65535');
        break;
      case '--recalled-share':
        options.recalledShare = probability(flag, takeValue());
        break;
      case '--null-share':
        options.nullShare = probability(flag, takeValue());
        break;
      case '--ipv6-share':
        options.ipv6Share = probability(flag, takeValue());
        break;
      case '--pascal-case-share':
        options.pascalCaseShare = probability(flag, takeValue());
        break;
      case '--retry-after':
        options.retryAfter = retryAfterMix(takeValue());
        break;
      case '--rate':
        options.ratePerDay = number(flag, takeValue());
        break;
      case '--history':
        options.historyDays = number(flag, takeValue());
        break;
      case '--max-delay':
        options.maxDelaySeconds = number(flag, takeValue());
        break;
      case '--status-delay':
        options.statusDelaySeconds = number(flag, takeValue(), { min: 1 });
        break;
      case '--order': {
        const value = takeValue();
        if (value !== 'newest' && value !== 'oldest' && value !== 'random') {
          throw new UsageError(`--order must be newest, oldest or random, got '${value}'`);
        }
        options.order = value;
        break;
      }
      case '--throttle': {
        const value = takeValue();
        if (value === 'off') {
          options.throttle = 'off';
          break;
        }
        const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(value);
        if (!m || Number(m[1]) < 1 || Number(m[2]) <= 0) {
          throw new UsageError(`--throttle expects N/SECONDS (e.g. 100/300) or off, got '${value}'`);
        }
        options.throttle = { limit: Number(m[1]), windowSeconds: Number(m[2]) };
        break;
      }
      case '--fault': {
        const value = takeValue();
        const m = /^([^=]+)=(.+)$/.exec(value);
        const kind = m?.[1] ?? '';
        if (!m || !isFaultKind(kind)) {
          throw new UsageError(`--fault expects KIND=P with KIND one of ${FAULT_KINDS.join(', ')}, got '${value}'`);
        }
        const p = number('--fault', m[2] ?? '');
        if (p > 1) throw new UsageError(`--fault probability must be between 0 and 1, got '${m[2]}'`);
        faults[kind] = p;
        break;
      }
      case '--token-ttl':
        options.tokenTtlSeconds = number(flag, takeValue(), { integer: true, min: 1 });
        break;
      case '--info-file':
        infoFile = takeValue();
        break;
      default:
        throw new UsageError(`unknown option '${arg}' (see --help)`);
    }
  }
  if (Object.keys(faults).length > 0) {
    const total = Object.values(faults).reduce((a, b) => a + b, 0);
    if (total > 1) throw new UsageError(`--fault probabilities add up to ${total}; they must total at most 1`);
    options.faults = faults;
  }
  return { help, options, infoFile };
}

export function connectionInfo(sim: SimulatedTenant): Record<string, string> {
  return {
    graphUrl: sim.graphUrl,
    authorityUrl: sim.authorityUrl,
    tenantId: sim.tenantId,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    caCertPath: sim.caCertPath,
    certificatePath: sim.certificatePath,
    privateKeyPath: sim.privateKeyPath,
    certificateThumbprint: sim.certificateThumbprint,
    certificateThumbprintSha256: sim.certificateThumbprintSha256,
    redirectUri: sim.redirectUri,
    controlUrl: sim.controlUrl,
    imdsUrl: sim.imdsUrl,
    managedIdentityClientId: sim.managedIdentityClientId,
    federatedTokenPath: sim.federatedTokenPath,
  };
}

/** Runs until SIGINT/SIGTERM (or `signal` aborts, for tests). Exit code 2 for bad arguments. */
export async function runSimulateCommand(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
  signal?: AbortSignal,
): Promise<number> {
  let parsed: ParsedSimulateArgs;
  try {
    parsed = parseSimulateArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`o365-message-trace simulate: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.help) {
    io.stdout.write(SIMULATE_USAGE);
    return 0;
  }
  let sim: SimulatedTenant;
  try {
    sim = await startSimulatedTenant(parsed.options);
  } catch (error) {
    io.stderr.write(`o365-message-trace simulate: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const info = connectionInfo(sim);
  if (parsed.infoFile) {
    await writeFile(parsed.infoFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    await chmod(parsed.infoFile, 0o600);
  }
  const o = parsed.options;
  io.stdout.write(
    [
      `Simulated tenant ready (seed ${o.seed ?? 1}, fault seed ${o.faultSeed ?? o.seed ?? 1}, ${o.ratePerDay ?? 2000} messages/day, order ${o.order ?? 'newest'}).`,
      `  Graph:      ${sim.graphUrl}/v1.0/admin/exchange/tracing/messageTraces`,
      `  Authority:  ${sim.authorityUrl}/${sim.tenantId}`,
      `  Client id:  ${sim.clientId}`,
      `  CA cert:    ${sim.caCertPath}   (NODE_EXTRA_CA_CERTS=${sim.caCertPath})`,
      `  IMDS:       ${sim.imdsUrl}   (AZURE_POD_IDENTITY_AUTHORITY_HOST=${sim.imdsUrl})`,
      `  Federated:  ${sim.federatedTokenPath}   (AZURE_FEDERATED_TOKEN_FILE; issuer ${sim.federatedIssuer}, subject ${sim.federatedSubject})`,
      `  Control:    ${sim.controlUrl}/stats`,
      parsed.infoFile ? `  Info file:  ${parsed.infoFile} (includes the client secret)` : '  Use --info-file PATH to get the client secret and all values as JSON.',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  // Like kubelet, replace the identity token at about 80% of its one-hour lifetime.
  const rotation = setInterval(() => {
    sim.rotateFederatedToken().catch(() => undefined);
  }, 48 * 60_000);
  rotation.unref();
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    signal?.addEventListener('abort', done);
    if (signal?.aborted) done();
  });
  clearInterval(rotation);
  await sim.stop();
  io.stdout.write('Simulated tenant stopped.\n');
  return 0;
}
