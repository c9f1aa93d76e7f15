/**
 * The simulated tenant: Entra ID + Graph message trace over HTTPS on loopback, deterministic from a seed,
 * for the demo, end-to-end tests and benchmarks. Imports nothing from the client side of the project.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateCertificates } from './certs.js';
import { applyConfigPatch, type SimulatorConfigPatch } from './config.js';
import type { Identity, OrderMode, RuntimeConfig, SimulatorContext } from './context.js';
import { TENANT_INITIAL_DOMAIN } from './content.js';
import { TraceData } from './data.js';
import { EntraState } from './entra.js';
import { type SimulatedFederation, startFederation } from './federation.js';
import { DEFAULT_RETRY_AFTER_MIX, FaultPicker, type FaultKind, type RetryAfterMix } from './faults.js';
import { guidFrom, Rng } from './rng.js';
import { startListeners } from './server.js';
import { type SimulatorStats, StatsCollector } from './stats.js';
import { RollingThrottle, type ThrottleLimit } from './throttle.js';
import { type GroundTruthRow, groundTruth, iterateGroundTruth } from './truth.js';

export type { FaultKind, FaultProbabilities } from './faults.js';
export { FAULT_KINDS, RETRY_AFTER_FORMS, type RetryAfterForm, type RetryAfterMix } from './faults.js';
export type { GroundTruthRow } from './truth.js';
export type { SimulatorStats, GrantKind, ServedVariations } from './stats.js';
export type { ThrottleLimit } from './throttle.js';
export type { OrderMode } from './context.js';
export type { SimulatorConfigPatch } from './config.js';
export type { FederatedCredential, FederatedTokenOptions, SimulatedFederation } from './federation.js';
export { EVOLVABLE_STATUSES, NULLABLE_PROPERTIES, TRACE_STATUSES, type TraceStatus } from './data.js';

export interface SimulatorOptions {
  /** HTTPS port of Graph (and the control API); 0 (default) picks a free one. */
  port?: number;
  /** HTTPS port of Entra ID, another origin than Graph's, as in Microsoft's cloud; 0 (default) picks one. */
  authorityPort?: number;
  /** Plain-HTTP port for IMDS; 0 (default) picks a free one. */
  imdsPort?: number;
  seed?: number;
  /** Seed of the fault rolls and per-response variations; default: the data seed (same faults as before). */
  faultSeed?: number;
  /** Messages per day (rows are ~1.5× that: one per recipient). Default 2000. */
  ratePerDay?: number;
  /**
   * Office hours busier than nights (0.5× to 1.5× the mean rate, busiest at 14:00 UTC). Default true. A test
   * on the wall clock that needs a given volume turns it off, or what it meets depends on the hour it runs.
   */
  dailyWave?: boolean;
  /** Days of history before start. Default 2. */
  historyDays?: number;
  /** Upper bound of the delay between receivedDateTime and first visibility. Default 120. */
  maxDelaySeconds?: number;
  /** Upper bound of the time from first visibility to the final status. Default 300. */
  statusDelaySeconds?: number;
  order?: OrderMode;
  throttle?: ThrottleLimit | 'off';
  faults?: Partial<Record<FaultKind, number>>;
  /** Share of delivered rows recalled later (delivered → recalled). Default 0.01. */
  recalledShare?: number;
  /** Chance per nullable property (CSDL) of a row to be null. Default 0.002. */
  nullShare?: number;
  /** Share of inbound messages with an IPv6 fromIP. Default 0.1. */
  ipv6Share?: number;
  /** Share of list responses spelling statuses in PascalCase (`Delivered`). Default 0.05. */
  pascalCaseShare?: number;
  /** Weights of the Retry-After forms on 429/503 (seconds, HTTP-date, none). Default: all three alike. */
  retryAfter?: Partial<RetryAfterMix>;
  tokenTtlSeconds?: number;
  /** Epoch ms; default Date.now. Tests and benchmarks pass a virtual clock. */
  clock?: () => number;
  /** Where CA cert, app cert and key are written. Default: a fresh temp directory. */
  dir?: string;
  grantedRoles?: string[];
  servicePrincipalProvisioned?: boolean;
  secretExpired?: boolean;
  maxRecipients?: number;
  /** Real ms a `timeout` fault holds the connection before closing. Default 30000. */
  timeoutHoldMs?: number;
  /** Real ms a `slow` fault takes to trickle the body. Default 3000. */
  slowBodyMs?: number;
}

/** Includes workload identity federation: an identity token file and the app's federated credential. */
export interface SimulatedTenant extends SimulatedFederation {
  /** Graph's origin, e.g. https://127.0.0.1:PORT; the client appends /v1.0/admin/... */
  graphUrl: string;
  /** Entra ID's origin (another port than Graph's); the client appends /{tenantId}. */
  authorityUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caCertPath: string;
  caCertPem: string;
  certificatePath: string;
  privateKeyPath: string;
  /** SHA-1 of the app certificate DER, hex uppercase. */
  certificateThumbprint: string;
  certificateThumbprintSha256: string;
  redirectUri: string;
  controlUrl: string;
  /** http://127.0.0.1:PORT — set AZURE_POD_IDENTITY_AUTHORITY_HOST to this for msal-node. */
  imdsUrl: string;
  managedIdentityClientId: string;
  /** Rows with receivedDateTime in [startMs, endMs] received by now, ascending (at most 2,000,000). */
  groundTruth(startMs: number, endMs: number): GroundTruthRow[];
  /** The same rows streamed bucket by bucket, without a size limit (for benchmarks). */
  iterateGroundTruth(startMs: number, endMs: number): Generator<GroundTruthRow>;
  stats(): SimulatorStats;
  configure(patch: SimulatorConfigPatch): void;
  /** Revokes every refresh token issued so far (AADSTS50173 on next use). */
  revokeRefreshTokens(): void;
  stop(): Promise<void>;
}

function share(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`${name} must be between 0 and 1, got ${value}`);
  return value;
}

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
  }
  return value;
}

function identityFor(seed: number): Identity {
  const rng = new Rng(seed, 0x5ec);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.';
  let tail = '';
  for (let i = 0; i < 34; i++) tail += alphabet[rng.int(0, alphabet.length - 1)];
  return {
    tenantId: guidFrom(seed, 1),
    clientId: guidFrom(seed, 2),
    // Entra secret values look like "abc8Q~…" (40 characters); the "~" is part of the format.
    clientSecret: `${tail.slice(0, 3)}8Q~${tail.slice(3)}`,
    redirectUri: 'https://localhost/o365-message-trace/callback',
    managedIdentityClientId: guidFrom(seed, 3),
    systemAssignedClientId: guidFrom(seed, 4),
    userObjectId: guidFrom(seed, 5),
    userPrincipalName: `admin@${TENANT_INITIAL_DOMAIN}`,
    userName: 'MOD Administrator',
  };
}

export async function startSimulatedTenant(options: SimulatorOptions = {}): Promise<SimulatedTenant> {
  const clock = options.clock ?? Date.now;
  const seed = Math.trunc(options.seed ?? 1);
  const faultSeed = Math.trunc(options.faultSeed ?? seed);
  const startMs = clock();
  const ratePerDay = positive('ratePerDay', options.ratePerDay ?? 2000, true);
  const historyDays = positive('historyDays', options.historyDays ?? 2, true);
  const maxDelaySeconds = positive('maxDelaySeconds', options.maxDelaySeconds ?? 120, true);
  const statusDelaySeconds = positive('statusDelaySeconds', options.statusDelaySeconds ?? 300);
  const maxRecipients = Math.max(1, Math.trunc(options.maxRecipients ?? 50));

  const config: RuntimeConfig = {
    throttle: { limit: 100, windowSeconds: 300 },
    faults: {},
    grantedRoles: ['ExchangeMessageTrace.Read.All'],
    servicePrincipalProvisioned: true,
    secretExpired: false,
    order: 'newest',
    tokenTtlSeconds: 3600,
    timeoutHoldMs: 30_000,
    slowBodyMs: 3_000,
    retryAfter: { ...DEFAULT_RETRY_AFTER_MIX },
    pascalCaseShare: 0.05,
  };
  const patch: SimulatorConfigPatch = {};
  if (options.throttle !== undefined) patch.throttle = options.throttle;
  if (options.faults !== undefined) patch.faults = options.faults;
  if (options.grantedRoles !== undefined) patch.grantedRoles = options.grantedRoles;
  if (options.servicePrincipalProvisioned !== undefined) patch.servicePrincipalProvisioned = options.servicePrincipalProvisioned;
  if (options.secretExpired !== undefined) patch.secretExpired = options.secretExpired;
  if (options.order !== undefined) patch.order = options.order;
  if (options.tokenTtlSeconds !== undefined) patch.tokenTtlSeconds = options.tokenTtlSeconds;
  if (options.timeoutHoldMs !== undefined) patch.timeoutHoldMs = options.timeoutHoldMs;
  if (options.slowBodyMs !== undefined) patch.slowBodyMs = options.slowBodyMs;
  if (options.retryAfter !== undefined) patch.retryAfter = { ...DEFAULT_RETRY_AFTER_MIX, ...options.retryAfter };
  if (options.pascalCaseShare !== undefined) patch.pascalCaseShare = options.pascalCaseShare;
  applyConfigPatch(config, patch);

  const certs = await generateCertificates(startMs);
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'o365-sim-')));
  await mkdir(dir, { recursive: true });
  const caCertPath = path.join(dir, 'simulator-ca.pem');
  const certificatePath = path.join(dir, 'app-certificate.pem');
  const privateKeyPath = path.join(dir, 'app-private-key.pem');
  await writeFile(caCertPath, certs.caCertPem);
  await writeFile(certificatePath, certs.appCertPem);
  await writeFile(privateKeyPath, certs.appKeyPem, { mode: 0o600 });
  await chmod(privateKeyPath, 0o600);

  const identity = identityFor(seed);
  const ctx: SimulatorContext = {
    clock,
    seed,
    identity,
    config,
    data: new TraceData({
      seed,
      ratePerDay,
      dailyWave: options.dailyWave ?? true,
      historyStartMs: startMs - historyDays * 86_400_000,
      maxDelayMs: maxDelaySeconds * 1000,
      statusDelayMs: statusDelaySeconds * 1000,
      maxRecipients,
      recalledShare: share('recalledShare', options.recalledShare ?? 0.01),
      nullShare: share('nullShare', options.nullShare ?? 0.002),
      ipv6Share: share('ipv6Share', options.ipv6Share ?? 0.1),
    }),
    certs,
    stats: new StatsCollector(),
    throttle: new RollingThrottle(),
    faults: new FaultPicker(faultSeed),
    skiptokenKey: createHash('sha256').update(`skiptoken:${seed}:${startMs}`).digest(),
    authorityOrigin: '',
    graphOrigin: '',
    held: new Set(),
    entra: new EntraState(),
  };
  const revokeRefreshTokens = (): void => {
    ctx.entra.revokedBeforeMs = ctx.clock();
  };
  const listeners = await startListeners(
    ctx,
    { cert: certs.serverCertPem, key: certs.serverKeyPem },
    { authority: options.authorityPort ?? 0, graph: options.port ?? 0, http: options.imdsPort ?? 0 },
    revokeRefreshTokens,
  );
  ctx.authorityOrigin = `https://127.0.0.1:${listeners.authorityPort}`;
  ctx.graphOrigin = `https://127.0.0.1:${listeners.graphPort}`;
  // The external identity provider's issuer is a name only (nothing is served there); it sits beside Entra.
  const federation = await startFederation({ origin: ctx.authorityOrigin, tokenPath: path.join(dir, 'azure-identity-token'), clock });
  ctx.entra.federation = federation.setup;
  let stopped: Promise<void> | null = null;

  return {
    graphUrl: ctx.graphOrigin,
    authorityUrl: ctx.authorityOrigin,
    tenantId: identity.tenantId,
    clientId: identity.clientId,
    clientSecret: identity.clientSecret,
    caCertPath,
    caCertPem: certs.caCertPem,
    certificatePath,
    privateKeyPath,
    certificateThumbprint: certs.appThumbprintSha1,
    certificateThumbprintSha256: certs.appThumbprintSha256,
    redirectUri: identity.redirectUri,
    controlUrl: `${ctx.graphOrigin}/_simulator`,
    imdsUrl: `http://127.0.0.1:${listeners.httpPort}`,
    managedIdentityClientId: identity.managedIdentityClientId,
    groundTruth: (start, end) => groundTruth(ctx, start, end),
    iterateGroundTruth: (start, end) => iterateGroundTruth(ctx, start, end),
    stats: () => ctx.stats.snapshot(),
    configure: (p) => applyConfigPatch(ctx.config, p),
    revokeRefreshTokens,
    ...federation.api,
    stop() {
      // A directory the simulator made for itself goes with it; one the caller named stays the caller's.
      stopped ??= listeners.close().then(() => (ownsDir ? rm(dir, { recursive: true, force: true }) : undefined));
      return stopped;
    },
  };
}
