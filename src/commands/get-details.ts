/**
 * `o365-message-trace-get-details`: the processing steps of one message for one recipient
 * (`getDetailsByRecipient`). Each call spends the same tenant request budget as listing: Microsoft counts both against one quota.
 */
import type { CommandResult } from '../engine/types.js';
import { IntegrationError, isIntegrationError } from '../errors.js';
import type { GraphClient, MessageTraceDetail } from '../graph/types.js';
import { buildClients } from './clients.js';
import { markdownTable } from './markdown.js';
import { checkSignIn } from './sign-in.js';
import type { Command, CommandContext, CommandHandler } from './types.js';

export const DETAIL_TABLE_TITLE = 'O365 Message Trace Details';
const TIME_BUDGET_MS = 60_000;

function requiredText(value: unknown, name: string): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new IntegrationError('invalid_argument', `Invalid argument for o365-message-trace-get-details: ${name} is required.`);
}

export const getDetails: CommandHandler = async (context) => {
  const { graph } = buildClients(context, { deadlineMs: context.engine.now() + TIME_BUDGET_MS });
  return runGetDetails(context, graph);
};

export async function runGetDetails(context: CommandContext, graph: GraphClient): Promise<CommandResult> {
  const id = requiredText(context.args.id, 'id');
  const recipientAddress = requiredText(context.args.recipient_address, 'recipient_address');

  let details: MessageTraceDetail[];
  try {
    details = await graph.getDetailsByRecipient(id, recipientAddress);
  } catch (error) {
    if (isIntegrationError(error) && error.status === 404) {
      throw new IntegrationError(
        'invalid_argument',
        `No message trace ${id} with recipient ${recipientAddress} was found. Use the id and recipientAddress of one event from o365-message-trace-get-events (O365MessageTrace.Event.id); Exchange keeps traces for 90 days.`,
        { upstreamCode: error.upstreamCode, requestId: error.requestId, status: 404 },
      );
    }
    throw error;
  }

  // Steps in the order they happened; Graph does not document an order.
  const steps = [...details].sort((a, b) => Date.parse(a.dateTime) - Date.parse(b.dateTime));
  const outputs = steps.map((step) => ({ ...step, recipientAddress }));
  const table = markdownTable(`${DETAIL_TABLE_TITLE} for ${recipientAddress}`, steps, [
    { header: 'Date Time', value: (step) => step.dateTime },
    { header: 'Event', value: (step) => step.event },
    { header: 'Action', value: (step) => step.action },
    { header: 'Description', value: (step) => step.description },
  ]);
  return {
    readableOutput: table,
    outputs,
    outputsPrefix: 'O365MessageTrace.Detail',
    rawResponse: details,
  };
}

export const command: Command = { signsIn: true, check: checkSignIn, run: getDetails };
