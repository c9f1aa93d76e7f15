import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_STATE_DIR, openFileEngine } from '../../src/standalone/file-engine.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError } from '../../src/engine/types.js';
import { main } from '../../src/main.js';

/** Valid params whose endpoints are loopback ports that refuse at once: no test reaches Microsoft. */
const params = {
  url: 'https://127.0.0.1:9',
  authority_url: 'https://127.0.0.1:9',
  tenant_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
  client_id: '11111111-2222-4333-8444-555555555555',
  client_secret: 'unit-test-secret',
};

let originalCwd: string;
let cwd: string;
beforeEach(async () => {
  originalCwd = process.cwd();
  cwd = await mkdtemp(join(tmpdir(), 'o365mt-default-'));
  process.chdir(cwd);
});
afterEach(async () => {
  process.chdir(originalCwd);
  await rm(cwd, { recursive: true, force: true });
});

describe('main without an engine', () => {
  it('opens the file engine in ./.o365-message-trace and releases it afterwards', async () => {
    await main('o365-message-trace-auth-reset', params);
    const dir = join(cwd, DEFAULT_STATE_DIR);
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect(await readdir(dir)).not.toContain('lock');
  });

  it('does not create the state directory for bad input', async () => {
    const outcome = await main('fetch-events', { ...params, max_fetch: 'abc' });
    expect(isCommandError(outcome) && outcome.error.code).toBe('invalid_param');
    await expect(stat(join(cwd, DEFAULT_STATE_DIR))).rejects.toThrow();
  });

  it('resolves to state_locked when another run holds the directory', async () => {
    const holder = await openFileEngine({ log: new MemoryEngine().log });
    try {
      const outcome = await main('o365-message-trace-auth-reset', params);
      expect(isCommandError(outcome) && outcome.error.code).toBe('state_locked');
      expect(isCommandError(outcome) && outcome.error.message).toContain(join(cwd, DEFAULT_STATE_DIR));
    } finally {
      await holder.close();
    }
  });
});
