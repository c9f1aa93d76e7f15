/**
 * The integration context is one JSON object that several owners share (the MSAL token cache, the Graph
 * request log). Each owner reads and writes only its own key, so one never overwrites another's data.
 */
import type { Engine, JsonObject, JsonValue } from './types.js';

export type ContextKey = 'msalCache' | 'tokenCache' | 'requestLog' | 'tenantDomains' | 'detailsQueue';

function asObject(value: unknown): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

export async function readContextKey(engine: Engine, key: ContextKey): Promise<unknown> {
  return asObject(await engine.getIntegrationContext())[key];
}

export async function writeContextKey(engine: Engine, key: ContextKey, value: JsonValue | undefined): Promise<void> {
  const context = { ...asObject(await engine.getIntegrationContext()) };
  if (value === undefined) delete context[key];
  else context[key] = value;
  await engine.setIntegrationContext(context);
}
