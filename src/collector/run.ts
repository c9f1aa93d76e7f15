import type { Engine } from '../engine/types.js';
import { IntegrationError } from '../errors.js';

export interface CollectorProgress {
  eventsThisRun: number;
  totalEvents: number;
  /** fetch-events asked to run again at once (backlog left). */
  backlog: boolean;
  runs: number;
}

export interface CollectorOptions {
  /** Raw params, as `main` takes them. */
  params: Record<string, unknown>;
  engine: Engine;
  /** Aborting finishes or abandons the current run without corrupting state, then resolves. */
  signal: AbortSignal;
  onProgress?: (progress: CollectorProgress) => void;
}

/** Repeats fetch-events every eventFetchInterval minutes (at once when nextTrigger asks) until aborted. */
export async function runCollector(_options: CollectorOptions): Promise<void> {
  throw new IntegrationError('not_available', 'The standalone collector is not available in this build yet.');
}
