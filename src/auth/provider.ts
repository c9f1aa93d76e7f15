import type { Engine } from '../engine/types.js';
import { IntegrationError } from '../errors.js';
import type { HttpFetch } from '../http/transport.js';
import type { IntegrationParams } from '../input/params.js';
import type { TokenProvider } from './types.js';

export interface TokenProviderDeps {
  params: IntegrationParams;
  engine: Engine;
  http: HttpFetch;
}

/**
 * Chooses the authentication method from the params and returns its token provider. Throws
 * IntegrationError('auth_config') naming the missing or contradictory parameters.
 */
export function createTokenProvider(_deps: TokenProviderDeps): TokenProvider {
  throw new IntegrationError('not_available', 'Authentication is not available in this build yet.');
}
