/**
 * Secrets given as files: `<param>_file` in the config file (or an instance of it) and the
 * `O365MT_<PARAM>_FILE` environment form, the convention of Docker secrets, Kubernetes secret volumes and
 * systemd credentials. A relative path is taken inside `$CREDENTIALS_DIRECTORY` when systemd set it
 * (`LoadCredential=`), else inside the working directory.
 *
 * Files are read when a command or a fetch cycle needs the value, not once at start: a secret rotated (or
 * fixed) in its file is picked up by the next cycle without a restart. A file that cannot be read is an
 * error naming the file and the parameter; its content is never quoted.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { IntegrationError } from '../errors.js';

export const FILE_SUFFIX = '_file';
export const ENV_FILE_SUFFIX = '_FILE';
/** Not an integration parameter, but a secret the CLI reads the same ways. */
export const XSIAM_API_KEY_PARAM = 'xsiam_api_key';

export interface SecretFileRef {
  /** The parameter the file holds, e.g. client_secret. */
  param: string;
  path: string;
  /** Where the path was given, for messages: `client_secret_file in the config file`, `O365MT_CLIENT_SECRET_FILE`. */
  source: string;
}

export interface SplitSecretFiles {
  /** The values without the `_file` keys. */
  values: Record<string, unknown>;
  refs: SecretFileRef[];
  /** Mistakes in the `_file` keys; they never hold a secret. */
  problems: string[];
}

/** Takes `<secret>_file` keys out of a parameter object (a config file or one of its instances). */
export function splitSecretFileKeys(values: Readonly<Record<string, unknown>>, secretIds: ReadonlySet<string>, where: string): SplitSecretFiles {
  const rest: Record<string, unknown> = {};
  const refs: SecretFileRef[] = [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const param = key.endsWith(FILE_SUFFIX) ? key.slice(0, -FILE_SUFFIX.length) : undefined;
    if (param === undefined || !secretIds.has(param)) {
      rest[key] = value;
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${key} in ${where} must be the path of a file holding ${param}, as a string.`);
      continue;
    }
    if (Object.hasOwn(values, param)) {
      problems.push(`${where} sets both ${param} and ${key}; keep one of them.`);
      continue;
    }
    refs.push({ param, path: value.trim(), source: `${key} in ${where}` });
  }
  return { values: rest, refs, problems };
}

export function envFileNameFor(envName: string): string {
  return `${envName}${ENV_FILE_SUFFIX}`;
}

/** `O365MT_<PARAM>_FILE` variables for the given secrets; an empty variable counts as unset. */
export function secretFileRefsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  secrets: ReadonlyArray<{ param: string; envName: string }>,
): SecretFileRef[] {
  const refs: SecretFileRef[] = [];
  for (const { param, envName } of secrets) {
    const name = envFileNameFor(envName);
    const path = env[name]?.trim();
    if (path) refs.push({ param, path, source: name });
  }
  return refs;
}

export function resolveSecretPath(path: string, env: Readonly<Record<string, string | undefined>>): string {
  if (isAbsolute(path)) return path;
  const credentials = env.CREDENTIALS_DIRECTORY;
  return credentials ? resolve(credentials, path) : resolve(path);
}

function unreadable(ref: SecretFileRef, fullPath: string, error: unknown): IntegrationError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'ENOENT'
      ? 'the file does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied (the collector runs as a user that may not read it)'
        : code === 'EISDIR'
          ? 'it is a directory'
          : (code ?? 'it cannot be read');
  return new IntegrationError(
    'invalid_param',
    `Cannot read ${ref.param} from the file ${fullPath} (${ref.source}): ${reason}. Put the ${ref.param} value alone in that file, readable by the collector's user, or fix the path.`,
    { cause: error },
  );
}

/** Reads one secret file; a trailing line break (every editor adds one) is not part of the value. */
export async function readSecretFile(ref: SecretFileRef, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const fullPath = resolveSecretPath(ref.path, env);
  let text: string;
  try {
    text = await readFile(fullPath, 'utf8');
  } catch (error) {
    throw unreadable(ref, fullPath, error);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.trim() === '') {
    throw new IntegrationError(
      'invalid_param',
      `The file ${fullPath} (${ref.source}) is empty; it must hold the ${ref.param} value.`,
    );
  }
  return value;
}

/** `params` with every referenced secret read from its file (a later ref for the same param wins). */
export async function withSecretFiles(
  params: Readonly<Record<string, unknown>>,
  refs: readonly SecretFileRef[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<Record<string, unknown>> {
  const resolved: Record<string, unknown> = { ...params };
  for (const ref of refs) resolved[ref.param] = await readSecretFile(ref, env);
  return resolved;
}
