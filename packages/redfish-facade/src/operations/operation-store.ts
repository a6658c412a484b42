// Where the facade keeps its operation journal, tasks and user-created aggregates. Reads are
// synchronous, from the state this node has applied; every change resolves only once committed
// (in the agent: through Raft, so a new PoC finds every accepted operation and every task). Two
// implementations, as for accounts: createMemoryOperationStore (tests, a facade without a
// cluster) and the agent's createReplicatedOperationStore; both apply OperationState's rules.
import type { AggregateRecord, OperationRecord, TaskRecord } from "./operation-types.ts";

/** The read side of OperationState. */
export interface OperationStateView {
  operation(id: string): OperationRecord | undefined;
  /** Oldest first. */
  operations(): readonly OperationRecord[];
  /** The single write accepted with this client Idempotency-Key (kept OPERATION_KEEP_MS at most). */
  operationByIdempotencyKey(key: string): OperationRecord | undefined;
  task(id: string): TaskRecord | undefined;
  /** Oldest first. */
  tasks(): readonly TaskRecord[];
  aggregate(id: string): AggregateRecord | undefined;
  /** By id. */
  aggregates(): readonly AggregateRecord[];
}

/**
 * One change, as committed. The bodies are OPERATION_CHANGE_BODIES[type] (TypeBox, closed), in
 * operation-state.ts; every body carries `atMs` (the proposer's clock), so apply reads no clock.
 */
export const OPERATION_CHANGE_TYPES = Object.freeze([
  "operation.accept",
  "operation.finish",
  "task.create",
  "task.advance",
  "aggregate.create",
  "aggregate.delete",
  "aggregate.elements",
] as const);
export type OperationChangeType = (typeof OPERATION_CHANGE_TYPES)[number];

export interface OperationChange {
  readonly type: OperationChangeType;
  readonly body: unknown;
}

/** Codes of OperationRuleViolation: the state refused a change (the same on every node). */
export const OPERATION_RULE_CODES = Object.freeze([
  "journal-full",
  "duplicate-id",
  "unknown-operation",
  "already-finished",
  "tasks-full",
  "unknown-task",
  "task-finished",
  "aggregates-full",
  "duplicate-aggregate",
  "unknown-aggregate",
  "too-many-elements",
  "invalid-change",
] as const);
export type OperationRuleCode = (typeof OPERATION_RULE_CODES)[number];

export class OperationRuleViolation extends Error {
  readonly code: OperationRuleCode;

  constructor(code: OperationRuleCode, message: string) {
    super(message);
    this.name = "OperationRuleViolation";
    this.code = code;
  }
}

/** The store cannot commit right now (no quorum, not the leader, timed out): a 503 for the client. */
export class OperationStoreUnavailableError extends Error {
  readonly code = "FACADE_ERR_OPERATION_STORE_UNAVAILABLE";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OperationStoreUnavailableError";
  }
}

export interface OperationStore extends OperationStateView {
  /**
   * Commits one change; resolves with its apply result once applied locally. Rejects with
   * OperationRuleViolation when the rules refuse it, OperationStoreUnavailableError when it
   * cannot be committed now.
   */
  commit(change: OperationChange): Promise<unknown>;
}
