/** The state every route handler shares: identity, runtime configuration, data, clock and counters. */
import type { ServerResponse } from 'node:http';
import type { CertificateSet } from './certs.js';
import type { TraceData } from './data.js';
import type { EntraState } from './entra.js';
import type { FaultPicker, FaultProbabilities, RetryAfterMix } from './faults.js';
import type { HostileSettings } from './hostile.js';
import type { StatsCollector } from './stats.js';
import type { RollingThrottle, ThrottleLimit } from './throttle.js';

export type OrderMode = 'newest' | 'oldest' | 'random';
export type ListenerName = 'authority' | 'graph' | 'imds';

/** Behaviour that `configure()` and `POST /_simulator/config` may change at runtime. */
export interface RuntimeConfig {
  throttle: ThrottleLimit | 'off';
  faults: FaultProbabilities;
  grantedRoles: string[];
  servicePrincipalProvisioned: boolean;
  secretExpired: boolean;
  order: OrderMode;
  tokenTtlSeconds: number;
  /** How long a `timeout` fault holds a connection before closing it (real milliseconds). */
  timeoutHoldMs: number;
  /** How long a `slow` fault takes to trickle a body out (real milliseconds). */
  slowBodyMs: number;
  /** Relative weights of the Retry-After forms on 429 and 503, chosen per response. */
  retryAfter: RetryAfterMix;
  /** Share of list responses that spell status values in PascalCase (`Delivered`), as beta examples do. */
  pascalCaseShare: number;
  /** Hostile or broken answers (hostile.ts); absent means none. */
  hostile?: HostileSettings;
}

export interface Identity {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  managedIdentityClientId: string;
  /** Client id Entra reports for the VM's system-assigned identity. */
  systemAssignedClientId: string;
  userObjectId: string;
  userPrincipalName: string;
  userName: string;
}

export interface SimulatorContext {
  clock: () => number;
  seed: number;
  identity: Identity;
  config: RuntimeConfig;
  data: TraceData;
  certs: CertificateSet;
  stats: StatsCollector;
  throttle: RollingThrottle;
  faults: FaultPicker;
  /** Key that authenticates skiptokens so a tampered one is a 400, not a wrong page. */
  skiptokenKey: Buffer;
  /** Entra ID's origin, `https://127.0.0.1:PORT`, known once its listener listens. */
  authorityOrigin: string;
  /** Graph's origin (another port), known once its listener listens. */
  graphOrigin: string;
  entra: EntraState;
  /** Responses held open by `timeout` faults, closed on stop. */
  held: Set<ServerResponse>;
}
