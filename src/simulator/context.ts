/** The state every route handler shares: identity, runtime configuration, data, clock and counters. */
import type { ServerResponse } from 'node:http';
import type { CertificateSet } from './certs.js';
import type { TraceData } from './data.js';
import type { EntraState } from './entra.js';
import type { FaultPicker, FaultProbabilities } from './faults.js';
import type { HostileSettings } from './hostile.js';
import type { StatsCollector } from './stats.js';
import type { RollingThrottle, ThrottleLimit } from './throttle.js';

export type OrderMode = 'newest' | 'oldest' | 'random';

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
  /** `https://127.0.0.1:PORT`, known once the server listens. */
  origin: string;
  entra: EntraState;
  /** Responses held open by `timeout` faults, closed on stop. */
  held: Set<ServerResponse>;
}
