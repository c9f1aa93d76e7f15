/**
 * Checks the CLI makes before it opens the state directory, so that input a command would refuse anyway
 * (contradictory credentials, an unreadable private key, get-events dates that are reversed or over 90
 * days back, a first fetch over 90 days back) never creates, locks or changes state. Every check here is
 * the command's own check, called earlier: the same function, so the same message. Pure but for the
 * wall clock (the file engine runs on it too) and one existence check of last-run.json.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { prepareCertificate } from '../auth/certificate.js';
import { type Environment, loginUrlSettings, selectAuthMethod } from '../auth/select.js';
import { planGetEvents } from '../commands/get-events.js';
import { DEFAULT_STATE_DIR, LAST_RUN_FILE_NAME } from '../standalone/file-engine.js';
import { DEFAULT_TUNING, resolveFirstFetch } from '../fetch/window.js';
import type { ParsedArgs } from '../input/args.js';
import type { IntegrationParams } from '../input/params.js';

/** Commands that sign in with the configured method before they do anything else. */
const SIGNING_IN = new Set([
  'test-module',
  'fetch-events',
  'o365-message-trace-auth-test',
  'o365-message-trace-get-events',
  'o365-message-trace-get-details',
]);

function checkAuthentication(command: string, params: IntegrationParams, env: Environment): void {
  if (command === 'o365-message-trace-generate-login-url') {
    loginUrlSettings(params);
    return;
  }
  if (!SIGNING_IN.has(command)) return;
  const plan = selectAuthMethod(params, env);
  const credential = plan.method === 'certificate' || plan.method === 'authorization_code' ? plan.credential : undefined;
  if (credential?.kind === 'certificate') prepareCertificate(credential.thumbprint, credential.privateKey);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * first_fetch matters only for a first run; once a fetch position is saved it is not read, so an ISO
 * first_fetch that has aged past 90 days must not stop a running collector.
 */
async function checkFirstFetch(params: IntegrationParams, stateDir: string | undefined, nowMs: number): Promise<void> {
  if (await exists(join(resolve(stateDir ?? DEFAULT_STATE_DIR), LAST_RUN_FILE_NAME))) return;
  resolveFirstFetch(params.firstFetch, nowMs, DEFAULT_TUNING);
}

/** Throws the IntegrationError the command would end with, before any state is touched. */
export async function preflight(
  command: string,
  params: IntegrationParams,
  args: ParsedArgs,
  options: { env: Environment; stateDir: string | undefined; nowMs?: number },
): Promise<void> {
  const nowMs = options.nowMs ?? Date.now();
  checkAuthentication(command, params, options.env);
  if (command === 'o365-message-trace-get-events') planGetEvents(args, nowMs);
  if (command === 'fetch-events') await checkFirstFetch(params, options.stateDir, nowMs);
}
