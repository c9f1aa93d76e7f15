/**
 * Which tenants one `run` serves, from the config file: either the single-tenant form (one object of
 * parameters, state in the state directory itself) or an `instances` list, each `{ "name": …, params… }`
 * with its state in `<state dir>/<name>/` (its own lock, token cache, request budget and position).
 *
 * Precedence for an instance, lowest first: the config file's top-level parameters, O365MT_ variables,
 * --param, then the instance's own entries (the most specific place wins). Secrets may be given as files
 * at every level (secret-files.ts). Pure: the caller reads the config file and passes the environment.
 */
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { type SecretFileRef, XSIAM_API_KEY_PARAM, secretFileRefsFromEnv, splitSecretFileKeys } from '../standalone/secret-files.js';
import { collectParams, envNameFor } from './params.js';
import { DEFAULT_STATE_DIR } from '../standalone/file-engine.js';

export const INSTANCES_KEY = 'instances';
/** A slug: it names a directory, a metric label and a field in every event. */
export const INSTANCE_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export interface InstancePlan {
  /** undefined in the single-tenant form. */
  name: string | undefined;
  /** Absolute state directory of this instance. */
  dir: string;
  /** Parameters without the secrets that live in files. */
  params: Record<string, unknown>;
  /** Secrets read from files at each use. */
  secretFiles: SecretFileRef[];
}

export interface ServicePlan {
  instances: InstancePlan[];
  /** Where the XSIAM API key's file is, when given as a file. */
  xsiamApiKeyFile: SecretFileRef | undefined;
  /** Things to tell the user; they never hold a value. */
  warnings: string[];
  /** Mistakes that stop the run; they never hold a value. */
  problems: string[];
}

export interface PlanSources {
  paramIds: readonly string[];
  secretIds: ReadonlySet<string>;
  /** The config file's object ({} without one). */
  config: Readonly<Record<string, unknown>>;
  configPath: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  fromFlags: ReadonlyArray<readonly [string, string]>;
  stateDir: string | undefined;
}

const instanceListSchema = z
  .array(
    z.looseObject({
      name: z.string().regex(INSTANCE_NAME, 'must be a short slug: lower-case letters, digits, - and _, at most 40, starting with a letter or digit'),
    }),
  )
  .min(1, 'must list at least one instance');

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length > 0 ? `instances[${issue.path.join('].')}` : 'instances';
    // Messages name the place, never the value (an instance may hold a secret).
    return `${where.replace(/\]\.([a-z_]+)$/i, '].$1')} ${issue.message.replace(/^Invalid input: /, '')}`;
  });
}

/** The shared parameters: config top level, environment, --param; secrets in files at both levels. */
function sharedParams(sources: PlanSources, where: string, topLevel: Record<string, unknown>) {
  const secretIdsWithKey = new Set([...sources.secretIds, XSIAM_API_KEY_PARAM]);
  const split = splitSecretFileKeys(topLevel, secretIdsWithKey, where);
  const collected = collectParams({
    paramIds: sources.paramIds,
    secretIds: sources.secretIds,
    fromFile: split.values,
    env: sources.env,
    fromFlags: sources.fromFlags,
  });
  const problems = [...split.problems];
  const setDirectly = new Set<string>(sources.fromFlags.map(([id]) => id));
  for (const id of sources.secretIds) if (sources.env[envNameFor(id)]) setDirectly.add(id);
  const envRefs = secretFileRefsFromEnv(
    sources.env,
    [...secretIdsWithKey].map((param) => ({ param, envName: envNameFor(param) })),
  );
  for (const ref of envRefs) {
    if (sources.env[envNameFor(ref.param)]) problems.push(`Both ${envNameFor(ref.param)} and ${ref.source} are set; keep one of them.`);
  }
  // A value set in a place of higher precedence replaces a file named in a lower one.
  const fileRefs = split.refs.filter((ref) => !setDirectly.has(ref.param) && !envRefs.some((envRef) => envRef.param === ref.param));
  const refs = [...fileRefs, ...envRefs.filter((ref) => !sources.fromFlags.some(([id]) => id === ref.param))];
  return { params: collected.params, refs, warnings: collected.warnings, problems };
}

export function planInstances(sources: PlanSources): ServicePlan {
  const where = sources.configPath ? `the config file ${sources.configPath}` : 'the configuration';
  const { [INSTANCES_KEY]: list, ...topLevel } = sources.config;
  const shared = sharedParams(sources, where, topLevel);
  const xsiamApiKeyFile = shared.refs.find((ref) => ref.param === XSIAM_API_KEY_PARAM);
  const sharedRefs = shared.refs.filter((ref) => ref.param !== XSIAM_API_KEY_PARAM);
  const stateDir = resolve(sources.stateDir ?? DEFAULT_STATE_DIR);
  const plan: ServicePlan = { instances: [], xsiamApiKeyFile, warnings: shared.warnings, problems: shared.problems };

  if (list === undefined) {
    plan.instances.push({ name: undefined, dir: stateDir, params: shared.params, secretFiles: sharedRefs });
    return plan;
  }
  const parsed = instanceListSchema.safeParse(list);
  if (!parsed.success) {
    plan.problems.push(...describeIssues(parsed.error).map((problem) => `${problem} (in ${where}).`));
    return plan;
  }
  const seen = new Set<string>();
  for (const [index, entry] of parsed.data.entries()) {
    const { name, ...own } = entry;
    if (seen.has(name)) {
      plan.problems.push(`instances[${index}] repeats the name '${name}'; every instance needs its own name (it names its state directory).`);
      continue;
    }
    seen.add(name);
    const split = splitSecretFileKeys(own, sources.secretIds, `instance '${name}' of ${where}`);
    plan.problems.push(...split.problems);
    // The instance's own value or file for a secret replaces the shared one (whose file is then never read).
    const ownSecrets = new Set([...Object.keys(split.values), ...split.refs.map((ref) => ref.param)]);
    const refs = [...sharedRefs.filter((ref) => !ownSecrets.has(ref.param)), ...split.refs];
    plan.instances.push({ name, dir: join(stateDir, name), params: { ...shared.params, ...split.values }, secretFiles: refs });
  }
  return plan;
}
