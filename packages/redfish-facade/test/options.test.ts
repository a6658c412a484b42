// Proves the facade's timeouts are validated when the app is built, with messages naming the bad value.
import { describe, expect, it } from "vitest";
import { FACADE_TIMEOUT_BOUNDS } from "../src/facade-limits.ts";
import { buildApp, DEFAULT_FACADE_TIMEOUTS, FacadeConfigError, type FacadeTimeouts } from "../src/index.ts";
import { createSimulatedCluster } from "./support/simulated-cluster.ts";

describe("facade options", () => {
  it.each([
    [{ memberReadTimeoutMs: 0 }, "timeouts.memberReadTimeoutMs must be an integer from 10 to 120000, got 0"],
    [{ memberCacheTtlMs: 1.5 }, "timeouts.memberCacheTtlMs must be an integer from 0 to 60000, got 1.5"],
    [{ discoveryTtlMs: -1 }, "timeouts.discoveryTtlMs must be an integer from 0 to 3600000, got -1"],
    [{ memberWriteTimeoutMs: 10_000_000 }, "timeouts.memberWriteTimeoutMs must be an integer from 10 to 600000"],
    [{ readTimeout: 5 } as unknown as Partial<FacadeTimeouts>, 'unknown facade timeout "readTimeout"'],
  ])("refuses %j", async (timeouts, message) => {
    const cluster = await createSimulatedCluster([]);
    const build = () => buildApp({ cluster, auth: {} as never, timeouts });
    expect(build).toThrow(FacadeConfigError);
    expect(build).toThrow(message);
  });

  it("has defaults inside its own bounds", () => {
    for (const [name, value] of Object.entries(DEFAULT_FACADE_TIMEOUTS)) {
      const [min, max] = FACADE_TIMEOUT_BOUNDS[name as keyof FacadeTimeouts];
      expect(value, name).toBeGreaterThanOrEqual(min);
      expect(value, name).toBeLessThanOrEqual(max);
    }
    expect(Object.isFrozen(DEFAULT_FACADE_TIMEOUTS)).toBe(true);
  });
});
