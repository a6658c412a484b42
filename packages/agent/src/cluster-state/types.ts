// What the replicated cluster state holds, and the named bound on each part of it.
import type { NodeId } from "@conclave/consensus";

/** `witness`: a voter that never leads (the third vote of a two-BMC group). */
export type MemberRole = "voter" | "learner" | "witness";

export type HealthStatus = "ok" | "warning" | "critical";

/** The last health a member reported through Raft (it reports changes, not every sample). */
export interface HealthSummary {
  readonly status: HealthStatus;
  readonly bmcReachable: boolean;
  readonly cpuPercent?: number;
  readonly memoryPercent?: number;
  readonly diskPercent?: number;
  /** The proposer's wall clock when the report was committed (from the command, not read in apply). */
  readonly reportedAtMs: number;
}

export interface MemberRecord {
  readonly id: NodeId;
  /** Mirrors the Raft configuration: learner, or voter (shown as `witness` when it declared itself one). */
  readonly role: MemberRole;
  /** Declared by the node (config `role: witness`): it votes but never campaigns. */
  readonly witness: boolean;
  /** Multiaddrs the member listens on, as it reported them. */
  readonly addresses: readonly string[];
  /** Drained members vote but never become PoC; a drained PoC hands over. */
  readonly drained: boolean;
  /** Preference for PoC among healthy members, 0..100 (higher wins). */
  readonly priority: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly health: HealthSummary | null;
  /** Cluster time when the member entered the configuration (see ClusterState.clusterTimeMs). */
  readonly joinedAtMs: number;
}

export type LeadershipReason = "election" | "transfer" | "health" | "drain" | "step-down" | "bootstrap";

export const LEADERSHIP_REASONS: readonly LeadershipReason[] = Object.freeze([
  "election",
  "transfer",
  "health",
  "drain",
  "step-down",
  "bootstrap",
]);

export interface LeadershipRecord {
  readonly term: number;
  readonly leaderId: NodeId;
  readonly atMs: number;
  readonly reason: LeadershipReason;
}

/** Created once, by the first `cluster.init` committed after bootstrap, and never changed. */
export interface ClusterIdentity {
  /** The Redfish ServiceRoot UUID: the same on every PoC, for the life of the cluster. */
  readonly clusterId: string;
  readonly clusterName: string;
  readonly createdAtMs: number;
}

/**
 * A command from the log that was not applied, kept so operators can see that it happened.
 * The detailed message goes to the proposer and the log only: its wording may change between
 * agent versions, and replicas must hold identical state.
 */
export interface RejectedCommand {
  readonly index: number;
  /** The command type when it could be read ("" when the bytes were not a command at all). */
  readonly type: string;
  readonly code: string;
}

/** Members kept in the state. Matches the config's bootstrapExpect and peers bounds. */
export const MEMBERS_MAX = 64;
/** Leadership changes kept; older ones are dropped first. */
export const LEADERSHIP_HISTORY_MAX = 64;
/** Rejected commands kept (the total count is kept too). */
export const REJECTED_COMMANDS_KEPT = 32;
export const MEMBER_ADDRESSES_MAX = 8;
export const MEMBER_ADDRESS_MAX_CHARS = 256;
/** As the config's `labels`: at most 32 keys, values up to 256 characters. */
export const MEMBER_LABELS_MAX = 32;
export const LABEL_KEY_MAX_CHARS = 64;
export const LABEL_VALUE_MAX_CHARS = 256;
export const NODE_ID_MAX_CHARS = 128;
