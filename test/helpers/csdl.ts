/**
 * Reads Microsoft's CSDL excerpt for the message trace types (test/fixtures, copied from
 * microsoftgraph/msgraph-metadata) into plain lists, so tests can hold our schemas and the simulator's
 * rows against the published schema rather than against our own reading of the docs.
 */
import { readFileSync } from 'node:fs';

export interface CsdlProperty {
  name: string;
  type: string;
  nullable: boolean;
}

export interface CsdlExcerpt {
  entities: Map<string, CsdlProperty[]>;
  enums: Map<string, string[]>;
  functions: Map<string, { parameters: CsdlProperty[]; returnType: string }>;
}

const CSDL_PATH = new URL('../fixtures/exchange-message-trace.csdl.xml', import.meta.url);

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of tag.matchAll(/(\w+)="([^"]*)"/g)) out[match[1] as string] = match[2] as string;
  return out;
}

function properties(body: string, element: 'Property' | 'Parameter'): CsdlProperty[] {
  return [...body.matchAll(new RegExp(`<${element}\\s[^>]*/>`, 'g'))].map((m) => {
    const a = attributes(m[0]);
    return { name: a.Name ?? '', type: a.Type ?? '', nullable: a.Nullable !== 'false' };
  });
}

export function loadCsdl(): CsdlExcerpt {
  const xml = readFileSync(CSDL_PATH, 'utf8');
  const entities = new Map<string, CsdlProperty[]>();
  for (const m of xml.matchAll(/<EntityType\s([^>]*)>([\s\S]*?)<\/EntityType>/g)) {
    entities.set(attributes(m[1] as string).Name ?? '', properties(m[2] as string, 'Property'));
  }
  const enums = new Map<string, string[]>();
  for (const m of xml.matchAll(/<EnumType\s([^>]*)>([\s\S]*?)<\/EnumType>/g)) {
    const members = [...(m[2] as string).matchAll(/<Member\s[^>]*Name="([^"]+)"/g)].map((x) => x[1] as string);
    enums.set(attributes(m[1] as string).Name ?? '', members);
  }
  const functions = new Map<string, { parameters: CsdlProperty[]; returnType: string }>();
  for (const m of xml.matchAll(/<Function\s([^>]*)>([\s\S]*?)<\/Function>/g)) {
    const returnType = /<ReturnType\s+Type="([^"]+)"/.exec(m[2] as string)?.[1] ?? '';
    functions.set(attributes(m[1] as string).Name ?? '', { parameters: properties(m[2] as string, 'Parameter'), returnType });
  }
  return { entities, enums, functions };
}
