// Which reports replace a member's recorded health: a new level, or a BMC that stopped or started
// answering at the same level; not new percentages.
import { describe, expect, it } from "vitest";
import type { HealthSummary } from "../../src/cluster-state/types.ts";
import { healthChanged } from "../../src/health/health-change.ts";

const recorded: HealthSummary = { status: "warning", bmcReachable: false, diskPercent: 91, reportedAtMs: 1 };

describe("healthChanged", () => {
  it("is true for a first report, a new level, or a BMC reachable again at the same level", () => {
    expect(healthChanged(null, { status: "ok", bmcReachable: true })).toBe(true);
    expect(healthChanged(undefined, { status: "ok", bmcReachable: true })).toBe(true);
    expect(healthChanged(recorded, { status: "ok", bmcReachable: false })).toBe(true);
    expect(healthChanged(recorded, { status: "warning", bmcReachable: true })).toBe(true);
  });

  it("is false when level and reachability are what the cluster recorded", () => {
    expect(healthChanged(recorded, { status: "warning", bmcReachable: false })).toBe(false);
  });
});
