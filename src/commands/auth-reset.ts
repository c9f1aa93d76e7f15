import { clearStoredTokens } from '../auth/token-store.js';
import type { Engine } from '../engine/types.js';
import { isIntegrationError } from '../errors.js';
import type { Command, CommandHandler } from './types.js';

/**
 * Saved tokens that cannot be decrypted (state key lost, changed or missing) are dropped with the rest of
 * the integration context they were sealed in: that is the way out the state_key error offers. Only the
 * context is replaced; the fetch position lives elsewhere and is not touched.
 */
async function clearTokens(engine: Engine): Promise<void> {
  try {
    await clearStoredTokens(engine);
  } catch (error) {
    if (!isIntegrationError(error) || error.code !== 'state_key') throw error;
    await engine.setIntegrationContext({});
    engine.log.warn('[Auth] The saved tokens could not be decrypted with the configured state key; they were dropped.');
  }
}

/** o365-message-trace-auth-reset: forgets every kept token (MSAL cache and tokenCache); fetch state stays. */
export const authReset: CommandHandler = async ({ engine }) => {
  await clearTokens(engine);
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

/** No check: resetting needs no credential, so it works whatever the sign-in settings say. */
export const command: Command = { run: authReset };
