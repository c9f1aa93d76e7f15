/**
 * Encryption at rest of the saved tokens (standalone/state-crypto.ts and the file engine): key forms, the
 * sealed format, migration of a plaintext context, and what a wrong or missing key does to a run (a
 * state_key error naming the key file and the way out, the fetch position untouched).
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { INTEGRATION_CONTEXT_FILE_NAME, LAST_RUN_FILE_NAME, openFileEngine } from '../../src/standalone/file-engine.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { IntegrationError } from '../../src/errors.js';
import { parseParams } from '../../src/input/params.js';
import { captureIo } from '../helpers/capture-io.js';
import { decodeStateKey, loadStateKey, openSealed, sealText } from '../../src/standalone/state-crypto.js';
import { rejectionOf } from '../helpers/rejection.js';

const quietLog = new MemoryEngine().log;
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const REFRESH = '1.AXkA-refresh-token-of-the-administrator-0123456789';
const CONTEXT = { msalCache: JSON.stringify({ AccessToken: { a: { secret: TOKEN } }, RefreshToken: { r: { secret: REFRESH } } }) };
/** A fetch position as fetch-events writes it, an hour old. */
const hourAgo = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const POSITION = { version: 2, cursor: new Date(hourAgo).toISOString(), readUpTo: new Date(hourAgo + 300_000).toISOString(), seen: '' };

let base: string;
let dir: string;
let keyFile: string;
let otherKeyFile: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'o365mt-crypto-'));
  dir = join(base, 'state');
  keyFile = join(base, 'state.key');
  otherKeyFile = join(base, 'other.key');
  await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  await writeFile(otherKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const failureOf = (promise: Promise<unknown>) => rejectionOf(promise, IntegrationError);

/** A state directory with a fetch position and tokens, written with `key` (or in plaintext). */
async function stateWith(stateKeyFile: string | undefined): Promise<void> {
  const engine = await openFileEngine({ dir, log: quietLog, stateKeyFile });
  await engine.setLastRun(POSITION);
  await engine.setIntegrationContext(CONTEXT);
  await engine.close();
}

describe('state key files', () => {
  const raw = randomBytes(32);
  // A raw key that happens to be all printable would be refused; make sure this one is not.
  raw[0] = 0;
  it.each([
    ['base64 with a newline', Buffer.from(`${raw.toString('base64')}\n`)],
    ['base64url', Buffer.from(raw.toString('base64url'))],
    ['hex', Buffer.from(raw.toString('hex').toUpperCase())],
    ['32 raw bytes', raw],
  ])('accepts %s', (_form, content) => {
    expect(decodeStateKey(content)?.equals(raw)).toBe(true);
  });

  it.each([
    ['a typed passphrase of 32 characters', 'correct horse battery staple 123'],
    ['a short base64 key', randomBytes(16).toString('base64')],
    ['an empty file', ''],
  ])('refuses %s, saying how to make a key', async (_form, content) => {
    await writeFile(keyFile, content);
    const error = await failureOf(loadStateKey(keyFile));
    expect(error.code).toBe('state_key');
    expect(error.message).toContain(keyFile);
    expect(error.message).toContain('openssl rand -base64 32');
    if (content !== '') expect(error.message).not.toContain(content);
  });

  it('refuses a missing key file before the state directory is created', async () => {
    const missing = join(base, 'nope.key');
    const error = await failureOf(openFileEngine({ dir, log: quietLog, stateKeyFile: missing }));
    expect(error.code).toBe('state_key');
    expect(error.message).toMatch(/Cannot read the state key file .*nope\.key .*does not exist/);
    await expect(access(dir)).rejects.toThrow();
  });
});

describe('the state_key_file parameter', () => {
  it('refuses a pasted key instead of a path, without quoting it', () => {
    const key = randomBytes(32).toString('base64');
    let message = '';
    try {
      parseParams({ state_key_file: key });
    } catch (error) {
      message = error instanceof IntegrationError ? error.message : String(error);
    }
    expect(message).toMatch(/state_key_file .*looks like a key, not a file path/);
    expect(message).not.toContain(key);
    expect(parseParams({ state_key_file: '/etc/o365-message-trace/state.key' }).stateKeyFile).toBe('/etc/o365-message-trace/state.key');
  });
});

describe('sealed documents', () => {
  it('use a fresh nonce per write and open only as the file they were written for', async () => {
    const key = await loadStateKey(keyFile);
    const first = sealText(key, INTEGRATION_CONTEXT_FILE_NAME, 'same text');
    const second = sealText(key, INTEGRATION_CONTEXT_FILE_NAME, 'same text');
    expect(first.nonce).not.toBe(second.nonce);
    expect(first.ciphertext).not.toBe(second.ciphertext);
    expect(openSealed(first, key, INTEGRATION_CONTEXT_FILE_NAME, 'p')).toBe('same text');
    // The file name is associated data: a sealed context moved over another state file does not open.
    expect(() => openSealed(first, key, LAST_RUN_FILE_NAME, 'p')).toThrow(/altered, damaged, or copied from another file/);
    // So is the version: the same bytes claimed as another format version are refused.
    expect(() => openSealed({ ...first, version: 2 }, key, INTEGRATION_CONTEXT_FILE_NAME, 'p')).toThrow(/format version 2/);
    const flipped = Buffer.from(first.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => openSealed({ ...first, ciphertext: flipped.toString('base64') }, key, INTEGRATION_CONTEXT_FILE_NAME, 'p')).toThrow(/altered/);
  });
});

describe('the file engine with a state key', () => {
  it('keeps no token readable in the state files, and reads them back', async () => {
    await stateWith(keyFile);
    const text = await readFile(join(dir, INTEGRATION_CONTEXT_FILE_NAME), 'utf8');
    expect(text).toContain('"AES-256-GCM"');
    for (const secret of [TOKEN, REFRESH, 'eyJ0eXAi', 'secret']) expect(text).not.toContain(secret);
    // The position holds no secret and stays plain.
    expect(JSON.parse(await readFile(join(dir, LAST_RUN_FILE_NAME), 'utf8'))).toEqual(POSITION);
    const engine = await openFileEngine({ dir, log: quietLog, stateKeyFile: keyFile });
    expect(await engine.getIntegrationContext()).toEqual(CONTEXT);
    await engine.close();
  });

  it('without a key keeps the context in plaintext, as before', async () => {
    await stateWith(undefined);
    expect(await readFile(join(dir, INTEGRATION_CONTEXT_FILE_NAME), 'utf8')).toContain(REFRESH);
  });

  it('encrypts a plaintext context on the first run with a key, even when nothing else is written', async () => {
    await stateWith(undefined);
    const memory = new MemoryEngine();
    const engine = await openFileEngine({ dir, log: memory.log, stateKeyFile: keyFile });
    await engine.close();
    const text = await readFile(join(dir, INTEGRATION_CONTEXT_FILE_NAME), 'utf8');
    expect(text).not.toContain(REFRESH);
    expect(text).toContain('o365mt-sealed');
    const reopened = await openFileEngine({ dir, log: quietLog, stateKeyFile: keyFile });
    expect(await reopened.getIntegrationContext()).toEqual(CONTEXT);
    await reopened.close();
  });

  it.each([
    ['a different key', () => otherKeyFile, /encrypted with a different state key \(key id [0-9a-f]{8}\) than the one in .*other\.key/],
    ['no key', () => undefined, /are encrypted, but no state key is configured\. Set state_key_file \(or O365MT_STATE_KEY_FILE\)/],
  ])('with %s: a state_key error with the way out, the position readable and untouched', async (_case, stateKeyFile, message) => {
    await stateWith(keyFile);
    const before = await readFile(join(dir, LAST_RUN_FILE_NAME));
    const engine = await openFileEngine({ dir, log: quietLog, stateKeyFile: stateKeyFile() });
    const error = await failureOf(engine.getIntegrationContext());
    expect(error.code).toBe('state_key');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/Restore the key file .* or run o365-message-trace-auth-reset to drop the saved tokens/);
    expect(await engine.getLastRun()).toEqual(POSITION);
    await engine.close();
    expect((await readFile(join(dir, LAST_RUN_FILE_NAME))).equals(before)).toBe(true);
  });

  it('through the CLI: a relative state_key_file is read from $CREDENTIALS_DIRECTORY, as systemd passes credentials', async () => {
    await stateWith(keyFile);
    const offline = ['--param', 'url=https://127.0.0.1:9', '--param', 'authority_url=https://127.0.0.1:9'];
    // The same key under its credential name: the saved tokens open, so auth-reset keeps nothing but succeeds quietly.
    const credentials = join(base, 'credentials');
    await mkdir(credentials, { mode: 0o700 });
    await writeFile(join(credentials, 'secret_state-key'), await readFile(keyFile), { mode: 0o600 });
    const right = captureIo({ CREDENTIALS_DIRECTORY: credentials });
    expect(await runCli(['o365-message-trace-auth-reset', '--state-dir', dir, ...offline, '--param', 'state_key_file=secret_state-key'], right.io), right.stderr()).toBe(0);
    // The wrong key under that name is refused, naming the file inside the credentials directory.
    await writeFile(join(credentials, 'secret_state-key'), await readFile(otherKeyFile), { mode: 0o600 });
    await stateWith(keyFile);
    const wrong = captureIo({ CREDENTIALS_DIRECTORY: credentials, O365MT_CLIENT_SECRET: 'not-used-secret' });
    const identity = ['--param', 'tenant_id=contoso.onmicrosoft.com', '--param', 'client_id=00000000-0000-0000-0000-000000000001'];
    expect(await runCli(['fetch-events', '--state-dir', dir, ...offline, ...identity, '--param', 'state_key_file=secret_state-key'], wrong.io)).toBe(1);
    expect(wrong.stderr()).toContain(join(credentials, 'secret_state-key'));
  });

  it('through the CLI: a wrong key fails fetch-events and run with the clear error; auth-reset drops the tokens and keeps the position', async () => {
    await stateWith(keyFile);
    const before = await readFile(join(dir, LAST_RUN_FILE_NAME));
    const offline = ['--param', 'url=https://127.0.0.1:9', '--param', 'authority_url=https://127.0.0.1:9'];
    const identity = ['--param', 'tenant_id=contoso.onmicrosoft.com', '--param', 'client_id=00000000-0000-0000-0000-000000000001'];
    const env = { O365MT_CLIENT_SECRET: 'not-used-secret', O365MT_STATE_KEY_FILE: otherKeyFile };

    const fetch = captureIo(env);
    expect(await runCli(['fetch-events', '--state-dir', dir, ...offline, ...identity], fetch.io)).toBe(1);
    expect(fetch.stderr()).toMatch(/Error \[state_key\]: The saved tokens in .* were encrypted with a different state key/);
    expect(fetch.stderr()).toContain(otherKeyFile);
    expect((await readFile(join(dir, LAST_RUN_FILE_NAME))).equals(before)).toBe(true);

    // The collector loop stops at once with the same error instead of failing every cycle.
    const loop = captureIo(env);
    expect(await runCli(['run', '--state-dir', dir, ...offline, ...identity], loop.io)).toBe(1);
    expect(loop.stderr()).toMatch(/Error \[state_key\]: The saved tokens in .* were encrypted with a different state key/);
    expect(loop.stderr()).not.toContain('Fetch cycle');
    expect((await readFile(join(dir, LAST_RUN_FILE_NAME))).equals(before)).toBe(true);

    const reset = captureIo(env);
    expect(await runCli(['o365-message-trace-auth-reset', '--state-dir', dir, ...offline], reset.io), reset.stderr()).toBe(0);
    expect(reset.stdout()).toContain('Authorization was reset');
    expect((await readFile(join(dir, LAST_RUN_FILE_NAME))).equals(before)).toBe(true);
    // The context is now an empty one sealed with the new key.
    const engine = await openFileEngine({ dir, log: quietLog, stateKeyFile: otherKeyFile });
    expect(await engine.getIntegrationContext()).toEqual({});
    await engine.close();
  });
});
