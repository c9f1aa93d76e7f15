/**
 * Modules the CLI loads only when asked for: the simulator and the XSIAM sink. They are imported by a
 * computed URL against a local type, so the CLI compiles and runs (with a clear error) without them.
 */
import { IntegrationError } from '../errors.js';
import type { EventSink } from '../standalone/sink.js';
import type { Logger } from '../engine/types.js';
import type { HttpFetch } from '../http/transport.js';

export interface SimulatorCliModule {
  runSimulateCommand(
    argv: string[],
    io?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  ): Promise<number>;
}

export interface XsiamSinkModule {
  createXsiamSink(options: { url: string; apiKey: string; log: Logger; http?: HttpFetch }): EventSink;
}

export async function importOptional<T>(relativePath: string, messageWhenMissing: string): Promise<T> {
  const url = new URL(relativePath, import.meta.url);
  try {
    return (await import(url.href)) as T;
  } catch (error) {
    const missing =
      (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(relativePath.replace(/^(\.\.\/)+/, '').replace(/\.js$/, ''));
    if (!missing) throw error;
    throw new IntegrationError('not_available', messageWhenMissing, { cause: error });
  }
}

export function loadSimulatorCli(): Promise<SimulatorCliModule> {
  return importOptional<SimulatorCliModule>('../simulator/cli.js', 'The simulate command is not in this installation (its module is missing); reinstall o365-message-trace.');
}

export function loadXsiamSinkModule(): Promise<XsiamSinkModule> {
  return importOptional<XsiamSinkModule>(
    '../standalone/sinks/xsiam.js',
    'The XSIAM sink (--sink xsiam) is not in this installation (its module is missing); reinstall o365-message-trace, or use --sink file or --sink stdout.',
  );
}
