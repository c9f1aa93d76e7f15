import { describe, expect, it } from 'vitest';
import { type CliInvocation, CliUsageError, SERVICE_DEFAULTS, parseCommandLine } from '../../src/cli/args.js';
import { collectParams, envNameFor } from '../../src/cli/params.js';
import { errorLine } from '../../src/cli/output.js';
import { COMMAND_NAMES } from '../../src/main.js';

const parse = (...argv: string[]): CliInvocation => parseCommandLine(argv, COMMAND_NAMES);

function usageErrorOf(run: () => unknown): CliUsageError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliUsageError) return error;
    throw error;
  }
  throw new Error('expected a CliUsageError');
}

describe('parseCommandLine', () => {
  it('reads a full command line, in either option form', () => {
    expect(
      parse(
        'o365-message-trace-get-events',
        '--config',
        'c.json',
        '--param',
        'max_fetch=5',
        '--param=url=https://graph.microsoft.com/?a=b',
        '--arg',
        'limit=2',
        '--arg=subject=a=b',
        '--state-dir',
        '/tmp/s',
        '--json',
      ),
    ).toEqual({
      kind: 'integration',
      command: 'o365-message-trace-get-events',
      options: {
        configPath: 'c.json',
        params: [
          ['max_fetch', '5'],
          ['url', 'https://graph.microsoft.com/?a=b'],
        ],
        args: { limit: '2', subject: 'a=b' },
        stateDir: '/tmp/s',
        json: true,
        sink: 'file',
        xsiamUrl: undefined,
        format: 'raw',
        logFormat: 'text',
        service: SERVICE_DEFAULTS,
      },
    });
  });

  it('accepts options before the command and keeps empty values', () => {
    const invocation = parse('--param', 'tenant_id=', 'test-module');
    expect(invocation).toMatchObject({ kind: 'integration', command: 'test-module', options: { params: [['tenant_id', '']] } });
  });

  it.each([
    [[], { kind: 'help', missingCommand: true }],
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    [['help', 'fetch-events'], { kind: 'help', command: 'fetch-events' }],
    [['fetch-events', '--help'], { kind: 'help', command: 'fetch-events' }],
    [['simulate', '--port', '0', '--help'], { kind: 'simulate', argv: ['--port', '0', '--help'] }],
  ] as const)('%j is %j', (argv, expected) => {
    expect(parse(...argv)).toEqual(expected);
  });

  it('chooses the sink', () => {
    expect(parse('fetch-events', '--sink', 'stdout')).toMatchObject({ options: { sink: 'stdout' } });
    expect(parse('fetch-events', '--xsiam-url', 'https://x/logs/v1/event')).toMatchObject({
      options: { sink: 'xsiam', xsiamUrl: 'https://x/logs/v1/event' },
    });
  });

  it('chooses the event format, raw unless asked', () => {
    expect(parse('run', '--format', 'ocsf')).toMatchObject({ options: { format: 'ocsf' } });
    expect(parse('fetch-events', '--format=ecs', '--sink', 'stdout')).toMatchObject({ options: { format: 'ecs', sink: 'stdout' } });
    expect(parse('fetch-events')).toMatchObject({ options: { format: 'raw' } });
    expect(() => parse('run', '--format', 'cef')).toThrow("--format must be one of raw, ecs, ocsf; got 'cef'.");
  });

  it('reads run', () => {
    expect(parse('run', '--config', 'c.json', '--sink', 'stdout')).toMatchObject({
      kind: 'run',
      options: { configPath: 'c.json', sink: 'stdout' },
    });
  });

  it('reads the service options of run, status and the log format', () => {
    expect(
      parse('run', '--concurrency', '2', '--metrics-listen', '127.0.0.1:9464', '--retry-delay=5', '--max-retry-delay', '60', '--ready-intervals', '4', '--log-format', 'json'),
    ).toMatchObject({
      kind: 'run',
      options: {
        logFormat: 'json',
        service: { concurrency: 2, metricsListen: '127.0.0.1:9464', retryDelaySeconds: 5, maxRetryDelaySeconds: 60, readyIntervals: 4 },
      },
    });
    expect(parse('status', '--state-dir', '/s', '--json')).toMatchObject({ kind: 'status', options: { stateDir: '/s', json: true } });
    expect(parse('test-module', '--log-format', 'json')).toMatchObject({ options: { logFormat: 'json' } });
  });

  it.each([
    [['run', '--concurrency', '0'], 'usage', /--concurrency takes a whole number from 1 to 1000; got '0'/],
    [['run', '--retry-delay', '1.5'], 'usage', /--retry-delay takes a whole number/],
    [['run', '--retry-delay', '60', '--max-retry-delay', '10'], 'usage', /--max-retry-delay \(10\) must be at least --retry-delay \(60\)/],
    [['fetch-events', '--metrics-listen', '127.0.0.1:1'], 'usage', /--metrics-listen applies only to run/],
    [['status', '--param', 'max_fetch=1'], 'usage', /status takes no --param/],
    [['run', '--log-format', 'xml'], 'usage', /--log-format must be one of text, json/],
    [['nope'], 'unknown_command', /Unknown command 'nope'.*test-module.*run, status, simulate/],
    [['help', 'nope'], 'unknown_command', /Unknown command 'nope'/],
    [['fetch-events', 'extra'], 'usage', /--arg name=value/],
    [['fetch-events', '--bogus'], 'usage', /Unknown option --bogus/],
    [['fetch-events', '--config'], 'usage', /--config needs a value/],
    [['fetch-events', '--param', 'novalue'], 'usage', /--param needs id=value/],
    [['fetch-events', '--json=yes'], 'usage', /takes no value/],
    [['fetch-events', '--sink', 'kafka'], 'usage', /--sink must be one of file, stdout, xsiam/],
    [['fetch-events', '--sink', 'xsiam'], 'usage', /needs --xsiam-url/],
    [['fetch-events', '--sink', 'file', '--xsiam-url', 'https://x'], 'usage', /applies only to --sink xsiam/],
    [['run', '--arg', 'limit=1'], 'usage', /run takes no --arg/],
    [['--json'], 'usage', /No command given/],
  ] as const)('%j is a %s error', (argv, code, message) => {
    const error = usageErrorOf(() => parse(...argv));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('never echoes a malformed --param (it may be a secret)', () => {
    expect(usageErrorOf(() => parse('fetch-events', '--param', 'hunter2')).message).not.toContain('hunter2');
  });
});

describe('collectParams', () => {
  const paramIds = ['max_fetch', 'client_secret', 'tenant_id', 'isFetchEvents'];
  const secretIds = new Set(['client_secret']);

  it.each([
    ['file only', { max_fetch: '1' }, {}, [], '1'],
    ['env beats file', { max_fetch: '1' }, { O365MT_MAX_FETCH: '2' }, [], '2'],
    ['--param beats env', { max_fetch: '1' }, { O365MT_MAX_FETCH: '2' }, [['max_fetch', '3']], '3'],
    ['later --param wins', {}, {}, [['max_fetch', '3'], ['max_fetch', '4']], '4'],
    ['empty env counts as unset', { max_fetch: '1' }, { O365MT_MAX_FETCH: '' }, [], '1'],
  ] as const)('%s', (_label, fromFile, env, fromFlags, expected) => {
    const { params } = collectParams({ paramIds, secretIds, fromFile, env, fromFlags });
    expect(params.max_fetch).toBe(expected);
  });

  it('maps every id to an upper-cased O365MT_ variable', () => {
    expect(envNameFor('client_secret')).toBe('O365MT_CLIENT_SECRET');
    expect(envNameFor('isFetchEvents')).toBe('O365MT_ISFETCHEVENTS');
    const { params } = collectParams({
      paramIds,
      secretIds,
      fromFile: {},
      env: { O365MT_CLIENT_SECRET: 's', O365MT_ISFETCHEVENTS: 'true', PATH: '/bin' },
      fromFlags: [],
    });
    expect(params).toEqual({ client_secret: 's', isFetchEvents: 'true' });
  });

  it('warns about unknown O365MT_ variables and secrets on the command line, without their values', () => {
    const { warnings } = collectParams({
      paramIds,
      secretIds,
      fromFile: {},
      env: { O365MT_CLIENTSECRET: 'typo-value', O365MT_XSIAM_API_KEY: 'k', O365MT_LOG_LEVEL: 'debug' },
      fromFlags: [['client_secret', 'flag-value']],
    });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('O365MT_CLIENTSECRET is not a parameter');
    expect(warnings[1]).toContain('O365MT_CLIENT_SECRET');
    expect(warnings.join(' ')).not.toMatch(/typo-value|flag-value/);
  });
});

describe('errorLine', () => {
  it('puts a multi-line message on one line', () => {
    expect(errorLine('invalid_param', 'Invalid parameter:\n- a is bad. Use b.\n- c is bad. Use d.')).toBe(
      'Error [invalid_param]: Invalid parameter: - a is bad. Use b. - c is bad. Use d.\n',
    );
  });
});
