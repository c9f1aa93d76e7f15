/**
 * The local engines' logger: one line per record on stderr, `time level message key=value ...`, readable
 * by a person and splittable by a log shipper. stdout stays free for command output and NDJSON events.
 * Callers pass facts only (counts, ids, windows); nothing here tries to recognise secrets.
 */
import { neutraliseControls, oneSafeLine } from './terminal-safe.js';
import type { Logger, LogLevel } from './types.js';

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const LOG_LEVEL_ENV = 'O365MT_LOG_LEVEL';

export interface StderrLoggerOptions {
  /** Lowest level written; default from O365MT_LOG_LEVEL, else info. */
  level?: LogLevel;
  stream?: Pick<NodeJS.WritableStream, 'write'>;
  now?: () => number;
}

export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const wanted = env[LOG_LEVEL_ENV]?.trim().toLowerCase();
  return wanted !== undefined && wanted in LEVEL_ORDER ? (wanted as LogLevel) : 'info';
}

function formatValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value instanceof Error) text = value.message;
  else if (typeof value === 'bigint') text = value.toString();
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  // Quote anything that would break the key=value split, and keep every record on one line; no control
  // character or bidi override of a subject or an upstream message reaches the terminal.
  return neutraliseControls(/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text));
}

export function formatLogLine(timeMs: number, level: LogLevel, message: string, fields?: Record<string, unknown>): string {
  const parts = [new Date(timeMs).toISOString(), level.padEnd(5), oneSafeLine(message)];
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value !== undefined) parts.push(`${key}=${formatValue(value)}`);
  }
  return `${parts.join(' ')}\n`;
}

export function createStderrLogger(options: StderrLoggerOptions = {}): Logger {
  const threshold = LEVEL_ORDER[options.level ?? logLevelFromEnv()];
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVEL_ORDER[level] >= threshold) stream.write(formatLogLine(now(), level, message, fields));
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
