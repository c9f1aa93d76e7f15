/**
 * Markdown tables for human-readable command output (the War Room renders them). Cell text is escaped so
 * data cannot break the table: `\` and `|` are backslash-escaped, line breaks become `<br>`, and other
 * control characters (terminal escapes, bidi overrides) become visible `\uXXXX` (the CLI prints this).
 */
import { neutraliseControls } from '../engine/terminal-safe.js';

export interface MarkdownColumn<T> {
  header: string;
  value: (row: T) => unknown;
}

export function escapeCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return neutraliseControls(
    text
      .replaceAll('\\', '\\\\')
      .replaceAll('|', '\\|')
      .replace(/\r\n|\r|\n/g, '<br>'),
  );
}

/** `### title`, then the table, or `**No entries.**` when there are no rows. */
export function markdownTable<T>(title: string, rows: readonly T[], columns: readonly MarkdownColumn<T>[]): string {
  const lines = [`### ${escapeCell(title)}`];
  if (rows.length === 0) {
    lines.push('**No entries.**');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`|${columns.map((c) => escapeCell(c.header)).join('|')}|`);
  lines.push(`|${columns.map(() => '---').join('|')}|`);
  for (const row of rows) lines.push(`|${columns.map((c) => escapeCell(c.value(row))).join('|')}|`);
  return `${lines.join('\n')}\n`;
}
