import { hasCachedAuthCodeTokens } from '../auth/provider.js';
import { IntegrationError } from '../errors.js';
import { probeGraph } from './auth-test.js';
import { checkSignIn, signInPlan } from './sign-in.js';
import type { Command, CommandHandler } from './types.js';

/**
 * test-module: a token and the cheapest Graph call; `ok` when both work. With the authorization code flow
 * it never redeems the code (XSIAM's Test button cannot keep the tokens): o365-message-trace-auth-test does.
 */
export const testModule: CommandHandler = async (context) => {
  const plan = signInPlan(context);
  if (plan.method === 'authorization_code' && !(await hasCachedAuthCodeTokens(plan, context.params.url, context.engine))) {
    throw new IntegrationError(
      'auth_config',
      'With the authorization code flow, use !o365-message-trace-auth-test instead of the Test button: it redeems the Authorization code once and keeps the tokens. (No login yet? Run !o365-message-trace-generate-login-url first.)',
    );
  }
  await probeGraph(context);
  return { readableOutput: 'ok' };
};

export const command: Command = { signsIn: true, check: checkSignIn, run: testModule };
