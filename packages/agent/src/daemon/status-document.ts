// The status, members and history documents of the control API (and `/conclave/v1/status` on the
// VIP), built from what this node knows: its Raft driver, the applied cluster state, the VIP and
// the peers it heard from. Pure: the daemon passes everything in.
import { NO_NODE, type NodeId } from "@conclave/consensus";
import type { MemberRecord } from "../cluster-state/types.ts";
import type { ConclaveConfig } from "../config/schema.ts";
import {
  CONTROL_API_VERSION,
  type HistoryDocument,
  type MemberStatus,
  type StatusDocument,
} from "../control/control-protocol.ts";
import { pocFrom, type RaftDriverStatus } from "../raft-driver/raft-driver.ts";
import type { VipStatus } from "../vip/vip-manager.ts";
import { memberName } from "./node-resolver.ts";

export interface StatusInputs {
  readonly config: Pick<ConclaveConfig, "clusterName" | "role" | "vip">;
  readonly driver: RaftDriverStatus;
  readonly members: readonly MemberRecord[];
  readonly clusterUuid: string | null;
  readonly vip: VipStatus;
  /** Milliseconds since this node last received a Raft message from each peer. */
  readonly lastContactMs: (id: NodeId) => number | null;
  /** Health reasons this node knows (its own, from its sampler). */
  readonly ownHealthReasons: readonly string[];
  /** Further sentences for operators, e.g. the autopilot's reports on the PoC. */
  readonly extraWarnings?: readonly string[];
}

/** The PoC in a status snapshot (see pocFrom). */
export function pocOf(driver: RaftDriverStatus): NodeId | null {
  return pocFrom(driver.id, driver.leaderId, driver.lease.held);
}

export function memberStatuses(inputs: StatusInputs): MemberStatus[] {
  const pocId = pocOf(inputs.driver);
  const progress = new Map(inputs.driver.members.map((member) => [member.id, member]));
  const isLeader = inputs.driver.role === "leader";
  return inputs.members.map((member) => {
    const self = member.id === inputs.driver.id;
    return {
      id: member.id,
      name: memberName(member),
      addresses: member.addresses,
      role: member.role,
      drained: member.drained,
      priority: member.priority,
      labels: member.labels,
      isPoC: member.id === pocId,
      health: {
        level: member.health?.status ?? "unknown",
        reasons: self ? inputs.ownHealthReasons : [],
      },
      lastContactMs: self ? 0 : inputs.lastContactMs(member.id),
      replicationLag: isLeader ? (self ? 0 : (progress.get(member.id)?.lagEntries ?? null)) : null,
    };
  });
}

export function buildStatusDocument(inputs: StatusInputs): StatusDocument {
  const { driver, config } = inputs;
  const self = inputs.members.find((member) => member.id === driver.id);
  const members = memberStatuses(inputs);
  return {
    apiVersion: CONTROL_API_VERSION,
    cluster: { name: config.clusterName, uuid: inputs.clusterUuid },
    node: {
      id: driver.id,
      name: self === undefined ? memberName({ id: driver.id, labels: {} }) : memberName(self),
      role: self?.role ?? (config.role === "witness" ? "witness" : "learner"),
      raftRole: driver.role,
      drained: self?.drained ?? false,
    },
    term: driver.term,
    pocId: pocOf(driver),
    lease: { heldHere: driver.lease.held, msLeft: driver.lease.msLeft },
    vip: {
      mode: config.vip.mode,
      address: config.vip.address ?? null,
      heldHere: inputs.vip.held,
    },
    commitIndex: driver.commit,
    appliedIndex: driver.applied,
    members,
    warnings: [...new Set([...clusterWarnings(inputs.members, self === undefined), ...(inputs.extraWarnings ?? [])])],
  };
}

/** Plain sentences an operator should read. */
export function clusterWarnings(members: readonly MemberRecord[], notAMember: boolean): string[] {
  const warnings: string[] = [];
  if (notAMember) warnings.push("this node is not a member of the cluster yet: it is waiting to be admitted");
  const voters = members.filter((member) => member.role !== "learner");
  const leaders = voters.filter((member) => !member.witness);
  if (voters.length === 2) {
    warnings.push("two voters and no third vote: a failure cannot be survived; add a witness (role: witness)");
  }
  if (members.length > 0 && leaders.every((member) => member.drained)) {
    warnings.push("every voter that may lead is drained or a witness: nobody can become PoC");
  }
  const critical = members.filter((member) => member.health?.status === "critical");
  for (const member of critical) warnings.push(`${memberName(member)} reports critical health`);
  return warnings;
}

export function buildHistoryDocument(
  history: readonly { term: number; leaderId: NodeId; atMs: number; reason: string }[],
): HistoryDocument {
  return {
    history: history.map((record) => ({
      term: record.term,
      pocId: record.leaderId,
      atMs: record.atMs,
      reason: record.reason,
    })),
  };
}
