/**
 * The README's parameter table and command sections, rendered from integration.yml, so the documentation
 * a person reads and the parameters and arguments the code accepts come from one source.
 */
import type { Manifest, ManifestCommand, ManifestParameter } from '../../src/manifest.js';
import { ParamType, allCommands } from '../../src/manifest.js';

/** Text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` markers in README.md. */
export type GeneratedSections = Record<string, string>;

/** A captured run of a command, shown under the command's section. */
export interface CommandExample {
  /** The command as typed in an XSIAM War Room, e.g. `!o365-message-trace-get-events limit=3`. */
  warRoom: string;
  /** The same through the CLI. */
  cli: string;
  /** The markdown the command returned. */
  output: string;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
}

const SECRET_TYPES: number[] = [ParamType.credentials, ParamType.encryptedLongText];

function displayName(spec: ManifestParameter): string {
  const name = spec.display ?? spec.displaypassword ?? spec.name;
  return spec.advanced ? `${name} (advanced)` : name;
}

export function renderParameterTable(manifest: Manifest): string {
  const rows = manifest.configuration.map((spec) => {
    const secret = SECRET_TYPES.includes(spec.type) ? ' **Secret.**' : '';
    const fallback = spec.type === ParamType.checkbox ? 'Checked: true; unchecked: false.' : '';
    const help = cell(spec.additionalinfo ?? fallback);
    const dflt = spec.defaultvalue === undefined ? '' : `\`${String(spec.defaultvalue)}\``;
    return `| \`${spec.name}\` | ${cell(displayName(spec))} | ${dflt} | ${help}${secret} |`;
  });
  return ['| id | Display name | Default | What it is for |', '|---|---|---|---|', ...rows].join('\n');
}

function renderArguments(command: ManifestCommand): string {
  if (command.arguments.length === 0) return 'Arguments: none.';
  const rows = command.arguments.map((arg) => {
    const choices = arg.predefined ? ` One of: ${arg.predefined.map((p) => `\`${p}\``).join(', ')}.` : '';
    const dflt = arg.defaultValue === undefined ? '' : `\`${arg.defaultValue}\``;
    return `| \`${arg.name}\` | ${cell(arg.description)}${choices} | ${arg.required ? 'yes' : 'no'} | ${dflt} |`;
  });
  return ['| Argument | Description | Required | Default |', '|---|---|---|---|', ...rows].join('\n');
}

function renderOutputs(command: ManifestCommand): string {
  if (command.outputs.length === 0) return 'Context outputs: none.';
  const rows = command.outputs.map((o) => `| \`${o.contextPath}\` | ${o.type ?? 'Unknown'} | ${cell(o.description)} |`);
  return ['| Context path | Type | Description |', '|---|---|---|', ...rows].join('\n');
}

function renderExample(example: CommandExample): string {
  return [
    'Example output (`npm run docs` captures it again, against the simulated tenant where the command needs one):',
    '',
    '```',
    example.warRoom,
    '```',
    '',
    '```sh',
    example.cli,
    '```',
    '',
    ...example.output.trimEnd().split('\n').map((line) => `> ${line}`),
  ].join('\n');
}

/** One `###` section a command: description, arguments, outputs, and a real example when there is one. */
export function renderCommands(manifest: Manifest, examples: Readonly<Record<string, CommandExample>>): string {
  return allCommands(manifest)
    .map((command) => {
      const parts = [`### ${command.name}`, '', command.description, '', renderArguments(command), '', renderOutputs(command)];
      const example = examples[command.name];
      if (example) parts.push('', renderExample(example));
      return parts.join('\n');
    })
    .join('\n\n');
}

/** Replaces each marked section of `readme`; a missing marker is an error, not a silent skip. */
export function applySections(readme: string, sections: GeneratedSections): string {
  let out = readme;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(\\n<!-- /generated:${name} -->)`);
    if (!pattern.test(out)) throw new Error(`README.md has no <!-- generated:${name} --> … <!-- /generated:${name} --> markers`);
    out = out.replace(pattern, (_all, open: string, close: string) => `${open}${body}${close}`);
  }
  return out;
}
