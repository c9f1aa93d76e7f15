import { notAvailable } from './not-available.js';
import type { CommandHandler } from './types.js';

export const authReset: CommandHandler = notAvailable('o365-message-trace-auth-reset');
