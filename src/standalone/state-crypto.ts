/**
 * Encryption at rest for what the file engine keeps about sign-in (integration-context.json: MSAL's token
 * cache, refresh tokens included, and the managed identity token). AES-256-GCM from node:crypto, a fresh
 * 96-bit nonce for every write, and the file name plus the format version as associated data, so a sealed
 * document copied over another state file, or replayed under a later format, fails to open instead of
 * being read as something it is not.
 *
 * The key is 32 bytes read from a file the operator makes (`state_key_file` / O365MT_STATE_KEY_FILE; under
 * systemd a `LoadCredential=` credential). Accepted forms: 32 raw bytes, 44 characters of base64 (or 43 of
 * base64url), or 64 hex characters; surrounding whitespace is ignored for the text forms.
 *
 * Nothing here ever puts key material or plaintext into a message. The key id written next to the
 * ciphertext is an HMAC of a fixed label under the key, so it tells two keys apart without revealing either.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { IntegrationError } from '../errors.js';

export const STATE_KEY_PARAM = 'state_key_file';
export const STATE_KEY_ENV = 'O365MT_STATE_KEY_FILE';
/** The credential name the systemd unit passes with LoadCredential=; $CREDENTIALS_DIRECTORY/<name>. */
export const STATE_KEY_CREDENTIAL = 'o365mt-state-key';
export const SEALED_FORMAT = 'o365mt-sealed';
export const SEALED_VERSION = 1;

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_LABEL = 'o365-message-trace state key id';

export const MAKE_A_KEY =
  'Make one with `openssl rand -base64 32 > state.key` (or `head -c 32 /dev/urandom > state.key`), then `chmod 600 state.key`.';

export interface StateKey {
  /** Where the key was read from, for messages. */
  readonly path: string;
  /** Short public identifier of the key (8 hex characters). */
  readonly id: string;
  readonly bytes: Buffer;
}

const sealedSchema = z.strictObject({
  format: z.literal(SEALED_FORMAT),
  version: z.number().int(),
  algorithm: z.literal('AES-256-GCM'),
  keyId: z.string(),
  nonce: z.base64(),
  tag: z.base64(),
  ciphertext: z.base64(),
});
export type SealedDocument = z.infer<typeof sealedSchema>;

/** True for anything that claims to be a sealed document, well-formed or not. */
export function looksSealed(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { format?: unknown }).format === SEALED_FORMAT;
}

function keyIdOf(bytes: Buffer): string {
  return createHmac('sha256', bytes).update(KEY_ID_LABEL).digest('hex').slice(0, 8);
}

function associatedData(fileName: string, version: number): Buffer {
  return Buffer.from(`${SEALED_FORMAT}/${version}/${fileName}`, 'utf8');
}

/** Decodes the key file's content; undefined when it is in none of the accepted forms. */
export function decodeStateKey(content: Buffer): Buffer | undefined {
  const text = content.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  if (/^[A-Za-z0-9_-]{43}$/.test(text)) return Buffer.from(text, 'base64url');
  // Raw bytes last. A 32-character typed passphrase would also be 32 bytes; random bytes are almost never
  // all printable (about 1 in 10^17), so a printable one is refused as a weak key rather than used.
  if (content.length === KEY_BYTES && !/^[\x20-\x7e]*$/.test(content.toString('latin1'))) return Buffer.from(content);
  return undefined;
}

export async function loadStateKey(path: string): Promise<StateKey> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new IntegrationError(
      'state_key',
      `Cannot read the state key file ${path} (${STATE_KEY_PARAM} / ${STATE_KEY_ENV}): ${why}. Point ${STATE_KEY_PARAM} at the key the saved tokens were encrypted with, readable by the collector's user. ${MAKE_A_KEY}`,
      { cause: error },
    );
  }
  const bytes = decodeStateKey(content);
  if (bytes === undefined) {
    throw new IntegrationError(
      'state_key',
      `The state key file ${path} (${STATE_KEY_PARAM}) does not hold a 256-bit key. Accepted: 32 random bytes, 44 characters of base64, or 64 hex characters (a typed passphrase is not a key). ${MAKE_A_KEY}`,
    );
  }
  return { path, id: keyIdOf(bytes), bytes };
}

export function sealText(key: StateKey, fileName: string, plaintext: string): SealedDocument {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(fileName, SEALED_VERSION));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    format: SEALED_FORMAT,
    version: SEALED_VERSION,
    algorithm: 'AES-256-GCM',
    keyId: key.id,
    nonce: nonce.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

/** What to do when sealed tokens cannot be opened; the fetch position is never involved. */
function remedy(path: string): string {
  return `Restore the key file they were written with, or run o365-message-trace-auth-reset to drop the saved tokens (the next run signs in again). The fetch position (last-run.json) is kept either way; ${path} is left as it is until then.`;
}

/**
 * Opens a sealed document read from `path`. `key` undefined means no key is configured. Every failure is
 * IntegrationError('state_key') naming the file, the key file and what to do.
 */
export function openSealed(value: unknown, key: StateKey | undefined, fileName: string, path: string): string {
  if (key === undefined) {
    throw new IntegrationError(
      'state_key',
      `The saved tokens in ${path} are encrypted, but no state key is configured. Set ${STATE_KEY_PARAM} (or ${STATE_KEY_ENV}) to the key file they were written with. ${remedy(path)}`,
    );
  }
  const parsed = sealedSchema.safeParse(value);
  if (!parsed.success || parsed.data.version !== SEALED_VERSION) {
    throw new IntegrationError(
      'state_key',
      `The encrypted state file ${path} is damaged or was written by a newer version (format version ${parsed.success ? parsed.data.version : 'unreadable'}). ${remedy(path)}`,
    );
  }
  const sealed = parsed.data;
  if (sealed.keyId !== key.id) {
    throw new IntegrationError(
      'state_key',
      `The saved tokens in ${path} were encrypted with a different state key (key id ${sealed.keyId}) than the one in ${key.path} (key id ${key.id}). ${remedy(path)}`,
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(sealed.nonce, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(fileName, sealed.version));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new IntegrationError(
      'state_key',
      `The encrypted state file ${path} does not open with the key in ${key.path} (key id ${key.id}): it was altered, damaged, or copied from another file. ${remedy(path)}`,
      { cause: error },
    );
  }
}
