/**
 * Reads the --config file: a JSON object of param ids, e.g. {"tenant_id": "...", "max_fetch": "500"}.
 * Errors never quote the file's content: it may hold a client secret or a private key.
 */
import { readFile, stat } from 'node:fs/promises';
import { CliUsageError } from './args.js';

export interface ConfigFile {
  values: Record<string, unknown>;
  warnings: string[];
}

export async function readConfigFile(path: string, secretIds: ReadonlySet<string>): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (error as Error).message;
    throw new CliUsageError('usage', `Cannot read the config file ${path}: ${reason}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the mistake, which may be a secret: say only where to look.
    throw new CliUsageError(
      'usage',
      `The config file ${path} is not valid JSON. It must be one object of parameter ids, such as {"tenant_id": "...", "max_fetch": "500"}; check quotes and commas.`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliUsageError('usage', `The config file ${path} must hold one JSON object of parameter ids, such as {"max_fetch": "500"}.`);
  }
  const values = parsed as Record<string, unknown>;
  const warnings: string[] = [];
  const secrets = Object.keys(values).filter((id) => secretIds.has(id));
  if (secrets.length > 0 && process.platform !== 'win32') {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      warnings.push(`The config file ${path} holds ${secrets.join(', ')} and other users can read it. Run: chmod 600 ${path}`);
    }
  }
  return { values, warnings };
}
