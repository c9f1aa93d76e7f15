import { notAvailable } from './not-available.js';
import type { CommandHandler } from './types.js';

export const getEvents: CommandHandler = notAvailable('o365-message-trace-get-events');
