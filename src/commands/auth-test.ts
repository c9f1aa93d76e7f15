import { notAvailable } from './not-available.js';
import type { CommandHandler } from './types.js';

export const authTest: CommandHandler = notAvailable('o365-message-trace-auth-test');
