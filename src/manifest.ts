/**
 * Loads integration.yml, the one description of parameters, commands, arguments and outputs. The parsers
 * in params.ts and args.ts take names, types, defaults and predefined values from here, so the YAML a
 * person reads in the engine and the rules the code applies cannot drift apart.
 */
import * as z from 'zod';
import { readManifestData } from './manifest-data.js';

export { MANIFEST_PATH } from './manifest-data.js';

const parameterSchema = z.looseObject({
  name: z.string().min(1),
  type: z.number().int(),
  display: z.string().optional(),
  displaypassword: z.string().optional(),
  defaultvalue: z.union([z.string(), z.number(), z.boolean()]).optional(),
  required: z.boolean().optional(),
  section: z.enum(['Connect', 'Collect', 'Optimize']).optional(),
  advanced: z.boolean().optional(),
  hiddenusername: z.boolean().optional(),
  additionalinfo: z.string().optional(),
  options: z.array(z.string()).optional(),
});

const argumentSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().min(1),
  required: z.boolean().optional(),
  defaultValue: z.string().optional(),
  auto: z.literal('PREDEFINED').optional(),
  predefined: z.array(z.string()).optional(),
  isArray: z.boolean().optional(),
});

const outputSchema = z.looseObject({
  contextPath: z.string().min(1),
  description: z.string().min(1),
  type: z.string().optional(),
});

const commandSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().min(1),
  arguments: z.array(argumentSchema).default([]),
  outputs: z.array(outputSchema).default([]),
});

const manifestSchema = z.looseObject({
  commonfields: z.looseObject({ id: z.string(), version: z.number() }),
  name: z.string(),
  display: z.string(),
  category: z.string(),
  description: z.string(),
  configuration: z.array(parameterSchema),
  script: z.looseObject({
    isfetchevents: z.boolean().optional(),
    commands: z.array(commandSchema),
  }),
});

export type ManifestParameter = z.infer<typeof parameterSchema>;
export type ManifestArgument = z.infer<typeof argumentSchema>;
export type ManifestCommand = z.infer<typeof commandSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** Parameter type codes of the XSOAR/XSIAM integration schema that this integration uses. */
export const ParamType = {
  shortText: 0,
  number: 1,
  checkbox: 8,
  credentials: 9,
  longText: 12,
  encryptedLongText: 14,
  interval: 19,
} as const;

/**
 * The two commands every event collector has without listing them under `script.commands` (the engine
 * adds them for `isfetchevents`), described here in the same shape, so help and the README describe every
 * command from one list (`allCommands`).
 */
export const PLATFORM_COMMANDS: readonly ManifestCommand[] = [
  {
    name: 'test-module',
    description:
      'Checks the parameters, signs in and makes the cheapest Graph call (one minute, one row): the Test button of an XSIAM instance. With the authorization code flow it points to o365-message-trace-auth-test until tokens are cached.',
    arguments: [],
    outputs: [],
  },
  {
    name: 'fetch-events',
    description:
      'One fetch cycle: reads the rows since the saved position (re-reading the look-back for late rows and status changes), hands new events to the engine, and only then moves the position. Events carry every Graph field plus _time and direction. When a backlog is left the result asks the engine to run again at once (nextTrigger "0"). The standalone collector (o365-message-trace run) repeats it every eventFetchInterval minutes.',
    arguments: [],
    outputs: [],
  },
];

/** Every command of the integration: the platform ones, then those integration.yml lists. */
export function allCommands(manifest: Manifest): ManifestCommand[] {
  return [...PLATFORM_COMMANDS, ...manifest.script.commands];
}

/** Checks integration.yml's data against the integration schema (and fills in defaults). */
/** The parameters whose values are secrets (credentials, encrypted text): never printed, and readable from files. */
export function secretParamIds(manifest: Manifest): string[] {
  const secretTypes: number[] = [ParamType.credentials, ParamType.encryptedLongText];
  return manifest.configuration.filter((spec) => secretTypes.includes(spec.type)).map((spec) => spec.name);
}

export function checkManifest(data: unknown): Manifest {
  const result = manifestSchema.safeParse(data);
  if (!result.success) {
    throw new Error(`integration.yml does not match the integration schema:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

let cached: Manifest | undefined;

export function loadManifest(): Manifest {
  cached ??= checkManifest(readManifestData());
  return cached;
}

export function findCommand(manifest: Manifest, name: string): ManifestCommand | undefined {
  return manifest.script.commands.find((command) => command.name === name);
}
