import { IntegrationError } from '../errors.js';
import type { Engine } from './types.js';

/** The engine used when the caller passes none. */
export async function defaultEngine(): Promise<Engine> {
  throw new IntegrationError('not_available', 'No engine was given and the local file engine is not available in this build yet.');
}
