import { describe, expect, it } from 'vitest';
import { ARG_RULES } from '../../src/input/args.js';
import { PARAM_RULES } from '../../src/input/params.js';
import { COMMAND_NAMES } from '../../src/main.js';
import { PLATFORM_COMMANDS, ParamType, loadManifest } from '../../src/manifest.js';

const manifest = loadManifest();

describe('integration.yml and the code agree', () => {
  it('declares exactly the parameters the code reads', () => {
    const inYaml = manifest.configuration.map((p) => p.name).sort();
    expect(inYaml).toEqual(Object.keys(PARAM_RULES).sort());
  });

  it('declares exactly the commands the code routes, besides the platform ones', () => {
    const inYaml = manifest.script.commands.map((c) => c.name).sort();
    const routed = COMMAND_NAMES.filter((name) => !(PLATFORM_COMMANDS as readonly string[]).includes(name)).sort();
    expect(inYaml).toEqual(routed);
    expect(COMMAND_NAMES).toEqual(expect.arrayContaining([...PLATFORM_COMMANDS]));
  });

  it('declares exactly the arguments the code reads, command by command', () => {
    for (const command of manifest.script.commands) {
      const rules = ARG_RULES[command.name];
      expect(rules, `ARG_RULES has ${command.name}`).toBeDefined();
      expect(command.arguments.map((a) => a.name).sort()).toEqual(Object.keys(rules ?? {}).sort());
    }
    expect(Object.keys(ARG_RULES).sort()).toEqual(manifest.script.commands.map((c) => c.name).sort());
  });

  it('keeps secrets in secret parameter types', () => {
    for (const [name, rule] of Object.entries(PARAM_RULES)) {
      const spec = manifest.configuration.find((p) => p.name === name);
      if (rule.secret) expect([ParamType.credentials, ParamType.encryptedLongText], name).toContain(spec?.type);
    }
  });

  it('gives a default to every parameter the code needs a value for', () => {
    for (const name of ['url', 'authority_url', 'max_fetch', 'first_fetch', 'lookback_minutes', 'eventFetchInterval']) {
      expect(manifest.configuration.find((p) => p.name === name)?.defaultvalue, name).toBeDefined();
    }
  });

  it('describes the event outputs with the id key and the fields the issue names', () => {
    const getEvents = manifest.script.commands.find((c) => c.name === 'o365-message-trace-get-events');
    const paths = getEvents?.outputs.map((o) => o.contextPath) ?? [];
    for (const field of ['id', 'messageId', 'receivedDateTime', 'senderAddress', 'recipientAddress', 'subject', 'status', 'size', 'fromIP', 'toIP', '_time']) {
      expect(paths).toContain(`O365MessageTrace.Event.${field}`);
    }
  });
});
