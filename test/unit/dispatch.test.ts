import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type ClosableEngine, type EngineOpener, isCommandError } from '../../src/engine/types.js';
import { COMMAND_NAMES, main } from '../../src/main.js';

const params = {
  tenant_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
  client_id: '11111111-2222-4333-8444-555555555555',
  client_secret: 's3cret',
};

describe('main', () => {
  it('routes the six commands of the seed and get-details', () => {
    expect(COMMAND_NAMES.sort()).toEqual(
      [
        'fetch-events',
        'o365-message-trace-auth-reset',
        'o365-message-trace-auth-test',
        'o365-message-trace-generate-login-url',
        'o365-message-trace-get-events',
        'o365-message-trace-get-details',
        'test-module',
      ].sort(),
    );
  });

  it('answers an unknown command with an error listing the known ones', async () => {
    const outcome = await main('nope', params, {}, new MemoryEngine());
    expect(isCommandError(outcome)).toBe(true);
    if (!isCommandError(outcome)) return;
    expect(outcome.error.code).toBe('unknown_command');
    for (const name of COMMAND_NAMES) expect(outcome.error.message).toContain(name);
  });

  it('does not treat inherited object keys as commands', async () => {
    const outcome = await main('toString', params, {}, new MemoryEngine());
    expect(isCommandError(outcome) && outcome.error.code).toBe('unknown_command');
  });

  it('resolves bad input to an error and leaves state untouched', async () => {
    const engine = new MemoryEngine({ lastRun: { version: 1 } });
    const outcome = await main('fetch-events', { ...params, max_fetch: 'abc' }, {}, engine);
    expect(isCommandError(outcome) && outcome.error.code).toBe('invalid_param');
    expect(isCommandError(outcome) && outcome.error.message).toContain('max_fetch');
    expect(engine.lastRun).toEqual({ version: 1 });
  });

  describe('with an engine opener: bad input is refused before the engine is opened', () => {
    /** An opener that records what main asked of it; the engine it opens is a MemoryEngine. */
    function recordingOpener(savedRun: boolean) {
      const calls = { opened: 0, closed: 0, stateKeyFile: undefined as string | undefined };
      const engine = new MemoryEngine();
      const opener: EngineOpener = {
        now: () => engine.now(),
        hasSavedRun: async () => savedRun,
        open: async ({ stateKeyFile }) => {
          calls.opened++;
          calls.stateKeyFile = stateKeyFile;
          return Object.assign(engine, { close: async () => void calls.closed++ }) as ClosableEngine;
        },
      };
      return { opener, calls };
    }

    const refused: Array<[string, string, Record<string, unknown>, Record<string, unknown>, RegExp]> = [
      ['a malformed parameter', 'fetch-events', { ...params, max_fetch: 'abc' }, {}, /max_fetch/],
      ['contradictory credentials', 'test-module', { ...params, certificate_thumbprint: 'AB'.repeat(20), private_key: 'x' }, {}, /client_secret and a certificate/],
      ['an unreadable private key', 'o365-message-trace-auth-test', { ...params, client_secret: undefined, certificate_thumbprint: 'AB'.repeat(20), private_key: 'not a key' }, {}, /private_key/],
      ['a first fetch over 90 days back', 'fetch-events', { ...params, first_fetch: '100 days' }, {}, /first_fetch '100 days' is more than 90 days back/],
      ['reversed get-events dates', 'o365-message-trace-get-events', params, { start_time: '1 hour ago', end_time: '3 hours ago' }, /end_time .* is before start_time/],
      ['a login URL without redirect URI', 'o365-message-trace-generate-login-url', params, {}, /redirect_uri is missing/],
    ];
    it.each(refused)('%s: an error, and the engine is never opened', async (_name, command, rawParams, rawArgs, message) => {
      const { opener, calls } = recordingOpener(false);
      const outcome = await main(command, rawParams, rawArgs, opener);
      expect(isCommandError(outcome) && outcome.error.message).toMatch(message);
      expect(calls.opened).toBe(0);
    });

    it('opens the engine for input that passes, with the state key file, and closes it', async () => {
      const { opener, calls } = recordingOpener(false);
      const outcome = await main('o365-message-trace-auth-reset', { ...params, state_key_file: '/etc/o365mt/state.key' }, {}, opener);
      expect(isCommandError(outcome)).toBe(false);
      expect(calls).toEqual({ opened: 1, closed: 1, stateKeyFile: '/etc/o365mt/state.key' });
    });

    it('does not hold first_fetch against a collector that has a fetch position saved', async () => {
      const fresh = recordingOpener(false);
      const saved = recordingOpener(true);
      const aged = { ...params, first_fetch: '2020-01-01T00:00:00Z', url: 'https://127.0.0.1:9', authority_url: 'https://127.0.0.1:9' };
      expect(await main('fetch-events', aged, {}, fresh.opener)).toMatchObject({ error: { code: 'invalid_param' } });
      expect(fresh.calls.opened).toBe(0);
      // With a position saved the check passes and the run starts (it then fails to reach the loopback port).
      await main('fetch-events', aged, {}, saved.opener);
      expect(saved.calls.opened).toBe(1);
      expect(saved.calls.closed).toBe(1);
    });
  });

  describe('the sign-in method, chosen once when the params are parsed', () => {
    const opener = (): EngineOpener & { opened: number } => {
      const engine = new MemoryEngine();
      return {
        opened: 0,
        now: () => engine.now(),
        hasSavedRun: async () => false,
        async open() {
          this.opened++;
          return Object.assign(engine, { close: async () => {} }) as ClosableEngine;
        },
      };
    };

    it("reports contradictory credentials together with the parameters' own problems, in one error", async () => {
      const outcome = await main('test-module', { ...params, certificate_thumbprint: 'AB'.repeat(20), private_key: 'x', max_fetch: 'abc' }, {}, opener());
      expect(isCommandError(outcome) && outcome.error.code).toBe('invalid_param');
      const message = isCommandError(outcome) ? outcome.error.message : '';
      expect(message).toContain('max_fetch');
      expect(message).toContain('client_secret and a certificate');
    });

    it("names bad params and bad args in the same report", async () => {
      const source = opener();
      const outcome = await main('o365-message-trace-get-events', { ...params, max_fetch: 'abc' }, { limit: '0' }, source);
      const message = isCommandError(outcome) ? outcome.error.message : '';
      expect(message).toContain('max_fetch');
      expect(message).toMatch(/limit .*whole number from 1 to 5000/);
      expect(source.opened).toBe(0);
    });

    it('lets a malformed sign-in setting speak for itself (no "tenant_id is missing" beside "not a GUID")', async () => {
      const outcome = await main('test-module', { ...params, tenant_id: '12345', client_secret: undefined }, {}, opener());
      const message = isCommandError(outcome) ? outcome.error.message : '';
      expect(message).toMatch(/tenant_id '12345' is neither a GUID nor a domain name/);
      expect(message).not.toMatch(/tenant_id is missing|No credential is set/);
    });

    it('does not ask a command that does not sign in for credentials', async () => {
      const source = opener();
      const outcome = await main('o365-message-trace-auth-reset', { certificate_thumbprint: 'AB'.repeat(20) }, {}, source);
      expect(isCommandError(outcome)).toBe(false);
      expect(source.opened).toBe(1);
    });

    it('reads the workload identity fallbacks from the environment main is given, not the process', async () => {
      const env = { AZURE_FEDERATED_TOKEN_FILE: '/nonexistent/token', AZURE_TENANT_ID: params.tenant_id, AZURE_CLIENT_ID: params.client_id };
      const without = opener();
      const refused = await main('test-module', { use_workload_identity: 'true' }, {}, without, { env: {} });
      expect(isCommandError(refused) && refused.error.message).toMatch(/no token file is named/);
      expect(without.opened).toBe(0);
      const withEnv = opener();
      const passed = await main('test-module', { use_workload_identity: 'true' }, {}, withEnv, { env });
      // The check passed and the command ran; it then fails reading the (missing) token file it was told of.
      expect(withEnv.opened).toBe(1);
      expect(isCommandError(passed) && passed.error.message).toMatch(/AZURE_FEDERATED_TOKEN_FILE/);
    });
  });
});
