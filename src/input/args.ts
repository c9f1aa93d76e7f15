/**
 * Command arguments: which arguments a command takes, their defaults and predefined values come from
 * integration.yml; what each value must look like is the table below. Every problem is reported at once.
 */
import { IntegrationError } from '../errors.js';
import { type Manifest, type ManifestArgument, findCommand, loadManifest } from '../manifest.js';
import { TIME_EXPRESSION_FORMS, parseTimeExpression } from '../time/expressions.js';
import { type Coerced, type InputProblem, coerceBoolean, coerceText, formatProblems, parseWholeNumber } from './coerce.js';

export type ArgValue = string | number | boolean;
export type ParsedArgs = Readonly<Record<string, ArgValue | undefined>>;

interface ArgRule {
  accepted: string;
  kind: 'text' | 'boolean' | 'number';
  refine?: (value: string) => Coerced<ArgValue>;
}

export const MAX_GET_EVENTS_LIMIT = 5000;

const timeExpression: ArgRule = {
  kind: 'text',
  accepted: `Use ${TIME_EXPRESSION_FORMS}.`,
  refine: (value) => {
    // Only the form is checked here; the handler resolves it against the engine clock.
    const parsed = parseTimeExpression(value, Date.now());
    return parsed.ok ? { ok: true, value } : { ok: false, problem: `'${value}' ${parsed.problem}` };
  },
};

const emailAddress: ArgRule = {
  kind: 'text',
  accepted: 'Use one email address, such as user@contoso.com.',
  refine: (value) =>
    /^[^\s@]+@[^\s@]+$/.test(value) ? { ok: true, value } : { ok: false, problem: `'${value}' is not an email address` },
};

/**
 * The rule for every argument the code reads, keyed by the commands that take arguments (the others take
 * none). A test checks it against the YAML.
 */
export const ARG_RULES: Readonly<Record<string, Record<string, ArgRule>>> = {
  'o365-message-trace-get-events': {
    limit: {
      kind: 'number',
      accepted: `Use a whole number from 1 to ${MAX_GET_EVENTS_LIMIT}.`,
      refine: (value) => parseWholeNumber(value, 1, MAX_GET_EVENTS_LIMIT),
    },
    start_time: timeExpression,
    end_time: timeExpression,
    should_push_events: { kind: 'boolean', accepted: 'Use true or false.' },
    sender_address: emailAddress,
    recipient_address: emailAddress,
    status: { kind: 'text', accepted: '' },
    message_id: { kind: 'text', accepted: 'Use the Internet message ID, such as <abc@contoso.com>.' },
    subject: { kind: 'text', accepted: 'Use any text.' },
  },
  'o365-message-trace-get-details': {
    id: { kind: 'text', accepted: 'Use the id of an event, as in O365MessageTrace.Event.id.' },
    recipient_address: emailAddress,
  },
};

function checkPredefined(spec: ManifestArgument, value: string): Coerced<string> {
  if (!spec.predefined || spec.predefined.includes(value)) return { ok: true, value };
  const match = spec.predefined.find((option) => option.toLowerCase() === value.toLowerCase());
  if (match) return { ok: true, value: match };
  return { ok: false, problem: `'${value}' is not one of the accepted values` };
}

/**
 * Parses the raw arguments of a command (the engine sends strings). Commands without arguments accept
 * none. Throws one IntegrationError (`invalid_argument`) listing every problem.
 */
export function parseArgs(command: string, raw: Record<string, unknown>, manifest: Manifest = loadManifest()): ParsedArgs {
  const specs = findCommand(manifest, command)?.arguments ?? [];
  const rules = (Object.hasOwn(ARG_RULES, command) ? ARG_RULES[command] : undefined) ?? {};
  const problems: InputProblem[] = [];
  const known = new Set(specs.map((spec) => spec.name));

  for (const name of Object.keys(raw)) {
    if (!known.has(name) && raw[name] !== undefined) {
      problems.push({
        name,
        problem: `is not an argument of ${command}`,
        accepted: known.size === 0 ? 'This command takes no arguments.' : `Its arguments are: ${[...known].join(', ')}.`,
      });
    }
  }

  const parsed: Record<string, ArgValue | undefined> = {};
  for (const spec of specs) {
    const rule = rules[spec.name];
    if (rule === undefined) continue; // the agreement test fails on this
    const accepted = spec.predefined ? `Use one of: ${spec.predefined.join(', ')}.` : rule.accepted;
    const rawValue = raw[spec.name] ?? spec.defaultValue;
    if (rule.kind === 'boolean') {
      const coerced = coerceBoolean(rawValue);
      if (!coerced.ok) problems.push({ name: spec.name, problem: coerced.problem, accepted });
      else parsed[spec.name] = coerced.value;
      continue;
    }
    const text = coerceText(rawValue);
    if (!text.ok) {
      problems.push({ name: spec.name, problem: text.problem, accepted });
      continue;
    }
    if (text.value === undefined) {
      if (spec.required) problems.push({ name: spec.name, problem: 'is required', accepted });
      continue;
    }
    const predefined = checkPredefined(spec, text.value);
    if (!predefined.ok) {
      problems.push({ name: spec.name, problem: predefined.problem, accepted });
      continue;
    }
    const refined = rule.refine ? rule.refine(predefined.value) : { ok: true as const, value: predefined.value };
    if (!refined.ok) problems.push({ name: spec.name, problem: refined.problem, accepted });
    else parsed[spec.name] = refined.value;
  }

  if (problems.length > 0) {
    throw new IntegrationError('invalid_argument', formatProblems(`Invalid argument for ${command}`, problems));
  }
  return parsed;
}
