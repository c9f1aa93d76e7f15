/** Counters the control API and `stats()` expose; benchmarks and tests read them to see what happened. */

export type GrantKind = 'client_credentials' | 'authorization_code' | 'refresh_token' | 'managed_identity';

export interface SimulatorStats {
  requests: { byRoute: Record<string, number>; byStatus: Record<string, number> };
  /** Requests that reached a Graph route (list or details), whatever their outcome. */
  graphRequests: number;
  /** Trace rows returned in list responses. */
  rowsServed: number;
  /** 429s from the rolling quota (injected 429 faults are counted under faultsInjected). */
  throttled: number;
  faultsInjected: number;
  faultsByKind: Record<string, number>;
  tokensIssued: Record<GrantKind, number>;
  codesRedeemed: number;
}

export class StatsCollector {
  private byRoute: Record<string, number> = {};
  private byStatus: Record<string, number> = {};
  graphRequests = 0;
  rowsServed = 0;
  throttled = 0;
  faultsInjected = 0;
  private faultsByKind: Record<string, number> = {};
  private tokensIssued: Record<GrantKind, number> = {
    client_credentials: 0,
    authorization_code: 0,
    refresh_token: 0,
    managed_identity: 0,
  };
  codesRedeemed = 0;

  request(route: string, status: string): void {
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
  }

  fault(kind: string): void {
    this.faultsInjected++;
    this.faultsByKind[kind] = (this.faultsByKind[kind] ?? 0) + 1;
  }

  token(grant: GrantKind): void {
    this.tokensIssued[grant]++;
  }

  snapshot(): SimulatorStats {
    return {
      requests: { byRoute: { ...this.byRoute }, byStatus: { ...this.byStatus } },
      graphRequests: this.graphRequests,
      rowsServed: this.rowsServed,
      throttled: this.throttled,
      faultsInjected: this.faultsInjected,
      faultsByKind: { ...this.faultsByKind },
      tokensIssued: { ...this.tokensIssued },
      codesRedeemed: this.codesRedeemed,
    };
  }
}
