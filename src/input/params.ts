/**
 * Instance parameters: names, value types and defaults come from integration.yml; what each value must
 * look like is the table below. One pass reports every problem at once, each naming the parameter and
 * the accepted form. Secret values are never quoted back.
 */
import { IntegrationError } from '../errors.js';
import { nationalCloudOf, nationalCloudRefusal } from './national-clouds.js';
import { type Manifest, type ManifestParameter, ParamType, loadManifest } from '../manifest.js';
import { TIME_EXPRESSION_FORMS, parseTimeExpression } from '../time/expressions.js';
import {
  type Coerced,
  type InputProblem,
  coerceBoolean,
  coerceSecret,
  coerceText,
  formatProblems,
  parseWholeNumber,
} from './coerce.js';

export interface IntegrationParams {
  /** Graph origin, e.g. `https://graph.microsoft.com` (no trailing slash). */
  url: string;
  tenantId: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** Upper-case hex without separators, 40 (SHA-1) or 64 (SHA-256) characters. */
  certificateThumbprint: string | undefined;
  privateKey: string | undefined;
  redirectUri: string | undefined;
  authCode: string | undefined;
  useManagedIdentities: boolean;
  managedIdentitiesClientId: string | undefined;
  /**
   * Workload identity federation: sign in with the platform's identity token (a file) as client assertion.
   * parseParams always sets this and the next field; they are optional only so that params written out by
   * hand elsewhere (test kits) keep compiling, and absent means off / unset.
   */
  useWorkloadIdentity?: boolean;
  /** Path of that token file; when undefined, AZURE_FEDERATED_TOKEN_FILE is used (auth/select.ts). */
  federatedTokenFile?: string | undefined;
  /** Entra ID origin, e.g. `https://login.microsoftonline.com`. */
  authorityUrl: string;
  caCertificate: string | undefined;
  insecure: boolean;
  proxy: boolean;
  /**
   * Standalone collector only: the key file that seals saved tokens (standalone/state-crypto.ts). Optional
   * for the same reason as useWorkloadIdentity; absent means no encryption at rest.
   */
  stateKeyFile?: string | undefined;
  maxFetch: number;
  /** As typed; resolved against the engine clock when a first fetch happens. */
  firstFetch: string;
  lookbackMinutes: number;
  isFetchEvents: boolean;
  /** Minutes between fetch cycles. */
  eventFetchInterval: number;
  /**
   * The tenant's mail domains for `direction` (lower case; `*.` patterns kept). parseParams always sets this
   * and the next field; optional only so that params written out by hand elsewhere keep compiling.
   */
  internalDomains?: string[];
  /** Also read the tenant's verified domains from Graph (Domain.Read.All). */
  discoverDomains?: boolean;
  /**
   * Statuses (lower case) whose rows get detail events; empty: none. parseParams always sets this and the
   * next field; optional only so that params written out by hand elsewhere keep compiling.
   */
  detailsStatuses?: string[];
  /** Detail lookups allowed in any 5 minutes. */
  detailsMaxPer5Min?: number;
}

type Raw = string | boolean | undefined;

interface ParamRule {
  key: keyof IntegrationParams;
  /** Secret values are never echoed in messages. */
  secret?: boolean;
  accepted: string;
  /** Refines the coerced raw value; `undefined` stays `undefined` unless the rule says otherwise. */
  refine?: (value: string) => Coerced<string | number>;
}

export const MAX_FETCH_LIMIT = 1_000_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

function httpsOrigin(value: string): Coerced<string> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: `'${value}' is not a URL` };
  }
  if (url.protocol !== 'https:') return { ok: false, problem: `'${value}' does not use https://` };
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') {
    return { ok: false, problem: `'${value}' has a path, query or user part` };
  }
  return { ok: true, value: url.origin };
}

function guid(value: string): Coerced<string> {
  return GUID.test(value) ? { ok: true, value: value.toLowerCase() } : { ok: false, problem: `'${value}' is not a GUID` };
}

/** Comma- (or line-) separated domains, each optionally `*.`-prefixed; normalised to one comma-joined string. */
function domainList(value: string): Coerced<string> {
  const typed = value.split(/[,;\s]+/).filter((item) => item !== '');
  const normalised = (item: string) => item.toLowerCase().replace(/\.$/, '');
  const bad = typed.filter((item) => {
    const domain = normalised(item);
    return !DOMAIN.test(domain.startsWith('*.') ? domain.slice(2) : domain);
  });
  if (bad.length > 0) return { ok: false, problem: `has ${bad.map((item) => `'${item}'`).join(', ')}, not a domain name` };
  return { ok: true, value: [...new Set(typed.map(normalised))].join(',') };
}

/** Statuses a row can end in or pass through (v1.0 spelling); `details_statuses` picks from these. */
const DETAIL_STATUSES = ['failed', 'quarantined', 'filteredAsSpam', 'delivered', 'expanded', 'pending', 'gettingStatus', 'recalled'];
/** Half the default request budget (90 per 5 minutes): the other half stays with collection. */
export const MAX_DETAILS_PER_5MIN = 45;

/** Comma-separated statuses, any case; normalised to one comma-joined lower-case string. */
function statusList(value: string): Coerced<string> {
  const typed = value.split(/[,;\s]+/).filter((item) => item !== '');
  const known = new Set(DETAIL_STATUSES.map((status) => status.toLowerCase()));
  const bad = typed.filter((item) => !known.has(item.toLowerCase()));
  if (bad.length > 0) return { ok: false, problem: `has ${bad.map((item) => `'${item}'`).join(', ')}, not a message trace status` };
  return { ok: true, value: [...new Set(typed.map((item) => item.toLowerCase()))].join(',') };
}

function wholeNumber(min: number, max: number) {
  return (value: string): Coerced<number> => parseWholeNumber(value, min, max);
}

/** The rule for every parameter the code reads. A test checks this table against integration.yml. */
export const PARAM_RULES: Record<string, ParamRule> = {
  url: {
    key: 'url',
    accepted: "Use the global service's Graph origin, https://graph.microsoft.com, or a test tenant's origin, with https:// and no path.",
    refine: (value) => {
      const origin = httpsOrigin(value);
      if (!origin.ok) return origin;
      const { hostname } = new URL(origin.value);
      const cloud = nationalCloudOf(hostname);
      return cloud ? { ok: false, problem: nationalCloudRefusal(hostname, cloud) } : origin;
    },
  },
  tenant_id: {
    key: 'tenantId',
    accepted:
      'Use the Directory (tenant) ID from the Entra ID overview page, a GUID such as 8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f, or a verified domain such as contoso.onmicrosoft.com.',
    refine: (value) =>
      GUID.test(value) || DOMAIN.test(value)
        ? { ok: true, value: value.toLowerCase() }
        : { ok: false, problem: `'${value}' is neither a GUID nor a domain name` },
  },
  client_id: {
    key: 'clientId',
    accepted: 'Use the Application (client) ID from the app registration overview page, a GUID.',
    refine: guid,
  },
  client_secret: {
    key: 'clientSecret',
    secret: true,
    accepted: 'Paste the secret Value (not the Secret ID) from Certificates & secrets > Client secrets.',
  },
  certificate_thumbprint: {
    key: 'certificateThumbprint',
    accepted:
      'Use the thumbprint from Certificates & secrets > Certificates: 40 hex characters (SHA-1) or 64 (SHA-256); colons and spaces are allowed.',
    refine: (value) => {
      const hex = value.replace(/[\s:]/g, '').toUpperCase();
      return /^[0-9A-F]{40}$|^[0-9A-F]{64}$/.test(hex)
        ? { ok: true, value: hex }
        : { ok: false, problem: `'${value}' is not 40 or 64 hex characters` };
    },
  },
  private_key: {
    key: 'privateKey',
    secret: true,
    accepted: 'Paste the PEM private key of the certificate, from -----BEGIN PRIVATE KEY----- (or RSA PRIVATE KEY) to its END line.',
  },
  redirect_uri: {
    key: 'redirectUri',
    accepted: 'Use the Web redirect URI registered on the app under Authentication, for example https://localhost/myapp.',
    refine: (value) => {
      try {
        const url = new URL(value);
        if (url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === 'localhost')) {
          return { ok: true, value };
        }
      } catch {
        // fall through to the problem below
      }
      return { ok: false, problem: `'${value}' is not an https:// URL (or http://localhost)` };
    },
  },
  auth_code: {
    key: 'authCode',
    secret: true,
    accepted: 'Paste only the code value from the address you were redirected to after o365-message-trace-generate-login-url.',
  },
  use_managed_identities: { key: 'useManagedIdentities', accepted: 'Use true or false.' },
  managed_identities_client_id: {
    key: 'managedIdentitiesClientId',
    accepted: "Use the user-assigned managed identity's Client ID, a GUID, or leave it empty for the system-assigned identity.",
    refine: guid,
  },
  use_workload_identity: { key: 'useWorkloadIdentity', accepted: 'Use true or false.' },
  federated_token_file: {
    key: 'federatedTokenFile',
    accepted:
      'Use the path of the identity token file the platform writes, for example /var/run/secrets/azure/tokens/azure-identity-token, or leave it empty to use AZURE_FEDERATED_TOKEN_FILE.',
    refine: (value) =>
      // A path, not a token (a JWT starts with eyJ, base64url of '{"'): a pasted token would otherwise be
      // echoed back in file errors.
      /^eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*$/.test(value)
        ? { ok: false, problem: 'looks like a token, not a file path' }
        : /[\0\r\n]/.test(value)
          ? { ok: false, problem: 'contains a line break or NUL character' }
          : { ok: true, value },
  },
  authority_url: {
    key: 'authorityUrl',
    accepted: 'Use the Entra ID sign-in origin with https:// and no path, for example https://login.microsoftonline.com.',
    refine: httpsOrigin,
  },
  ca_certificate: {
    key: 'caCertificate',
    accepted: 'Paste one or more PEM certificates, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.',
    refine: (value) =>
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(value)
        ? { ok: true, value }
        : { ok: false, problem: 'holds no PEM certificate' },
  },
  insecure: { key: 'insecure', accepted: 'Use true or false.' },
  state_key_file: {
    key: 'stateKeyFile',
    accepted:
      'Use the path of a file holding the key (for example /etc/o365-message-trace/state.key, made with openssl rand -base64 32 > state.key), not the key itself.',
    refine: (value) =>
      // A pasted key would otherwise be echoed back in "cannot read" messages.
      /^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=|[A-Za-z0-9_-]{43})$/.test(value.trim())
        ? { ok: false, problem: 'looks like a key, not a file path' }
        : /[\0\r\n]/.test(value)
          ? { ok: false, problem: 'contains a line break or NUL character' }
          : { ok: true, value },
  },
  proxy: { key: 'proxy', accepted: 'Use true or false.' },
  max_fetch: {
    key: 'maxFetch',
    accepted: `Use a whole number from 1 to ${MAX_FETCH_LIMIT}.`,
    refine: wholeNumber(1, MAX_FETCH_LIMIT),
  },
  first_fetch: {
    key: 'firstFetch',
    accepted: `Use ${TIME_EXPRESSION_FORMS}, at most 90 days back.`,
    refine: (value) => {
      const parsed = parseTimeExpression(value, Date.now());
      return parsed.ok ? { ok: true, value } : { ok: false, problem: `'${value}' ${parsed.problem}` };
    },
  },
  lookback_minutes: {
    key: 'lookbackMinutes',
    accepted: 'Use a whole number of minutes from 0 to 1440.',
    refine: wholeNumber(0, 1440),
  },
  internal_domains: {
    key: 'internalDomains',
    accepted: 'Use domain names separated by commas, for example contoso.com, contoso.onmicrosoft.com, *.contoso.com (a leading *. matches every subdomain).',
    refine: domainList,
  },
  discover_domains: { key: 'discoverDomains', accepted: 'Use true or false.' },
  details_statuses: {
    key: 'detailsStatuses',
    accepted: `Use statuses separated by commas, from: ${DETAIL_STATUSES.join(', ')} (for example failed, quarantined, filteredAsSpam), or leave it empty for no details.`,
    refine: statusList,
  },
  details_max_per_5min: {
    key: 'detailsMaxPer5Min',
    accepted: `Use a whole number from 1 to ${MAX_DETAILS_PER_5MIN}: detail lookups share the tenant's message trace quota with collection.`,
    refine: wholeNumber(1, MAX_DETAILS_PER_5MIN),
  },
  isFetchEvents: { key: 'isFetchEvents', accepted: 'Use true or false.' },
  eventFetchInterval: {
    key: 'eventFetchInterval',
    accepted: 'Use a whole number of minutes from 1 to 1440.',
    refine: wholeNumber(1, 1440),
  },
};

function coerceByType(spec: ManifestParameter, raw: unknown): Coerced<Raw> {
  switch (spec.type) {
    case ParamType.checkbox:
      return coerceBoolean(raw);
    case ParamType.credentials:
    case ParamType.encryptedLongText:
      return coerceSecret(raw);
    default:
      return coerceText(raw);
  }
}

function defaultOf(spec: ManifestParameter): Raw {
  if (spec.defaultvalue === undefined) return undefined;
  if (spec.type === ParamType.checkbox) return String(spec.defaultvalue).toLowerCase() === 'true';
  return String(spec.defaultvalue);
}

/**
 * Parses raw instance parameters. Throws one IntegrationError (`invalid_param`) listing every problem.
 * Parameters the engine adds on its own (not in integration.yml) are refused by name, so a typo in a
 * `--param` or config file is caught instead of silently ignored.
 */
export function parseParams(raw: Record<string, unknown>, manifest: Manifest = loadManifest()): IntegrationParams {
  const { params, problems } = readParams(raw, manifest);
  if (problems.length > 0) throw new IntegrationError('invalid_param', describeParamProblems(problems));
  return params;
}

export function describeParamProblems(problems: readonly InputProblem[]): string {
  return formatProblems('Invalid parameter', problems);
}

/**
 * Like parseParams, but returns the problems instead of throwing, for a caller that adds its own (the
 * sign-in settings, which main checks across parameters) to one report. A parameter with a problem is
 * left undefined in `params`, so `params` is trustworthy only when `problems` is empty.
 */
export function readParams(raw: Record<string, unknown>, manifest: Manifest = loadManifest()): { params: IntegrationParams; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const known = new Set(manifest.configuration.map((spec) => spec.name));
  for (const name of Object.keys(raw)) {
    if (!known.has(name) && raw[name] !== undefined) {
      problems.push({
        name,
        problem: 'is not a parameter of this integration',
        accepted: `Known parameters: ${[...known].join(', ')}.`,
      });
    }
  }

  const values: Record<string, string | number | boolean | undefined> = {};
  for (const spec of manifest.configuration) {
    const rule = PARAM_RULES[spec.name];
    if (rule === undefined) continue; // the agreement test fails on this; parse what is known
    const coerced = coerceByType(spec, raw[spec.name]);
    if (!coerced.ok) {
      problems.push({ name: spec.name, problem: coerced.problem, accepted: rule.accepted });
      continue;
    }
    let value: string | number | boolean | undefined = coerced.value ?? defaultOf(spec);
    if (value === undefined && spec.required) {
      problems.push({ name: spec.name, problem: 'is required', accepted: rule.accepted });
      continue;
    }
    if (typeof value === 'string' && rule.refine) {
      const refined = rule.refine(value);
      if (!refined.ok) {
        problems.push({
          name: spec.name,
          problem: rule.secret ? 'is not in the expected form' : refined.problem,
          accepted: rule.accepted,
        });
        continue;
      }
      value = refined.value;
    }
    values[rule.key] = value;
  }

  const params: IntegrationParams = {
    url: values.url as string,
    tenantId: values.tenantId as string | undefined,
    clientId: values.clientId as string | undefined,
    clientSecret: values.clientSecret as string | undefined,
    certificateThumbprint: values.certificateThumbprint as string | undefined,
    privateKey: values.privateKey as string | undefined,
    redirectUri: values.redirectUri as string | undefined,
    authCode: values.authCode as string | undefined,
    useManagedIdentities: (values.useManagedIdentities as boolean | undefined) ?? false,
    managedIdentitiesClientId: values.managedIdentitiesClientId as string | undefined,
    useWorkloadIdentity: (values.useWorkloadIdentity as boolean | undefined) ?? false,
    federatedTokenFile: values.federatedTokenFile as string | undefined,
    authorityUrl: values.authorityUrl as string,
    caCertificate: values.caCertificate as string | undefined,
    insecure: (values.insecure as boolean | undefined) ?? false,
    proxy: (values.proxy as boolean | undefined) ?? false,
    stateKeyFile: values.stateKeyFile as string | undefined,
    maxFetch: values.maxFetch as number,
    firstFetch: values.firstFetch as string,
    lookbackMinutes: values.lookbackMinutes as number,
    isFetchEvents: (values.isFetchEvents as boolean | undefined) ?? false,
    eventFetchInterval: values.eventFetchInterval as number,
    internalDomains: typeof values.internalDomains === 'string' && values.internalDomains !== '' ? values.internalDomains.split(',') : [],
    discoverDomains: (values.discoverDomains as boolean | undefined) ?? false,
    detailsStatuses: typeof values.detailsStatuses === 'string' && values.detailsStatuses !== '' ? values.detailsStatuses.split(',') : [],
    detailsMaxPer5Min: values.detailsMaxPer5Min as number,
  };
  return { params, problems };
}
