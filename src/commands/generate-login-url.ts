import { notAvailable } from './not-available.js';
import type { CommandHandler } from './types.js';

export const generateLoginUrl: CommandHandler = notAvailable('o365-message-trace-generate-login-url');
