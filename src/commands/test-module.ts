import { notAvailable } from './not-available.js';
import type { CommandHandler } from './types.js';

export const testModule: CommandHandler = notAvailable('test-module');
