// Small builders for autopilot tests: members, progress, and applying a planned action.
import type { HealthStatus, MemberRole } from "../../src/cluster-state/types.ts";
import type { AutopilotAction, AutopilotConfig, AutopilotMember, AutopilotProgress } from "../../src/index.ts";

export const T0 = 1_700_000_000_000;

export const CONFIG: AutopilotConfig = Object.freeze({
  maxVoters: 5,
  cleanupDeadMembers: false,
  stabilizationMs: 10_000,
  maxLagEntries: 250,
  deadAfterMs: 30_000,
});

export interface MemberSpec {
  readonly role?: MemberRole;
  readonly witness?: boolean;
  readonly drained?: boolean;
  readonly priority?: number;
  readonly health?: HealthStatus | null;
  /** Progress: heard from recently (default true). */
  readonly active?: boolean;
  readonly lagEntries?: number;
  readonly lastContactAtMs?: number;
}

export interface Cluster {
  readonly members: AutopilotMember[];
  readonly progress: AutopilotProgress[];
}

/** `cluster({ a: { role: "voter" }, b: { role: "learner" } })`. */
export function cluster(specs: Readonly<Record<string, MemberSpec>>): Cluster {
  const members: AutopilotMember[] = [];
  const progress: AutopilotProgress[] = [];
  for (const [id, spec] of Object.entries(specs)) {
    const witness = spec.witness ?? spec.role === "witness";
    members.push({
      id,
      role: spec.role ?? "voter",
      witness,
      drained: spec.drained ?? false,
      priority: spec.priority ?? 50,
      health: spec.health === null ? null : { status: spec.health ?? "ok" },
    });
    progress.push({
      id,
      lagEntries: spec.lagEntries ?? 0,
      recentActive: spec.active ?? true,
      ...(spec.lastContactAtMs === undefined ? {} : { lastContactAtMs: spec.lastContactAtMs }),
    });
  }
  return { members, progress };
}

/** What the daemon's Raft change does to the member list (promotion of a witness shows as `witness`). */
export function applyAction(state: Cluster, action: AutopilotAction): Cluster {
  if (action.kind === "promote") {
    return {
      members: state.members.map((member) =>
        member.id === action.nodeId ? { ...member, role: member.witness ? "witness" : "voter" } : member,
      ),
      progress: state.progress,
    };
  }
  return {
    members: state.members.filter((member) => member.id !== action.nodeId),
    progress: state.progress.filter((entry) => entry.id !== action.nodeId),
  };
}
