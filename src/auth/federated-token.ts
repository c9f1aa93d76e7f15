/**
 * Workload identity federation: the platform (AKS workload identity, a CI job's OIDC token, …) writes an
 * identity token to a file and replaces it before it expires (AKS about every hour). That token is the
 * client assertion Entra ID exchanges for an access token, so the file is read again for every token
 * request and the token is never kept in memory past its `exp`: MSAL calls `clientAssertion` for every
 * acquisition, cached or not, and gets the file's current content.
 *
 * The token is a secret: no message here contains it. Its claims `iss`, `sub` and `aud` are not (they are
 * what a person enters in the app's federated credential), so they are returned for error messages.
 * The signature is not checked: Entra ID does that against the issuer's published keys.
 */
import { open } from 'node:fs/promises';
import { IntegrationError } from '../errors.js';
import { type FederatedTokenFile, WORKLOAD_IDENTITY_ENV } from './select.js';

/** The audience Entra ID expects in a federated token, unless the federated credential names another. */
export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

/** Identity tokens are a few KiB; anything much larger is not one. */
const MAX_TOKEN_BYTES = 64 * 1024;

/** The public claims of the token, for messages. */
export interface FederatedTokenClaims {
  issuer: string | undefined;
  subject: string | undefined;
  audiences: string[];
  expiresOnMs: number;
}

export interface FederatedToken {
  token: string;
  claims: FederatedTokenClaims;
}

/** How a message names the setting the path came from. */
export function describeTokenFileSetting(file: FederatedTokenFile): string {
  return file.setting === 'federated_token_file'
    ? 'Federated token file (federated_token_file)'
    : `the ${WORKLOAD_IDENTITY_ENV.tokenFile} environment variable (federated_token_file is empty)`;
}

function fileError(code: IntegrationError['code'], file: FederatedTokenFile, problem: string, fix: string): IntegrationError {
  return new IntegrationError(
    code,
    `The federated token file ${JSON.stringify(file.path)}, named by ${describeTokenFileSetting(file)}, ${problem}. ${fix}`,
  );
}

const MOUNT_HINT =
  'Check the path. On AKS, the token is mounted only in pods labelled azure.workload.identity/use: "true" whose service account is annotated with azure.workload.identity/client-id; elsewhere, make the platform write its identity token to that file.';

async function readTokenFile(file: FederatedTokenFile): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file.path, 'r');
    const buffer = Buffer.alloc(MAX_TOKEN_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_TOKEN_BYTES) {
      throw fileError(
        'auth_config',
        file,
        `is larger than ${MAX_TOKEN_BYTES / 1024} KiB, so it is not an identity token`,
        'Point the setting at the file that holds only the platform\'s identity token (a JWT).',
      );
    }
    return buffer.subarray(0, bytesRead).toString('utf8');
  } catch (error) {
    if (error instanceof IntegrationError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    switch (code) {
      case 'ENOENT':
        throw fileError('auth_config', file, 'does not exist', MOUNT_HINT);
      case 'ENOTDIR':
        throw fileError('auth_config', file, 'does not exist (a part of the path is not a directory)', MOUNT_HINT);
      case 'EISDIR':
        throw fileError('auth_config', file, 'is a directory', 'Name the token file inside it, for example …/azure-identity-token.');
      case 'EACCES':
      case 'EPERM':
        throw fileError(
          'auth_config',
          file,
          `cannot be read by this process (${code}: permission denied)`,
          'Give the user this runs as read access to the file (on Kubernetes, check the pod\'s securityContext fsGroup / runAsUser against the projected token\'s mode).',
        );
      default:
        throw fileError(
          'auth_config',
          file,
          `cannot be read${typeof code === 'string' ? ` (${code})` : ''}`,
          'Check that the path names a readable file.',
        );
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function base64urlJson(part: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The claims of a compact JWT, decoded without verifying the signature; undefined when the text is not a
 * JWS with a JSON header and payload.
 */
export function decodeTokenClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[2] === undefined || !/^[A-Za-z0-9_-]+$/.test(parts[2])) return undefined;
  const header = base64urlJson(parts[0] ?? '');
  const payload = base64urlJson(parts[1] ?? '');
  return isObject(header) && isObject(payload) ? payload : undefined;
}

/**
 * Reads and checks the platform's identity token. Throws IntegrationError naming the file and its setting
 * (auth_config for a missing, unreadable or wrong file; auth_failed for an empty or expired token).
 */
export async function readFederatedToken(file: FederatedTokenFile, nowMs: number): Promise<FederatedToken> {
  const token = (await readTokenFile(file)).trim();
  if (token === '') {
    throw fileError(
      'auth_failed',
      file,
      'is empty',
      'The platform writes the token into it: check that the token is projected into this container (on AKS, the azure-identity-token volume) and try again.',
    );
  }
  const claims = decodeTokenClaims(token);
  if (claims === undefined) {
    throw fileError(
      'auth_config',
      file,
      'does not hold an identity token (a JWT: three base64url parts separated by dots)',
      'Point the setting at the file the platform writes its identity token to, not at a key, certificate or configuration file.',
    );
  }
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
    throw fileError(
      'auth_config',
      file,
      'holds a token without an expiry time (exp claim), which Entra ID does not accept',
      'Use the identity token the platform issues for Entra ID (audience api://AzureADTokenExchange).',
    );
  }
  const expiresOnMs = claims.exp * 1000;
  if (expiresOnMs <= nowMs) {
    const minutes = Math.max(1, Math.round((nowMs - expiresOnMs) / 60_000));
    throw fileError(
      'auth_failed',
      file,
      `holds a token that expired at ${new Date(expiresOnMs).toISOString()} (${minutes} minute${minutes === 1 ? '' : 's'} ago)`,
      'The platform normally replaces the file before the token expires (AKS about every hour): check that it still does, and that this machine\'s clock is right. A CI job\'s token lives only as long as the job.',
    );
  }
  const aud = claims.aud;
  return {
    token,
    claims: {
      issuer: typeof claims.iss === 'string' ? claims.iss : undefined,
      subject: typeof claims.sub === 'string' ? claims.sub : undefined,
      audiences: (Array.isArray(aud) ? aud : [aud]).filter((a): a is string => typeof a === 'string'),
      expiresOnMs,
    },
  };
}
