// The autopilot planner: given the cluster as the PoC sees it, the one membership change to make
// next (if any) and what an operator should be told. Pure and deterministic, after Consul's
// autopilot: no clock (nowMs comes in), no I/O, and its memory comes in and goes out as a value.
//
// Rules, in the order they are tried (the first that yields a change wins; Raft takes one
// membership change at a time, so the daemon applies it and plans again):
//   0. no reachable majority of voters: no change (none could commit); say so.
//   1. a voter is dead and a stable learner is ready and there is room: promote the learner,
//      so the number of voters that actually vote is kept.
//   2. cleanupDeadMembers: remove a dead voter, if the voters left that are reachable are a
//      majority of the new voter set and at least 3 voters remain (fewer only when the cluster
//      has fewer than 3 members).
//   3. fill: promote the best stable learner while voters < maxVoters, keeping the count odd.
//   4. cleanupDeadMembers: remove a dead learner (always quorum-safe: learners do not vote).
import type { NodeId } from "@conclave/consensus";
import type { HealthSummary, MemberRole } from "../cluster-state/types.ts";
import { HEALTH_LEVEL_RANK } from "../health/health-report.ts";
import { type AutopilotConfig, validateAutopilotConfig } from "./autopilot-config.ts";

/** What the planner reads of a member. `MemberRecord` from the cluster state fits as it is. */
export interface AutopilotMember {
  readonly id: NodeId;
  /** `witness` is a voter that never campaigns: it counts toward the voter set. */
  readonly role: MemberRole;
  /** Declared a witness: promoted, it becomes a witness voter, never a PoC. */
  readonly witness: boolean;
  readonly drained: boolean;
  readonly priority: number;
  readonly health: Pick<HealthSummary, "status"> | null;
}

/** What the PoC's Raft knows of a member. `MemberProgress` from `RaftDriver.status()` fits as it is. */
export interface AutopilotProgress {
  readonly id: NodeId;
  /** Entries behind the PoC's last index. */
  readonly lagEntries: number;
  /** Heard from within the last election timeout (Raft's CheckQuorum window). */
  readonly recentActive: boolean;
  /** When the PoC last heard from it, on the clock of `nowMs`, if the daemon tracks that. */
  readonly lastContactAtMs?: number | undefined;
}

export interface AutopilotMemberMemory {
  /** The last time the member was heard from (or first seen by this planner: a grace period). */
  readonly lastSeenAtMs: number;
  /** Since when a learner has been reachable, caught up and not critical without a break; null if not now. */
  readonly stableSinceMs: number | null;
}

/** The planner's memory, by member id. Start from `emptyAutopilotMemory()` each time this node becomes PoC. */
export interface AutopilotMemory {
  readonly members: ReadonlyMap<NodeId, AutopilotMemberMemory>;
}

export interface AutopilotInput {
  /** The PoC running the planner: always reachable, never removed. */
  readonly selfId: NodeId;
  readonly nowMs: number;
  readonly members: readonly AutopilotMember[];
  /** On the PoC: Raft progress per member. A member without an entry counts as not heard from. */
  readonly progress: readonly AutopilotProgress[];
  readonly config: AutopilotConfig;
  readonly memory: AutopilotMemory;
}

export type AutopilotActionCode =
  | "AUTOPILOT_PROMOTE_STABLE_LEARNER"
  | "AUTOPILOT_PROMOTE_REPLACEMENT"
  | "AUTOPILOT_REMOVE_DEAD_VOTER"
  | "AUTOPILOT_REMOVE_DEAD_LEARNER";

export type AutopilotAction =
  | {
      readonly kind: "promote";
      readonly nodeId: NodeId;
      /** What the member becomes: a declared witness becomes a witness voter, never a candidate. */
      readonly role: "voter" | "witness";
      readonly code: AutopilotActionCode;
      readonly reason: string;
    }
  | {
      readonly kind: "remove";
      readonly nodeId: NodeId;
      readonly code: AutopilotActionCode;
      readonly reason: string;
    };

export type AutopilotReportCode =
  | "AUTOPILOT_MEMBER_DEAD"
  | "AUTOPILOT_NO_QUORUM"
  | "AUTOPILOT_TWO_VOTERS_NO_WITNESS"
  | "AUTOPILOT_SINGLE_VOTER"
  | "AUTOPILOT_EVEN_VOTERS"
  | "AUTOPILOT_DEAD_VOTER_NOT_REPLACED"
  | "AUTOPILOT_REMOVAL_UNSAFE";

export interface AutopilotReport {
  readonly code: AutopilotReportCode;
  /** One plain sentence for the log and the CLI. */
  readonly message: string;
  readonly nodeId?: NodeId;
}

export interface AutopilotPlan {
  /** At most one membership change; null when there is nothing to do. */
  readonly action: AutopilotAction | null;
  /** Everything an operator should know, in member order; the same input gives the same reports. */
  readonly reports: readonly AutopilotReport[];
  /** Pass it to the next call. */
  readonly memory: AutopilotMemory;
}

/** Voters that must remain after an automatic removal (unless the cluster has fewer members). */
export const AUTOPILOT_MIN_VOTERS_AFTER_REMOVAL = 3;

export function emptyAutopilotMemory(): AutopilotMemory {
  return Object.freeze({ members: new Map<NodeId, AutopilotMemberMemory>() });
}

/** The smallest number of voters that makes a majority of `voters`. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export function isVoterRole(role: MemberRole): boolean {
  return role === "voter" || role === "witness";
}

interface Observed {
  readonly member: AutopilotMember;
  readonly voter: boolean;
  /** Heard from within the CheckQuorum window: what the driver's quorum check counts, so we count it too. */
  readonly active: boolean;
  readonly lagEntries: number;
  readonly lastSeenAtMs: number;
  readonly silentMs: number;
  readonly dead: boolean;
  readonly stableSinceMs: number | null;
}

/** Plans the next membership change. Pure: the same input always gives the same plan. */
export function planAutopilot(input: AutopilotInput): AutopilotPlan {
  const { config, nowMs, selfId } = input;
  validateAutopilotConfig(config);
  if (!Number.isFinite(nowMs)) throw new RangeError("nowMs must be a finite number");

  const progressById = new Map(input.progress.map((progress) => [progress.id, progress]));
  const members = [...input.members].sort((a, b) => compareIds(a.id, b.id));
  const observed: Observed[] = members.map((member) => observe(member, progressById.get(member.id), input));
  const memory: AutopilotMemory = Object.freeze({
    members: new Map(
      observed.map((entry) => [
        entry.member.id,
        Object.freeze({ lastSeenAtMs: entry.lastSeenAtMs, stableSinceMs: entry.stableSinceMs }),
      ]),
    ),
  });

  const reports: AutopilotReport[] = [];
  for (const entry of observed) {
    if (entry.dead) {
      reports.push({
        code: "AUTOPILOT_MEMBER_DEAD",
        nodeId: entry.member.id,
        message: `member ${entry.member.id} has not been heard from for ${formatSeconds(entry.silentMs)}`,
      });
    }
  }

  const voters = observed.filter((entry) => entry.voter);
  const voterCount = voters.length;
  const activeVoters = voters.filter((entry) => entry.active).length;
  if (voterCount === 2 && !voters.some((entry) => entry.member.witness)) {
    reports.push({
      code: "AUTOPILOT_TWO_VOTERS_NO_WITNESS",
      message: "two voters and no witness: losing either BMC stops the cluster; add a witness",
    });
  }

  const onlyVoter = voters.length === 1 ? voters[0] : undefined;
  if (onlyVoter !== undefined && observed.length > 1 && config.maxVoters > 1) {
    reports.push({
      code: "AUTOPILOT_SINGLE_VOTER",
      nodeId: onlyVoter.member.id,
      message: `only ${onlyVoter.member.id} votes: losing it stops the cluster; two caught-up learners (or a learner and a witness) let the autopilot make 3 voters`,
    });
  }

  const finish = (action: AutopilotAction | null): AutopilotPlan => {
    // Even counts: a majority of 2k voters is k+1, so 2k voters survive k-1 failures, as 2k-1 do.
    // The extra voter adds no fault tolerance, only one more BMC every commit and election waits on.
    if (action === null && voterCount % 2 === 0 && voterCount > 2) {
      reports.push({
        code: "AUTOPILOT_EVEN_VOTERS",
        message: `${voterCount} voters survive no more failures than ${voterCount - 1}: an even count adds no fault tolerance; ${
          voterCount < config.maxVoters
            ? "add a learner so one can be promoted"
            : `maxVoters is ${config.maxVoters}: an odd maxVoters avoids this`
        }`,
      });
    }
    return Object.freeze({
      action: action === null ? null : Object.freeze(action),
      reports: Object.freeze(reports),
      memory,
    });
  };

  // 0. Nothing commits without a majority: planning a change would only queue a doomed proposal.
  if (activeVoters < quorumOf(voterCount)) {
    reports.push({
      code: "AUTOPILOT_NO_QUORUM",
      message: `only ${activeVoters} of ${voterCount} voters are reachable: no membership change can commit until a majority is back`,
    });
    return finish(null);
  }

  const deadVoters = voters
    .filter((entry) => entry.dead && entry.member.id !== selfId)
    .sort((a, b) => a.lastSeenAtMs - b.lastSeenAtMs || compareIds(a.member.id, b.member.id));
  const ready = observed
    .filter(
      (entry) =>
        !entry.voter &&
        !entry.dead &&
        entry.stableSinceMs !== null &&
        nowMs - entry.stableSinceMs >= config.stabilizationMs,
    )
    .sort(comparePromotionCandidates);
  const best = ready[0];
  const room = voterCount < config.maxVoters;

  // 1. Keep the number of voters that actually vote: a stable learner takes a lost voter's place.
  const lost = deadVoters[0];
  if (lost !== undefined && best !== undefined && room) {
    return finish(promote(best, "AUTOPILOT_PROMOTE_REPLACEMENT", `replaces ${lost.member.id}, which is dead`));
  }

  // 2. Remove a dead voter, only while quorum and the 3-voter floor hold.
  if (lost !== undefined) {
    const votersAfter = voterCount - 1;
    const floor = Math.min(AUTOPILOT_MIN_VOTERS_AFTER_REMOVAL, members.length);
    // A dead voter is never active, so rule 0 already implies the quorum check; it stays, as the
    // driver's own QuorumAtRiskError check does, so the safety of a removal is stated where it is made.
    const refusal =
      activeVoters < quorumOf(votersAfter)
        ? `the ${votersAfter} voters left would need ${quorumOf(votersAfter)} reachable and only ${activeVoters} are`
        : votersAfter < floor
          ? `it would leave ${votersAfter} voter${votersAfter === 1 ? "" : "s"}, fewer than ${floor}`
          : undefined;
    if (config.cleanupDeadMembers && refusal === undefined) {
      return finish({
        kind: "remove",
        nodeId: lost.member.id,
        code: "AUTOPILOT_REMOVE_DEAD_VOTER",
        reason: `voter ${lost.member.id} has not been heard from for ${formatSeconds(lost.silentMs)}`,
      });
    }
    if (config.cleanupDeadMembers) {
      reports.push({
        code: "AUTOPILOT_REMOVAL_UNSAFE",
        nodeId: lost.member.id,
        message: `not removing dead voter ${lost.member.id}: ${refusal}`,
      });
    } else {
      reports.push({
        code: "AUTOPILOT_DEAD_VOTER_NOT_REPLACED",
        nodeId: lost.member.id,
        message: room
          ? `dead voter ${lost.member.id} still counts toward the quorum and no caught-up learner can take its place; remove it with "conclave remove ${lost.member.id}" or bring it back`
          : `dead voter ${lost.member.id} still counts toward the quorum and the voter set is full (maxVoters ${config.maxVoters}); remove it with "conclave remove ${lost.member.id}" or turn on cleanupDeadMembers so a learner can take its place`,
      });
    }
  }

  // 3. Fill up to maxVoters. From an odd count, promote only when a second learner is ready and
  //    there is room for both: the count passes through even on its way to the next odd one.
  if (best !== undefined && room) {
    const odd = voterCount % 2 === 1;
    if (!odd || (ready.length >= 2 && voterCount + 2 <= config.maxVoters)) {
      return finish(
        promote(
          best,
          "AUTOPILOT_PROMOTE_STABLE_LEARNER",
          `caught up and stable; voters ${voterCount} -> ${voterCount + 1}`,
        ),
      );
    }
  }

  // 4. Dead learners cost nothing to remove: they do not vote.
  if (config.cleanupDeadMembers) {
    const deadLearner = observed
      .filter((entry) => !entry.voter && entry.dead && entry.member.id !== selfId)
      .sort((a, b) => a.lastSeenAtMs - b.lastSeenAtMs || compareIds(a.member.id, b.member.id))[0];
    if (deadLearner !== undefined) {
      return finish({
        kind: "remove",
        nodeId: deadLearner.member.id,
        code: "AUTOPILOT_REMOVE_DEAD_LEARNER",
        reason: `learner ${deadLearner.member.id} has not been heard from for ${formatSeconds(deadLearner.silentMs)}`,
      });
    }
  }
  return finish(null);
}

function observe(member: AutopilotMember, progress: AutopilotProgress | undefined, input: AutopilotInput): Observed {
  const { nowMs, config } = input;
  const previous = input.memory.members.get(member.id);
  const self = member.id === input.selfId;
  const active = self || progress?.recentActive === true;
  const contactAtMs = active ? nowMs : Math.min(nowMs, progress?.lastContactAtMs ?? Number.NEGATIVE_INFINITY);
  // First sight counts as seen: a PoC that just took over has not heard from anyone yet.
  const lastSeenAtMs = Math.max(previous?.lastSeenAtMs ?? nowMs, contactAtMs);
  const silentMs = Math.max(0, nowMs - lastSeenAtMs);
  const dead = !active && silentMs >= config.deadAfterMs;
  const voter = isVoterRole(member.role);
  const lagEntries = self ? 0 : (progress?.lagEntries ?? Number.POSITIVE_INFINITY);
  // A drained member is on its way out for maintenance: the quorum must not come to depend on it.
  const stable =
    !voter && active && !member.drained && lagEntries <= config.maxLagEntries && member.health?.status !== "critical";
  const stableSinceMs = stable ? Math.min(previous?.stableSinceMs ?? nowMs, nowMs) : null;
  return { member, voter, active, lagEntries, lastSeenAtMs, silentMs, dead, stableSinceMs };
}

/**
 * Negative when `a` should be promoted first: members that may lead before witnesses (a witness
 * adds a vote but never a successor), then healthier, higher priority, less lag, lowest id.
 */
function comparePromotionCandidates(a: Observed, b: Observed): number {
  return (
    Number(a.member.witness) - Number(b.member.witness) ||
    HEALTH_LEVEL_RANK[a.member.health?.status ?? "ok"] - HEALTH_LEVEL_RANK[b.member.health?.status ?? "ok"] ||
    b.member.priority - a.member.priority ||
    a.lagEntries - b.lagEntries ||
    compareIds(a.member.id, b.member.id)
  );
}

function promote(entry: Observed, code: AutopilotActionCode, why: string): AutopilotAction {
  const role = entry.member.witness ? "witness" : "voter";
  return {
    kind: "promote",
    nodeId: entry.member.id,
    role,
    code,
    reason: `promoting learner ${entry.member.id} to ${role === "witness" ? "witness voter" : "voter"}: ${why}`,
  };
}

function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function formatSeconds(ms: number): string {
  return `${Math.floor(ms / 1000)} s`;
}
