// The control API between the `conclave` CLI and the local daemon `conclaved`:
// HTTP/1.1 with JSON bodies over a unix socket (mode 0600, so only root or the agent's
// own user can drive the cluster). The CLI and the daemon both import these types, so
// they cannot drift apart.
//
// Commands that change the cluster work on any node: the daemon forwards them to the PoC
// over /conclave/rpc/1 and answers with the PoC's result.
import type { NodeId } from "@conclave/consensus";

export const CONTROL_API_VERSION = 1;

/** The socket file, inside the state directory unless the config says otherwise. */
export const CONTROL_SOCKET_FILE_NAME = "control.sock";

/** Bound on a control request or response body. */
export const CONTROL_BODY_BYTES_MAX = 1024 * 1024;

export const CONTROL_ROUTES = {
  status: { method: "GET", path: "/v1/status" },
  members: { method: "GET", path: "/v1/members" },
  history: { method: "GET", path: "/v1/history" },
  transferLeadership: { method: "POST", path: "/v1/transfer-leadership" },
  stepDown: { method: "POST", path: "/v1/step-down" },
  drain: { method: "POST", path: "/v1/drain" },
  undrain: { method: "POST", path: "/v1/undrain" },
  remove: { method: "POST", path: "/v1/remove" },
} as const;

export type ControlRouteName = keyof typeof CONTROL_ROUTES;

/** Every non-2xx answer carries this body; `code` is a stable AGENT_ERR_* code. */
export interface ControlErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export type HealthLevel = "ok" | "warning" | "critical" | "unknown";

export interface MemberStatus {
  readonly id: NodeId;
  /** Human name: the member's `name` label, else a short form of its id. */
  readonly name: string;
  readonly addresses: readonly string[];
  readonly role: "voter" | "learner" | "witness";
  readonly drained: boolean;
  readonly priority: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly isPoC: boolean;
  readonly health: { readonly level: HealthLevel; readonly reasons: readonly string[] };
  /** Milliseconds since the PoC last heard from it (null when unknown, e.g. asked on a follower). */
  readonly lastContactMs: number | null;
  /** Entries behind the PoC's log (null when unknown). */
  readonly replicationLag: number | null;
}

export interface StatusDocument {
  readonly apiVersion: typeof CONTROL_API_VERSION;
  readonly cluster: { readonly name: string; readonly uuid: string | null };
  readonly node: {
    readonly id: NodeId;
    readonly name: string;
    readonly role: "voter" | "learner" | "witness";
    readonly raftRole: "leader" | "follower" | "candidate" | "preCandidate";
    readonly drained: boolean;
  };
  readonly term: number;
  /** The Point-of-Contact: the leader holding the lease (null while there is none). */
  readonly pocId: NodeId | null;
  readonly lease: { readonly heldHere: boolean; readonly msLeft: number };
  readonly vip: {
    readonly mode: "interface" | "loopback" | "none";
    readonly address: string | null;
    readonly heldHere: boolean;
  };
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: readonly MemberStatus[];
  /** Plain sentences an operator should read (e.g. "two voters and no witness: a failure cannot be survived"). */
  readonly warnings: readonly string[];
}

export interface MembersDocument {
  readonly members: readonly MemberStatus[];
}

export interface LeadershipHistoryEntry {
  readonly term: number;
  readonly pocId: NodeId;
  readonly atMs: number;
  readonly reason: string;
}

export interface HistoryDocument {
  readonly history: readonly LeadershipHistoryEntry[];
}

/** POST transfer-leadership: `to` is a node id, a unique id prefix or a member name; absent = the best candidate. */
export interface TransferLeadershipRequest {
  readonly to?: string;
}

export interface TransferLeadershipResult {
  readonly previousPocId: NodeId | null;
  readonly pocId: NodeId;
  readonly term: number;
  /** From the request to the new PoC holding the lease. */
  readonly tookMs: number;
}

/** POST drain / undrain: `node` as in TransferLeadershipRequest.to. */
export interface NodeRequest {
  readonly node: string;
}

export interface RemoveRequest {
  readonly node: string;
  /** Remove even when the cluster would lose its quorum; the CLI spells out the consequence first. */
  readonly force?: boolean;
}

/** Answer to drain, undrain, remove and step-down. */
export interface ChangeResult {
  readonly ok: true;
  readonly message: string;
}
