/**
 * What every command that signs in shares: the sign-in method main chose from the params, and a check
 * that a certificate's private key can be read, which would otherwise fail the command's first request.
 */
import { prepareCertificate } from '../auth/certificate.js';
import type { AuthPlan } from '../auth/select.js';
import { IntegrationError } from '../errors.js';
import type { CheckContext, CommandContext } from './types.js';

/** The plan main chose; a command that reaches here without one is missing `signsIn`. */
export function signInPlan(context: Pick<CommandContext, 'auth'>): AuthPlan {
  if (context.auth === undefined) {
    throw new IntegrationError('internal', 'This command signs in but was run without a sign-in method (its module lacks signsIn: true).');
  }
  return context.auth;
}

export function checkSignIn(context: CheckContext): void {
  const plan = signInPlan(context);
  const credential = plan.method === 'certificate' || plan.method === 'authorization_code' ? plan.credential : undefined;
  if (credential?.kind === 'certificate') prepareCertificate(credential.thumbprint, credential.privateKey);
}
