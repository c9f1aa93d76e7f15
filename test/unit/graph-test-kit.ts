/** Shared pieces for the Graph client tests: params, a fake token provider, a shared-context engine, rows. */
import type { TokenProvider, TokenRequestOptions } from '../../src/auth/types.js';
import { MemoryEngine, type MemoryEngineOptions } from '../../src/engine/memory.js';
import type { JsonObject } from '../../src/engine/types.js';
import type { MessageTraceRow } from '../../src/graph/types.js';
import type { IntegrationParams } from '../../src/input/params.js';

export const GRAPH_ORIGIN = 'https://graph.example.test';
export const LIST_URL = `${GRAPH_ORIGIN}/v1.0/admin/exchange/tracing/messageTraces`;

export function testParams(overrides: Partial<IntegrationParams> = {}): IntegrationParams {
  return {
    url: GRAPH_ORIGIN,
    tenantId: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
    clientId: '11111111-2222-4333-8444-555555555555',
    clientSecret: undefined,
    certificateThumbprint: undefined,
    privateKey: undefined,
    redirectUri: undefined,
    authCode: undefined,
    useManagedIdentities: false,
    managedIdentitiesClientId: undefined,
    authorityUrl: 'https://login.example.test',
    caCertificate: undefined,
    insecure: false,
    proxy: false,
    maxFetch: 1000,
    firstFetch: '1 hour',
    lookbackMinutes: 15,
    isFetchEvents: false,
    eventFetchInterval: 1,
    ...overrides,
  };
}

/** Hands out `token-1`, `token-2`, … : a new one on every forced refresh. */
export class FakeTokens implements TokenProvider {
  readonly method = 'client_secret' as const;
  readonly calls: TokenRequestOptions[] = [];
  private generation = 1;

  async getAccessToken(options: TokenRequestOptions = {}): Promise<string> {
    this.calls.push({ forceRefresh: options.forceRefresh ?? false });
    if (options.forceRefresh) this.generation++;
    return `token-${this.generation}`;
  }
}

/** A memory engine whose integration context lives in a store shared with other instances. */
export class SharedContextEngine extends MemoryEngine {
  constructor(
    private readonly store: { context: JsonObject },
    options: MemoryEngineOptions = {},
  ) {
    super(options);
  }
  override async getIntegrationContext(): Promise<unknown> {
    return structuredClone(this.store.context);
  }
  override async setIntegrationContext(context: JsonObject): Promise<void> {
    this.store.context = structuredClone(context);
  }
}

let counter = 0;
export function row(receivedDateTime: string, overrides: Record<string, unknown> = {}): MessageTraceRow {
  counter++;
  return {
    id: `id-${String(counter).padStart(5, '0')}`,
    messageId: `<m${counter}@contoso.com>`,
    receivedDateTime,
    senderAddress: 'sender@contoso.com',
    recipientAddress: 'recipient@contoso.com',
    subject: `Subject ${counter}`,
    status: 'delivered',
    size: 1000 + counter,
    fromIP: '203.0.113.5',
    toIP: '',
    ...overrides,
  };
}

export function graphError(code: string, message: string, requestId = 'req-1'): Record<string, unknown> {
  return { error: { code, message, innerError: { 'request-id': requestId, date: '2026-01-01T00:00:00' } } };
}
