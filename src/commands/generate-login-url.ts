import { buildLoginUrl } from '../auth/login-url.js';
import { loginUrlSettings } from '../auth/select.js';
import type { Command, CommandHandler } from './types.js';

/** o365-message-trace-generate-login-url: the authorize URL and the steps around it. Makes no request. */
export const generateLoginUrl: CommandHandler = async ({ params }) => {
  const settings = loginUrlSettings(params);
  const url = buildLoginUrl({ ...settings, authorityUrl: params.authorityUrl, url: params.url });
  const readableOutput = [
    '### Authorization instructions',
    `1. Open this link and sign in with an account of tenant ${settings.tenantId} that may consent for the app (an administrator, for admin consent): [Sign in to Microsoft](${url})`,
    '',
    `   If the link cannot be clicked, copy it: \`${url}\``,
    `2. Accept the permissions. The browser is sent to \`${settings.redirectUri}?code=...\`; the page itself may not load, that is fine.`,
    '3. From the address bar, copy the value of `code`: everything after `code=` up to the next `&` (not `session_state`).',
    '4. Paste it into the **Authorization code** parameter of this instance and save.',
    '5. Run `!o365-message-trace-auth-test` right away (a code expires after about 10 minutes). It redeems the code once and keeps the tokens for every later run.',
  ].join('\n');
  return { readableOutput };
};

export const command: Command = { check: ({ params }) => void loginUrlSettings(params), run: generateLoginUrl };
