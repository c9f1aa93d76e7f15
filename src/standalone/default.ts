import { openFileEngine } from './file-engine.js';
import type { Engine } from '../engine/types.js';

/** An engine the caller must close when the command is done (it holds the state directory's lock). */
export type ClosableEngine = Engine & { close(): Promise<void> };

/** The engine used when the caller passes none: the local file engine in ./.o365-message-trace/. */
export function defaultEngine(stateKeyFile?: string): Promise<ClosableEngine> {
  return openFileEngine({ stateKeyFile });
}
