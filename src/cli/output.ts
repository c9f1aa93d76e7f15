/** How results and errors are printed. Pure: returns text, the caller writes it. */
import { oneSafeLine } from '../engine/terminal-safe.js';
import { type CommandOutcome, isCommandError } from '../engine/types.js';

/** Errors are one line on stderr, so scripts and log shippers see one record per failure. */
export function errorLine(code: string, message: string): string {
  // Multi-line messages (one problem per line, "- " bullets) keep their bullets as separators.
  const oneLine = oneSafeLine(message).trim();
  return `Error [${code}]: ${oneLine}\n`;
}

export interface PrintedOutcome {
  /** The command output (markdown, or JSON with --json). */
  output: string;
  /** The error line for stderr, when the command failed. */
  error: string | undefined;
  exitCode: 0 | 1;
}

export function formatOutcome(outcome: CommandOutcome, json: boolean): PrintedOutcome {
  if (isCommandError(outcome)) {
    return {
      // With --json a script also gets the code on stdout, in the same shape as a result.
      output: json ? `${JSON.stringify(outcome, null, 2)}\n` : '',
      error: errorLine(outcome.error.code, outcome.error.message),
      exitCode: 1,
    };
  }
  const output = json ? JSON.stringify(outcome, null, 2) : outcome.readableOutput;
  return { output: output.endsWith('\n') ? output : `${output}\n`, error: undefined, exitCode: 0 };
}
