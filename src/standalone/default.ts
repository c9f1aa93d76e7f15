import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_STATE_DIR, LAST_RUN_FILE_NAME, openFileEngine } from './file-engine.js';
import type { ClosableEngine, EngineOpener } from '../engine/types.js';

export type { ClosableEngine } from '../engine/types.js';

/** Whether the state directory holds a fetch position; an existence check, so nothing is created or locked. */
export async function hasSavedRunFile(dir: string | undefined): Promise<boolean> {
  return access(join(resolve(dir ?? DEFAULT_STATE_DIR), LAST_RUN_FILE_NAME)).then(
    () => true,
    () => false,
  );
}

/** The engine used when the caller passes none: the local file engine in ./.o365-message-trace/. */
export function defaultEngineOpener(): EngineOpener {
  return {
    now: Date.now,
    hasSavedRun: () => hasSavedRunFile(undefined),
    open: ({ stateKeyFile }): Promise<ClosableEngine> => openFileEngine({ stateKeyFile }),
  };
}
