import { IntegrationError } from '../errors.js';
import type { CommandHandler } from './types.js';

/** An honest answer for a command whose implementation has not landed yet: never a fake result. */
export function notAvailable(command: string): CommandHandler {
  return async () => {
    throw new IntegrationError('not_available', `The command ${command} is not available in this build yet.`);
  };
}
