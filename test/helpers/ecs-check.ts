/**
 * Checks an event against Elastic's published ECS field definitions (the flat field list the
 * @elastic/ecs package ships, generated from the ECS repository): every field must be defined there, its
 * value must have the field's type, fields ECS normalises to arrays must be arrays, values with allowed
 * values must be one of them, and event.type must be one ECS expects for the event.category given.
 */
import { isIP } from 'node:net';
import { EcsFlat } from '@elastic/ecs';

interface EcsField {
  flat_name: string;
  type: string;
  normalize?: readonly string[];
  allowed_values?: ReadonlyArray<{ name: string; expected_event_types?: readonly string[] }>;
}

const FIELDS = EcsFlat as unknown as Readonly<Record<string, EcsField>>;
const OBJECT_TYPES = new Set(['object', 'flattened', 'nested']);
const TEXT_TYPES = new Set(['keyword', 'constant_keyword', 'wildcard', 'match_only_text', 'text']);
const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const FLOAT_TYPES = new Set(['float', 'double', 'scaled_float', 'half_float']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function typeProblem(field: EcsField, value: unknown): string | undefined {
  const { type } = field;
  if (TEXT_TYPES.has(type)) return typeof value === 'string' ? undefined : `is ${type} (a string)`;
  if (type === 'date') {
    const ok = (typeof value === 'string' && !Number.isNaN(Date.parse(value))) || Number.isSafeInteger(value);
    return ok ? undefined : 'is a date (ISO 8601 text or epoch ms)';
  }
  if (type === 'ip') return typeof value === 'string' && isIP(value) !== 0 ? undefined : 'is an ip';
  if (INTEGER_TYPES.has(type)) return Number.isSafeInteger(value) ? undefined : `is ${type} (a whole number)`;
  if (FLOAT_TYPES.has(type)) return typeof value === 'number' && Number.isFinite(value) ? undefined : `is ${type} (a number)`;
  if (type === 'boolean') return typeof value === 'boolean' ? undefined : 'is a boolean';
  if (OBJECT_TYPES.has(type)) return isPlainObject(value) ? undefined : `is ${type} (an object)`;
  return `has the type ${type}, which this check does not know`;
}

function checkField(name: string, value: unknown, problems: string[]): void {
  const field = FIELDS[name];
  if (field === undefined) {
    problems.push(`${name} is not an ECS field`);
    return;
  }
  const values = Array.isArray(value) ? value : [value];
  if (field.normalize?.includes('array') && !Array.isArray(value)) problems.push(`${name} must be an array (ECS normalises it to one)`);
  if (Array.isArray(value) && !field.normalize?.includes('array') && field.type !== 'nested') {
    problems.push(`${name} is an array, but ECS defines it as a single value`);
  }
  for (const item of values) {
    const problem = typeProblem(field, item);
    if (problem) problems.push(`${name} ${problem}; got ${JSON.stringify(item)}`);
    if (field.allowed_values && !field.allowed_values.some((allowed) => allowed.name === item)) {
      problems.push(`${name} value ${JSON.stringify(item)} is not one of ECS's allowed values`);
    }
  }
}

function flatten(value: Record<string, unknown>, prefix: string, out: Map<string, unknown>): void {
  for (const [key, child] of Object.entries(value)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    const defined = FIELDS[name];
    if (isPlainObject(child) && (defined === undefined || !OBJECT_TYPES.has(defined.type))) flatten(child, name, out);
    else out.set(name, child);
  }
}

/** Every problem of one event; empty when ECS accepts it. */
export function checkEcsEvent(event: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const fields = new Map<string, unknown>();
  flatten(event, '', fields);
  for (const [name, value] of fields) checkField(name, value, problems);
  for (const required of ['@timestamp', 'ecs.version']) {
    if (!fields.has(required)) problems.push(`${required} is missing (ECS requires it on every event)`);
  }
  const categories = fields.get('event.category');
  const types = fields.get('event.type');
  if (Array.isArray(categories) && Array.isArray(types)) {
    const allowed = FIELDS['event.category']?.allowed_values ?? [];
    for (const category of categories) {
      const expected = allowed.find((value) => value.name === category)?.expected_event_types ?? [];
      for (const type of types) {
        if (!expected.includes(type as string)) problems.push(`event.type ${JSON.stringify(type)} is not one ECS expects for event.category ${JSON.stringify(category)}`);
      }
    }
  }
  return problems;
}
