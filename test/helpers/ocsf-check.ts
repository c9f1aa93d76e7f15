/**
 * Checks an event against the OCSF schema files (a copy of the ocsf/ocsf-schema repository in
 * shared/ocsf-schema): the class and every object are resolved the way the OCSF server compiles them
 * (`extends` chains, `$include`d profiles, attribute definitions from dictionary.json deep-merged with the
 * class's or object's own), then every attribute of the event must exist there, have the right type
 * (primitive types, their regex, arrays, nested objects checked the same way), every required attribute
 * must be present, enum ids must be defined, enum captions must match their `_id` sibling, deprecated
 * attributes are refused, and at_least_one constraints hold. Attributes a profile adds count as defined;
 * they are required only when the event names the profile in metadata.profiles.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

type Json = Record<string, unknown>;

interface AttributeSpec {
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, { caption?: string }>;
  sibling?: string;
  '@deprecated'?: unknown;
  /** Set when the attribute comes from an `$include`d profile. */
  profile?: string;
}

interface Definition {
  name: string;
  caption: string;
  attributes: Record<string, AttributeSpec>;
  /** A derived class or object replaces the constraints of its base, as the OCSF server compiles them. */
  constraints: { at_least_one?: string[] };
}

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/**
 * The schema folder: the copy kept in the repository (`test/fixtures/ocsf-schema`, OCSF 1.9.0-dev under its
 * Apache-2.0 licence, so a plain clone runs the check), else `shared/ocsf-schema` in `start` or a folder above
 * it. Absent, the check cannot run: that is an error, never a skip.
 */
export function findOcsfSchemaDir(start = REPO_ROOT): string {
  const kept = join(start, 'test', 'fixtures', 'ocsf-schema');
  if (existsSync(join(kept, 'dictionary.json'))) return kept;
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'ocsf-schema');
    if (existsSync(join(candidate, 'dictionary.json'))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `The OCSF schema files were not found: looked for test/fixtures/ocsf-schema in ${start} and shared/ocsf-schema/dictionary.json there and in every folder above it. Restore test/fixtures/ocsf-schema from git to run the OCSF check.`,
  );
}

function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf8')) as Json;
}

function isPlainObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Deep merge as the OCSF server does when compiling: later wins, objects (enums) merge key by key. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(base[key], value);
  return out;
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return entry.endsWith('.json') ? [path] : [];
  });
}

export class OcsfSchema {
  private readonly dictionary: Record<string, AttributeSpec>;
  private readonly types: Record<string, Json>;
  private readonly categories: Record<string, { uid: number; caption: string }>;
  private readonly eventFiles = new Map<string, Json>();
  private readonly objectFiles = new Map<string, Json>();
  private readonly resolved = new Map<string, Definition>();

  constructor(readonly dir: string = findOcsfSchemaDir()) {
    const dictionary = readJson(join(dir, 'dictionary.json'));
    this.dictionary = dictionary.attributes as Record<string, AttributeSpec>;
    this.types = (dictionary.types as { attributes: Record<string, Json> }).attributes;
    this.categories = (readJson(join(dir, 'categories.json')).attributes ?? {}) as Record<string, { uid: number; caption: string }>;
    for (const path of jsonFiles(join(dir, 'events'))) {
      const file = readJson(path);
      this.eventFiles.set(String(file.name), file);
    }
    for (const path of jsonFiles(join(dir, 'objects'))) {
      const file = readJson(path);
      this.objectFiles.set(String(file.name), file);
    }
  }

  get version(): string {
    return String(readJson(join(this.dir, 'version.json')).version);
  }

  private ownAttributes(file: Json): Record<string, AttributeSpec> {
    const own = { ...(file.attributes as Record<string, unknown>) };
    const includes = (own.$include ?? []) as string[];
    delete own.$include;
    let merged: Record<string, AttributeSpec> = {};
    for (const include of includes) {
      const profile = readJson(join(this.dir, include));
      for (const [name, spec] of Object.entries(profile.attributes as Record<string, AttributeSpec>)) {
        merged[name] = { ...spec, profile: String(profile.name) };
      }
    }
    merged = deepMerge(merged, own) as Record<string, AttributeSpec>;
    return merged;
  }

  private resolve(kind: 'event' | 'object', name: string): Definition {
    const key = `${kind}:${name}`;
    const cached = this.resolved.get(key);
    if (cached) return cached;
    const file = (kind === 'event' ? this.eventFiles : this.objectFiles).get(name);
    if (!file) throw new Error(`OCSF has no ${kind} named ${name}`);
    const base = typeof file.extends === 'string' ? this.resolve(kind, file.extends) : undefined;
    const attributes = deepMerge(base?.attributes ?? {}, this.ownAttributes(file)) as Record<string, AttributeSpec>;
    for (const [attribute, spec] of Object.entries(attributes)) {
      // The dictionary gives type and enum; the class or object may narrow or extend them.
      attributes[attribute] = deepMerge(this.dictionary[attribute] ?? {}, spec) as AttributeSpec;
    }
    const constraints = deepMerge(base?.constraints ?? {}, file.constraints ?? {}) as Definition['constraints'];
    const definition = { name, caption: String(file.caption ?? name), attributes, constraints };
    this.resolved.set(key, definition);
    return definition;
  }

  /** The class with this class_uid (category uid × 1000 + class uid). */
  classByUid(classUid: number): { definition: Definition; categoryUid: number } | undefined {
    for (const [name, file] of this.eventFiles) {
      const category = this.categories[String(file.category)];
      if (category && typeof file.uid === 'number' && category.uid * 1000 + file.uid === classUid) {
        const definition = this.resolve('event', name);
        // The base event's enums hold only 0; the server adds the class's own uid and category to them.
        const attributes = {
          ...definition.attributes,
          class_uid: { ...definition.attributes.class_uid, enum: { [classUid]: { caption: definition.caption } } },
          category_uid: { ...definition.attributes.category_uid, enum: { [category.uid]: { caption: category.caption } } },
        };
        return { definition: { ...definition, attributes }, categoryUid: category.uid };
      }
    }
    return undefined;
  }

  private typeChain(type: string): Json[] {
    const chain: Json[] = [];
    for (let current: string | undefined = type; current !== undefined && this.types[current]; ) {
      const spec = this.types[current] as Json;
      chain.push({ ...spec, name: current });
      current = typeof spec.type === 'string' ? spec.type : undefined;
    }
    return chain;
  }

  private checkScalar(path: string, type: string, value: unknown, problems: string[], profiles: readonly string[]): void {
    if (type === 'object') {
      if (!isPlainObject(value)) problems.push(`${path} must be an object`);
      return;
    }
    if (this.objectFiles.has(type)) {
      if (!isPlainObject(value)) {
        problems.push(`${path} must be a ${type} object; got ${JSON.stringify(value)}`);
        return;
      }
      this.checkObject(path, this.resolve('object', type), value, problems, profiles);
      return;
    }
    const chain = this.typeChain(type);
    if (chain.length === 0) {
      problems.push(`${path} has the type ${type}, which the schema does not define`);
      return;
    }
    const primitive = String(chain[chain.length - 1]?.name);
    const ok =
      primitive === 'string_t'
        ? typeof value === 'string'
        : primitive === 'integer_t' || primitive === 'long_t'
          ? Number.isSafeInteger(value)
          : primitive === 'float_t'
            ? typeof value === 'number'
            : primitive === 'boolean_t'
              ? typeof value === 'boolean'
              : primitive === 'json_t';
    if (!ok) {
      problems.push(`${path} must be ${type} (${primitive}); got ${JSON.stringify(value)}`);
      return;
    }
    for (const link of chain) {
      if (typeof link.regex === 'string' && typeof value === 'string' && !new RegExp(link.regex).test(value)) {
        problems.push(`${path} ${JSON.stringify(value)} does not match the ${String(link.name)} pattern`);
      }
    }
  }

  private checkObject(path: string, definition: Definition, value: Json, problems: string[], profiles: readonly string[]): void {
    const where = path === '' ? `class ${definition.name}` : `${path} (${definition.name})`;
    const at = (name: string) => (path === '' ? name : `${path}.${name}`);
    for (const [name, item] of Object.entries(value)) {
      const spec = definition.attributes[name];
      if (spec === undefined) {
        problems.push(`${at(name)} is not an attribute of ${where}`);
        continue;
      }
      if (spec['@deprecated'] !== undefined) problems.push(`${at(name)} is deprecated in ${where}`);
      if (spec.type === undefined) {
        problems.push(`${at(name)} has no type in the dictionary`);
        continue;
      }
      if (spec.is_array) {
        if (!Array.isArray(item)) problems.push(`${at(name)} must be an array of ${spec.type}`);
        else {
          for (const [index, element] of item.entries()) {
            this.checkScalar(`${at(name)}[${index}]`, spec.type, element, problems, profiles);
          }
        }
      } else if (Array.isArray(item)) {
        problems.push(`${at(name)} must be a single ${spec.type}, not an array`);
      } else {
        this.checkScalar(at(name), spec.type, item, problems, profiles);
      }
      if (spec.enum && !spec.is_array) {
        const caption = spec.enum[String(item)]?.caption;
        if (caption === undefined) problems.push(`${at(name)} ${JSON.stringify(item)} is not an enum value defined for ${where}`);
        const sibling = spec.sibling;
        if (caption !== undefined && sibling !== undefined && item !== 99 && sibling in value && value[sibling] !== caption) {
          problems.push(`${at(sibling)} ${JSON.stringify(value[sibling])} must be the caption of ${at(name)} ${String(item)}: ${JSON.stringify(caption)}`);
        }
      }
    }
    for (const [name, spec] of Object.entries(definition.attributes)) {
      const applies = spec.profile === undefined || profiles.includes(spec.profile);
      if (spec.requirement === 'required' && applies && !(name in value)) problems.push(`${at(name)} is required in ${where} but missing`);
    }
    const group = definition.constraints.at_least_one;
    if (group && !group.some((name) => name in value)) problems.push(`${where} needs at least one of ${group.join(', ')}`);
  }

  /** Every problem of one event; empty when the schema accepts it. */
  check(event: Json): string[] {
    const classUid = event.class_uid;
    if (typeof classUid !== 'number') return ['class_uid is missing or not a number'];
    const found = this.classByUid(classUid);
    if (!found) return [`class_uid ${classUid} is not a class of this schema`];
    const metadata = isPlainObject(event.metadata) ? event.metadata : {};
    const profiles = Array.isArray(metadata.profiles) ? metadata.profiles.map(String) : [];
    const problems: string[] = [];
    this.checkObject('', found.definition, event, problems, profiles);
    if (event.category_uid !== found.categoryUid) problems.push(`category_uid must be ${found.categoryUid} for class_uid ${classUid}`);
    if (typeof event.activity_id === 'number' && event.type_uid !== classUid * 100 + event.activity_id) {
      problems.push(`type_uid must be class_uid × 100 + activity_id = ${classUid * 100 + event.activity_id}`);
    }
    return problems;
  }
}
