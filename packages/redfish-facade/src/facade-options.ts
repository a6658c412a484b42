// FacadeInit's optional parts, validated once with plain messages, defaults filled in, frozen.
import { DEFAULT_FACADE_TIMEOUTS, FACADE_TIMEOUT_BOUNDS, type FacadeTimeouts } from "./facade-limits.ts";

export class FacadeConfigError extends Error {
  readonly code = "FACADE_ERR_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "FacadeConfigError";
  }
}

export function resolveFacadeTimeouts(partial: Partial<FacadeTimeouts> | undefined): FacadeTimeouts {
  const timeouts: Record<string, number> = { ...DEFAULT_FACADE_TIMEOUTS };
  for (const [name, value] of Object.entries(partial ?? {})) {
    const bounds = FACADE_TIMEOUT_BOUNDS[name as keyof FacadeTimeouts];
    if (bounds === undefined) throw new FacadeConfigError(`unknown facade timeout ${JSON.stringify(name)}`);
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < bounds[0] || value > bounds[1]) {
      throw new FacadeConfigError(
        `timeouts.${name} must be an integer from ${bounds[0]} to ${bounds[1]}, got ${String(value)}`,
      );
    }
    timeouts[name] = value;
  }
  return Object.freeze(timeouts as unknown as FacadeTimeouts);
}
