import { describe, expect, it } from 'vitest';
import { ARG_RULES } from '../../src/input/args.js';
import { PARAM_RULES } from '../../src/input/params.js';
import { COMMAND_NAMES } from '../../src/main.js';
import { PLATFORM_COMMANDS, ParamType, allCommands, loadManifest } from '../../src/manifest.js';

const manifest = loadManifest();

describe('integration.yml and the code agree', () => {
  it('declares exactly the parameters the code reads', () => {
    const inYaml = manifest.configuration.map((p) => p.name).sort();
    expect(inYaml).toEqual(Object.keys(PARAM_RULES).sort());
  });

  it('describes exactly the commands the code routes: a command added to one and not the other fails here', () => {
    const described = allCommands(manifest).map((c) => c.name);
    expect(new Set(described).size, 'no command described twice').toBe(described.length);
    expect([...COMMAND_NAMES].sort()).toEqual([...described].sort());
    // The platform commands are the engine's own: integration.yml must not list them under script.commands.
    for (const { name } of PLATFORM_COMMANDS) expect(manifest.script.commands.map((c) => c.name)).not.toContain(name);
  });

  it('declares exactly the arguments the code reads, command by command', () => {
    for (const command of allCommands(manifest)) {
      const rules = Object.hasOwn(ARG_RULES, command.name) ? ARG_RULES[command.name] : {};
      expect(command.arguments.map((a) => a.name).sort(), command.name).toEqual(Object.keys(rules ?? {}).sort());
    }
    // Rules only for commands that exist, and only for commands with arguments (an empty entry says nothing).
    for (const [name, rules] of Object.entries(ARG_RULES)) {
      expect(COMMAND_NAMES, `ARG_RULES names ${name}`).toContain(name);
      expect(Object.keys(rules).length, `ARG_RULES entry for ${name}`).toBeGreaterThan(0);
    }
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
