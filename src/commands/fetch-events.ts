import { notAvailable } from './not-available.js';
import type { CommandHandler } from './types.js';

export const fetchEvents: CommandHandler = notAvailable('fetch-events');
