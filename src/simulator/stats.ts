/** Counters the control API and `stats()` expose; benchmarks and tests read them to see what happened. */
import type { ListenerName } from './context.js';
import type { RetryAfterForm } from './faults.js';

export type GrantKind = 'client_credentials' | 'authorization_code' | 'refresh_token' | 'managed_identity';

/** What list responses carried that a client has to cope with (counted per row served, or per response). */
export interface ServedVariations {
  /** Rows served with status `recalled` (the request asked for evolvable enum members). */
  recalled: number;
  /** Rows whose status was `recalled` but were served as `unknownFutureValue` (no Prefer header). */
  unknownFutureValue: number;
  /** List responses that spelled statuses in PascalCase. */
  pascalCaseResponses: number;
  /** Nullable properties served as null. */
  nullFields: number;
  /** Rows served with an IPv6 fromIP. */
  ipv6FromIP: number;
  /** List requests without `Prefer: include-unknown-enum-members`. */
  requestsWithoutPrefer: number;
}

export interface SimulatorStats {
  requests: {
    byRoute: Record<string, number>;
    byStatus: Record<string, number>;
    /** Routes by the listener that received them: a token request on `graph` is a client bug. */
    byListener: Record<ListenerName, Record<string, number>>;
  };
  /** Requests that reached a Graph route (list or details), whatever their outcome. */
  graphRequests: number;
  /** Trace rows returned in list responses. */
  rowsServed: number;
  /** 429s from the rolling quota (injected 429 faults are counted under faultsInjected). */
  throttled: number;
  faultsInjected: number;
  faultsByKind: Record<string, number>;
  /** Retry-After forms on the 429 and 503 responses sent. */
  retryAfterForms: Record<RetryAfterForm, number>;
  served: ServedVariations;
  tokensIssued: Record<GrantKind, number>;
  /** Entra ID error answers by code (`AADSTS50059`, …). */
  entraErrors: Record<string, number>;
  codesRedeemed: number;
}

export class StatsCollector {
  private byRoute: Record<string, number> = {};
  private byStatus: Record<string, number> = {};
  private byListener: Record<ListenerName, Record<string, number>> = { authority: {}, graph: {}, imds: {} };
  graphRequests = 0;
  rowsServed = 0;
  throttled = 0;
  faultsInjected = 0;
  private faultsByKind: Record<string, number> = {};
  private retryAfterForms: Record<RetryAfterForm, number> = { seconds: 0, httpDate: 0, none: 0 };
  readonly served: ServedVariations = {
    recalled: 0,
    unknownFutureValue: 0,
    pascalCaseResponses: 0,
    nullFields: 0,
    ipv6FromIP: 0,
    requestsWithoutPrefer: 0,
  };
  private tokensIssued: Record<GrantKind, number> = {
    client_credentials: 0,
    authorization_code: 0,
    refresh_token: 0,
    managed_identity: 0,
  };
  private entraErrors: Record<string, number> = {};
  codesRedeemed = 0;

  request(listener: ListenerName, route: string, status: string): void {
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    const routes = this.byListener[listener];
    routes[route] = (routes[route] ?? 0) + 1;
  }

  fault(kind: string): void {
    this.faultsInjected++;
    this.faultsByKind[kind] = (this.faultsByKind[kind] ?? 0) + 1;
  }

  retryAfter(form: RetryAfterForm): void {
    this.retryAfterForms[form]++;
  }

  token(grant: GrantKind): void {
    this.tokensIssued[grant]++;
  }

  entraError(code: number): void {
    const key = `AADSTS${code}`;
    this.entraErrors[key] = (this.entraErrors[key] ?? 0) + 1;
  }

  snapshot(): SimulatorStats {
    return {
      requests: {
        byRoute: { ...this.byRoute },
        byStatus: { ...this.byStatus },
        byListener: {
          authority: { ...this.byListener.authority },
          graph: { ...this.byListener.graph },
          imds: { ...this.byListener.imds },
        },
      },
      graphRequests: this.graphRequests,
      rowsServed: this.rowsServed,
      throttled: this.throttled,
      faultsInjected: this.faultsInjected,
      faultsByKind: { ...this.faultsByKind },
      retryAfterForms: { ...this.retryAfterForms },
      served: { ...this.served },
      tokensIssued: { ...this.tokensIssued },
      entraErrors: { ...this.entraErrors },
      codesRedeemed: this.codesRedeemed,
    };
  }
}
