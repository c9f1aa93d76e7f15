/**
 * The simulator's own reading of the `$filter` grammar the message trace API documents: a receivedDateTime
 * range (`ge` and `le`, both or neither), `eq` on the string properties, and startswith/contains/endswith on
 * subject, joined by `and`. Deliberately independent of the client's filter builder so a misunderstanding in
 * one is caught by the other. Anything outside the documented subset is a 400, not a silent best effort.
 */
import { KNOWN_STATUSES } from './data.js';
import { parseIsoToTicks } from './instant.js';

export const EQ_PROPERTIES = [
  'id',
  'messageId',
  'senderAddress',
  'recipientAddress',
  'status',
  'fromIP',
  'toIP',
] as const;
export type EqProperty = (typeof EQ_PROPERTIES)[number];

export type Predicate =
  | { kind: 'eq'; property: EqProperty; value: string }
  | { kind: 'startswith' | 'contains' | 'endswith'; value: string };

export interface ParsedFilter {
  /** Inclusive lower bound in ticks (see instant.ts), when the filter has one. */
  startTicks: number | null;
  /** Inclusive upper bound in ticks. */
  endTicks: number | null;
  predicates: Predicate[];
}

export class FilterSyntaxError extends Error {}

type Token =
  | { type: 'lparen' | 'rparen' | 'comma'; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'datetime'; text: string; pos: number }
  | { type: 'word'; value: string; pos: number }
  | { type: 'number'; text: string; pos: number };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] as string;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
    } else if (ch === '(') {
      tokens.push({ type: 'lparen', pos: i++ });
    } else if (ch === ')') {
      tokens.push({ type: 'rparen', pos: i++ });
    } else if (ch === ',') {
      tokens.push({ type: 'comma', pos: i++ });
    } else if (ch === "'") {
      // OData: a quote inside a literal is written twice.
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw new FilterSyntaxError(`Unterminated string literal at position ${start}.`);
        const c = input[i] as string;
        if (c === "'") {
          if (input[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      tokens.push({ type: 'string', value, pos: start });
    } else if (/[0-9]/.test(ch)) {
      const m = /^\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?|^-?\d+(?:\.\d+)?/.exec(input.slice(i));
      const text = m?.[0] ?? ch;
      tokens.push(text.includes('T') ? { type: 'datetime', text, pos: i } : { type: 'number', text, pos: i });
      i += text.length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(input.slice(i));
      const value = m?.[0] ?? ch;
      tokens.push({ type: 'word', value, pos: i });
      i += value.length;
    } else {
      throw new FilterSyntaxError(`Syntax error: character '${ch}' is not valid at position ${i} in '${input}'.`);
    }
  }
  return tokens;
}

const UNSUPPORTED_OPERATORS = new Set(['ne', 'gt', 'lt', 'or', 'not', 'in', 'has']);
const SUBJECT_FUNCTIONS = new Map<string, 'startswith' | 'contains' | 'endswith'>([
  ['startswith', 'startswith'],
  ['contains', 'contains'],
  ['endswith', 'endswith'],
]);

interface RawTerm {
  kind: 'cmp' | 'fn';
  property: string;
  op: string;
  literal: Token;
  pos: number;
}

function fail(message: string): never {
  throw new FilterSyntaxError(message);
}

/** Parses `$filter`. Throws FilterSyntaxError with a message fit for a Graph 400 body. */
export function parseFilter(input: string): ParsedFilter {
  const tokens = tokenize(input);
  if (tokens.length === 0) throw new FilterSyntaxError('The $filter expression is empty.');
  let p = 0;
  const peek = (): Token | undefined => tokens[p];

  const terms: RawTerm[] = [];

  const parseExpression = (): void => {
    parseTerm();
    for (;;) {
      const t = peek();
      if (t === undefined || t.type === 'rparen') return;
      if (t.type === 'word' && t.value === 'and') {
        p++;
        parseTerm();
        continue;
      }
      if (t.type === 'word' && UNSUPPORTED_OPERATORS.has(t.value.toLowerCase())) {
        fail(`The operator '${t.value}' is not supported by this API; combine conditions with 'and'.`);
      }
      fail(`Syntax error at position ${t.pos} in '${input}'.`);
    }
  };

  const parseTerm = (): void => {
    const t = peek();
    if (t === undefined) fail(`Syntax error: expression expected at the end of '${input}'.`);
    if (t.type === 'lparen') {
      p++;
      parseExpression();
      const close = peek();
      if (close?.type !== 'rparen') fail(`Syntax error: ')' expected in '${input}'.`);
      p++;
      return;
    }
    if (t.type !== 'word') fail(`Syntax error at position ${t.pos} in '${input}'.`);
    if (t.value.toLowerCase() === 'not') fail("The operator 'not' is not supported by this API.");
    const fn = SUBJECT_FUNCTIONS.get(t.value.toLowerCase());
    if (fn && tokens[p + 1]?.type === 'lparen') {
      p += 2;
      const prop = peek();
      if (prop?.type !== 'word') fail(`Syntax error: property expected in ${t.value}() in '${input}'.`);
      p++;
      if (peek()?.type !== 'comma') fail(`Syntax error: ',' expected in ${t.value}() in '${input}'.`);
      p++;
      const literal = peek();
      if (literal === undefined) fail(`Syntax error: literal expected in ${t.value}() in '${input}'.`);
      p++;
      if (peek()?.type !== 'rparen') fail(`Syntax error: ')' expected in ${t.value}() in '${input}'.`);
      p++;
      terms.push({ kind: 'fn', property: prop.value, op: fn, literal, pos: t.pos });
      return;
    }
    p++;
    const op = peek();
    if (op?.type !== 'word') fail(`Syntax error: operator expected after '${t.value}' in '${input}'.`);
    p++;
    const literal = peek();
    if (literal === undefined) fail(`Syntax error: literal expected after '${op.value}' in '${input}'.`);
    p++;
    terms.push({ kind: 'cmp', property: t.value, op: op.value, literal, pos: t.pos });
  };

  parseExpression();
  if (p < tokens.length) fail(`Syntax error: unbalanced ')' in '${input}'.`);
  return interpret(terms);
}

function interpret(terms: RawTerm[]): ParsedFilter {
  const result: ParsedFilter = { startTicks: null, endTicks: null, predicates: [] };
  for (const term of terms) {
    if (term.kind === 'fn') {
      if (term.property !== 'subject') {
        throw new FilterSyntaxError(`The function '${term.op}' is only supported on 'subject', not on '${term.property}'.`);
      }
      if (term.literal.type !== 'string') {
        throw new FilterSyntaxError(`The second argument of '${term.op}' must be a string literal.`);
      }
      result.predicates.push({ kind: term.op as 'startswith' | 'contains' | 'endswith', value: term.literal.value });
      continue;
    }
    if (term.property === 'receivedDateTime') {
      if (term.op === 'gt' || term.op === 'lt' || term.op === 'eq') {
        throw new FilterSyntaxError(
          `The operator '${term.op}' is not supported on 'receivedDateTime'; use 'ge' and 'le'.`,
        );
      }
      if (term.op !== 'ge' && term.op !== 'le') {
        throw new FilterSyntaxError(`Unknown operator '${term.op}'.`);
      }
      if (term.literal.type !== 'datetime') {
        throw new FilterSyntaxError(
          "'receivedDateTime' must be compared with an unquoted UTC timestamp such as 2026-01-01T00:00:00Z.",
        );
      }
      const ticks = parseIsoToTicks(term.literal.text);
      if (ticks === null) {
        throw new FilterSyntaxError(`'${term.literal.text}' is not a valid UTC timestamp (YYYY-MM-DDThh:mm:ssZ).`);
      }
      if (term.op === 'ge') {
        if (result.startTicks !== null) throw new FilterSyntaxError("'receivedDateTime ge' appears more than once.");
        result.startTicks = ticks;
      } else {
        if (result.endTicks !== null) throw new FilterSyntaxError("'receivedDateTime le' appears more than once.");
        result.endTicks = ticks;
      }
      continue;
    }
    if (!(EQ_PROPERTIES as readonly string[]).includes(term.property)) {
      if (term.property === 'subject') {
        throw new FilterSyntaxError("'subject' supports only startswith(), contains() and endswith().");
      }
      if (term.property === 'size') throw new FilterSyntaxError("Filtering on 'size' is not supported.");
      throw new FilterSyntaxError(`Could not find a property named '${term.property}' on type 'microsoft.graph.exchangeMessageTrace'.`);
    }
    if (term.op !== 'eq') {
      throw new FilterSyntaxError(`The operator '${term.op}' is not supported on '${term.property}'; only 'eq' is.`);
    }
    if (term.literal.type !== 'string') {
      throw new FilterSyntaxError(`'${term.property}' must be compared with a string literal in single quotes.`);
    }
    if (term.property === 'status' && !(KNOWN_STATUSES as readonly string[]).includes(term.literal.value)) {
      throw new FilterSyntaxError(
        `The string '${term.literal.value}' is not a valid enumeration type constant of 'microsoft.graph.exchangeMessageTraceStatus'.`,
      );
    }
    result.predicates.push({ kind: 'eq', property: term.property as EqProperty, value: term.literal.value });
  }
  // A start without an end is the listing's own error (graph.ts), in Exchange's words.
  if (result.startTicks === null && result.endTicks !== null) {
    throw new FilterSyntaxError(
      "A receivedDateTime range needs both bounds: 'receivedDateTime ge {start} and receivedDateTime le {end}'.",
    );
  }
  return result;
}
