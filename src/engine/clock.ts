import type { Engine } from './types.js';

/** Waits on the engine's clock when it has one (virtual time in tests), else on a real, abortable timer. */
export function engineSleep(engine: Pick<Engine, 'sleep'>, ms: number, signal?: AbortSignal): Promise<void> {
  if (engine.sleep) return engine.sleep(ms, signal);
  return realSleep(ms, signal);
}

/** A real timer that rejects with the signal's reason when it aborts. */
export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
