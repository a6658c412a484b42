// The PoC side of the operation journal. Every write on a member resource is committed
// (`operation.accept`, with this PoC's term as fencing token) before it is sent to its owner, and
// its outcome is committed too (`operation.finish`), so a new PoC finds every write that may have
// reached a BMC and settles it: it asks the owner, which remembers the ids it ran. A console's
// Idempotency-Key replays the journaled outcome instead of running the write again.
import { randomBytes } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { aggregationSourceUri } from "../aggregation-service.ts";
import { type FacadeMember, UpstreamError } from "../facade-cluster.ts";
import { type FacadeTimeouts, RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import type { FacadeService } from "../facade-service.ts";
import { type MemberWrite, prepareMemberWrite, type WriteOutcome, writeOutcomeFromResult } from "../forward-write.ts";
import { baseMessage } from "../redfish-error.ts";
import { type ServedError, servedError } from "../served.ts";
import { OperationRuleViolation, type OperationStore, OperationStoreUnavailableError } from "./operation-store.ts";
import {
  IDEMPOTENCY_KEY_MAX_CHARS,
  type OperationAction,
  type OperationFailureReason,
  type OperationRecord,
  type OwnerAnswer,
} from "./operation-types.ts";

/** Slack on top of an operation's own deadline before the PoC stops waiting for the owner's answer. */
export const OPERATION_DEADLINE_GRACE_MS = 2_000;
/** How often a request waiting for an operation in flight (same Idempotency-Key, a resend) looks again. */
export const OPERATION_WAIT_POLL_MS = 25;
/** The wait between two sends to an owner that could not be reached. */
export const OPERATION_RESEND_DELAY_MS = 500;
/** A firmware push streams a whole image to a BMC: its own deadline, longer than a write's. */
export const FIRMWARE_PUSH_TIMEOUT_MS = 10 * 60_000;

const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

export interface OperationJournalInit {
  readonly service: FacadeService;
  readonly store: OperationStore;
  readonly timeouts: FacadeTimeouts;
  /** Cluster time (the proposer's clock stamped on every change). */
  readonly now?: () => number;
}

/** What sending an operation gave: the finished record, or that this PoC must stop (stale, no store). */
export type OperationRun =
  | { readonly kind: "finished"; readonly record: OperationRecord }
  /** The owner is running it (an earlier send): ask again later. */
  | { readonly kind: "running" }
  /** A newer PoC exists, or the outcome could not be committed: the next PoC settles it. */
  | { readonly kind: "interrupted"; readonly reason: string };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function unavailable(): ServedError {
  const seconds = String(RETRY_AFTER_SECONDS);
  return servedError(503, baseMessage("ServiceTemporarilyUnavailable", [seconds]), { "retry-after": seconds });
}

/** A fresh operation id for a console's single write. */
export function newOperationId(): string {
  return `op-${randomBytes(8).toString("hex")}`;
}

/** The Redfish answer for an operation that failed without a BMC answer. */
export function failureOutcome(record: OperationRecord, member: FacadeMember | undefined): ServedError {
  const reason = record.failure?.reason ?? "outcome-unknown";
  switch (reason) {
    case "timeout":
      return servedError(504, baseMessage("OperationTimeout"));
    case "outcome-unknown":
      // The owner lost track: the console must look at the resource to learn whether it changed.
      return servedError(
        502,
        baseMessage("UndeterminedFault", [member === undefined ? record.memberId : aggregationSourceUri(member)]),
      );
    case "image-missing":
      return servedError(500, baseMessage("OperationFailed"));
    case "stale-term":
    case "unreachable":
    case "member-gone":
    case "not-run":
      return unavailable();
  }
}

export class OperationJournal {
  readonly #service: FacadeService;
  readonly #store: OperationStore;
  readonly #timeouts: FacadeTimeouts;
  readonly #now: () => number;
  /** Operations this process is sending now: the resume pass leaves them alone. */
  readonly #inFlight = new Set<string>();
  /** Single writes answered whose `operation.finish` is still being committed. */
  readonly #finishing = new Set<string>();

  constructor(init: OperationJournalInit) {
    this.#service = init.service;
    this.#store = init.store;
    this.#timeouts = init.timeouts;
    this.#now = init.now ?? Date.now;
  }

  get store(): OperationStore {
    return this.#store;
  }

  now(): number {
    return this.#now();
  }

  isInFlight(operationId: string): boolean {
    return this.#inFlight.has(operationId) || this.#finishing.has(operationId);
  }

  /** The deadline an operation's owner gets for its BMC's answer. */
  timeoutFor(action: OperationAction): number {
    return action.kind === "firmware-push" ? FIRMWARE_PUSH_TIMEOUT_MS : this.#timeouts.memberWriteTimeoutMs;
  }

  // ---------------------------------------------------------------- a console's single write

  async writeMember(write: MemberWrite, request: FastifyRequest): Promise<WriteOutcome> {
    const prepared = prepareMemberWrite(this.#service, write);
    if ("kind" in prepared) return prepared;
    const keyHeader = request.headers[IDEMPOTENCY_KEY_HEADER];
    let key: string | null = null;
    if (keyHeader !== undefined) {
      if (typeof keyHeader !== "string" || keyHeader.length === 0 || keyHeader.length > IDEMPOTENCY_KEY_MAX_CHARS) {
        return servedError(400, baseMessage("HeaderInvalid", ["Idempotency-Key"]));
      }
      key = keyHeader;
      const earlier = this.#store.operationByIdempotencyKey(key);
      if (earlier !== undefined) return this.#replay(earlier, write);
    }
    const id = newOperationId();
    const action: OperationAction = { kind: "http", request: prepared };
    this.#inFlight.add(id);
    try {
      let record: OperationRecord;
      try {
        record = (await this.#store.commit({
          type: "operation.accept",
          body: {
            id,
            memberId: write.member.id,
            action,
            facadePath: write.facadePath,
            term: this.#service.cluster.term(),
            taskId: null,
            idempotencyKey: key,
            atMs: this.#now(),
          },
        })) as OperationRecord;
      } catch (error) {
        if (error instanceof OperationRuleViolation && error.code === "duplicate-id" && key !== null) {
          // Another request with the same key was accepted meanwhile.
          const earlier = this.#store.operationByIdempotencyKey(key);
          if (earlier !== undefined) return this.#replay(earlier, write);
        }
        // Full, or the store cannot commit now (no quorum, not the leader): the console retries.
        if (
          error instanceof OperationStoreUnavailableError ||
          (error instanceof OperationRuleViolation && error.code === "journal-full")
        ) {
          return unavailable();
        }
        if (error instanceof OperationRuleViolation) return servedError(500, baseMessage("InternalError"));
        throw error;
      }
      const run = await this.send(record, { timeoutMs: write.timeoutMs });
      if (run.kind === "finished") return this.#outcome(run.record, write);
      // The owner is running an earlier send (cannot happen for a fresh id) or this PoC lost its
      // role: the console retries through the VIP and finds the outcome (Idempotency-Key).
      return unavailable();
    } finally {
      this.#inFlight.delete(id);
    }
  }

  /** The answer to a request whose Idempotency-Key names an operation already journaled. */
  async #replay(earlier: OperationRecord, write: MemberWrite): Promise<WriteOutcome> {
    const sameRequest =
      earlier.taskId === null &&
      earlier.memberId === write.member.id &&
      earlier.facadePath === write.facadePath &&
      earlier.action.kind === "http" &&
      earlier.action.request.method === write.method;
    if (!sameRequest) return servedError(409, baseMessage("HeaderInvalid", ["Idempotency-Key"]));
    let record = earlier;
    const deadline = this.#now() + write.timeoutMs + OPERATION_DEADLINE_GRACE_MS;
    while (record.phase === "accepted" && this.#now() < deadline) {
      await sleep(OPERATION_WAIT_POLL_MS);
      const current = this.#store.operation(record.id);
      if (current === undefined) return unavailable();
      record = current;
    }
    if (record.phase === "accepted") return unavailable();
    return this.#outcome(record, write);
  }

  #outcome(record: OperationRecord, write: MemberWrite): WriteOutcome {
    if (record.phase === "completed" && record.result !== null) {
      return writeOutcomeFromResult(this.#service, write, record.result);
    }
    this.#service.reader.invalidate(write.member.id);
    return failureOutcome(record, write.member);
  }

  // ---------------------------------------------------------------- sending and settling

  /**
   * Sends an accepted operation to its owner with this PoC's current term and commits the outcome.
   * The owner runs an id once: a resend answers the remembered result.
   */
  async send(
    record: OperationRecord,
    options: {
      readonly timeoutMs?: number;
      /** How long an owner that cannot be reached is sent to again (0: one send). */
      readonly unreachableForMs?: number;
      /** Checked before each resend: false (this node is no longer PoC) leaves the operation to the next PoC. */
      readonly stillPoc?: () => boolean;
    } = {},
  ): Promise<OperationRun> {
    const timeoutMs = options.timeoutMs ?? this.timeoutFor(record.action);
    // Bounded by time, not by count: one unreachable send may take a dial timeout or an instant.
    const resendUntilMs = performance.now() + Math.max(0, options.unreachableForMs ?? 0);
    this.#inFlight.add(record.id);
    try {
      for (;;) {
        let answer: OwnerAnswer;
        try {
          answer = await this.#withDeadline(
            this.#service.cluster.executeOperation(record.memberId, {
              operationId: record.id,
              term: this.#service.cluster.term(),
              action: record.action,
              timeoutMs,
            }),
            record.memberId,
            timeoutMs,
          );
        } catch (error) {
          if (!(error instanceof UpstreamError)) throw error;
          // Unreachable: sent again with the same id (the owner runs an id at most once).
          if (error.kind !== "timeout" && performance.now() + OPERATION_RESEND_DELAY_MS < resendUntilMs) {
            await sleep(OPERATION_RESEND_DELAY_MS);
            if (options.stillPoc?.() === false) return { kind: "interrupted", reason: "no longer the PoC" };
            continue;
          }
          const reason: OperationFailureReason = error.kind === "timeout" ? "timeout" : "unreachable";
          return this.#settle(record, {
            kind: "failed",
            reason,
            message: `${this.#memberName(record)}: ${error.message}`,
          });
        }
        return this.#settleFromAnswer(record, answer, "execute");
      }
    } finally {
      this.#inFlight.delete(record.id);
    }
  }

  /**
   * A new PoC settles an operation an earlier PoC accepted: the owner says what happened. A task's
   * operation the owner never ran is sent again; a console's single write is failed visibly (its
   * client got no answer and decides).
   */
  async settle(record: OperationRecord): Promise<OperationRun> {
    if (this.isInFlight(record.id)) return { kind: "running" };
    const member = this.#service.cluster.members().find((m) => m.id === record.memberId);
    if (member === undefined) {
      return this.#settle(record, {
        kind: "failed",
        reason: "member-gone",
        message: `member ${record.memberId} left the cluster before the operation's outcome was known`,
      });
    }
    let answer: OwnerAnswer;
    try {
      answer = await this.#withDeadline(
        this.#service.cluster.operationStatus(record.memberId, {
          operationId: record.id,
          term: this.#service.cluster.term(),
        }),
        record.memberId,
        this.#timeouts.memberReadTimeoutMs,
      );
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      // Nothing is known yet: the next pass asks again.
      return { kind: "running" };
    }
    if (
      answer.kind === "not-executed" &&
      record.taskId !== null &&
      this.#store.task(record.taskId)?.state === "Running"
    ) {
      return this.send(record);
    }
    return this.#settleFromAnswer(record, answer, "status");
  }

  async #settleFromAnswer(
    record: OperationRecord,
    answer: OwnerAnswer,
    asked: "execute" | "status",
  ): Promise<OperationRun> {
    const name = this.#memberName(record);
    switch (answer.kind) {
      case "executed":
        return this.#settle(record, { kind: "completed", result: answer.result });
      case "running":
        return { kind: "running" };
      case "not-executed":
        return this.#settle(record, {
          kind: "failed",
          reason: "not-run",
          message: `${name} never ran the operation: the PoC that accepted it failed over before sending it`,
        });
      case "unknown":
        return this.#settle(record, {
          kind: "failed",
          reason: "outcome-unknown",
          message: `${name} restarted while running the operation: it may or may not have been applied`,
        });
      case "image-missing":
        return this.#settle(record, {
          kind: "failed",
          reason: "image-missing",
          message: `${name} no longer holds the staged image`,
        });
      case "stale-term":
        // A newer PoC exists: it settles the operation. A single write is failed now so its
        // client is answered; the owner refused it, so it certainly did not run.
        if (asked === "execute" && record.taskId === null) {
          return this.#settle(record, {
            kind: "failed",
            reason: "stale-term",
            message: `${name} refused the operation: a newer PoC (term ${answer.newestTerm}) exists`,
          });
        }
        return { kind: "interrupted", reason: `a newer PoC (term ${answer.newestTerm}) exists` };
    }
  }

  async #settle(
    record: OperationRecord,
    outcome:
      | { kind: "completed"; result: NonNullable<OperationRecord["result"]> }
      | { kind: "failed"; reason: OperationFailureReason; message: string },
  ): Promise<OperationRun> {
    if (record.taskId === null) {
      // A console's single write: its client gets the owner's outcome now, while the outcome is
      // journaled. That is one Raft commit less on the console's path, and safe: a PoC that dies
      // before the commit leaves the operation accepted, and the next one asks the owner, which
      // remembers what it ran. Until then the operation counts as in flight here.
      this.#finishing.add(record.id);
      void this.#commitFinish(record, outcome)
        .catch(() => undefined)
        .finally(() => this.#finishing.delete(record.id));
      return { kind: "finished", record: finishedRecord(record, outcome, this.#now()) };
    }
    try {
      return await this.#commitFinish(record, outcome);
    } catch (error) {
      if (error instanceof OperationRuleViolation || error instanceof OperationStoreUnavailableError) {
        // Not journaled: the task stops here and the next PoC settles it by asking the owner.
        if (outcome.kind === "completed")
          return { kind: "finished", record: finishedRecord(record, outcome, this.#now()) };
        return { kind: "interrupted", reason: error.message };
      }
      throw error;
    }
  }

  /** Commits `operation.finish`; an operation another settle finished first is read back. */
  async #commitFinish(
    record: OperationRecord,
    outcome:
      | { kind: "completed"; result: NonNullable<OperationRecord["result"]> }
      | { kind: "failed"; reason: OperationFailureReason; message: string },
  ): Promise<OperationRun> {
    try {
      const finished = (await this.#store.commit({
        type: "operation.finish",
        body: { id: record.id, outcome, atMs: this.#now() },
      })) as OperationRecord;
      return { kind: "finished", record: finished };
    } catch (error) {
      if (error instanceof OperationRuleViolation && error.code === "already-finished") {
        const current = this.#store.operation(record.id);
        if (current !== undefined) return { kind: "finished", record: current };
      }
      throw error;
    }
  }

  /**
   * Settles every accepted operation this process is not sending that no task runner will: single
   * writes, and operations of tasks that ended meanwhile (cancelled). Running tasks' operations are
   * settled by the task runner, stage by stage.
   */
  async resumeUnfinished(): Promise<void> {
    await Promise.all(this.unsettled().map((op) => this.settle(op)));
  }

  /** The accepted operations resumeUnfinished settles. */
  unsettled(): OperationRecord[] {
    return this.#store
      .operations()
      .filter(
        (op) =>
          op.phase === "accepted" &&
          !this.isInFlight(op.id) &&
          (op.taskId === null || this.#store.task(op.taskId)?.state !== "Running"),
      );
  }

  #memberName(record: OperationRecord): string {
    return this.#service.cluster.members().find((m) => m.id === record.memberId)?.name ?? record.memberId;
  }

  async #withDeadline<T>(promise: Promise<T>, memberId: string, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new UpstreamError("timeout", memberId, `no answer from the owner within ${timeoutMs} ms`)),
        timeoutMs + OPERATION_DEADLINE_GRACE_MS,
      );
    });
    try {
      return await Promise.race([promise, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The record as `operation.finish` makes it, for an outcome answered before (or without) its commit. */
function finishedRecord(
  record: OperationRecord,
  outcome:
    | { kind: "completed"; result: NonNullable<OperationRecord["result"]> }
    | { kind: "failed"; reason: OperationFailureReason; message: string },
  atMs: number,
): OperationRecord {
  return {
    ...record,
    phase: outcome.kind,
    result: outcome.kind === "completed" ? outcome.result : null,
    failure: outcome.kind === "failed" ? { reason: outcome.reason, message: outcome.message } : null,
    finishedAtMs: atMs,
  };
}
