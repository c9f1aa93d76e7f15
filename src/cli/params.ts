/**
 * Where the CLI's instance parameters come from, lowest precedence first: a JSON config file, then
 * O365MT_<PARAM_ID> environment variables (the place for secrets), then --param. Pure: the caller reads
 * the file and passes the environment.
 */

export const ENV_PREFIX = 'O365MT_';
export const XSIAM_API_KEY_ENV = 'O365MT_XSIAM_API_KEY';
/** O365MT_ variables that are not parameters, so they draw no "unknown variable" warning. */
const NON_PARAM_ENV = new Set([XSIAM_API_KEY_ENV, 'O365MT_LOG_LEVEL']);

export function envNameFor(paramId: string): string {
  return `${ENV_PREFIX}${paramId.toUpperCase()}`;
}

/** `O365MT_<SECRET>_FILE` names a file holding a secret (standalone/secret-files.ts reads it), not a value. */
function isSecretFileEnv(name: string, secretIds: ReadonlySet<string>): boolean {
  if (!name.endsWith('_FILE')) return false;
  const base = name.slice(0, -'_FILE'.length);
  return base === XSIAM_API_KEY_ENV || [...secretIds].some((id) => envNameFor(id) === base);
}

export interface ParamSources {
  /** Param ids from integration.yml. */
  paramIds: readonly string[];
  /** Ids whose values are secrets (types 9 and 14). */
  secretIds: ReadonlySet<string>;
  fromFile: Readonly<Record<string, unknown>>;
  env: Readonly<Record<string, string | undefined>>;
  fromFlags: ReadonlyArray<readonly [string, string]>;
}

export interface CollectedParams {
  params: Record<string, unknown>;
  /** Things the user should hear about; they never contain a value. */
  warnings: string[];
}

export function collectParams(sources: ParamSources): CollectedParams {
  const params: Record<string, unknown> = { ...sources.fromFile };
  const warnings: string[] = [];
  const envToId = new Map(sources.paramIds.map((id) => [envNameFor(id), id]));

  for (const [name, value] of Object.entries(sources.env)) {
    if (!name.startsWith(ENV_PREFIX) || NON_PARAM_ENV.has(name) || isSecretFileEnv(name, sources.secretIds)) continue;
    const id = envToId.get(name);
    if (id === undefined) {
      warnings.push(`${name} is not a parameter and is ignored. Parameter variables: ${[...envToId.keys()].join(', ')}.`);
      continue;
    }
    // An empty variable counts as unset, the way shells commonly "unset" with NAME=.
    if (value !== undefined && value !== '') params[id] = value;
  }

  for (const [id, value] of sources.fromFlags) {
    if (sources.secretIds.has(id)) {
      warnings.push(
        `${id} was given with --param, where other users of this machine can read it in the process list and it stays in your shell history. Use ${envNameFor(id)} or the config file instead.`,
      );
    }
    params[id] = value;
  }
  return { params, warnings };
}
