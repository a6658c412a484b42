// The operator's cluster-changing requests (transfer leadership, step down, drain, undrain,
// remove), run on the PoC. On a follower each is forwarded once to the PoC over
// /conclave/rpc/1 and the PoC's answer (or error code) is returned as if local.
import { NO_NODE, type NodeId } from "@conclave/consensus";
import { clusterCommands } from "../cluster-state/core-section.ts";
import type { LeadershipReason, MemberRecord } from "../cluster-state/types.ts";
import type {
  ChangeResult,
  NodeRequest,
  RemoveRequest,
  TransferLeadershipRequest,
  TransferLeadershipResult,
} from "../control/control-protocol.ts";
import { InvalidControlRequestError, NoPocError } from "../errors.ts";
import { pickHealthiestSuccessor, type SuccessorCandidate } from "../health/health-policy.ts";
import type { HealthLevel } from "../health/health-report.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import type { RpcService } from "../p2p/rpc.ts";
import type { RaftDriver } from "../raft-driver/raft-driver.ts";
import type { ControlHandlers } from "./control-server.ts";
import { memberName, resolveNode } from "./node-resolver.ts";
import { FORWARD_TIMEOUT_MS, type ForwardedControl, HANDOVER_NOTICE_TIMEOUT_MS, RPC_METHODS } from "./rpc-methods.ts";

export type ClusterOperationName = ForwardedControl["operation"];

/** A drained PoC whose own hand-over lost a race waits this long for leadership to move anyway. */
export const DRAIN_HAND_OVER_WAIT_MS = 5_000;

export interface ClusterOperationsInit {
  readonly driver: RaftDriver;
  readonly rpc: Pick<RpcService, "call">;
  readonly logger?: AgentLogger;
}

/** The voters that could lead next, as the health policy ranks them. */
export function successorCandidates(driver: RaftDriver): SuccessorCandidate[] {
  const status = driver.status();
  const progress = new Map(status.members.map((member) => [member.id, member]));
  return status.voters
    .filter((id) => id !== driver.selfId)
    .map((id) => {
      const member = driver.state.member(id);
      const level: HealthLevel = member?.health?.status ?? "ok";
      return {
        id,
        level,
        priority: member?.priority ?? 0,
        replicationLag: progress.get(id)?.lagEntries ?? Number.MAX_SAFE_INTEGER,
        drained: member?.drained === true,
        witness: member?.witness === true,
        reachable: progress.get(id)?.recentActive === true,
      };
    });
}

export class ClusterOperations {
  readonly #driver: RaftDriver;
  readonly #rpc: Pick<RpcService, "call">;
  readonly #logger: AgentLogger;

  constructor(init: ClusterOperationsInit) {
    this.#driver = init.driver;
    this.#rpc = init.rpc;
    this.#logger = init.logger ?? silentLogger;
  }

  /** The control handlers of cluster-changing routes: local on the PoC, forwarded elsewhere. */
  handlers(): Pick<ControlHandlers, "transferLeadership" | "stepDown" | "drain" | "undrain" | "remove"> {
    return {
      transferLeadership: (request) => this.#run("transferLeadership", request) as Promise<TransferLeadershipResult>,
      stepDown: () => this.#run("stepDown", {}) as Promise<ChangeResult>,
      drain: (request) => this.#run("drain", request) as Promise<ChangeResult>,
      undrain: (request) => this.#run("undrain", request) as Promise<ChangeResult>,
      remove: (request) => this.#run("remove", request) as Promise<ChangeResult>,
    };
  }

  /** The RPC handler on the PoC for forwarded requests: runs locally, never forwards again. */
  serveForwarded(body: unknown): Promise<unknown> {
    const request = body as Partial<ForwardedControl> | null;
    if (request === null || typeof request !== "object" || typeof request.operation !== "string") {
      return Promise.reject(new InvalidControlRequestError("malformed forwarded control request"));
    }
    if (!this.#isLeader()) return Promise.reject(new NoPocError("this node is no longer the PoC; try again"));
    return this.#local(request.operation, request.body ?? {});
  }

  /**
   * Hands leadership to `target` (default: the healthiest eligible voter), telling it why first
   * so that it records the right reason. Resolves once another leader is known.
   */
  async handOver(reason: LeadershipReason, target?: NodeId): Promise<TransferLeadershipResult> {
    const status = this.#driver.status();
    const to = target ?? pickHealthiestSuccessor(successorCandidates(this.#driver))?.id;
    if (to === undefined) {
      throw new InvalidControlRequestError(
        "no reachable voter may take over (all others are drained, witnesses or silent)",
      );
    }
    this.#logger.info({ to, reason, term: status.term }, "handing leadership over");
    await this.#rpc
      .call(to, RPC_METHODS.handover, { reason, term: status.term }, { timeoutMs: HANDOVER_NOTICE_TIMEOUT_MS })
      .catch((error: unknown) => this.#logger.debug({ err: error, to }, "could not tell the successor why"));
    const result = await this.#driver.transferLeadership(to);
    return { previousPocId: this.#driver.selfId, pocId: result.leaderId, term: result.term, tookMs: result.tookMs };
  }

  async #noticeAll(reason: LeadershipReason): Promise<void> {
    const status = this.#driver.status();
    await Promise.allSettled(
      status.voters
        .filter((id) => id !== this.#driver.selfId)
        .map((id) =>
          this.#rpc.call(
            id,
            RPC_METHODS.handover,
            { reason, term: status.term },
            { timeoutMs: HANDOVER_NOTICE_TIMEOUT_MS },
          ),
        ),
    );
  }

  #isLeader(): boolean {
    return this.#driver.status().role === "leader";
  }

  async #run(operation: ClusterOperationName, body: unknown): Promise<unknown> {
    if (this.#isLeader()) return this.#local(operation, body);
    const leaderId = this.#driver.status().leaderId;
    if (leaderId === NO_NODE) throw new NoPocError();
    const forwarded: ForwardedControl = { operation, body };
    return this.#rpc.call(leaderId, RPC_METHODS.control, forwarded, { timeoutMs: FORWARD_TIMEOUT_MS });
  }

  #members(): readonly MemberRecord[] {
    return this.#driver.state.members();
  }

  #resolve(value: unknown): MemberRecord {
    if (typeof value !== "string") throw new InvalidControlRequestError("the request must name a node");
    const id = resolveNode(value, this.#members());
    return this.#driver.state.member(id) as MemberRecord;
  }

  async #local(operation: string, body: unknown): Promise<unknown> {
    const request = (body ?? {}) as Record<string, unknown>;
    switch (operation) {
      case "transferLeadership": {
        const to = (request as TransferLeadershipRequest).to;
        if (to === undefined) return this.handOver("transfer");
        const target = this.#resolve(to);
        if (target.id === this.#driver.selfId) {
          const status = this.#driver.status();
          return { previousPocId: target.id, pocId: target.id, term: status.term, tookMs: 0 };
        }
        if (target.role === "learner")
          throw new InvalidControlRequestError(`${memberName(target)} is a learner: it cannot lead`);
        if (target.witness) throw new InvalidControlRequestError(`${memberName(target)} is a witness: it never leads`);
        if (target.drained) throw new InvalidControlRequestError(`${memberName(target)} is drained: undrain it first`);
        return this.handOver("transfer", target.id);
      }
      case "stepDown": {
        const result = await this.handOver("step-down");
        return ok(`stepped down; ${this.#name(result.pocId)} is PoC in term ${result.term} (${result.tookMs} ms)`);
      }
      case "drain":
      case "undrain": {
        const target = this.#resolve((request as Partial<NodeRequest>).node);
        const drained = operation === "drain";
        const selfDrain = drained && target.id === this.#driver.selfId;
        // A drained leader's core hands over on its own as soon as the drain applies, to the first
        // voter holding its whole log: tell every voter why first, so the successor records "drain".
        if (selfDrain) await this.#noticeAll("drain");
        await this.#driver.propose(clusterCommands.drainMember(target.id, drained));
        if (!drained) return ok(`${memberName(target)} is no longer drained: it may become PoC again`);
        if (selfDrain && this.#isLeader()) {
          try {
            const result = await this.handOver("drain");
            return ok(`${memberName(target)} is drained and handed over: ${this.#name(result.pocId)} is PoC`);
          } catch (error) {
            // The core (and the PoC's reconcile) hand a drained leader's office over on their own:
            // a race with them is fine, as long as leadership moves.
            const deadline = Date.now() + DRAIN_HAND_OVER_WAIT_MS;
            while (this.#isLeader() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
            if (!this.#isLeader()) return ok(`${memberName(target)} is drained and no longer PoC`);
            throw error;
          }
        }
        return ok(`${memberName(target)} is drained: it votes but will not become PoC`);
      }
      case "remove": {
        const target = this.#resolve((request as Partial<RemoveRequest>).node);
        const force = (request as Partial<RemoveRequest>).force === true;
        if (target.id === this.#driver.selfId) {
          // The PoC cannot remove itself cleanly: hand over, then ask the new PoC.
          const result = await this.handOver("transfer");
          return this.#rpc.call(
            result.pocId,
            RPC_METHODS.control,
            { operation: "remove", body: { node: target.id, force } } satisfies ForwardedControl,
            { timeoutMs: FORWARD_TIMEOUT_MS },
          );
        }
        await this.#driver.remove(target.id, { force });
        return ok(`${memberName(target)} was removed from the cluster`);
      }
      default:
        throw new InvalidControlRequestError(`unknown control operation ${JSON.stringify(operation)}`);
    }
  }

  #name(id: NodeId): string {
    const member = this.#driver.state.member(id);
    return member === undefined ? id : memberName(member);
  }
}

function ok(message: string): ChangeResult {
  return { ok: true, message };
}
