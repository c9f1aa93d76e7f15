/**
 * The raw shapes an engine delivers values in, turned into plain strings and booleans. Engines send
 * checkboxes as `true`/`false` or `"true"`/`"false"`, numbers as strings, and type-9 credentials as
 * `{identifier, password}` objects or plain strings. Nothing here knows a parameter's meaning; the rules
 * in params.ts and args.ts do.
 */
import * as z from 'zod';

/** One problem with one input, phrased so it can follow the input's name. */
export interface InputProblem {
  name: string;
  problem: string;
  accepted: string;
}

export type Coerced<T> = { ok: true; value: T } | { ok: false; problem: string };

const booleanWords = new Map<string, boolean>([
  ['true', true],
  ['false', false],
]);

export function coerceBoolean(raw: unknown): Coerced<boolean | undefined> {
  if (raw === undefined || raw === null || raw === '') return { ok: true, value: undefined };
  if (typeof raw === 'boolean') return { ok: true, value: raw };
  if (typeof raw === 'string') {
    const word = booleanWords.get(raw.trim().toLowerCase());
    if (word !== undefined) return { ok: true, value: word };
  }
  return { ok: false, problem: `${describeValue(raw)} is not true or false` };
}

const credentialSchema = z.object({
  identifier: z.string().optional().nullable(),
  password: z.string().optional().nullable(),
});

/** Type-9 values: the secret is the `password`; `identifier` is unused with `hiddenusername`. */
export function coerceSecret(raw: unknown): Coerced<string | undefined> {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  if (typeof raw === 'string') return { ok: true, value: emptyToUndefined(raw) };
  const credential = credentialSchema.safeParse(raw);
  if (credential.success) return { ok: true, value: emptyToUndefined(credential.data.password ?? '') };
  // Never describe the value: it may be the secret itself.
  return { ok: false, problem: 'is neither a string nor an {identifier, password} object' };
}

export function coerceText(raw: unknown): Coerced<string | undefined> {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  if (typeof raw === 'string') return { ok: true, value: emptyToUndefined(raw) };
  if (typeof raw === 'number' && Number.isFinite(raw)) return { ok: true, value: String(raw) };
  if (typeof raw === 'boolean') return { ok: true, value: String(raw) };
  return { ok: false, problem: `${describeValue(raw)} is not text` };
}

/** Whole numbers from strings or numbers; `abc`, `1.5`, `1e3` and blanks are refused. */
export function parseWholeNumber(text: string, min: number, max: number): Coerced<number> {
  if (!/^[+-]?\d+$/.test(text.trim())) return { ok: false, problem: `'${clip(text)}' is not a whole number` };
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    return { ok: false, problem: `${text.trim()} is out of range` };
  }
  return { ok: true, value };
}

function emptyToUndefined(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A short, safe rendering of a non-secret value for an error message. */
export function describeValue(raw: unknown): string {
  if (typeof raw === 'string') return `'${clip(raw)}'`;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  if (Array.isArray(raw)) return 'a list';
  return `a value of type ${raw === null ? 'null' : typeof raw}`;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine;
}

export function formatProblems(heading: string, problems: readonly InputProblem[]): string {
  if (problems.length === 1) {
    const [only] = problems as [InputProblem];
    return `${heading}: ${only.name} ${only.problem}. ${only.accepted}`;
  }
  return [`${heading}:`, ...problems.map((p) => `- ${p.name} ${p.problem}. ${p.accepted}`)].join('\n');
}
