import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { messageTraceDetailSchema, messageTraceRowSchema } from '../../src/graph/schema.js';
import { loadCsdl } from '../helpers/csdl.js';

const csdl = loadCsdl();

/** A valid value of an Edm type, for probing what a schema accepts. */
function sampleOf(type: string): unknown {
  switch (type) {
    case 'Edm.String':
      return 'text';
    case 'Edm.Int32':
      return 2048;
    case 'Edm.DateTimeOffset':
      return '2026-03-01T10:20:30.1234567Z';
    case 'graph.exchangeMessageTraceStatus':
      return 'delivered';
    default:
      throw new Error(`no sample for ${type}`);
  }
}

function baseRow(properties: { name: string; type: string }[]): Record<string, unknown> {
  return Object.fromEntries([['id', 'a-trace-id'], ...properties.map((p) => [p.name, sampleOf(p.type)])]);
}

function checkAgainst(entity: string, schema: z.ZodType) {
  const props = csdl.entities.get(entity);
  if (!props) throw new Error(`${entity} missing from the CSDL excerpt`);
  const row = baseRow(props);

  it(`accepts a complete ${entity}`, () => {
    expect(schema.safeParse(row).success).toBe(true);
  });

  it.each(props.map((p) => [p.name, p] as const))(`${entity}.%s: type and nullability follow the CSDL`, (_name, prop) => {
    const withNull = schema.safeParse({ ...row, [prop.name]: null });
    // Non-nullable properties must be refused as null: a null there means the response is not what Graph documents.
    expect(withNull.success, `null for ${prop.name}`).toBe(prop.nullable);
    if (prop.type === 'Edm.Int32') expect(schema.safeParse({ ...row, [prop.name]: 1.5 }).success).toBe(false);
    if (prop.type === 'Edm.DateTimeOffset') {
      expect(schema.safeParse({ ...row, [prop.name]: 'yesterday' }).success).toBe(false);
      expect(schema.safeParse({ ...row, [prop.name]: '2026-03-01T10:20:30Z' }).success).toBe(true);
    }
  });

  it(`keeps fields ${entity} may gain later`, () => {
    const parsed = schema.parse({ ...row, futureField: 'x' }) as Record<string, unknown>;
    expect(parsed.futureField).toBe('x');
  });
}

describe('Graph client schemas agree with Microsoft CSDL', () => {
  checkAgainst('exchangeMessageTrace', messageTraceRowSchema);
  checkAgainst('exchangeMessageTraceDetail', messageTraceDetailSchema);

  it('accepts every status member, and tolerates members added later', () => {
    const members = csdl.enums.get('exchangeMessageTraceStatus') ?? [];
    expect(members).toContain('delivered');
    const row = baseRow(csdl.entities.get('exchangeMessageTrace') ?? []);
    for (const status of [...members, 'recalled']) {
      expect(messageTraceRowSchema.safeParse({ ...row, status }).success, status).toBe(true);
    }
  });

  it('requires the key', () => {
    const row = baseRow(csdl.entities.get('exchangeMessageTrace') ?? []);
    delete row.id;
    expect(messageTraceRowSchema.safeParse(row).success).toBe(false);
  });
});
