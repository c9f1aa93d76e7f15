/**
 * Property-based fuzzing of every parser that reads what a person, an engine or a server wrote: they never
 * throw anything but the integration's own error type (or return their documented error result), and what
 * they accept is within the documented bounds. (The $filter builder's round trip through the simulator's
 * reader is in graph-filter.test.ts; here only its failure modes.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCommandLine } from '../../src/cli/args.js';
import { collectParams } from '../../src/cli/params.js';
import { IntegrationError } from '../../src/errors.js';
import { parseState } from '../../src/fetch/state.js';
import { readGraphError, mapGraphError } from '../../src/graph/errors.js';
import { buildMessageTraceFilter } from '../../src/graph/filter.js';
import { parseGraphInstant } from '../../src/graph/instant.js';
import { checkNextLink } from '../../src/graph/pages.js';
import { parseRetryAfter } from '../../src/http/retry-after.js';
import { ARG_RULES, MAX_GET_EVENTS_LIMIT, parseArgs } from '../../src/input/args.js';
import { MAX_FETCH_LIMIT, parseParams } from '../../src/input/params.js';
import { COMMAND_NAMES } from '../../src/main.js';
import { loadManifest } from '../../src/manifest.js';
import { parseTimeExpression } from '../../src/time/expressions.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const RUNS = { numRuns: 300 };
const manifest = loadManifest();
const PARAM_IDS = manifest.configuration.map((spec) => spec.name);

/** Strings that look almost like what a parser wants: the interesting part of the input space. */
const nearTime = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc
    .tuple(
      fc.oneof(fc.nat({ max: 99_999_999 }).map(String), fc.constantFrom('', '-1', '1e3', '0x10', '٣', '1.5', '9'.repeat(40))),
      fc.constantFrom('', ' ', '  ', '\t'),
      fc.constantFrom('second', 'minutes', 'hour', 'days', 'week', 'months', 'years', 'm', 'h', 'd', 'w', 'fortnight', 'MIN', 'Days'),
      fc.constantFrom('', ' ago', ' AGO', ' ago ago', ' from now'),
    )
    .map(([n, s, u, a]) => `${n}${s}${u}${a}`),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
  fc
    .tuple(fc.integer({ min: -10_000, max: 300_000 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 40 }))
    .map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T25:61:61+99:00`),
  fc.constantFrom('now', 'NOW', ' now ', 'now-1', '', '   ', '\u0000', 'T', 'Z', '2024', '2024-01', '2024-02-30', '+275760-09-13T00:00:00.000Z'),
);

/** Values an engine or a config file might deliver for one parameter. */
const rawValue = fc.oneof(
  fc.string(),
  nearTime,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.record({ identifier: fc.option(fc.string()), password: fc.option(fc.string()) }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
  fc.constantFrom('https://graph.microsoft.com', 'http://x', 'https://a/b', 'true', 'false', 'maybe', '0', '-1', '1000001', 'AB'.repeat(20)),
);

function onlyIntegrationErrors(run: () => unknown, codes?: readonly string[]): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof IntegrationError)) throw new Error(`threw a ${(error as Error)?.name}: ${String(error)}`);
    if (codes) expect(codes).toContain(error.code);
    expect(error.message.length).toBeGreaterThan(0);
  }
}

describe('parseTimeExpression', () => {
  it('never throws; accepted times are finite and "ago" forms are never after now', () => {
    fc.assert(
      fc.property(nearTime, fc.integer({ min: -8.64e15, max: 8.64e15 }), (text, now) => {
        const result = parseTimeExpression(text, now);
        if (!result.ok) {
          expect(result.problem.length).toBeGreaterThan(0);
          return;
        }
        expect(Number.isFinite(result.epochMs)).toBe(true);
        if (/^\s*\d/.test(text) && !/^\s*\d{4}-/.test(text)) expect(result.epochMs).toBeLessThanOrEqual(now);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseParams', () => {
  it('throws only IntegrationError(invalid_param), and what it accepts is within the documented bounds', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...PARAM_IDS, 'unknown_param', '__proto__', 'constructor'), rawValue, { maxKeys: 8 }),
        (raw) => {
          let parsed: ReturnType<typeof parseParams> | undefined;
          onlyIntegrationErrors(() => {
            parsed = parseParams(raw, manifest);
          }, ['invalid_param']);
          if (parsed === undefined) return;
          expect(new URL(parsed.url).protocol).toBe('https:');
          expect(parsed.maxFetch).toBeGreaterThanOrEqual(1);
          expect(parsed.maxFetch).toBeLessThanOrEqual(MAX_FETCH_LIMIT);
          expect(parsed.lookbackMinutes).toBeGreaterThanOrEqual(0);
          expect(parsed.lookbackMinutes).toBeLessThanOrEqual(1440);
          expect(parseTimeExpression(parsed.firstFetch, Date.now()).ok).toBe(true);
          if (parsed.certificateThumbprint !== undefined) expect(parsed.certificateThumbprint).toMatch(/^[0-9A-F]{40}$|^[0-9A-F]{64}$/);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never quotes a secret back', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 12 }).filter((s) => s.trim().length >= 12 && !/^\s|\s$/.test(s)), (secret) => {
        try {
          parseParams({ client_secret: secret, private_key: secret, auth_code: secret, max_fetch: 'x' }, manifest);
        } catch (error) {
          expect((error as Error).message).not.toContain(secret);
        }
      }),
      RUNS,
    );
  });
});

describe('parseArgs', () => {
  const commands = [...COMMAND_NAMES, 'no-such-command'];
  const argNames = [...new Set(Object.values(ARG_RULES).flatMap((rules) => Object.keys(rules))), 'colour'];

  it('throws only IntegrationError(invalid_argument); an accepted limit is within 1..5000', () => {
    fc.assert(
      fc.property(fc.constantFrom(...commands), fc.dictionary(fc.constantFrom(...argNames), rawValue, { maxKeys: 6 }), (command, raw) => {
        let parsed: ReturnType<typeof parseArgs> | undefined;
        onlyIntegrationErrors(() => {
          parsed = parseArgs(command, raw, manifest);
        }, ['invalid_argument']);
        const limit = parsed?.limit;
        if (typeof limit === 'number') {
          expect(Number.isInteger(limit)).toBe(true);
          expect(limit).toBeGreaterThanOrEqual(1);
          expect(limit).toBeLessThanOrEqual(MAX_GET_EVENTS_LIMIT);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the command line', () => {
  const tokens = fc.oneof(
    fc.string(),
    fc.constantFrom(
      ...COMMAND_NAMES,
      'run',
      'help',
      '--help',
      '-h',
      '--param',
      '--arg',
      '--config',
      '--state-dir',
      '--json',
      '--json=1',
      '--sink',
      'stdout',
      'xsiam',
      '--xsiam-url',
      '--param=max_fetch=1',
      '--arg==x',
      '=',
      '-',
      '--',
    ),
  );

  it('parseCommandLine throws only CliUsageError', () => {
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 8 }), (argv) => {
        try {
          parseCommandLine(argv, COMMAND_NAMES);
        } catch (error) {
          if (!(error instanceof CliUsageError)) throw error;
          expect(error.message).not.toContain('\n');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('collectParams never throws and never puts a value into a warning', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string().map((s) => `O365MT_${s}`), fc.string({ minLength: 10 }), { maxKeys: 4 }),
        fc.array(fc.tuple(fc.constantFrom(...PARAM_IDS, 'x'), fc.string({ minLength: 10 })), { maxLength: 4 }),
        (env, flags) => {
          const { warnings } = collectParams({
            paramIds: PARAM_IDS,
            secretIds: new Set(['client_secret', 'private_key', 'auth_code']),
            fromFile: {},
            env,
            fromFlags: flags,
          });
          for (const [, value] of flags) for (const warning of warnings) expect(warning.includes(value) && value.length > 12 && !PARAM_IDS.some((id) => id.includes(value))).toBe(false);
        },
      ),
      RUNS,
    );
  });
});

describe('what servers send', () => {
  it('parseRetryAfter never throws; a wait is a finite number of ms ≥ 0', () => {
    const dates = fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toUTCString());
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.nat().map(String), dates, fc.constant(null)), (header) => {
        const wait = parseRetryAfter(header, NOW);
        if (wait !== undefined) {
          expect(Number.isFinite(wait)).toBe(true);
          expect(wait).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('checkNextLink throws only IntegrationError and only returns links on the Graph origin', () => {
    const origin = 'https://graph.microsoft.com';
    const link = fc.oneof(
      fc.string(),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.string().map((s) => `/v1.0/${s}`),
      fc.string().map((s) => `//evil.example/${s}`),
      fc.string().map((s) => `https://graph.microsoft.com@evil.example/${s}`),
      fc.string().map((s) => `https://user:pw@graph.microsoft.com/${s}`),
      fc.constantFrom('https://GRAPH.microsoft.com:443/v1.0/x', 'http://graph.microsoft.com/x', 'javascript:alert(1)', 'https://graph.microsoft.com.evil.example/'),
    );
    fc.assert(
      fc.property(link, (next) => {
        let accepted: string | undefined;
        onlyIntegrationErrors(() => {
          accepted = checkNextLink(next, `${origin}/v1.0/admin/exchange/tracing/messageTraces?$top=1`, origin, new Set());
        }, ['graph_invalid_response']);
        if (accepted !== undefined) {
          const url = new URL(accepted);
          expect(url.origin).toBe(origin);
          expect(url.username + url.password).toBe('');
        }
      }),
      RUNS,
    );
  });

  it('readGraphError and mapGraphError never throw, whatever the body', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), fc.integer({ min: 100, max: 599 }), (body, status) => {
        expect(() => readGraphError(body)).not.toThrow();
        expect(mapGraphError(status, body)).toBeInstanceOf(IntegrationError);
      }),
      RUNS,
    );
  });

  it('parseGraphInstant never throws', () => {
    fc.assert(
      fc.property(nearTime, (text) => {
        const instant = parseGraphInstant(text);
        if (instant !== undefined) expect(Number.isFinite(instant.epochMs)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('stored state', () => {
  it('parseState returns a state, undefined, or IntegrationError(state_invalid)', () => {
    const nearState = fc.record(
      {
        version: fc.oneof(fc.constantFrom(1, 2, 0, -1), fc.anything()),
        cursor: fc.oneof(fc.integer(), fc.string(), fc.double()),
        readUpTo: fc.oneof(fc.integer(), fc.string()),
        rowsPerMinute: fc.oneof(fc.double(), fc.constant(null)),
        seen: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearState, fc.anything()), (raw) => {
        onlyIntegrationErrors(() => parseState(raw), ['state_invalid']);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the $filter builder', () => {
  it('throws only RangeError (its documented contract) for bounds that are not finite or reversed', () => {
    fc.assert(
      fc.property(
        // Instants JavaScript dates can hold (±8.64e15 ms); beyond that no caller has a time to pass.
        fc.oneof(fc.double({ min: -8.6e15, max: 8.6e15 }), fc.integer({ min: -8.6e15, max: 8.6e15 })),
        fc.oneof(fc.double({ min: -8.6e15, max: 8.6e15 }), fc.integer({ min: -8.6e15, max: 8.6e15 })),
        fc.record({ senderAddress: fc.string(), subjectContains: fc.string({ unit: 'binary' }), status: fc.string() }, { requiredKeys: [] }),
        (startMs, endMs, filters) => {
          try {
            const { filter, bounds } = buildMessageTraceFilter({ startMs, endMs, filters });
            expect(bounds.effectiveStartMs).toBeLessThanOrEqual(bounds.effectiveEndMs);
            expect(filter.startsWith('receivedDateTime ge ')).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(RangeError);
            const finite = Number.isFinite(startMs) && Number.isFinite(endMs);
            if (finite) expect(Math.floor(endMs / 1000)).toBeLessThan(Math.floor(startMs / 1000));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
