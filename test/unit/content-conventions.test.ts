/**
 * The demisto-sdk content rules that apply to an XSIAM event collector, checked against integration.yml.
 * Rule codes are demisto-sdk validator codes (https://github.com/demisto/demisto-sdk, under
 * demisto_sdk/commands/validate/validators/); each rule below names its code and says what it checks.
 *
 * Each rule is a function from the YAML document to its violations, and carries a minimal way to break it:
 * the real YAML must have no violation, and a copy broken that way must have one, so a rule that can never
 * fire is caught too.
 *
 * Where this integration deliberately differs from content, the difference is listed in EXCEPTIONS with its
 * reason, and a test checks that the exception still describes the YAML: when the YAML changes so that an
 * exception no longer applies, the test fails and the exception has to go.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { MANIFEST_PATH, ParamType, checkManifest } from '../../src/manifest.js';

type Doc = Record<string, unknown>;
type Item = Record<string, unknown>;

const YAML_TEXT = readFileSync(MANIFEST_PATH, 'utf8');
const realDoc = (): Doc => parseYaml(YAML_TEXT) as Doc;

/** demisto/content Config/approved_categories.json (IN104). */
const APPROVED_CATEGORIES = [
  'Analytics & SIEM',
  'Case Management',
  'Cloud Services',
  'Cloud Security',
  'Data Enrichment & Threat Intelligence',
  'Database',
  'Deception & Breach Simulation',
  'Endpoint',
  'Forensics & Malware Analysis',
  'IT Services',
  'Identity and Access Management',
  'Messaging and Conferencing',
  'Network Security',
  'Utilities',
  'Vulnerability Management',
  'Authentication & Identity Management',
  'Email',
  'Cloud Service Provider',
  'Code Repositories',
  'CI/CD',
];

/** demisto-sdk COMMON_PARAMS_DISPLAY_NAME (IN100). */
const COMMON_PARAM_DISPLAY: Record<string, string> = {
  insecure: 'Trust any certificate (not secure)',
  unsecure: 'Trust any certificate (not secure)',
  proxy: 'Use system proxy settings',
};

const COMMAND_PREFIX = 'o365-message-trace-';
const OUTPUT_TYPES = ['Unknown', 'String', 'Number', 'Date', 'Boolean'];
const DESCRIPTION_FILE = fileURLToPath(new URL('../../O365_Message_Trace_description.md', import.meta.url));

// ---- reading the document defensively (broken copies need not match the manifest schema) ----

const values = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const list = (value: unknown): Item[] => values(value).filter((v): v is Item => typeof v === 'object' && v !== null);
const script = (doc: Doc): Item => (doc.script ?? {}) as Item;
const paramsOf = (doc: Doc): Item[] => list(doc.configuration);
const commandsOf = (doc: Doc): Item[] => list(script(doc).commands);
const argsOf = (command: Item): Item[] => list(command.arguments);
const outputsOf = (command: Item): Item[] => list(command.outputs);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
/** The labels a person reads: `display`, or `displaypassword` for type 9 with a hidden username. */
const labelsOf = (param: Item): string[] => [param.display, param.displaypassword].filter((l): l is string => typeof l === 'string');
const duplicates = (names: readonly unknown[]): string[] =>
  names.filter((name, index) => names.indexOf(name) !== index).map(String);
const param = (doc: Doc, name: string): Item => {
  const found = paramsOf(doc).find((p) => p.name === name);
  if (!found) throw new Error(`fixture: no param ${name}`);
  return found;
};
const command = (doc: Doc, name: string): Item => {
  const found = commandsOf(doc).find((c) => c.name === name);
  if (!found) throw new Error(`fixture: no command ${name}`);
  return found;
};
const GET_EVENTS = `${COMMAND_PREFIX}get-events`;

interface Rule {
  code: string;
  title: string;
  /** Violations, each naming where; empty when the document follows the rule. */
  check(doc: Doc): string[];
  /** A minimal edit of a copy of the real document that breaks the rule. */
  breakIt(doc: Doc): void;
}

const RULES: Rule[] = [
  {
    code: 'BA100',
    title: 'commonfields.version is -1',
    check: (doc) => ((doc.commonfields as Item | undefined)?.version === -1 ? [] : ['commonfields.version']),
    breakIt: (doc) => {
      (doc.commonfields as Item).version = 1;
    },
  },
  {
    code: 'BA101',
    title: 'commonfields.id equals name',
    check: (doc) => ((doc.commonfields as Item | undefined)?.id === doc.name ? [] : ['commonfields.id']),
    breakIt: (doc) => {
      (doc.commonfields as Item).id = 'Something Else';
    },
  },
  {
    code: 'IN104',
    title: 'category is an approved category',
    check: (doc) => (APPROVED_CATEGORIES.includes(text(doc.category)) ? [] : [`category ${String(doc.category)}`]),
    breakIt: (doc) => {
      doc.category = 'SIEM';
    },
  },
  {
    code: 'IN161',
    title: 'an integration with isfetchevents lists marketplacev2',
    check: (doc) =>
      script(doc).isfetchevents === true && !values(doc.marketplaces).includes('marketplacev2') ? ['marketplaces'] : [],
    breakIt: (doc) => {
      doc.marketplaces = ['xsoar'];
    },
  },
  {
    code: 'collectors.md',
    title: 'an event collector sets isfetchevents and needs fromversion 6.8.0 or later',
    check: (doc) => {
      const [major = 0, minor = 0] = text(doc.fromversion).split('.').map(Number);
      const problems: string[] = [];
      if (script(doc).isfetchevents !== true) problems.push('script.isfetchevents');
      if (major * 1000 + minor < 6008) problems.push(`fromversion ${String(doc.fromversion)}`);
      return problems;
    },
    breakIt: (doc) => {
      doc.fromversion = '6.5.0';
    },
  },
  {
    code: 'IN130',
    title: 'there are commands to run, and the implicit test-module / fetch-events are not listed',
    check: (doc) => {
      const names = commandsOf(doc).map((c) => c.name);
      const problems = names.filter((n) => n === 'test-module' || n === 'fetch-events').map(String);
      return names.length === 0 ? ['script.commands is empty', ...problems] : problems;
    },
    breakIt: (doc) => {
      (script(doc).commands as Item[]).push({ name: 'test-module', description: 'Test.', arguments: [], outputs: [] });
    },
  },
  {
    code: 'yaml-file.md',
    title: 'description is one short line (the long text lives in the description file)',
    check: (doc) => (text(doc.description).trim() !== '' && !text(doc.description).includes('\n') ? [] : ['description']),
    breakIt: (doc) => {
      doc.description = 'Two\nlines';
    },
  },
  {
    code: 'IN114',
    title: 'no parameter is declared twice',
    check: (doc) => duplicates(paramsOf(doc).map((p) => p.name)),
    breakIt: (doc) => {
      (doc.configuration as Item[]).push({ ...param(doc, 'tenant_id') });
    },
  },
  {
    code: 'IN100',
    title: 'insecure / proxy exist with the exact display, type 8, not required, default false',
    check: (doc) => {
      const problems: string[] = [];
      for (const name of ['proxy', 'insecure']) {
        if (!paramsOf(doc).some((p) => p.name === name)) problems.push(`${name} is missing`);
      }
      for (const p of paramsOf(doc).filter((p) => typeof p.name === 'string' && p.name in COMMON_PARAM_DISPLAY)) {
        const name = String(p.name);
        if (p.display !== COMMON_PARAM_DISPLAY[name]) problems.push(`${name} display`);
        if (p.type !== ParamType.checkbox) problems.push(`${name} type`);
        if (p.required === true) problems.push(`${name} required`);
        if (![undefined, false, 'false'].includes(p.defaultvalue as string | undefined)) problems.push(`${name} defaultvalue`);
      }
      return problems;
    },
    breakIt: (doc) => {
      param(doc, 'proxy').display = 'Use proxy';
    },
  },
  {
    code: 'IN102',
    title: 'checkboxes are never required',
    check: (doc) =>
      paramsOf(doc)
        .filter((p) => p.type === ParamType.checkbox && p.required === true)
        .map((p) => String(p.name)),
    breakIt: (doc) => {
      param(doc, 'use_managed_identities').required = true;
    },
  },
  {
    code: 'IN152',
    title: "checkbox defaults are the lowercase strings 'true' or 'false'",
    check: (doc) =>
      paramsOf(doc)
        .filter((p) => p.type === ParamType.checkbox && p.defaultvalue !== undefined && !['true', 'false'].includes(p.defaultvalue as string))
        .map((p) => String(p.name)),
    breakIt: (doc) => {
      param(doc, 'use_managed_identities').defaultvalue = 'False';
    },
  },
  {
    code: 'IN145',
    title: 'no type 4 (encrypted text): secrets are type 9 with a hidden username and a displaypassword, or type 14',
    check: (doc) => [
      ...paramsOf(doc)
        .filter((p) => p.type === 4)
        .map((p) => `${String(p.name)} is type 4`),
      ...paramsOf(doc)
        .filter((p) => p.type === ParamType.credentials && (p.hiddenusername !== true || text(p.displaypassword) === ''))
        .map((p) => `${String(p.name)} type 9 without hiddenusername/displaypassword`),
    ],
    breakIt: (doc) => {
      param(doc, 'client_secret').type = 4;
    },
  },
  {
    code: 'IN118/IN135',
    title: 'every parameter has a label that starts with a capital letter (or digit) and has no underscore',
    check: (doc) =>
      paramsOf(doc).flatMap((p) => {
        const labels = labelsOf(p);
        if (labels.length === 0) return [`${String(p.name)} has no display`];
        return labels.filter((l) => !/^[A-Z0-9]/.test(l) || l.includes('_')).map((l) => `${String(p.name)}: '${l}'`);
      }),
    breakIt: (doc) => {
      param(doc, 'tenant_id').display = 'tenant_id';
    },
  },
  {
    code: 'IN153',
    title: 'no default value starts with http:',
    check: (doc) =>
      paramsOf(doc)
        .filter((p) => text(p.defaultvalue).startsWith('http:'))
        .map((p) => String(p.name)),
    breakIt: (doc) => {
      param(doc, 'url').defaultvalue = 'http://graph.microsoft.com';
    },
  },
  {
    code: 'yaml-file.md sections',
    title: 'every parameter sits in a section listed in sectionorder',
    check: (doc) => {
      const order = values(doc.sectionorder ?? doc.sectionOrder);
      return paramsOf(doc)
        .filter((p) => !order.includes(p.section))
        .map((p) => `${String(p.name)} section ${String(p.section)}`);
    },
    breakIt: (doc) => {
      delete param(doc, 'max_fetch').section;
    },
  },
  {
    code: 'collectors.md params',
    title: 'the scheduling params use the platform names and types (eventFetchInterval 19, isFetchEvents 8)',
    check: (doc) => {
      const problems: string[] = [];
      const interval = paramsOf(doc).find((p) => p.name === 'eventFetchInterval');
      if (interval?.type !== ParamType.interval) problems.push('eventFetchInterval');
      const fetchEvents = paramsOf(doc).find((p) => p.name === 'isFetchEvents');
      if (fetchEvents && fetchEvents.type !== ParamType.checkbox) problems.push('isFetchEvents');
      return problems;
    },
    breakIt: (doc) => {
      param(doc, 'eventFetchInterval').type = 0;
    },
  },
  {
    code: 'parameter-types.md',
    title: 'dropdowns (15/16) carry options, and only dropdowns do',
    check: (doc) =>
      paramsOf(doc)
        .filter((p) => (p.type === 15 || p.type === 16) !== values(p.options).length > 0)
        .map((p) => String(p.name)),
    breakIt: (doc) => {
      param(doc, 'first_fetch').options = ['1 minute'];
    },
  },
  {
    code: 'BA128/yaml-file.md',
    title: 'commands are lowercase-hyphenated, start with o365-message-trace-, are unique and described',
    check: (doc) => [
      ...commandsOf(doc)
        .filter((c) => !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(text(c.name)) || !text(c.name).startsWith(COMMAND_PREFIX) || text(c.description).trim() === '')
        .map((c) => String(c.name)),
      ...duplicates(commandsOf(doc).map((c) => c.name)),
    ],
    breakIt: (doc) => {
      command(doc, GET_EVENTS).name = 'o365_get_events';
    },
  },
  {
    code: 'IN113',
    title: 'no command declares an argument twice',
    check: (doc) => commandsOf(doc).flatMap((c) => duplicates(argsOf(c).map((a) => a.name)).map((a) => `${String(c.name)} ${a}`)),
    breakIt: (doc) => {
      const getEvents = command(doc, GET_EVENTS);
      (getEvents.arguments as Item[]).push({ ...argsOf(getEvents)[0] });
    },
  },
  {
    code: 'IN134',
    title: 'at most one default (positional) argument per command',
    check: (doc) => commandsOf(doc).filter((c) => argsOf(c).filter((a) => a.default === true).length > 1).map((c) => String(c.name)),
    breakIt: (doc) => {
      for (const arg of argsOf(command(doc, GET_EVENTS)).slice(0, 2)) arg.default = true;
    },
  },
  {
    code: 'code-conventions.md',
    title: 'arguments are snake_case and described',
    check: (doc) =>
      commandsOf(doc).flatMap((c) =>
        argsOf(c)
          .filter((a) => !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(text(a.name)) || text(a.description).trim() === '')
          .map((a) => `${String(c.name)} ${String(a.name)}`),
      ),
    breakIt: (doc) => {
      const first = argsOf(command(doc, GET_EVENTS))[0];
      if (first) first.name = 'startTime';
    },
  },
  {
    code: 'yaml-file.md predefined',
    title: "predefined arguments use auto: PREDEFINED, default to one of their options, and booleans offer 'true'/'false'",
    check: (doc) =>
      commandsOf(doc).flatMap((c) =>
        argsOf(c)
          .filter((a) => {
            const options = values(a.predefined);
            if ((a.auto === 'PREDEFINED') !== options.length > 0) return true;
            if (options.length > 0 && a.defaultValue !== undefined && !options.includes(a.defaultValue)) return true;
            const booleanLike = options.some((o) => /^(true|false)$/i.test(String(o)));
            return booleanLike && JSON.stringify(options) !== JSON.stringify(['true', 'false']);
          })
          .map((a) => `${String(c.name)} ${String(a.name)}`),
      ),
    breakIt: (doc) => {
      const push = argsOf(command(doc, GET_EVENTS)).find((a) => a.name === 'should_push_events');
      if (push) push.predefined = ['True', 'False'];
    },
  },
  {
    code: 'IN115/IN149',
    title: 'outputs sit under O365MessageTrace.*, are unique, described and typed',
    check: (doc) =>
      commandsOf(doc).flatMap((c) => [
        ...outputsOf(c)
          .filter(
            (o) =>
              !/^O365MessageTrace(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(text(o.contextPath)) ||
              text(o.description).trim() === '' ||
              !OUTPUT_TYPES.includes(text(o.type)),
          )
          .map((o) => `${String(c.name)} ${String(o.contextPath)}`),
        ...duplicates(outputsOf(c).map((o) => o.contextPath)),
      ]),
    breakIt: (doc) => {
      const first = outputsOf(command(doc, GET_EVENTS))[0];
      if (first) first.contextPath = 'MessageTrace.Event.id';
    },
  },
];

interface ConventionException {
  rule: string;
  /** Why we differ; part of the test name, so the reason travels with every test report. */
  reason: string;
  /** True while the YAML still differs from the convention in exactly the way described. */
  stillApplies(doc: Doc): boolean;
}

/** Deliberate, reviewed differences from content conventions. Nothing else is skipped. */
const EXCEPTIONS: ConventionException[] = [
  {
    rule: 'script.type python with subtype and dockerimage (content-docs: new content is Python)',
    reason:
      'this integration is a Node 20 TypeScript module with npm dependencies; `type: javascript` plus our own ' +
      '`runtime: node20` key (not in the demisto-sdk schema) tell an engine how to load it, and there is no docker image',
    stillApplies: (doc) =>
      script(doc).type === 'javascript' && script(doc).runtime === 'node20' && script(doc).dockerimage === undefined,
  },
  {
    rule: 'IN150 / collectors.md: an event collector id, name and display end with "Event Collector"',
    reason: 'issue 8 and the published product page fix id = name = display = "O365 Message Trace" (BA101 still holds)',
    stillApplies: (doc) =>
      (doc.commonfields as Item).id === 'O365 Message Trace' &&
      doc.name === 'O365 Message Trace' &&
      !text(doc.display).endsWith('Event Collector'),
  },
  {
    rule: 'IN151: every command has at least one argument',
    reason:
      'the three auth commands take no input, as in the published integration and every MicrosoftApiModule ' +
      'integration (IN151 is not in the default demisto-sdk validation set)',
    stillApplies: (doc) => {
      const withoutArgs = commandsOf(doc).filter((c) => argsOf(c).length === 0).map((c) => String(c.name));
      const authCommands = ['generate-login-url', 'auth-test', 'auth-reset'].map((s) => `${COMMAND_PREFIX}${s}`);
      return withoutArgs.length > 0 && withoutArgs.every((name) => authCommands.includes(name));
    },
  },
  {
    rule: 'BA130 (newer demisto-sdk): list `platform` alongside `marketplacev2`',
    reason: 'the issue targets Cortex XSIAM (marketplacev2) only; IN161 holds',
    stillApplies: (doc) => {
      const marketplaces = values(doc.marketplaces);
      return marketplaces.includes('marketplacev2') && !marketplaces.includes('platform');
    },
  },
];

describe('integration.yml follows the demisto-sdk rules for event collectors', () => {
  it('parses with the manifest schema the code uses', () => {
    expect(() => checkManifest(parseYaml(YAML_TEXT))).not.toThrow();
  });

  it.each(RULES.map((rule) => [rule.code, rule.title, rule] as const))('%s: %s', (_code, _title, rule) => {
    expect(rule.check(realDoc())).toEqual([]);
    // The rule can fire: a copy broken on purpose violates it.
    const broken = realDoc();
    rule.breakIt(broken);
    expect(rule.check(broken).length, `${rule.code} detects the broken copy`).toBeGreaterThan(0);
  });

  it('DS104: the description file for the configuration dialog exists and covers the setup', () => {
    expect(existsSync(DESCRIPTION_FILE), DESCRIPTION_FILE).toBe(true);
    const description = readFileSync(DESCRIPTION_FILE, 'utf8');
    for (const needle of [
      'ExchangeMessageTrace.Read.All',
      'admin consent',
      '8bd644d1-64a1-4d4b-ae52-2e0cbf64e373',
      'POST https://graph.microsoft.com/v1.0/servicePrincipals',
      '{"appId": "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373"}',
      'New-MgServicePrincipal',
      '24 hours',
      '401',
      'o365-message-trace-generate-login-url',
      'o365-message-trace-auth-test',
    ]) {
      expect(description, `mentions ${needle}`).toContain(needle);
    }
    // Each credential parameter is named by the label the dialog shows, so a reader can find it.
    const doc = realDoc();
    for (const name of ['tenant_id', 'client_id', 'client_secret', 'certificate_thumbprint', 'private_key', 'redirect_uri', 'auth_code', 'use_managed_identities', 'managed_identities_client_id']) {
      const label = labelsOf(param(doc, name))[0];
      expect(label, `${name} has a label`).toBeDefined();
      expect(description, `names ${name} by its label`).toContain(`**${label}**`);
    }
  });

  it.each(EXCEPTIONS.map((e) => [e.rule, e.reason, e] as const))(
    'deliberately differs from %s, because %s',
    (_rule, _reason, exception) => {
      expect(exception.stillApplies(realDoc()), 'the exception no longer describes the YAML: remove it').toBe(true);
    },
  );
});
