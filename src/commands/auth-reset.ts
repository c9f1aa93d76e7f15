import { clearStoredTokens } from '../auth/token-store.js';
import type { CommandHandler } from './types.js';

/** o365-message-trace-auth-reset: forgets every kept token (MSAL cache and tokenCache); fetch state stays. */
export const authReset: CommandHandler = async ({ engine }) => {
  await clearStoredTokens(engine);
  engine.log.info('[Auth] Saved tokens were cleared by o365-message-trace-auth-reset.');
  return {
    readableOutput: [
      'Authorization was reset: the saved access and refresh tokens were removed. The fetch state was kept.',
      '',
      '- With the authorization code flow: run `!o365-message-trace-generate-login-url`, sign in, paste the new code into **Authorization code**, then run `!o365-message-trace-auth-test`.',
      '- With a client secret, certificate or managed identity: nothing to do; the next command requests a new token (run `!o365-message-trace-auth-test` to check now).',
    ].join('\n'),
  };
};
