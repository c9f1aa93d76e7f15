/**
 * direction from the sender's and recipient's domains: the pure rule, the internal_domains parameter, and
 * the tenant's domains read from Graph at most daily with one warning when Domain.Read.All is missing.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { IntegrationError } from '../../src/errors.js';
import { directionOf, tenantDomains } from '../../src/graph/direction.js';
import { DOMAINS_PATH, resolveTenantDomains } from '../../src/graph/tenant-domains.js';
import { parseParams } from '../../src/input/params.js';
import { secretParams } from '../helpers/auth-fixtures.js';

const domains = tenantDomains(['contoso.com', '*.contoso.com', 'Contoso.onmicrosoft.com.']);

describe('directionOf', () => {
  it.each([
    ['alice@contoso.com', 'bob@contoso.com', 'internal'],
    ['alice@contoso.com', 'jane@fabrikam.com', 'outbound'],
    ['jane@fabrikam.com', 'alice@contoso.com', 'inbound'],
    ['jane@fabrikam.com', 'alice@EU.Contoso.COM', 'inbound'],
    ['admin@contoso.onmicrosoft.com', 'alice@eu.contoso.com', 'internal'],
    ['jane@fabrikam.com', 'joe@tailspintoys.com', 'unknown'],
    ['<>', 'alice@contoso.com', 'unknown'],
    [null, 'alice@contoso.com', 'unknown'],
    ['alice@contoso.com', '', 'unknown'],
    ['alice@notcontoso.com', 'bob@contoso.com', 'inbound'],
    ['alice@contoso.com.evil.example', 'bob@contoso.com', 'inbound'],
  ])('%s → %s is %s', (sender, recipient, expected) => {
    expect(directionOf(sender, recipient, domains)).toBe(expected);
  });

  it('*.domain matches subdomains only, and no domains make every direction unknown', () => {
    const onlySubdomains = tenantDomains(['*.contoso.com']);
    expect(directionOf('a@contoso.com', 'b@eu.contoso.com', onlySubdomains)).toBe('inbound');
    expect(directionOf('a@contoso.com', 'b@contoso.com', tenantDomains([]))).toBe('unknown');
  });

  it('answers for each tenant on its own, and the same way for an address however often it comes', () => {
    const fabrikam = tenantDomains(['fabrikam.com']);
    // More addresses than the answers it keeps, in two rounds: the second round is answered the same.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) {
        expect(directionOf(`u${i}@contoso.com`, `v${i}@fabrikam.com`, domains)).toBe('outbound');
        expect(directionOf(`u${i}@contoso.com`, `v${i}@fabrikam.com`, fabrikam)).toBe('inbound');
      }
    }
  });
});

describe('internal_domains', () => {
  it('reads a comma- or line-separated list, lower-cased, without duplicates', () => {
    const params = parseParams({ ...secretParams, internal_domains: 'Contoso.com, *.contoso.com\ncontoso.onmicrosoft.com., contoso.com' });
    expect(params.internalDomains).toEqual(['contoso.com', '*.contoso.com', 'contoso.onmicrosoft.com']);
    expect(params.discoverDomains).toBe(false);
    expect(parseParams(secretParams).internalDomains).toEqual([]);
  });

  it('names the entries that are not domains', () => {
    expect(() => parseParams({ ...secretParams, internal_domains: 'contoso.com, @fabrikam, *.' })).toThrow(
      "Invalid parameter: internal_domains has '@fabrikam', '*.', not a domain name. Use domain names separated by commas",
    );
  });
});

class FakeDomainsReader {
  calls = 0;
  constructor(public answer: () => unknown) {}
  async getJson(path: string): Promise<unknown> {
    expect(path).toBe(DOMAINS_PATH);
    this.calls++;
    return this.answer();
  }
}

const GRAPH_DOMAINS = {
  value: [
    { id: 'Contoso.com', isVerified: true },
    { id: 'contoso.onmicrosoft.com', isVerified: true },
    { id: 'fabrikam.com', isVerified: false },
  ],
};
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('the tenant domains read from Graph', () => {
  it('are not read unless asked for', async () => {
    const graph = new FakeDomainsReader(() => GRAPH_DOMAINS);
    const resolved = await resolveTenantDomains({ configured: ['contoso.com'], discover: false, engine: new MemoryEngine(), graph });
    expect(graph.calls).toBe(0);
    expect([...resolved.exact]).toEqual(['contoso.com']);
  });

  it('are read once a day, verified ones only, kept in the integration context and added to the parameter', async () => {
    const engine = new MemoryEngine({ startTimeMs: Date.UTC(2026, 10, 30) });
    const graph = new FakeDomainsReader(() => GRAPH_DOMAINS);
    const options = { configured: ['*.contoso.net'], discover: true, engine, graph };
    const first = await resolveTenantDomains(options);
    expect([...first.exact].sort()).toEqual(['contoso.com', 'contoso.onmicrosoft.com']);
    expect(first.subdomainsOf).toEqual(['.contoso.net']);
    expect(directionOf('jane@fabrikam.com', 'alice@contoso.com', first)).toBe('inbound');
    expect(engine.integrationContext.tenantDomains).toMatchObject({ domains: ['contoso.com', 'contoso.onmicrosoft.com'] });

    engine.advance(DAY - 1);
    await resolveTenantDomains(options);
    expect(graph.calls).toBe(1);
    engine.advance(1);
    graph.answer = () => ({ value: [{ id: 'contoso.com', isVerified: true }] });
    const later = await resolveTenantDomains(options);
    expect(graph.calls).toBe(2);
    expect([...later.exact]).toEqual(['contoso.com']);
  });

  it('without Domain.Read.All: one warning naming it, then the parameter alone, and no new try for a day', async () => {
    const engine = new MemoryEngine({ startTimeMs: Date.UTC(2026, 10, 30) });
    const graph = new FakeDomainsReader(() => {
      throw new IntegrationError('graph_forbidden', 'Graph denied access (403).', { status: 403, requestId: 'r-1' });
    });
    const options = { configured: ['contoso.com'], discover: true, engine, graph };
    for (let run = 0; run < 5; run++) {
      const resolved = await resolveTenantDomains(options);
      expect([...resolved.exact]).toEqual(['contoso.com']);
      engine.advance(HOUR);
    }
    const warnings = engine.logs.filter((record) => record.level === 'warn');
    expect(graph.calls).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('Domain.Read.All');
    expect(warnings[0]?.message).toContain('Internal domains parameter alone');
  });

  it('a passing failure keeps the last list, warns, and tries again in an hour', async () => {
    const engine = new MemoryEngine({ startTimeMs: Date.UTC(2026, 10, 30) });
    let fail = false;
    const graph = new FakeDomainsReader(() => {
      if (fail) throw new IntegrationError('graph_unavailable', 'Microsoft Graph is unavailable (503), also after retrying.', { status: 503 });
      return GRAPH_DOMAINS;
    });
    const options = { configured: [], discover: true, engine, graph };
    await resolveTenantDomains(options);
    engine.advance(DAY);
    fail = true;
    const kept = await resolveTenantDomains(options);
    expect([...kept.exact].sort()).toEqual(['contoso.com', 'contoso.onmicrosoft.com']);
    expect(engine.logs.filter((record) => record.level === 'warn').map((record) => record.message).join()).toContain('(503)');
    engine.advance(HOUR - 1);
    await resolveTenantDomains(options);
    expect(graph.calls).toBe(2);
    engine.advance(1);
    fail = false;
    await resolveTenantDomains(options);
    expect(graph.calls).toBe(3);
  });
});
