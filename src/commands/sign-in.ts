/**
 * The check every command that signs in shares: the sign-in method can be chosen from the params, and a
 * certificate's private key can be read. Both would fail the command before its first request anyway.
 */
import { prepareCertificate } from '../auth/certificate.js';
import { selectAuthMethod } from '../auth/select.js';
import type { CheckContext } from './types.js';

export function checkSignIn({ params, env }: CheckContext): void {
  const plan = selectAuthMethod(params, env);
  const credential = plan.method === 'certificate' || plan.method === 'authorization_code' ? plan.credential : undefined;
  if (credential?.kind === 'certificate') prepareCertificate(credential.thumbprint, credential.privateKey);
}
