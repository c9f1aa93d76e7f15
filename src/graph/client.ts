import type { TokenProvider } from '../auth/types.js';
import type { Engine } from '../engine/types.js';
import { IntegrationError } from '../errors.js';
import type { HttpFetch } from '../http/transport.js';
import type { IntegrationParams } from '../input/params.js';
import type { GraphClient } from './types.js';

export interface GraphClientDeps {
  params: IntegrationParams;
  engine: Engine;
  http: HttpFetch;
  tokens: TokenProvider;
  /** Epoch ms (engine clock) after which no request starts and no retry waits. */
  deadlineMs?: number;
}

export function createGraphClient(_deps: GraphClientDeps): GraphClient {
  throw new IntegrationError('not_available', 'The Graph client is not available in this build yet.');
}
