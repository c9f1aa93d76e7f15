import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runGetDetails } from '../../src/commands/get-details.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { IntegrationError } from '../../src/errors.js';
import { createGraphClient } from '../../src/graph/client.js';
import { createHttpFetch } from '../../src/http/transport.js';
import { parseArgs } from '../../src/input/args.js';
import { FakeTokens, GRAPH_ORIGIN, graphError, testParams } from './graph-test-kit.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const COMMAND = 'o365-message-trace-get-details';
const NOW = Date.parse('2026-03-01T12:00:00Z');
const TRACE_ID = '4c2f1e0a-9b8d-4e7f-a6b5-1c2d3e4f5a6b';

function run(args: Record<string, string>) {
  const engine = new MemoryEngine({ startTimeMs: NOW });
  const graph = createGraphClient({
    params: testParams(),
    engine,
    http: createHttpFetch({ proxy: false, insecure: false }),
    tokens: new FakeTokens(),
  });
  return runGetDetails({ params: testParams(), args: parseArgs(COMMAND, args), engine }, graph);
}

describe('o365-message-trace-get-details', () => {
  it("asks getDetailsByRecipient for the trace and recipient and shows the steps in time order", async () => {
    const seen: string[] = [];
    server.use(
      http.get(`${GRAPH_ORIGIN}/v1.0/admin/exchange/tracing/messageTraces/*`, ({ request }) => {
        seen.push(decodeURIComponent(new URL(request.url).pathname));
        return HttpResponse.json({
          value: [
            { id: TRACE_ID, dateTime: '2026-03-01T10:00:05Z', event: 'Deliver', action: '', description: 'The message was delivered to the mailbox.', data: '<root/>' },
            { id: TRACE_ID, dateTime: '2026-03-01T10:00:01Z', event: 'Receive', action: null, description: 'Received by | the | edge', data: '<root/>' },
          ],
        });
      }),
    );
    const result = await run({ id: TRACE_ID, recipient_address: "o'neil@contoso.com" });
    expect(seen).toEqual([
      `/v1.0/admin/exchange/tracing/messageTraces/${TRACE_ID}/getDetailsByRecipient(recipientAddress='o''neil@contoso.com')`,
    ]);
    expect(result.outputsPrefix).toBe('O365MessageTrace.Detail');
    const outputs = result.outputs as { event: string; recipientAddress: string }[];
    expect(outputs.map((o) => o.event)).toEqual(['Receive', 'Deliver']);
    expect(outputs.every((o) => o.recipientAddress === "o'neil@contoso.com")).toBe(true);
    expect(result.readableOutput).toContain('|Date Time|Event|Action|Description|');
    expect(result.readableOutput).toContain('Received by \\| the \\| edge');
    expect(result.readableOutput.indexOf('Receive')).toBeLessThan(result.readableOutput.indexOf('Deliver'));
  });

  it('turns a 404 into a message saying which trace was not found and where ids come from', async () => {
    server.use(
      http.get(`${GRAPH_ORIGIN}/v1.0/admin/exchange/tracing/messageTraces/*`, () =>
        HttpResponse.json(graphError('ResourceNotFound', 'Not found'), { status: 404 }),
      ),
    );
    const error = await run({ id: TRACE_ID, recipient_address: 'bob@contoso.com' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrationError);
    expect((error as IntegrationError).message).toContain(TRACE_ID);
    expect((error as IntegrationError).message).toContain('O365MessageTrace.Event.id');
    expect((error as IntegrationError).requestId).toBe('req-1');
  });

  it('requires both arguments', () => {
    expect(() => parseArgs(COMMAND, { id: TRACE_ID })).toThrow(/recipient_address is required/);
    expect(() => parseArgs(COMMAND, { recipient_address: 'bob@contoso.com' })).toThrow(/id is required/);
  });
});
