// The operation journal's vocabulary, shared by the facade (which journals and drives operations
// on the PoC), the agent (which replicates the journal through Raft and executes operations on the
// owning member) and the tests. Types and named bounds only; the rules live in operation-state.ts
// (the replicated state), owner-ledger.ts (what an owner remembers) and operation-journal.ts
// (the PoC side).
//
// The life of an operation:
//   1. the PoC commits `operation.accept` (id, owner, action, its term) — before anything is sent;
//   2. it sends the operation to the owner with its current term (`FacadeCluster.executeOperation`);
//      the owner refuses a term older than the newest it has seen, runs an id it has not run,
//      and answers an id it already ran with the remembered result (never twice);
//   3. the PoC commits `operation.finish` with the outcome.
// A new PoC finds accepted, unfinished operations in the state and asks each owner what happened
// (`FacadeCluster.operationStatus`, which also fences the older term): ran → the result is
// committed; not run → a task's operation is sent again (same id), a console's single write is
// failed visibly (its client got no answer and decides); unknown → failed visibly.

import type { UpstreamRequest, UpstreamResponse } from "../facade-cluster.ts";

/** What an operation does on its owner. */
export type OperationAction =
  /** One HTTP request to the owner's BMC (PATCH, POST, DELETE, actions). */
  | { readonly kind: "http"; readonly request: JournaledRequest }
  /**
   * A multipart firmware push of an image staged on the owner (`FacadeCluster.stageImage`) to the
   * owner's BMC `MultipartHttpPushUri`, with the given UpdateParameters (targets already unprefixed).
   */
  | {
      readonly kind: "firmware-push";
      readonly stageId: string;
      readonly imageName: string;
      readonly updateParameters: Readonly<Record<string, unknown>>;
    };

/** An UpstreamRequest as the journal keeps it: no deadline (each send has its own). */
export interface JournaledRequest {
  readonly method: "PATCH" | "POST" | "PUT" | "DELETE";
  /** Path on the member's BMC, unprefixed, with the query string. */
  readonly path: string;
  /** Only `content-type` and `if-match` are journaled. */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text, unprefixed; at most JOURNALED_BODY_MAX_BYTES. */
  readonly body?: string;
}

/** The result the owner's BMC gave, as kept in the journal and in the owner's ledger. */
export interface OperationResult {
  readonly statusCode: number;
  /** Lower-case names; only location, etag, retry-after, link and content-type. */
  readonly headers: Readonly<Record<string, string>>;
  /** The BMC's body text, cut to OPERATION_RESULT_TEXT_MAX_BYTES (then `truncated`). */
  readonly text: string;
  readonly truncated: boolean;
}

/** Why an operation failed without a BMC answer (each shown to the console in a Redfish message). */
export type OperationFailureReason =
  /** The owner never ran it and it was not resent (a single write whose PoC failed over). */
  | "not-run"
  /** The owner cannot say (it restarted while running it): it may or may not have run. */
  | "outcome-unknown"
  /** The owner refused it: a newer PoC exists. */
  | "stale-term"
  /** The owner could not be reached within the operation's retries. */
  | "unreachable"
  /** The owner's BMC did not answer in time. */
  | "timeout"
  /** The staged image was gone or the push could not start. */
  | "image-missing"
  /** The owner left the cluster. */
  | "member-gone";

export type OperationPhase = "accepted" | "completed" | "failed";

export interface OperationRecord {
  /** `op-` + 16 lower-case hex digits (no `_`: it may appear in URIs). */
  readonly id: string;
  /** The owner's node id. */
  readonly memberId: string;
  readonly action: OperationAction;
  /** The facade path the console used (for messages); "" for a task's operation. */
  readonly facadePath: string;
  /** The term of the PoC that accepted it. */
  readonly acceptedTerm: number;
  readonly acceptedAtMs: number;
  /** The task it belongs to, or null for a console's single write. */
  readonly taskId: string | null;
  /** The client's `Idempotency-Key` header (single writes only), or null. */
  readonly idempotencyKey: string | null;
  readonly phase: OperationPhase;
  readonly result: OperationResult | null;
  readonly failure: { readonly reason: OperationFailureReason; readonly message: string } | null;
  readonly finishedAtMs: number | null;
}

// ---------------------------------------------------------------- the owner's side

/** `FacadeCluster.executeOperation`'s request: run this operation, fenced by `term`. */
export interface OperationExecution {
  readonly operationId: string;
  /** The sender's current term (not the accepting term: a resumed operation carries the new PoC's). */
  readonly term: number;
  readonly action: OperationAction;
  /** The deadline for the BMC's answer. */
  readonly timeoutMs: number;
}

/** `FacadeCluster.operationStatus`'s request: what happened to this id? Also fences older terms. */
export interface OperationStatusQuery {
  readonly operationId: string;
  readonly term: number;
}

/** What an owner says about an operation. */
export type OwnerAnswer =
  /** It ran (now, or earlier: the same id is never run twice) and this is what its BMC said. */
  | { readonly kind: "executed"; readonly result: OperationResult }
  /** It is running on the owner now (a resend while the first send is still in progress). */
  | { readonly kind: "running" }
  /** Status only: never ran; the owner will run it only for a term at least `term` from now on. */
  | { readonly kind: "not-executed" }
  /** Status only: the owner started it and lost track (restarted): it may or may not have run. */
  | { readonly kind: "unknown" }
  /** Refused: the owner has seen a newer term (`newestTerm`) than the request's. */
  | { readonly kind: "stale-term"; readonly newestTerm: number }
  /** firmware-push only: the staged image is not on the owner. */
  | { readonly kind: "image-missing" };

// ---------------------------------------------------------------- tasks

/** Redfish TaskState values the facade uses. */
export type TaskStateWord = "New" | "Running" | "Completed" | "Exception" | "Cancelled";

export type TaskKind = "aggregate-reset" | "firmware-update";

export interface SubTaskRecord {
  /** `<taskId>-<n>`, n from 1 (the SubTask's Id and URI segment). */
  readonly id: string;
  readonly memberId: string;
  /** The facade URI the subtask acts on (prefixed), e.g. /redfish/v1/Systems/bmc1_system. */
  readonly targetUri: string;
  readonly action: OperationAction;
  /** The operation id once accepted (deterministic: derived from the subtask id). */
  readonly operationId: string;
  readonly state: TaskStateWord;
  /** The owner's task monitor to follow after the operation answered 202 (member path), or null. */
  readonly memberTaskMonitor: string | null;
  readonly message: string | null;
}

/** A stage runs its subtasks in parallel; stages run in order, each after `delayBeforeMs`. */
export interface TaskStage {
  readonly subtaskIds: readonly string[];
  readonly delayBeforeMs: number;
  /** A label for messages: "batch 2 of 3", "power group storage". */
  readonly label: string;
  /**
   * Before this stage starts, leadership moves away from this member when it is the PoC
   * (a firmware update of the PoC's own BMC): the new PoC continues the task.
   */
  readonly handOverFrom: string | null;
}

export interface TaskRecord {
  /** `t` + decimal, no `_`. */
  readonly id: string;
  readonly kind: TaskKind;
  readonly name: string;
  readonly state: TaskStateWord;
  readonly percentComplete: number;
  readonly startTimeMs: number;
  readonly endTimeMs: number | null;
  /** Bounded: TASK_MESSAGES_MAX, oldest dropped first. */
  readonly messages: readonly TaskMessage[];
  /** What the console asked (Task.Payload). */
  readonly payload: {
    readonly targetUri: string;
    readonly httpOperation: string;
    readonly jsonBody: string;
  };
  readonly subtasks: readonly SubTaskRecord[];
  readonly stages: readonly TaskStage[];
  /** Index of the stage running now (stages.length once all ran). */
  readonly currentStage: number;
  /** Cluster time the current stage may start (its delay), or null when it started. */
  readonly stageNotBeforeMs: number | null;
  /** Stop at the first failed subtask (power sequencing), or run every stage regardless. */
  readonly stopOnFailure: boolean;
}

export interface TaskMessage {
  readonly messageId: string;
  readonly message: string;
  readonly severity: "OK" | "Warning" | "Critical";
  readonly args: readonly string[];
}

// ---------------------------------------------------------------- user aggregates

export interface AggregateRecord {
  /** No `_`; not DEFAULT_AGGREGATE_ID. */
  readonly id: string;
  readonly name: string;
  /** Facade URIs (prefixed) of the elements, in order. */
  readonly elements: readonly string[];
}

// ---------------------------------------------------------------- bounds

/** Largest request body journaled (the facade's own body limit is larger; above this: 413). */
export const JOURNALED_BODY_MAX_BYTES = 64 * 1024;
/** Largest BMC answer text kept per operation (journal and owner ledger). */
export const OPERATION_RESULT_TEXT_MAX_BYTES = 16 * 1024;
/** Unfinished operations at once; a new one beyond is refused (503, journal full). */
export const OPERATIONS_UNFINISHED_MAX = 256;
/** Finished operations kept (for idempotency and late resumes); the oldest go first. */
export const OPERATIONS_FINISHED_KEPT = 512;
/** How long a finished operation, and its Idempotency-Key, is kept at most (cluster time). */
export const OPERATION_KEEP_MS = 15 * 60_000;
/** Longest Idempotency-Key accepted. */
export const IDEMPOTENCY_KEY_MAX_CHARS = 128;
/** Tasks kept; finished ones go first, oldest first; all running: a new task is refused (503). */
export const TASKS_MAX = 64;
export const TASK_MESSAGES_MAX = 32;
/** Subtasks one task may hold (targets of one aggregated reset or update). */
export const SUBTASKS_MAX = 128;
/** User-created aggregates, and elements per aggregate. */
export const AGGREGATES_MAX = 32;
export const AGGREGATE_ELEMENTS_MAX = 256;
/** Operation ids an owner remembers, and for how long (its wall clock). */
export const OWNER_LEDGER_MAX = 1_024;
export const OWNER_LEDGER_KEEP_MS = 60 * 60_000;

export type { UpstreamRequest, UpstreamResponse };
