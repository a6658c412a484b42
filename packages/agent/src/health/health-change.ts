// Whether a member's health, as the cluster recorded it, must be replaced by a newer report. Health
// goes through Raft only when it changes what the PoC acts on: the level (hand-overs, AggregationSource
// Status) or whether the member's BMC answers (the facade forwards nothing to an unreachable BMC).
// Percentages alone do not: every sample differs.
import type { HealthSummary } from "../cluster-state/types.ts";

export function healthChanged(
  recorded: HealthSummary | null | undefined,
  reported: { readonly status: HealthSummary["status"]; readonly bmcReachable: boolean },
): boolean {
  return recorded?.status !== reported.status || recorded.bmcReachable !== reported.bmcReachable;
}
