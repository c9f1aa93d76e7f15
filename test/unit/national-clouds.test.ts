/**
 * A `url` at a national-cloud Graph host is refused while the parameters are read, before any token or
 * Graph request, with why (message trace exists only in the global service) and what to use instead.
 */
import { readFileSync } from 'node:fs';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { isCommandError } from '../../src/engine/types.js';
import { IntegrationError } from '../../src/errors.js';
import { nationalCloudOf } from '../../src/input/national-clouds.js';
import { parseParams } from '../../src/input/params.js';
import { main } from '../../src/main.js';
import { secretParams } from '../helpers/auth-fixtures.js';

const requests: string[] = [];
const server = setupServer(
  http.all('*', ({ request }) => {
    requests.push(request.url);
    return HttpResponse.json({ error: 'no request was expected' }, { status: 500 });
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  requests.length = 0;
});
afterAll(() => server.close());

const CLOUDS = [
  ['https://graph.microsoft.us', 'US Government L4 (GCC High)', 'O365USGovGCCHigh'],
  ['https://dod-graph.microsoft.us', 'US Government L5 (DoD)', 'O365USGovDoD'],
  ['https://microsoftgraph.chinacloudapi.cn', 'China operated by 21Vianet', 'O365China'],
] as const;

describe('national-cloud Graph hosts', () => {
  it.each(CLOUDS)('%s is refused as a parameter problem naming the cloud and the PowerShell alternative', (url, cloud, environment) => {
    let error: unknown;
    try {
      parseParams({ ...secretParams, url });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(IntegrationError);
    const { code, message } = error as IntegrationError;
    expect(code).toBe('invalid_param');
    expect(message).toContain('Invalid parameter: url points at');
    expect(message).toContain(cloud);
    expect(message).toContain('only in Microsoft\'s global service');
    expect(message).toContain(`Connect-ExchangeOnline -ExchangeEnvironmentName ${environment}, then Get-MessageTraceV2`);
  });

  it.each(CLOUDS)('test-module with url %s answers the refusal and sends no request at all', async (url) => {
    for (const command of ['test-module', 'fetch-events', 'o365-message-trace-auth-test']) {
      const outcome = await main(command, { ...secretParams, url }, {}, new MemoryEngine());
      expect(isCommandError(outcome) && outcome.error.code).toBe('invalid_param');
    }
    expect(requests).toEqual([]);
  });

  it('matches the host however it is written, and leaves the global service and other hosts alone', () => {
    expect(nationalCloudOf('GRAPH.Microsoft.US')?.exchangeEnvironment).toBe('O365USGovGCCHigh');
    expect(nationalCloudOf('dod-graph.microsoft.us.')?.exchangeEnvironment).toBe('O365USGovDoD');
    expect(nationalCloudOf('graph.microsoft.com')).toBeUndefined();
    expect(nationalCloudOf('graph.microsoft.us.example.com')).toBeUndefined();
    expect(parseParams({ ...secretParams, url: 'https://graph.microsoft.com' }).url).toBe('https://graph.microsoft.com');
    expect(parseParams({ ...secretParams, url: 'https://127.0.0.1:8443' }).url).toBe('https://127.0.0.1:8443');
  });

  it('the README troubleshooting section quotes the answer as it is given', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const troubleshooting = readme.slice(readme.indexOf('## Troubleshooting'));
    let message = '';
    try {
      parseParams({ ...secretParams, url: 'https://graph.microsoft.us' });
    } catch (error) {
      message = (error as IntegrationError).message;
    }
    const firstSentences = message.slice(0, message.indexOf('(https://graph.microsoft.com);') + '(https://graph.microsoft.com);'.length);
    expect(firstSentences.length).toBeGreaterThan(100);
    expect(troubleshooting).toContain(`Error [invalid_param]: ${firstSentences}`);
    expect(troubleshooting).toContain('Connect-ExchangeOnline -ExchangeEnvironmentName O365USGovGCCHigh, then Get-MessageTraceV2');
  });
});
