// The operation journal, cluster tasks and user-created aggregates, with the one function that
// changes them. Pure and deterministic like AuthState: no clock (every change carries `atMs`, the
// proposer's time, and compaction reads only that), no randomness (ids arrive in the change), no
// I/O. The facade's memory store and the agent's replicated cluster state run this same code, so
// a bound (the journal is full, a task is finished) means the same on every Raft node.
import Type, { type Static, type TSchema } from "typebox";
import Value from "typebox/value";
import { DEFAULT_AGGREGATE_ID } from "../aggregation-service.ts";
import { MAX_PATH_BYTES, MAX_QUERY_BYTES } from "../facade-limits.ts";
import {
  type OperationChange,
  type OperationChangeType,
  OperationRuleViolation,
  type OperationStateView,
} from "./operation-store.ts";
import {
  AGGREGATE_ELEMENTS_MAX,
  AGGREGATES_MAX,
  type AggregateRecord,
  IDEMPOTENCY_KEY_MAX_CHARS,
  JOURNALED_BODY_MAX_BYTES,
  OPERATION_KEEP_MS,
  OPERATION_RESULT_TEXT_MAX_BYTES,
  OPERATIONS_FINISHED_KEPT,
  OPERATIONS_UNFINISHED_MAX,
  type OperationRecord,
  SUBTASKS_MAX,
  TASK_MESSAGES_MAX,
  TASKS_MAX,
  type TaskRecord,
  type TaskStateWord,
} from "./operation-types.ts";

// ---------------------------------------------------------------- schemas

const closed = { additionalProperties: false } as const;
const TimeMs = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Term = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const OperationId = Type.String({ pattern: "^op-[0-9a-f]{16}$" });
const TaskId = Type.String({ pattern: "^t[0-9]{1,15}$" });
const SubTaskId = Type.String({ pattern: "^t[0-9]{1,15}-[1-9][0-9]{0,3}$" });
/** Node ids (libp2p peer ids in the agent, `peer-<name>` in tests). */
const MemberId = Type.String({ minLength: 1, maxLength: 128 });
/** A path with its query string. */
const FacadeUri = Type.String({ maxLength: MAX_PATH_BYTES + MAX_QUERY_BYTES + 1 });
/** Names, labels, ETags, header values of a request. */
const SHORT_TEXT_MAX_CHARS = 256;
/** A task message, a failure's explanation. */
const MESSAGE_TEXT_MAX_CHARS = 1_024;
/** The longest If-Match header a journaled write carries (a longer one is refused with 400). */
export const JOURNALED_IF_MATCH_MAX_CHARS = 1_024;
/** A Link header of a BMC's answer. */
const LINK_HEADER_MAX_CHARS = 4_096;
/** MessageArgs of one task message. */
const MESSAGE_ARGS_MAX = 8;
/** The longest wait before a stage (a power sequence's group delay). */
export const STAGE_DELAY_MAX_MS = 24 * 3_600_000;
const ShortText = Type.String({ maxLength: SHORT_TEXT_MAX_CHARS });
const MessageText = Type.String({ maxLength: MESSAGE_TEXT_MAX_CHARS });
/** Where a staged image lives on its owner: the name of a file, so no path characters. */
const StageId = Type.String({ pattern: "^[A-Za-z0-9-]{1,64}$" });
/** The largest JSON text of a firmware push's UpdateParameters. */
export const UPDATE_PARAMETERS_MAX_CHARS = 16 * 1024;
const AggregateId = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9-]{0,63}$" });
const TaskWord = Type.Union([
  Type.Literal("New"),
  Type.Literal("Running"),
  Type.Literal("Completed"),
  Type.Literal("Exception"),
  Type.Literal("Cancelled"),
]);

const JournaledRequestSchema = Type.Object(
  {
    method: Type.Union([Type.Literal("PATCH"), Type.Literal("POST"), Type.Literal("PUT"), Type.Literal("DELETE")]),
    path: FacadeUri,
    headers: Type.Object(
      {
        "content-type": Type.Optional(ShortText),
        "if-match": Type.Optional(Type.String({ maxLength: JOURNALED_IF_MATCH_MAX_CHARS })),
      },
      closed,
    ),
    body: Type.Optional(Type.String({ maxLength: JOURNALED_BODY_MAX_BYTES })),
  },
  closed,
);

const ActionSchema = Type.Union([
  Type.Object({ kind: Type.Literal("http"), request: JournaledRequestSchema }, closed),
  Type.Object(
    {
      kind: Type.Literal("firmware-push"),
      stageId: StageId,
      imageName: ShortText,
      updateParameters: Type.Record(Type.String(), Type.Unknown()),
    },
    closed,
  ),
]);

const ResultHeaders = Type.Object(
  {
    location: Type.Optional(FacadeUri),
    etag: Type.Optional(ShortText),
    "retry-after": Type.Optional(ShortText),
    link: Type.Optional(Type.String({ maxLength: LINK_HEADER_MAX_CHARS })),
    "content-type": Type.Optional(ShortText),
  },
  closed,
);

const ResultSchema = Type.Object(
  {
    statusCode: Type.Integer({ minimum: 100, maximum: 599 }),
    headers: ResultHeaders,
    text: Type.String({ maxLength: OPERATION_RESULT_TEXT_MAX_BYTES }),
    truncated: Type.Boolean(),
  },
  closed,
);

const FailureReason = Type.Union([
  Type.Literal("not-run"),
  Type.Literal("outcome-unknown"),
  Type.Literal("stale-term"),
  Type.Literal("unreachable"),
  Type.Literal("timeout"),
  Type.Literal("image-missing"),
  Type.Literal("member-gone"),
]);

const TaskMessageSchema = Type.Object(
  {
    messageId: ShortText,
    message: MessageText,
    severity: Type.Union([Type.Literal("OK"), Type.Literal("Warning"), Type.Literal("Critical")]),
    args: Type.Array(ShortText, { maxItems: MESSAGE_ARGS_MAX }),
  },
  closed,
);

const PayloadSchema = Type.Object(
  {
    targetUri: FacadeUri,
    httpOperation: Type.String({ maxLength: 16 }),
    jsonBody: Type.String({ maxLength: JOURNALED_BODY_MAX_BYTES }),
  },
  closed,
);

const StageSchema = Type.Object(
  {
    subtaskIds: Type.Array(SubTaskId, { minItems: 1, maxItems: SUBTASKS_MAX }),
    delayBeforeMs: Type.Integer({ minimum: 0, maximum: STAGE_DELAY_MAX_MS }),
    label: ShortText,
    handOverFrom: Type.Union([MemberId, Type.Null()]),
  },
  closed,
);

const NewSubTaskSchema = Type.Object(
  { id: SubTaskId, memberId: MemberId, targetUri: FacadeUri, action: ActionSchema, operationId: OperationId },
  closed,
);

const TaskKindSchema = Type.Union([Type.Literal("aggregate-reset"), Type.Literal("firmware-update")]);

/** The body of each change, by the command type that carries it through Raft. */
export const OPERATION_CHANGE_BODIES = {
  /** Journals an operation before it is sent to its owner. */
  "operation.accept": Type.Object(
    {
      id: OperationId,
      memberId: MemberId,
      action: ActionSchema,
      facadePath: FacadeUri,
      term: Term,
      taskId: Type.Union([TaskId, Type.Null()]),
      idempotencyKey: Type.Union([Type.String({ minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_CHARS }), Type.Null()]),
      atMs: TimeMs,
    },
    closed,
  ),
  /** The outcome: the BMC's answer, or why there is none. */
  "operation.finish": Type.Object(
    {
      id: OperationId,
      outcome: Type.Union([
        Type.Object({ kind: Type.Literal("completed"), result: ResultSchema }, closed),
        Type.Object({ kind: Type.Literal("failed"), reason: FailureReason, message: MessageText }, closed),
      ]),
      atMs: TimeMs,
    },
    closed,
  ),
  /** A task, Running, at its first stage (which may start `stages[0].delayBeforeMs` after atMs). */
  "task.create": Type.Object(
    {
      id: TaskId,
      kind: TaskKindSchema,
      name: ShortText,
      payload: PayloadSchema,
      stopOnFailure: Type.Boolean(),
      subtasks: Type.Array(NewSubTaskSchema, { minItems: 1, maxItems: SUBTASKS_MAX }),
      stages: Type.Array(StageSchema, { minItems: 1, maxItems: SUBTASKS_MAX }),
      atMs: TimeMs,
    },
    closed,
  ),
  /** Progress: subtask states, the next stage, messages, and the task's end. */
  "task.advance": Type.Object(
    {
      id: TaskId,
      subtasks: Type.Array(
        Type.Object(
          {
            id: SubTaskId,
            state: TaskWord,
            memberTaskMonitor: Type.Union([FacadeUri, Type.Null()]),
            message: Type.Union([MessageText, Type.Null()]),
          },
          closed,
        ),
        { maxItems: SUBTASKS_MAX },
      ),
      stage: Type.Optional(
        Type.Object(
          {
            current: Type.Integer({ minimum: 0, maximum: SUBTASKS_MAX }),
            notBeforeMs: Type.Union([TimeMs, Type.Null()]),
          },
          closed,
        ),
      ),
      messages: Type.Array(TaskMessageSchema, { maxItems: TASK_MESSAGES_MAX }),
      finish: Type.Optional(
        Type.Union([Type.Literal("Completed"), Type.Literal("Exception"), Type.Literal("Cancelled")]),
      ),
      atMs: TimeMs,
    },
    closed,
  ),
  "aggregate.create": Type.Object(
    { id: AggregateId, name: ShortText, elements: Type.Array(FacadeUri), atMs: TimeMs },
    closed,
  ),
  "aggregate.delete": Type.Object({ id: AggregateId, atMs: TimeMs }, closed),
  /** Replaces an aggregate's elements (AddElements / RemoveElements computed by the proposer). */
  "aggregate.elements": Type.Object({ id: AggregateId, elements: Type.Array(FacadeUri), atMs: TimeMs }, closed),
} as const satisfies Record<OperationChangeType, TSchema>;

export type OperationChangeBody<T extends OperationChangeType> = Static<(typeof OPERATION_CHANGE_BODIES)[T]>;

// ---------------------------------------------------------------- snapshot schema

const OperationRecordSchema = Type.Object(
  {
    id: OperationId,
    memberId: MemberId,
    action: ActionSchema,
    facadePath: FacadeUri,
    acceptedTerm: Term,
    acceptedAtMs: TimeMs,
    taskId: Type.Union([TaskId, Type.Null()]),
    idempotencyKey: Type.Union([Type.String({ minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_CHARS }), Type.Null()]),
    phase: Type.Union([Type.Literal("accepted"), Type.Literal("completed"), Type.Literal("failed")]),
    result: Type.Union([ResultSchema, Type.Null()]),
    failure: Type.Union([Type.Object({ reason: FailureReason, message: MessageText }, closed), Type.Null()]),
    finishedAtMs: Type.Union([TimeMs, Type.Null()]),
  },
  closed,
);

const SubTaskRecordSchema = Type.Object(
  {
    id: SubTaskId,
    memberId: MemberId,
    targetUri: FacadeUri,
    action: ActionSchema,
    operationId: OperationId,
    state: TaskWord,
    memberTaskMonitor: Type.Union([FacadeUri, Type.Null()]),
    message: Type.Union([MessageText, Type.Null()]),
  },
  closed,
);

const TaskRecordSchema = Type.Object(
  {
    id: TaskId,
    kind: TaskKindSchema,
    name: ShortText,
    state: TaskWord,
    percentComplete: Type.Integer({ minimum: 0, maximum: 100 }),
    startTimeMs: TimeMs,
    endTimeMs: Type.Union([TimeMs, Type.Null()]),
    messages: Type.Array(TaskMessageSchema, { maxItems: TASK_MESSAGES_MAX }),
    payload: PayloadSchema,
    subtasks: Type.Array(SubTaskRecordSchema, { minItems: 1, maxItems: SUBTASKS_MAX }),
    stages: Type.Array(StageSchema, { minItems: 1, maxItems: SUBTASKS_MAX }),
    currentStage: Type.Integer({ minimum: 0, maximum: SUBTASKS_MAX }),
    stageNotBeforeMs: Type.Union([TimeMs, Type.Null()]),
    stopOnFailure: Type.Boolean(),
  },
  closed,
);

const AggregateRecordSchema = Type.Object(
  { id: AggregateId, name: ShortText, elements: Type.Array(FacadeUri, { maxItems: AGGREGATE_ELEMENTS_MAX }) },
  closed,
);

const SNAPSHOT_SCHEMA = Type.Object(
  {
    operations: Type.Array(OperationRecordSchema, { maxItems: OPERATIONS_UNFINISHED_MAX + OPERATIONS_FINISHED_KEPT }),
    tasks: Type.Array(TaskRecordSchema, { maxItems: TASKS_MAX }),
    aggregates: Type.Array(AggregateRecordSchema, { maxItems: AGGREGATES_MAX }),
  },
  closed,
);

/** The snapshot form: plain JSON; operations and tasks in the order they were created, aggregates by id. */
export type OperationStateSnapshot = Static<typeof SNAPSHOT_SCHEMA>;

// ---------------------------------------------------------------- the state

const FINISHED_TASK_STATES: ReadonlySet<TaskStateWord> = new Set(["Completed", "Exception", "Cancelled"]);

export function isTaskStateFinished(state: TaskStateWord): boolean {
  return FINISHED_TASK_STATES.has(state);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** A deep copy as plain JSON (records leave the state only as copies in snapshots). */
function plain<T>(value: T): T {
  return structuredClone(value);
}

/** A plain copy with every object's keys sorted (arrays keep their order). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class OperationState implements OperationStateView {
  /** In acceptance order (Map keeps insertion order, the same on every node). */
  readonly #operations = new Map<string, OperationRecord>();
  readonly #byIdempotencyKey = new Map<string, string>();
  /** In creation order. */
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #aggregates = new Map<string, AggregateRecord>();

  // ---------------------------------------------------------------- reading

  operation(id: string): OperationRecord | undefined {
    return this.#operations.get(id);
  }

  operations(): readonly OperationRecord[] {
    return [...this.#operations.values()];
  }

  operationByIdempotencyKey(key: string): OperationRecord | undefined {
    const id = this.#byIdempotencyKey.get(key);
    return id === undefined ? undefined : this.#operations.get(id);
  }

  task(id: string): TaskRecord | undefined {
    return this.#tasks.get(id);
  }

  tasks(): readonly TaskRecord[] {
    return [...this.#tasks.values()];
  }

  aggregate(id: string): AggregateRecord | undefined {
    return this.#aggregates.get(id);
  }

  aggregates(): readonly AggregateRecord[] {
    return [...this.#aggregates.values()].sort(byId);
  }

  // ---------------------------------------------------------------- changing

  /**
   * Applies one change or throws OperationRuleViolation having changed nothing. Returns the
   * record the change made or changed (plain JSON: it travels back from Raft's apply), or `{}`.
   */
  apply(change: OperationChange): unknown {
    const schema: TSchema | undefined = (OPERATION_CHANGE_BODIES as Record<string, TSchema>)[change.type];
    if (schema === undefined) {
      throw new OperationRuleViolation("invalid-change", `${String(change.type)}: not an operation change`);
    }
    const body = change.body as { elements?: unknown };
    // An oversize element list is a rule (too many elements), not a malformed change.
    if (change.type.startsWith("aggregate.") && Array.isArray(body?.elements)) {
      if (body.elements.length > AGGREGATE_ELEMENTS_MAX) {
        throw new OperationRuleViolation(
          "too-many-elements",
          `an aggregate holds at most ${AGGREGATE_ELEMENTS_MAX} elements (AGGREGATE_ELEMENTS_MAX)`,
        );
      }
    }
    if (!Value.Check(schema, change.body)) {
      const first = [...Value.Errors(schema, change.body)][0];
      const where = first ? `: ${first.instancePath || "(root)"} ${first.message}` : "";
      throw new OperationRuleViolation("invalid-change", `${change.type}: the body does not match its schema${where}`);
    }
    switch (change.type) {
      case "operation.accept":
        return this.#accept(change.body as OperationChangeBody<"operation.accept">);
      case "operation.finish":
        return this.#finish(change.body as OperationChangeBody<"operation.finish">);
      case "task.create":
        return this.#createTask(change.body as OperationChangeBody<"task.create">);
      case "task.advance":
        return this.#advanceTask(change.body as OperationChangeBody<"task.advance">);
      case "aggregate.create":
        return this.#createAggregate(change.body as OperationChangeBody<"aggregate.create">);
      case "aggregate.delete":
        return this.#deleteAggregate(change.body as OperationChangeBody<"aggregate.delete">);
      case "aggregate.elements":
        return this.#changeElements(change.body as OperationChangeBody<"aggregate.elements">);
    }
  }

  #accept(body: OperationChangeBody<"operation.accept">): OperationRecord {
    if (
      body.action.kind === "firmware-push" &&
      JSON.stringify(body.action.updateParameters).length > UPDATE_PARAMETERS_MAX_CHARS
    ) {
      throw new OperationRuleViolation(
        "invalid-change",
        `operation.accept: UpdateParameters exceed ${UPDATE_PARAMETERS_MAX_CHARS} characters (UPDATE_PARAMETERS_MAX_CHARS)`,
      );
    }
    this.#compactOperations(body.atMs);
    if (this.#operations.has(body.id)) throw new OperationRuleViolation("duplicate-id", `operation ${body.id} exists`);
    if (body.idempotencyKey !== null && this.#byIdempotencyKey.has(body.idempotencyKey)) {
      throw new OperationRuleViolation(
        "duplicate-id",
        `Idempotency-Key ${body.idempotencyKey} is already used by operation ${this.#byIdempotencyKey.get(body.idempotencyKey)}`,
      );
    }
    if (body.taskId !== null && !this.#tasks.has(body.taskId)) {
      throw new OperationRuleViolation("unknown-task", `operation ${body.id} names no task ${body.taskId}`);
    }
    const unfinished = this.operations().filter((op) => op.phase === "accepted").length;
    if (unfinished >= OPERATIONS_UNFINISHED_MAX) {
      throw new OperationRuleViolation(
        "journal-full",
        `${OPERATIONS_UNFINISHED_MAX} operations are unfinished (OPERATIONS_UNFINISHED_MAX)`,
      );
    }
    const record: OperationRecord = deepFreeze({
      id: body.id,
      memberId: body.memberId,
      action: plain(body.action),
      facadePath: body.facadePath,
      acceptedTerm: body.term,
      acceptedAtMs: body.atMs,
      taskId: body.taskId,
      idempotencyKey: body.idempotencyKey,
      phase: "accepted",
      result: null,
      failure: null,
      finishedAtMs: null,
    });
    this.#operations.set(record.id, record);
    if (record.idempotencyKey !== null) this.#byIdempotencyKey.set(record.idempotencyKey, record.id);
    return plain(record);
  }

  #finish(body: OperationChangeBody<"operation.finish">): OperationRecord {
    const existing = this.#operations.get(body.id);
    if (existing === undefined) throw new OperationRuleViolation("unknown-operation", `no operation ${body.id}`);
    if (existing.phase !== "accepted") {
      throw new OperationRuleViolation("already-finished", `operation ${body.id} is already ${existing.phase}`);
    }
    const { outcome } = body;
    const record: OperationRecord = deepFreeze({
      ...existing,
      phase: outcome.kind,
      result: outcome.kind === "completed" ? plain(outcome.result) : null,
      failure: outcome.kind === "failed" ? { reason: outcome.reason, message: outcome.message } : null,
      finishedAtMs: body.atMs,
    });
    this.#operations.set(record.id, record);
    this.#compactOperations(body.atMs);
    return plain(record);
  }

  /** Finished operations older than OPERATION_KEEP_MS go, then the oldest beyond OPERATIONS_FINISHED_KEPT. */
  #compactOperations(atMs: number): void {
    const finished = this.operations().filter((op) => op.finishedAtMs !== null);
    const expired = finished.filter((op) => (op.finishedAtMs as number) + OPERATION_KEEP_MS < atMs);
    const kept = finished.filter((op) => !expired.includes(op));
    const excess = kept.slice(0, Math.max(0, kept.length - OPERATIONS_FINISHED_KEPT));
    for (const op of [...expired, ...excess]) {
      this.#operations.delete(op.id);
      if (op.idempotencyKey !== null) this.#byIdempotencyKey.delete(op.idempotencyKey);
    }
  }

  #createTask(body: OperationChangeBody<"task.create">): TaskRecord {
    if (this.#tasks.has(body.id)) throw new OperationRuleViolation("duplicate-id", `task ${body.id} exists`);
    this.#checkPlan(body);
    this.#compactTasks(body.atMs);
    if (this.#tasks.size >= TASKS_MAX) {
      const oldestFinished = this.tasks().find((task) => isTaskStateFinished(task.state));
      if (oldestFinished === undefined) {
        throw new OperationRuleViolation("tasks-full", `${TASKS_MAX} tasks are running (TASKS_MAX)`);
      }
      this.#tasks.delete(oldestFinished.id);
    }
    const first = body.stages[0] as (typeof body.stages)[number];
    const record: TaskRecord = deepFreeze({
      id: body.id,
      kind: body.kind,
      name: body.name,
      state: "Running",
      percentComplete: 0,
      startTimeMs: body.atMs,
      endTimeMs: null,
      messages: [],
      payload: plain(body.payload),
      subtasks: body.subtasks.map((subtask) => ({
        ...plain(subtask),
        state: "New" as const,
        memberTaskMonitor: null,
        message: null,
      })),
      stages: plain(body.stages),
      currentStage: 0,
      stageNotBeforeMs: body.atMs + first.delayBeforeMs,
      stopOnFailure: body.stopOnFailure,
    });
    this.#tasks.set(record.id, record);
    return plain(record);
  }

  /** Subtask ids are the task's, unique, each in exactly one stage. */
  #checkPlan(body: OperationChangeBody<"task.create">): void {
    const ids = new Set<string>();
    for (const subtask of body.subtasks) {
      if (!subtask.id.startsWith(`${body.id}-`) || ids.has(subtask.id)) {
        throw new OperationRuleViolation(
          "invalid-change",
          `task.create: subtask ${subtask.id} is not a new id of ${body.id}`,
        );
      }
      ids.add(subtask.id);
    }
    const staged = new Set<string>();
    for (const stage of body.stages) {
      for (const id of stage.subtaskIds) {
        if (!ids.has(id) || staged.has(id)) {
          throw new OperationRuleViolation("invalid-change", `task.create: subtask ${id} is in no stage or in two`);
        }
        staged.add(id);
      }
    }
    if (staged.size !== ids.size) {
      throw new OperationRuleViolation("invalid-change", "task.create: every subtask must be in one stage");
    }
  }

  /** Finished tasks older than OPERATION_KEEP_MS go. */
  #compactTasks(atMs: number): void {
    for (const task of this.tasks()) {
      if (task.endTimeMs !== null && task.endTimeMs + OPERATION_KEEP_MS < atMs) this.#tasks.delete(task.id);
    }
  }

  #advanceTask(body: OperationChangeBody<"task.advance">): TaskRecord {
    const existing = this.#tasks.get(body.id);
    if (existing === undefined) throw new OperationRuleViolation("unknown-task", `no task ${body.id}`);
    if (isTaskStateFinished(existing.state)) {
      throw new OperationRuleViolation("task-finished", `task ${body.id} is already ${existing.state}`);
    }
    const changes = new Map(body.subtasks.map((change) => [change.id, change]));
    for (const id of changes.keys()) {
      if (!existing.subtasks.some((subtask) => subtask.id === id)) {
        throw new OperationRuleViolation("invalid-change", `task.advance: task ${body.id} has no subtask ${id}`);
      }
    }
    const subtasks = existing.subtasks.map((subtask) => {
      const change = changes.get(subtask.id);
      if (change === undefined) return subtask;
      if (isTaskStateFinished(subtask.state) && change.state !== subtask.state) {
        throw new OperationRuleViolation(
          "invalid-change",
          `task.advance: subtask ${subtask.id} is already ${subtask.state}`,
        );
      }
      return { ...subtask, state: change.state, memberTaskMonitor: change.memberTaskMonitor, message: change.message };
    });
    let { currentStage, stageNotBeforeMs } = existing;
    if (body.stage !== undefined) {
      if (body.stage.current < existing.currentStage || body.stage.current > existing.stages.length) {
        throw new OperationRuleViolation(
          "invalid-change",
          `task.advance: stage ${body.stage.current} of task ${body.id} (now ${existing.currentStage} of ${existing.stages.length})`,
        );
      }
      currentStage = body.stage.current;
      stageNotBeforeMs = body.stage.notBeforeMs;
    }
    const finishedCount = subtasks.filter((subtask) => isTaskStateFinished(subtask.state)).length;
    const messages = [...existing.messages, ...plain(body.messages)].slice(-TASK_MESSAGES_MAX);
    const record: TaskRecord = deepFreeze({
      ...existing,
      subtasks,
      currentStage,
      stageNotBeforeMs,
      messages,
      percentComplete: Math.floor((finishedCount * 100) / subtasks.length),
      state: body.finish ?? existing.state,
      endTimeMs: body.finish === undefined ? null : body.atMs,
    });
    this.#tasks.set(record.id, record);
    return plain(record);
  }

  #createAggregate(body: OperationChangeBody<"aggregate.create">): AggregateRecord {
    if (body.id === DEFAULT_AGGREGATE_ID || this.#aggregates.has(body.id)) {
      throw new OperationRuleViolation("duplicate-aggregate", `an aggregate ${body.id} exists`);
    }
    if (this.#aggregates.size >= AGGREGATES_MAX) {
      throw new OperationRuleViolation(
        "aggregates-full",
        `the cluster holds ${AGGREGATES_MAX} aggregates (AGGREGATES_MAX)`,
      );
    }
    const record: AggregateRecord = deepFreeze({ id: body.id, name: body.name, elements: [...body.elements] });
    this.#aggregates.set(record.id, record);
    return plain(record);
  }

  #deleteAggregate(body: OperationChangeBody<"aggregate.delete">): Record<string, never> {
    if (!this.#aggregates.delete(body.id))
      throw new OperationRuleViolation("unknown-aggregate", `no aggregate ${body.id}`);
    return {};
  }

  #changeElements(body: OperationChangeBody<"aggregate.elements">): AggregateRecord {
    const existing = this.#aggregates.get(body.id);
    if (existing === undefined) throw new OperationRuleViolation("unknown-aggregate", `no aggregate ${body.id}`);
    const record: AggregateRecord = deepFreeze({ ...existing, elements: [...body.elements] });
    this.#aggregates.set(record.id, record);
    return plain(record);
  }

  // ---------------------------------------------------------------- snapshots

  /** Canonical: the same state gives the same JSON text on every node (keys sorted at every level). */
  toSnapshot(): OperationStateSnapshot {
    return canonical({
      operations: this.operations(),
      tasks: this.tasks(),
      aggregates: this.aggregates(),
    }) as OperationStateSnapshot;
  }

  /** Strict: throws a TypeError naming the first problem. */
  static fromSnapshot(data: unknown): OperationState {
    if (!Value.Check(SNAPSHOT_SCHEMA, data)) {
      const first = [...Value.Errors(SNAPSHOT_SCHEMA, data)][0];
      throw new TypeError(
        `operation state: ${first ? `${first.instancePath || "(root)"} ${first.message}` : "invalid"}`,
      );
    }
    const state = new OperationState();
    let unfinished = 0;
    let finished = 0;
    for (const op of data.operations) {
      if (state.#operations.has(op.id)) throw new TypeError(`operation state: operation ${op.id} appears twice`);
      if ((op.phase === "accepted") !== (op.finishedAtMs === null)) {
        throw new TypeError(`operation state: operation ${op.id} is ${op.phase} with finishedAtMs ${op.finishedAtMs}`);
      }
      if ((op.phase === "completed") !== (op.result !== null) || (op.phase === "failed") !== (op.failure !== null)) {
        throw new TypeError(`operation state: operation ${op.id} is ${op.phase} with the wrong outcome`);
      }
      if (op.idempotencyKey !== null) {
        if (state.#byIdempotencyKey.has(op.idempotencyKey)) {
          throw new TypeError(`operation state: Idempotency-Key of ${op.id} appears twice`);
        }
        state.#byIdempotencyKey.set(op.idempotencyKey, op.id);
      }
      if (op.phase === "accepted") unfinished++;
      else finished++;
      state.#operations.set(op.id, deepFreeze(plain(op) as OperationRecord));
    }
    if (unfinished > OPERATIONS_UNFINISHED_MAX || finished > OPERATIONS_FINISHED_KEPT) {
      throw new TypeError(
        `operation state: ${unfinished} unfinished and ${finished} finished operations exceed the bounds`,
      );
    }
    for (const task of data.tasks) {
      if (state.#tasks.has(task.id)) throw new TypeError(`operation state: task ${task.id} appears twice`);
      if (task.currentStage > task.stages.length) {
        throw new TypeError(
          `operation state: task ${task.id} is at stage ${task.currentStage} of ${task.stages.length}`,
        );
      }
      state.#tasks.set(task.id, deepFreeze(plain(task) as TaskRecord));
    }
    for (const aggregate of data.aggregates) {
      if (state.#aggregates.has(aggregate.id) || aggregate.id === DEFAULT_AGGREGATE_ID) {
        throw new TypeError(`operation state: aggregate ${aggregate.id} appears twice`);
      }
      state.#aggregates.set(aggregate.id, deepFreeze(plain(aggregate) as AggregateRecord));
    }
    const sorted = [...data.aggregates].sort(byId);
    if (sorted.some((aggregate, i) => aggregate.id !== data.aggregates[i]?.id)) {
      throw new TypeError("operation state: aggregates are not sorted by id");
    }
    return state;
  }
}
