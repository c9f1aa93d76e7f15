/** Runtime configuration patches: one schema shared by `configure()` and `POST /_simulator/config`. */
import { z } from 'zod';
import type { RuntimeConfig } from './context.js';
import { FAULT_KINDS, type FaultKind } from './faults.js';
import { HOSTILE_KINDS } from './hostile.js';

const weight = z.number().min(0);

const probability = z.number().min(0).max(1);

export const configPatchSchema = z
  .object({
    throttle: z.union([
      z.literal('off'),
      z.object({ limit: z.number().int().min(1), windowSeconds: z.number().positive() }).strict(),
    ]),
    faults: z.partialRecord(z.enum(FAULT_KINDS), probability),
    grantedRoles: z.array(z.string()),
    servicePrincipalProvisioned: z.boolean(),
    secretExpired: z.boolean(),
    order: z.enum(['newest', 'oldest', 'random']),
    tokenTtlSeconds: z.number().int().min(1),
    timeoutHoldMs: z.number().int().min(0),
    slowBodyMs: z.number().int().min(0),
    /** Weights of the Retry-After forms; forms left out weigh 0. */
    retryAfter: z.object({ seconds: weight, httpDate: weight, none: weight }).partial().strict(),
    pascalCaseShare: probability,
    hostile: z
      .object({ graph: z.enum([...HOSTILE_KINDS, 'off']), token: z.enum(['oversize', 'deep-json', 'off']) })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

export type SimulatorConfigPatch = z.infer<typeof configPatchSchema>;

/** Applies a validated patch. `faults` replaces the whole fault table; other fields replace their value. */
export function applyConfigPatch(config: RuntimeConfig, patch: SimulatorConfigPatch): void {
  const parsed = configPatchSchema.parse(patch);
  if (parsed.throttle !== undefined) config.throttle = parsed.throttle;
  if (parsed.faults !== undefined) {
    const faults: Partial<Record<FaultKind, number>> = {};
    for (const [kind, p] of Object.entries(parsed.faults)) {
      if (typeof p === 'number') faults[kind as FaultKind] = p;
    }
    config.faults = faults;
  }
  if (parsed.grantedRoles !== undefined) config.grantedRoles = [...parsed.grantedRoles];
  if (parsed.servicePrincipalProvisioned !== undefined) config.servicePrincipalProvisioned = parsed.servicePrincipalProvisioned;
  if (parsed.secretExpired !== undefined) config.secretExpired = parsed.secretExpired;
  if (parsed.order !== undefined) config.order = parsed.order;
  if (parsed.tokenTtlSeconds !== undefined) config.tokenTtlSeconds = parsed.tokenTtlSeconds;
  if (parsed.timeoutHoldMs !== undefined) config.timeoutHoldMs = parsed.timeoutHoldMs;
  if (parsed.slowBodyMs !== undefined) config.slowBodyMs = parsed.slowBodyMs;
  if (parsed.retryAfter !== undefined) {
    const { seconds = 0, httpDate = 0, none = 0 } = parsed.retryAfter;
    config.retryAfter = { seconds, httpDate, none };
  }
  if (parsed.pascalCaseShare !== undefined) config.pascalCaseShare = parsed.pascalCaseShare;
  if (parsed.hostile !== undefined) config.hostile = { ...config.hostile, ...parsed.hostile };
}
