import { describe, expect, it } from 'vitest';
import { IntegrationError } from '../../src/errors.js';
import { parseArgs } from '../../src/input/args.js';
import { parseParams } from '../../src/input/params.js';

const base = {
  tenant_id: '8f7e6d5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
  client_id: '11111111-2222-4333-8444-555555555555',
  client_secret: { identifier: '', password: 'top-secret-value' },
};

function problemOf(run: () => unknown): IntegrationError {
  try {
    run();
  } catch (error) {
    if (error instanceof IntegrationError) return error;
    throw error;
  }
  throw new Error('expected an IntegrationError');
}

describe('parseParams', () => {
  it('applies the YAML defaults', () => {
    const params = parseParams(base);
    expect(params).toMatchObject({
      url: 'https://graph.microsoft.com',
      authorityUrl: 'https://login.microsoftonline.com',
      maxFetch: 10000,
      firstFetch: '1 minute',
      lookbackMinutes: 15,
      eventFetchInterval: 1,
      insecure: false,
      proxy: false,
      useManagedIdentities: false,
      clientSecret: 'top-secret-value',
    });
  });

  it.each([
    ['booleans as strings', { insecure: 'true', proxy: 'FALSE' }, { insecure: true, proxy: false }],
    ['booleans as booleans', { insecure: true, use_managed_identities: false }, { insecure: true, useManagedIdentities: false }],
    ['numbers as strings', { max_fetch: '250', lookback_minutes: '0' }, { maxFetch: 250, lookbackMinutes: 0 }],
    ['numbers as numbers', { max_fetch: 5000 }, { maxFetch: 5000 }],
    ['type-9 as plain string', { client_secret: 'plain' }, { clientSecret: 'plain' }],
    ['url with trailing slash', { url: 'https://graph.microsoft.com/' }, { url: 'https://graph.microsoft.com' }],
    ['thumbprint with colons', { certificate_thumbprint: 'ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01' }, { certificateThumbprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' }],
    ['tenant as domain', { tenant_id: 'contoso.onmicrosoft.com' }, { tenantId: 'contoso.onmicrosoft.com' }],
    ['empty strings as unset', { redirect_uri: '', auth_code: { identifier: '', password: '' } }, { redirectUri: undefined, authCode: undefined }],
  ])('accepts %s', (_label, extra, expected) => {
    expect(parseParams({ ...base, ...extra })).toMatchObject(expected);
  });

  it.each([
    ['max_fetch', 'abc'],
    ['max_fetch', '0'],
    ['max_fetch', '-5'],
    ['max_fetch', '1000000000'],
    ['max_fetch', '1.5'],
    ['lookback_minutes', '1441'],
    ['url', 'http://graph.microsoft.com'],
    ['url', 'https://graph.microsoft.com/v1.0'],
    ['authority_url', 'not a url'],
    ['tenant_id', 'not-a-guid'],
    ['client_id', 'abc'],
    ['certificate_thumbprint', 'XYZ'],
    ['insecure', 'maybe'],
    ['first_fetch', 'yesterday-ish'],
    ['eventFetchInterval', '0'],
  ])('rejects %s=%s with a message naming it and the accepted form', (name, value) => {
    const error = problemOf(() => parseParams({ ...base, [name]: value }));
    expect(error.code).toBe('invalid_param');
    expect(error.message).toContain(name);
    expect(error.message).toMatch(/Use /);
  });

  it('reports every problem at once', () => {
    const error = problemOf(() => parseParams({ ...base, max_fetch: 'abc', url: 'http://x', insecure: 'perhaps' }));
    expect(error.message).toContain('max_fetch');
    expect(error.message).toContain('url');
    expect(error.message).toContain('insecure');
  });

  it('refuses unknown parameters by name', () => {
    const error = problemOf(() => parseParams({ ...base, max_fetchh: '5' }));
    expect(error.message).toContain('max_fetchh');
    expect(error.message).toContain('Known parameters');
  });

  it('never quotes a secret back', () => {
    const error = problemOf(() => parseParams({ ...base, client_secret: 42 as unknown as string, private_key: { password: 7 } }));
    expect(error.message).toContain('private_key');
    expect(error.message).not.toContain('top-secret-value');
  });
});

describe('parseArgs', () => {
  const command = 'o365-message-trace-get-events';

  it('applies defaults from the YAML', () => {
    expect(parseArgs(command, {})).toMatchObject({ limit: 50, should_push_events: false });
  });

  it('accepts good values', () => {
    expect(
      parseArgs(command, { limit: '5000', start_time: '10 minutes ago', end_time: 'now', should_push_events: 'true', status: 'Delivered' }),
    ).toMatchObject({ limit: 5000, start_time: '10 minutes ago', end_time: 'now', should_push_events: true, status: 'delivered' });
  });

  it.each([
    ['limit', '5001'],
    ['limit', '-1'],
    ['limit', 'ten'],
    ['should_push_events', 'maybe'],
    ['status', 'lost'],
    ['start_time', 'the day before'],
    ['sender_address', 'not an address'],
  ])('rejects %s=%s naming it', (name, value) => {
    const error = problemOf(() => parseArgs(command, { [name]: value }));
    expect(error.code).toBe('invalid_argument');
    expect(error.message).toContain(name);
  });

  it('refuses unknown arguments, listing the known ones', () => {
    const error = problemOf(() => parseArgs(command, { limt: '5' }));
    expect(error.message).toContain('limt');
    expect(error.message).toContain('start_time');
  });

  it('refuses arguments for commands that take none', () => {
    const error = problemOf(() => parseArgs('o365-message-trace-auth-test', { x: '1' }));
    expect(error.message).toContain('takes no arguments');
  });
});
