/**
 * Test-side helpers for talking to the simulated tenant with plain fetch over verified TLS. Deliberately
 * written from the documented API, not from the simulator's code.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { type SimulatedTenant, type SimulatorOptions, startSimulatedTenant } from '../../../src/simulator/index.js';

export const START = Date.UTC(2026, 10, 20, 12, 0, 0);

export interface VirtualClock {
  now(): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function virtualClock(start = START): VirtualClock {
  let t = start;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export interface Harness {
  sim: SimulatedTenant;
  clock: VirtualClock;
  dispatcher: Agent;
  fetch(url: string, init?: Parameters<typeof undiciFetch>[1]): ReturnType<typeof undiciFetch>;
  /** A client-credentials token, cached (valid while the virtual clock stays within its lifetime). */
  token(): Promise<string>;
  /** A new client-credentials token issued at the current virtual time. */
  newToken(): Promise<string>;
  get(url: string, token?: string, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: unknown }>;
  listUrl(query?: Record<string, string>): string;
  close(): Promise<void>;
}

export async function startHarness(options: SimulatorOptions = {}, start = START): Promise<Harness> {
  const clock = virtualClock(start);
  const sim = await startSimulatedTenant({ clock: clock.now, throttle: 'off', ...options });
  const dispatcher = new Agent({ connect: { ca: sim.caCertPem } });
  const fetchFn: Harness['fetch'] = (url, init) => undiciFetch(url, { ...init, dispatcher });
  let cached: string | null = null;
  const harness: Harness = {
    sim,
    clock,
    dispatcher,
    fetch: fetchFn,
    async token() {
      cached ??= await harness.newToken();
      return cached;
    },
    async newToken() {
      const res = await fetchFn(`${sim.authorityUrl}/${sim.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: sim.clientId,
          client_secret: sim.clientSecret,
          scope: 'https://graph.microsoft.com/.default',
        }),
      });
      const body = (await res.json()) as { access_token: string };
      return body.access_token;
    },
    async get(url, token, headers = {}) {
      const t = token ?? (await harness.token());
      const res = await fetchFn(url, { headers: { authorization: `Bearer ${t}`, ...headers } });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // leave as text
      }
      return { status: res.status, headers: res.headers as unknown as Headers, body };
    },
    listUrl(query = {}) {
      const qs = Object.entries(query)
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
        .join('&');
      return `${sim.graphUrl}/v1.0/admin/exchange/tracing/messageTraces${qs ? `?${qs}` : ''}`;
    },
    async close() {
      await sim.stop();
      await dispatcher.close();
    },
  };
  return harness;
}

export interface TraceResource {
  id: string;
  messageId: string;
  receivedDateTime: string;
  senderAddress: string;
  recipientAddress: string;
  subject: string;
  status: string;
  size: number;
  fromIP: string;
  toIP: string;
}

interface ListPage {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  value: TraceResource[];
}

/** Follows nextLinks to the end; returns all rows and the number of pages. */
export async function listAll(h: Harness, firstUrl: string, token?: string): Promise<{ rows: TraceResource[]; pages: number }> {
  const rows: TraceResource[] = [];
  let pages = 0;
  let url: string | undefined = firstUrl;
  while (url) {
    const res = await h.get(url, token);
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    const page = res.body as ListPage;
    rows.push(...page.value);
    pages++;
    url = page['@odata.nextLink'];
    if (pages > 10_000) throw new Error('runaway paging');
  }
  return { rows, pages };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function rowKey(row: { id: string; recipientAddress: string | null }): string {
  return `${row.id}|${(row.recipientAddress ?? '').toLowerCase()}`;
}

/** Escapes a string for an OData single-quoted literal. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
