/**
 * Text from outside (subjects, addresses, Graph and Entra ID error text) that ends up in a log line or on a
 * terminal must not be able to start a new line, rewrite the screen or reorder what a reader sees. Every
 * character that could is written as a visible `\uXXXX` escape instead: C0 controls (ESC, CR, LF, TAB,
 * BEL…), DEL, C1 controls (0x9B is a one-byte CSI on some terminals), the Unicode line and paragraph
 * separators, and the bidirectional overrides and isolates ("Trojan Source" reordering).
 *
 * Events keep their data exactly as Graph sent it; this is for text meant to be read by a person.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function neutraliseControls(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line for a log or an error: line breaks (and the blanks around them) become one space, the rest escaped. */
export function oneSafeLine(text: string): string {
  return neutraliseControls(text.replace(/\s*(?:\r\n|[\r\n\u2028\u2029\u0085])\s*/g, ' '));
}
