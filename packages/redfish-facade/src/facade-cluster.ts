// What the facade needs from the agent that mounts it: the members, their health, the cluster
// identity, and a way to send one HTTP request to a member's own BMC. The facade never holds a
// BMC's credentials and never opens a connection to a BMC: `forward` goes to the member's agent
// (over /conclave/rpc/1 in the daemon, straight to a simulator in tests), which talks to its
// local BMC with its own credentials.
import type { OperationExecution, OperationStatusQuery, OwnerAnswer } from "./operations/operation-types.ts";

/** How a member is doing, as the cluster last heard (Redfish `Status.Health` words). */
export type MemberHealth = "OK" | "Warning" | "Critical";

export interface FacadeMember {
  /** The node id (libp2p peer id): stable, opaque. */
  readonly id: string;
  /**
   * The readable, unique name the facade prefixes this member's resources with
   * (`<name>_<id>`, bmcweb's convention). Matches MEMBER_NAME_PATTERN.
   */
  readonly name: string;
  /** Host name or address of the member's BMC, for `AggregationSource.HostName`. */
  readonly hostName: string | undefined;
  readonly role: "voter" | "learner" | "witness";
  readonly isPoc: boolean;
  /** False for a member with no local BMC to aggregate (e.g. a witness on a management host). */
  readonly hasBmc: boolean;
  readonly health: MemberHealth;
  readonly bmcReachable: boolean;
  /** Labels from the member's config (slot, chassis, ...), for the topology. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The member's own health numbers as the cluster last recorded them (its agent's report, as
   * replicated): served per BMC manager as ManagerDiagnosticData. Absent before the first report.
   */
  readonly diagnostics?: MemberDiagnostics;
}

/**
 * What a member's agent measured about its node (OpenBMC health-monitor's metrics) when it last
 * reported. The agent reports when its health level changes, so the numbers are as of `reportedAtMs`.
 */
export interface MemberDiagnostics {
  /** The member's health level at that report (Redfish `Status.Health` words). */
  readonly health: MemberHealth;
  /** Whether the agent could reach its own BMC's Redfish service then. */
  readonly bmcReachable: boolean;
  /** Busy share of the node's CPUs, 0..100. Absent: it could not be read. */
  readonly cpuPercent?: number;
  /** Memory in use (total less available), 0..100. */
  readonly memoryPercent?: number;
  /** Used share of the file system holding the agent's state directory, 0..100. */
  readonly stateDiskPercent?: number;
  /** When the cluster recorded the report (the PoC's wall clock, ms since the epoch). */
  readonly reportedAtMs: number;
}

/** Member names: what bmcweb-style prefixes may contain (no `_`, which separates prefix and id). */
export const MEMBER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

export interface UpstreamRequest {
  readonly method: string;
  /** A path on the member's BMC, unprefixed: `/redfish/v1/Systems/system`. With the query string. */
  readonly path: string;
  /** Lower-case names. Never credentials: the owner's agent adds its own. */
  readonly headers: Readonly<Record<string, string>>;
  /** The request body as the console sent it (JSON text), if any. */
  readonly body?: string;
  /** The caller's deadline for the whole exchange. */
  readonly timeoutMs: number;
}

export interface UpstreamResponse {
  readonly statusCode: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly text: string;
}

/**
 * Why a forward failed without an HTTP answer from the BMC. `unreachable`: the member's agent or
 * its BMC cannot be reached; `timeout`: no answer within `timeoutMs`; `unknown-member`.
 */
export type UpstreamFailureKind = "unreachable" | "timeout" | "unknown-member";

export class UpstreamError extends Error {
  readonly kind: UpstreamFailureKind;
  readonly memberId: string;

  constructor(kind: UpstreamFailureKind, memberId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpstreamError";
    this.kind = kind;
    this.memberId = memberId;
  }
}

export interface FacadeCluster {
  readonly clusterName: string;
  /** The cluster UUID (ServiceRoot `UUID`), the same on every PoC; null before the cluster has one. */
  clusterUuid(): string | null;
  /**
   * True while this node is the PoC with a quorum lease. When false the facade answers 503
   * `ServiceTemporarilyUnavailable` with `Retry-After` for anything that needs the cluster.
   */
  hasQuorum(): boolean;
  /** Every member, in a stable order (by name). */
  members(): readonly FacadeMember[];
  /**
   * One request to the member's own BMC. Resolves with whatever the BMC answered (any status);
   * rejects with UpstreamError when there is no answer.
   */
  forward(memberId: string, request: UpstreamRequest): Promise<UpstreamResponse>;

  /** This PoC's Raft term: the fencing token every operation it sends carries. */
  term(): number;
  /**
   * Runs a journaled operation on its owner: the owner refuses a term older than the newest it has
   * seen, runs an id it never ran, and answers an id it ran with the remembered result. Resolves
   * with the owner's answer; rejects with UpstreamError when the owner gave none.
   */
  executeOperation(memberId: string, execution: OperationExecution): Promise<OwnerAnswer>;
  /** Asks the owner what happened to an operation (a new PoC resuming); fences older terms too. */
  operationStatus(memberId: string, query: OperationStatusQuery): Promise<OwnerAnswer>;
  /**
   * Moves the PoC role to `toMemberId`, or to the best other member when undefined
   * (`Manager.ForceFailover`, `conclave transfer-leadership`). Resolves once another member leads;
   * rejects with LeadershipTransferError.
   */
  transferLeadership(toMemberId: string | undefined): Promise<void>;
  /**
   * Opens a staging file for a firmware image on the member (its own disk, never held whole in
   * memory): chunks are written in order, each resolving once the member has it (backpressure).
   * Rejects with UpstreamError when the member cannot be reached or has no room.
   */
  openImageStage(memberId: string, stageId: string, expectedBytes: number | undefined): Promise<ImageStageWriter>;
}

export interface ImageStageWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** The staged image's size and SHA-256 (hex), as the member stored it. */
  finish(): Promise<{ readonly bytes: number; readonly sha256: string }>;
  /** Removes what was staged so far. Never rejects. */
  abort(reason: string): Promise<void>;
}

/** A leadership transfer that did not happen (no eligible member, timed out, no quorum). */
export class LeadershipTransferError extends Error {
  readonly code = "FACADE_ERR_LEADERSHIP_TRANSFER";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LeadershipTransferError";
  }
}
