/**
 * The local engines' logger: one line per record on stderr, `time level message key=value ...`, readable
 * by a person and splittable by a log shipper; or, with the json format, one JSON object per line
 * (`{"time","level","message","instance"?,"fields"?}`) for Loki, Elastic or Vector. stdout stays free for
 * command output and NDJSON events. Callers pass facts only (counts, ids, windows); nothing here tries to
 * recognise secrets.
 */
import { neutraliseControls, oneSafeLine } from '../engine/terminal-safe.js';
import type { Logger, LogLevel } from '../engine/types.js';

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const LOG_LEVEL_ENV = 'O365MT_LOG_LEVEL';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface StderrLoggerOptions {
  /** Lowest level written; default from O365MT_LOG_LEVEL, else info. */
  level?: LogLevel;
  /** Default text. */
  format?: LogFormat;
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

function jsonValue(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * One JSON object per record. `instance` (set by a per-tenant logger, see withLogFields) is lifted to the
 * top so a log shipper can index it without knowing the fields of every message.
 */
export function formatJsonLogLine(timeMs: number, level: LogLevel, message: string, fields?: Record<string, unknown>): string {
  const { instance, ...rest } = fields ?? {};
  const kept = Object.entries(rest).filter(([, value]) => value !== undefined);
  const record: Record<string, unknown> = { time: new Date(timeMs).toISOString(), level, message };
  if (instance !== undefined) record.instance = jsonValue(instance);
  if (kept.length > 0) record.fields = Object.fromEntries(kept.map(([key, value]) => [key, jsonValue(value)]));
  let line: string;
  try {
    line = JSON.stringify(record);
  } catch {
    // A field that does not serialise (a cycle) must not cost the record.
    line = JSON.stringify({ ...record, fields: Object.fromEntries(kept.map(([key, value]) => [key, String(value)])) });
  }
  return `${line}\n`;
}

/** A logger that adds `fields` to every record (the caller's fields win on a clash). */
export function withLogFields(log: Logger, fields: Record<string, unknown>): Logger {
  const add = (write: Logger['info']) => (message: string, extra?: Record<string, unknown>) => write(message, { ...fields, ...extra });
  return { debug: add(log.debug), info: add(log.info), warn: add(log.warn), error: add(log.error) };
}

export function createStderrLogger(options: StderrLoggerOptions = {}): Logger {
  const threshold = LEVEL_ORDER[options.level ?? logLevelFromEnv()];
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const format = options.format === 'json' ? formatJsonLogLine : formatLogLine;
  const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVEL_ORDER[level] >= threshold) stream.write(format(now(), level, message, fields));
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
