// Whether an unhealthy PoC should hand leadership over now, and to whom. Pure: the HealthPolicy's
// hysteresis says "this PoC has been critical long enough"; this adds "and someone is better".
import type { NodeId } from "@conclave/consensus";
import { pickHealthiestSuccessor, type SuccessorCandidate } from "../health/health-policy.ts";
import { HEALTH_LEVEL_RANK, type HealthLevel } from "../health/health-report.ts";
import { type AutopilotMember, type AutopilotProgress, isVoterRole } from "./plan-membership.ts";

export interface HealthHandoverInput {
  readonly selfId: NodeId;
  /** The PoC's own current health level. */
  readonly selfLevel: HealthLevel;
  /** `HealthPolicy.shouldHandOver` (critical for long enough, not yet cleared). */
  readonly shouldHandOver: boolean;
  /** Other voters that could lead; `successorCandidates()` builds them. Self is ignored if present. */
  readonly candidates: readonly SuccessorCandidate[];
}

export type HealthHandoverDecision =
  | { readonly handOver: true; readonly to: NodeId; readonly reason: string }
  | {
      readonly handOver: false;
      readonly code: "HANDOVER_NOT_NEEDED" | "HANDOVER_NO_SUCCESSOR" | "HANDOVER_NOT_HEALTHIER";
      readonly reason: string;
    };

/**
 * Hands over only when the policy asks for it and the best eligible successor (never drained, a
 * witness or unreachable) is strictly healthier than this PoC: moving leadership to a member that is
 * just as sick would only move the problem, and could bounce back and forth (flapping).
 */
export function decideHealthHandover(input: HealthHandoverInput): HealthHandoverDecision {
  if (!input.shouldHandOver) {
    return { handOver: false, code: "HANDOVER_NOT_NEEDED", reason: "the PoC's health does not call for a hand-over" };
  }
  const best = pickHealthiestSuccessor(input.candidates.filter((candidate) => candidate.id !== input.selfId));
  if (best === undefined) {
    return {
      handOver: false,
      code: "HANDOVER_NO_SUCCESSOR",
      reason: `the PoC is ${input.selfLevel} but no reachable voter may lead (not drained, not a witness)`,
    };
  }
  if (HEALTH_LEVEL_RANK[best.level] >= HEALTH_LEVEL_RANK[input.selfLevel]) {
    return {
      handOver: false,
      code: "HANDOVER_NOT_HEALTHIER",
      reason: `the PoC is ${input.selfLevel} and the best successor ${best.id} is ${best.level}: not healthier, staying`,
    };
  }
  return {
    handOver: true,
    to: best.id,
    reason: `the PoC is ${input.selfLevel}; ${best.id} is ${best.level}`,
  };
}

/**
 * The members that could take leadership from `selfId`, as `pickHealthiestSuccessor` wants them:
 * voters only (a learner cannot be elected), reachable when Raft heard from them recently.
 * Members that have not reported health count as ok, as the transfer target picker does.
 */
export function successorCandidates(
  selfId: NodeId,
  members: readonly AutopilotMember[],
  progress: readonly AutopilotProgress[],
): SuccessorCandidate[] {
  const progressById = new Map(progress.map((entry) => [entry.id, entry]));
  return members
    .filter((member) => member.id !== selfId && isVoterRole(member.role))
    .map((member) => {
      const entry = progressById.get(member.id);
      return {
        id: member.id,
        level: member.health?.status ?? "ok",
        priority: member.priority,
        replicationLag: entry?.lagEntries ?? Number.MAX_SAFE_INTEGER,
        drained: member.drained,
        witness: member.witness || member.role === "witness",
        reachable: entry?.recentActive === true,
      };
    });
}
