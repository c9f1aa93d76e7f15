import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError } from '../../src/engine/types.js';
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
});
