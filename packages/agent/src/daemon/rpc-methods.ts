// The agent-to-agent requests the daemon serves on /conclave/rpc/1, and their bodies.
import type { NodeId } from "@conclave/consensus";
import type { LeadershipReason } from "../cluster-state/types.ts";

export const RPC_METHODS = Object.freeze({
  /** Before bootstrap: is the callee in a cluster already, and who leads it? */
  hello: "conclave.hello",
  /** A node without state asks the PoC to add it as a learner. */
  join: "conclave.join",
  /** A member tells the PoC what it is (addresses, priority, labels, witness) and how it is. */
  report: "conclave.member.report",
  /** The PoC tells its successor why leadership is coming, for the leadership history. */
  handover: "conclave.handover",
  /** Cluster-changing control requests forwarded from a follower to the PoC. */
  control: "conclave.control",
  /**
   * The PoC's facade asks a member to send one Redfish request to the member's own BMC (with the
   * member's credentials) and return the answer. Served to Raft members only. Body and answer:
   * src/facade-host/member-bmc-request.ts.
   */
  bmcRequest: "conclave.bmc.request",
  /**
   * The PoC's operation journal asks the owner of a member resource to run a journaled operation
   * once (fenced by the PoC's term), or what became of one. Served to Raft members only. Body and
   * answer: src/operations/operation-executor.ts.
   */
  bmcOperation: "conclave.bmc.operation",
  /**
   * The PoC streams a firmware image to a member's disk in chunks (open, chunk, finish, abort),
   * for a later firmware-push operation. Served to Raft members only: src/operations/image-staging.ts.
   */
  imageStage: "conclave.image.stage",
});

export interface HelloAnswer {
  readonly member: boolean;
  readonly hasState: boolean;
  readonly leaderId: NodeId | null;
  readonly clusterUuid: string | null;
  /** A witness never campaigns: it must not be the node that bootstraps (absent from older agents). */
  readonly witness?: boolean;
}

export type JoinAnswer = { readonly joined: true } | { readonly joined: false; readonly leaderId: NodeId | null };

export interface HandoverNotice {
  readonly reason: LeadershipReason;
  readonly term: number;
}

export interface ForwardedControl {
  readonly operation: "transferLeadership" | "stepDown" | "drain" | "undrain" | "remove";
  readonly body: unknown;
}

/** Timeouts of the daemon's own calls. */
export const HELLO_TIMEOUT_MS = 1_000;
export const JOIN_TIMEOUT_MS = 6_000;
export const REPORT_TIMEOUT_MS = 3_000;
export const HANDOVER_NOTICE_TIMEOUT_MS = 500;
/** A forwarded control request waits for the PoC's own bounded waits (transfer 5 s, proposal 5 s) and then some. */
export const FORWARD_TIMEOUT_MS = 15_000;
