// The facade's view of the cluster, as the PoC's agent sees it: the members from the replicated
// cluster state, the cluster identity, whether this node is the PoC with a lease, and the ways to
// reach a member's own BMC — `forward` (one request), `executeOperation` / `operationStatus` (a
// journaled operation, run once by its owner) and `openImageStage` (a firmware image streamed to
// the member's disk) — straight to this node's own parts for this node, over /conclave/rpc/1 for
// any other. RPC failures become UpstreamError kinds; a failed transfer a LeadershipTransferError.
import type { NodeId } from "@conclave/consensus";
import {
  type FacadeCluster,
  type FacadeMember,
  type ImageStageWriter,
  LeadershipTransferError,
  type MemberDiagnostics,
  type MemberHealth,
  type OperationExecution,
  type OperationStatusQuery,
  type OwnerAnswer,
  UpstreamError,
  type UpstreamRequest,
  type UpstreamResponse,
} from "@conclave/redfish-facade";
import type { HealthSummary, MemberRecord } from "../cluster-state/types.ts";
import { RPC_METHODS } from "../daemon/rpc-methods.ts";
import { AgentError, RpcRemoteError } from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import {
  IMAGE_STAGE_CHUNK_BYTES,
  type ImageStageRequest,
  type ImageStaging,
  type StagedImage,
} from "../operations/image-staging.ts";
import {
  OPERATION_ANSWER_WITHIN_MS,
  type OperationExecutor,
  parseOperationRequest,
} from "../operations/operation-executor.ts";
import {
  BMC_REQUEST_TRANSIT_MS,
  type BmcRequestAnswer,
  type LocalBmc,
  parseBmcRequest,
  runBmcRequest,
} from "./member-bmc-request.ts";
import { BMC_HOST_LABEL, BMC_LABEL, NO_BMC_LABEL_VALUE, operatorLabels } from "./member-labels.ts";
import { assignMemberNames } from "./member-names.ts";

/** The slice of the RPC service the facade host uses. */
export interface FacadeRpc {
  call(peerId: string, method: string, body?: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
}

export interface AgentFacadeClusterInit {
  readonly clusterName: string;
  readonly selfId: NodeId;
  /** The cluster UUID once `cluster.init` is applied. */
  readonly clusterUuid: () => string | null;
  /** The members of the applied cluster state. */
  readonly members: () => readonly MemberRecord[];
  /** The PoC: the leader holding the lease (null while there is none). */
  readonly pocId: () => NodeId | null;
  /** This node's own BMC; undefined when it has none. */
  readonly localBmc: LocalBmc | undefined;
  readonly rpc: FacadeRpc;
  /** This node's Raft term (the PoC's fencing token). Omitted (read-only tests): 0. */
  readonly term?: () => number;
  /**
   * This node's own operation executor and image staging (what other members reach over RPC).
   * Omitted: operations and images for this node are refused as unreachable.
   */
  readonly executor?: OperationExecutor;
  readonly staging?: ImageStaging;
  /**
   * Moves leadership to `to`, or to the best other member (the daemon's ClusterOperations, as
   * `conclave transfer-leadership`); resolves once another member leads. Omitted: refused.
   */
  readonly transferLeadership?: (to: NodeId | undefined) => Promise<unknown>;
  readonly logger?: AgentLogger;
  /**
   * When this node last heard a Raft message from `id` (wall clock ms), and how long a silence
   * means the member's agent is gone. A live member answers every heartbeat; one silent for longer
   * than the shortest election timeout is dead or cut off, and the facade reports its resources as
   * missing at once instead of waiting a read deadline for each (what a new PoC would otherwise do
   * for its predecessor's BMC on every cold read). Omitted: only the replicated health counts.
   */
  readonly agentSilence?: {
    readonly lastHeardAtMs: (id: NodeId) => number | undefined;
    readonly silentAfterMs: number;
    readonly nowMs: () => number;
  };
}

const HEALTH: Readonly<Record<string, MemberHealth>> = { ok: "OK", warning: "Warning", critical: "Critical" };

/** The member's replicated health report as the facade serves it (ManagerDiagnosticData). */
function diagnosticsOf(health: HealthSummary): MemberDiagnostics {
  return {
    health: HEALTH[health.status] ?? "Warning",
    bmcReachable: health.bmcReachable,
    ...(health.cpuPercent === undefined ? {} : { cpuPercent: health.cpuPercent }),
    ...(health.memoryPercent === undefined ? {} : { memoryPercent: health.memoryPercent }),
    ...(health.diskPercent === undefined ? {} : { stateDiskPercent: health.diskPercent }),
    reportedAtMs: health.reportedAtMs,
  };
}

/** How long an owner may take to answer a status query (a ledger lookup and one file write). */
export const OPERATION_STATUS_TIMEOUT_MS = 5_000;
/** How long one image staging call (open, one chunk, finish, abort) may take on the member (disk writes). */
export const IMAGE_STAGE_CALL_TIMEOUT_MS = 10_000;

/** Codes of a member's failure that mean its BMC did not answer in time (the rest: unreachable). */
const TIMEOUT_CODES = new Set(["AGENT_ERR_BMC_TIMEOUT", "AGENT_ERR_RPC_TIMEOUT"]);

export class AgentFacadeCluster implements FacadeCluster {
  readonly clusterName: string;
  readonly #init: AgentFacadeClusterInit;
  readonly #logger: AgentLogger;
  /** Clashes already warned about (by their sorted member ids), so each is logged once. */
  readonly #warnedClashes = new Set<string>();

  constructor(init: AgentFacadeClusterInit) {
    this.clusterName = init.clusterName;
    this.#init = init;
    this.#logger = init.logger ?? silentLogger;
  }

  clusterUuid(): string | null {
    return this.#init.clusterUuid();
  }

  hasQuorum(): boolean {
    return this.#init.pocId() === this.#init.selfId;
  }

  members(): readonly FacadeMember[] {
    const records = this.#init.members();
    const names = assignMemberNames(records);
    for (const clash of names.clashes) {
      const key = clash.memberIds.join(",");
      if (this.#warnedClashes.has(key)) continue;
      this.#warnedClashes.add(key);
      this.#logger.warn(
        {
          name: clash.name,
          members: clash.memberIds.map((id) => ({ id, name: names.byId.get(id) })),
        },
        `${clash.memberIds.length} members are named "${clash.name}": the first to join keeps it, the others get their id's end appended; set a unique nodeName on each`,
      );
    }
    const pocId = this.#init.pocId();
    const members = records.map((record): FacadeMember => {
      const hasBmc = record.labels[BMC_LABEL] !== NO_BMC_LABEL_VALUE;
      return {
        id: record.id,
        name: names.byId.get(record.id) as string,
        hostName: hostNameOf(record),
        role: record.role,
        isPoc: record.id === pocId,
        hasBmc,
        health: record.health === null ? "Warning" : (HEALTH[record.health.status] ?? "Warning"),
        bmcReachable: hasBmc && record.health?.bmcReachable === true && this.#agentHeard(record.id, pocId),
        labels: operatorLabels(record.labels),
        ...(record.health === null ? {} : { diagnostics: diagnosticsOf(record.health) }),
      };
    });
    return members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * False when the member's agent has been silent longer than `agentSilence.silentAfterMs`. Only
   * the PoC hears every member (they answer its heartbeats); on any other node (a standby voter
   * warming its cache) a member's silence says nothing and every member counts as heard.
   */
  #agentHeard(id: NodeId, pocId: NodeId | null): boolean {
    const silence = this.#init.agentSilence;
    if (silence === undefined || id === this.#init.selfId || pocId !== this.#init.selfId) return true;
    const at = silence.lastHeardAtMs(id);
    return at !== undefined && silence.nowMs() - at <= silence.silentAfterMs;
  }

  async forward(memberId: string, request: UpstreamRequest): Promise<UpstreamResponse> {
    const record = this.#init.members().find((member) => member.id === memberId);
    if (record === undefined) throw new UpstreamError("unknown-member", memberId, `no member ${memberId}`);
    if (record.labels[BMC_LABEL] === NO_BMC_LABEL_VALUE) {
      throw new UpstreamError("unreachable", memberId, `member ${memberId} has no BMC to forward to`);
    }
    let body: ReturnType<typeof parseBmcRequest>;
    try {
      body = parseBmcRequest(request);
    } catch (error) {
      // A request the member would refuse never leaves: same wording as the member's refusal.
      throw new UpstreamError("unreachable", memberId, describe(error), { cause: error });
    }
    try {
      const answer =
        memberId === this.#init.selfId
          ? await this.#forwardLocally(memberId, body)
          : ((await this.#init.rpc.call(memberId, RPC_METHODS.bmcRequest, body, {
              timeoutMs: body.timeoutMs + BMC_REQUEST_TRANSIT_MS,
            })) as BmcRequestAnswer);
      return checkedAnswer(memberId, answer);
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw toUpstreamError(memberId, error);
    }
  }

  term(): number {
    return this.#init.term?.() ?? 0;
  }

  async executeOperation(memberId: string, execution: OperationExecution): Promise<OwnerAnswer> {
    this.#bmcMember(memberId);
    const request = this.#checked(memberId, () => parseOperationRequest({ op: "execute", execution }));
    if (request.op !== "execute") throw new UpstreamError("unreachable", memberId, "not an execution");
    // The owner answers within the BMC deadline, or "running" after OPERATION_ANSWER_WITHIN_MS.
    const answerMs = Math.min(request.execution.timeoutMs, OPERATION_ANSWER_WITHIN_MS);
    return this.#askOwner(memberId, request, answerMs + BMC_REQUEST_TRANSIT_MS);
  }

  async operationStatus(memberId: string, query: OperationStatusQuery): Promise<OwnerAnswer> {
    this.#bmcMember(memberId);
    const request = this.#checked(memberId, () => parseOperationRequest({ op: "status", query }));
    return this.#askOwner(memberId, request, OPERATION_STATUS_TIMEOUT_MS);
  }

  async transferLeadership(toMemberId: string | undefined): Promise<void> {
    if (toMemberId !== undefined && !this.#init.members().some((member) => member.id === toMemberId)) {
      throw new LeadershipTransferError(`no member ${toMemberId} to hand leadership to`);
    }
    const transfer = this.#init.transferLeadership;
    if (transfer === undefined) throw new LeadershipTransferError("this node cannot hand leadership over");
    try {
      await transfer(toMemberId);
    } catch (error) {
      throw new LeadershipTransferError(`leadership did not move: ${describe(error)}`, { cause: error });
    }
  }

  async openImageStage(
    memberId: string,
    stageId: string,
    expectedBytes: number | undefined,
  ): Promise<ImageStageWriter> {
    this.#bmcMember(memberId);
    const local = memberId === this.#init.selfId;
    const staging = this.#init.staging;
    if (local && staging === undefined) {
      throw new UpstreamError("unreachable", memberId, "this node has no image staging");
    }
    const send = async (request: ImageStageRequest): Promise<unknown> => {
      try {
        if (!local) {
          return await this.#init.rpc.call(memberId, RPC_METHODS.imageStage, request, {
            timeoutMs: IMAGE_STAGE_CALL_TIMEOUT_MS,
          });
        }
        const store = staging as ImageStaging;
        switch (request.op) {
          case "open":
            return await store.open(request.stageId, request.expectedBytes);
          case "chunk":
            return await store.write(request.stageId, request.offset, Buffer.from(request.data, "base64"));
          case "finish":
            return await store.finish(request.stageId);
          case "abort":
            return await store.abort(request.stageId);
        }
      } catch (error) {
        throw toUpstreamError(memberId, error);
      }
    };
    await send({ op: "open", stageId, ...(expectedBytes === undefined ? {} : { expectedBytes }) });
    let offset = 0;
    return {
      // One piece at a time, each awaited: the member's disk paces the sender (backpressure).
      write: async (chunk) => {
        for (let start = 0; start < chunk.byteLength; start += IMAGE_STAGE_CHUNK_BYTES) {
          const piece = chunk.subarray(start, Math.min(chunk.byteLength, start + IMAGE_STAGE_CHUNK_BYTES));
          await send({ op: "chunk", stageId, offset, data: Buffer.from(piece).toString("base64") });
          offset += piece.byteLength;
        }
      },
      finish: async () => checkedStagedImage(memberId, await send({ op: "finish", stageId })),
      abort: async (reason) => {
        this.#logger.info({ member: memberId, stageId, reason }, "image staging aborted");
        await send({ op: "abort", stageId }).catch(() => undefined);
      },
    };
  }

  /** The member, when it exists and has a BMC; throws UpstreamError as forward does. */
  #bmcMember(memberId: string): MemberRecord {
    const record = this.#init.members().find((member) => member.id === memberId);
    if (record === undefined) throw new UpstreamError("unknown-member", memberId, `no member ${memberId}`);
    if (record.labels[BMC_LABEL] === NO_BMC_LABEL_VALUE) {
      throw new UpstreamError("unreachable", memberId, `member ${memberId} has no BMC`);
    }
    return record;
  }

  /** A request the owner would refuse never leaves: same wording as the owner's refusal. */
  #checked<T>(memberId: string, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      throw new UpstreamError("unreachable", memberId, describe(error), { cause: error });
    }
  }

  async #askOwner(
    memberId: string,
    request: ReturnType<typeof parseOperationRequest>,
    rpcTimeoutMs: number,
  ): Promise<OwnerAnswer> {
    try {
      let answer: unknown;
      if (memberId === this.#init.selfId) {
        const executor = this.#init.executor;
        if (executor === undefined) throw new UpstreamError("unreachable", memberId, "this node runs no operations");
        answer =
          request.op === "execute" ? await executor.execute(request.execution) : await executor.status(request.query);
      } else {
        answer = await this.#init.rpc.call(memberId, RPC_METHODS.bmcOperation, request, { timeoutMs: rpcTimeoutMs });
      }
      return checkedOwnerAnswer(memberId, answer);
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw toUpstreamError(memberId, error);
    }
  }

  async #forwardLocally(memberId: string, body: ReturnType<typeof parseBmcRequest>): Promise<BmcRequestAnswer> {
    const bmc = this.#init.localBmc;
    if (bmc === undefined) throw new UpstreamError("unreachable", memberId, "this node has no BMC to forward to");
    return runBmcRequest(bmc, body);
  }
}

/** Turns a failed forward (local BMC error, RPC error, remote BMC error) into the facade's kinds. */
export function toUpstreamError(memberId: string, error: unknown): UpstreamError {
  const code =
    error instanceof RpcRemoteError ? error.remoteCode : error instanceof AgentError ? error.code : undefined;
  const kind = code !== undefined && TIMEOUT_CODES.has(code) ? "timeout" : "unreachable";
  return new UpstreamError(kind, memberId, describe(error), { cause: error });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A member's answer is checked before the facade reads it: a peer is trusted, not its shape. */
function checkedAnswer(memberId: string, answer: unknown): UpstreamResponse {
  const value = answer as Partial<BmcRequestAnswer> | null;
  if (
    value === null ||
    typeof value !== "object" ||
    typeof value.statusCode !== "number" ||
    !Number.isInteger(value.statusCode) ||
    value.statusCode < 100 ||
    value.statusCode > 599 ||
    typeof value.text !== "string" ||
    value.headers === null ||
    typeof value.headers !== "object"
  ) {
    throw new UpstreamError("unreachable", memberId, `member ${memberId} answered a BMC request with a malformed body`);
  }
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, header] of Object.entries(value.headers)) {
    if (typeof header === "string" || (Array.isArray(header) && header.every((item) => typeof item === "string"))) {
      headers[name.toLowerCase()] = header;
    }
  }
  return { statusCode: value.statusCode, headers, text: value.text };
}

/** An owner's answer is checked before the journal reads it. */
function checkedOwnerAnswer(memberId: string, answer: unknown): OwnerAnswer {
  const value = answer as { kind?: unknown; newestTerm?: unknown; result?: unknown } | null;
  const malformed = () =>
    new UpstreamError("unreachable", memberId, `member ${memberId} answered an operation with a malformed body`);
  if (value === null || typeof value !== "object") throw malformed();
  switch (value.kind) {
    case "running":
    case "not-executed":
    case "unknown":
    case "image-missing":
      return { kind: value.kind };
    case "stale-term":
      if (typeof value.newestTerm !== "number" || !Number.isSafeInteger(value.newestTerm)) throw malformed();
      return { kind: "stale-term", newestTerm: value.newestTerm };
    case "executed": {
      const result = value.result as Record<string, unknown> | null;
      if (
        result === null ||
        typeof result !== "object" ||
        typeof result.statusCode !== "number" ||
        !Number.isInteger(result.statusCode) ||
        result.statusCode < 100 ||
        result.statusCode > 599 ||
        typeof result.text !== "string" ||
        typeof result.truncated !== "boolean" ||
        result.headers === null ||
        typeof result.headers !== "object"
      ) {
        throw malformed();
      }
      const headers: Record<string, string> = {};
      for (const [name, header] of Object.entries(result.headers as Record<string, unknown>)) {
        if (typeof header === "string") headers[name.toLowerCase()] = header;
      }
      return {
        kind: "executed",
        result: { statusCode: result.statusCode, headers, text: result.text, truncated: result.truncated },
      };
    }
    default:
      throw malformed();
  }
}

function checkedStagedImage(memberId: string, answer: unknown): StagedImage {
  const value = answer as Partial<StagedImage> | null;
  if (
    value === null ||
    typeof value !== "object" ||
    typeof value.bytes !== "number" ||
    typeof value.sha256 !== "string" ||
    !/^[0-9a-f]{64}$/.test(value.sha256)
  ) {
    throw new UpstreamError(
      "unreachable",
      memberId,
      `member ${memberId} answered a staged image with a malformed body`,
    );
  }
  return { bytes: value.bytes, sha256: value.sha256 };
}

/** `AggregationSource.HostName`: the BMC's own host when reported, else the member's first routable address. */
function hostNameOf(record: MemberRecord): string | undefined {
  const reported = record.labels[BMC_HOST_LABEL];
  if (reported !== undefined && reported !== "") return reported;
  let loopback: string | undefined;
  for (const address of record.addresses) {
    const match = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)/.exec(address);
    if (match === null) continue;
    const host = match[2] as string;
    if (host === "0.0.0.0" || host === "::") continue;
    if (host.startsWith("127.") || host === "::1" || host === "localhost") {
      loopback ??= host;
      continue;
    }
    return host;
  }
  return loopback;
}
