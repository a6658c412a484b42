// Drives cluster tasks on the PoC, stage by stage. Everything a task has done is in the
// replicated state (subtask states, the stage, when it may start), so a new PoC picks a Running
// task up where its predecessor left it: completed subtasks are never run again, and the owner's
// memory of operation ids makes a resent operation answer its first result instead of running.
import { createHash } from "node:crypto";
import { UpstreamError, type UpstreamResponse } from "../facade-cluster.ts";
import type { FacadeService } from "../facade-service.ts";
import type { OperationJournal } from "./operation-journal.ts";
import { isTaskStateFinished } from "./operation-state.ts";
import { OperationRuleViolation, OperationStoreUnavailableError } from "./operation-store.ts";
import type {
  OperationAction,
  OperationRecord,
  SubTaskRecord,
  TaskKind,
  TaskMessage,
  TaskRecord,
  TaskStateWord,
} from "./operation-types.ts";

/** What a part asks the runner to do; ids, states and operation ids are the runner's. */
export interface NewTaskPlan {
  readonly kind: TaskKind;
  readonly name: string;
  readonly payload: TaskRecord["payload"];
  readonly stopOnFailure: boolean;
  readonly subtasks: readonly {
    readonly memberId: string;
    /** Facade URI (prefixed) the subtask acts on. */
    readonly targetUri: string;
    readonly action: OperationAction;
  }[];
  /** Indexes into `subtasks`; every subtask in exactly one stage. */
  readonly stages: readonly {
    readonly subtaskIndexes: readonly number[];
    readonly delayBeforeMs: number;
    readonly label: string;
    readonly handOverFrom: string | null;
  }[];
}

export interface TaskRunner {
  /**
   * Commits the task (Running) and starts its first stage. Rejects with OperationRuleViolation
   * (`tasks-full`) or OperationStoreUnavailableError.
   */
  start(plan: NewTaskPlan): Promise<TaskRecord>;
}

/** How often a member's own task monitor is read while a subtask waits for it. */
export const MEMBER_TASK_POLL_MS = 200;
/** The longest a subtask follows a member's task (a firmware update is the slowest). */
export const MEMBER_TASK_MAX_MS = 60 * 60_000;
/** Deadline of one read of a member's task monitor. */
export const MEMBER_TASK_READ_TIMEOUT_MS = 5_000;
/** Failed reads of a member's task monitor (its agent unreachable) before the subtask fails. */
export const MEMBER_TASK_READ_FAILURES_MAX = 30;
/** How often an operation the owner reports as still running is asked about again. */
export const OWNER_RUNNING_POLL_MS = 100;
/**
 * How long a task operation is sent again to an owner that cannot be reached before its subtask
 * fails: long enough for the owner's agent to be restarted (a PoC that crashed mid-task comes back
 * as a member in a few seconds, and the batch it owns is often the next one).
 */
export const OWNER_UNREACHABLE_MAX_MS = 30_000;

const TASK_EVENT = "TaskEvent.1.0";
/** A stage's delay is slept in slices, so a PoC that lost its role stops waiting soon. */
const STAGE_WAIT_SLICE_MS = 1_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The operation id of a subtask: derived, so every PoC sends the same id for it. */
export function subtaskOperationId(taskId: string, subtaskId: string): string {
  return `op-${createHash("sha256")
    .update(taskId + subtaskId)
    .digest("hex")
    .slice(0, 16)}`;
}

function taskMessage(key: string, message: string, severity: TaskMessage["severity"], args: string[]): TaskMessage {
  return { messageId: `${TASK_EVENT}.${key}`, message, severity, args };
}

function firstMessageIn(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as {
      error?: { message?: unknown; "@Message.ExtendedInfo"?: { Message?: unknown }[] };
    };
    const info = body.error?.["@Message.ExtendedInfo"]?.[0]?.Message ?? body.error?.message;
    return typeof info === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

/** A subtask's end as the runner commits it. */
interface SubtaskEnd {
  readonly state: TaskStateWord;
  readonly message: string | null;
  readonly memberTaskMonitor: string | null;
}

export interface TaskRunnerInit {
  readonly service: FacadeService;
  readonly journal: OperationJournal;
}

export class ClusterTaskRunner implements TaskRunner {
  readonly #service: FacadeService;
  readonly #journal: OperationJournal;
  /** Tasks this process drives now. */
  readonly #driving = new Set<string>();
  #nextTaskNumber = 0;
  #closed = false;

  constructor(init: TaskRunnerInit) {
    this.#service = init.service;
    this.#journal = init.journal;
  }

  close(): void {
    this.#closed = true;
  }

  isDriving(taskId: string): boolean {
    return this.#driving.has(taskId);
  }

  async start(plan: NewTaskPlan): Promise<TaskRecord> {
    const store = this.#journal.store;
    const atMs = this.#journal.now();
    // Ids grow with time and never repeat within the state (a PoC's counter alone could).
    const taken = new Set(store.tasks().map((task) => task.id));
    let number = Math.max(atMs, this.#nextTaskNumber + 1);
    while (taken.has(`t${number}`)) number++;
    this.#nextTaskNumber = number;
    const id = `t${number}`;
    const subtasks = plan.subtasks.map((subtask, index) => {
      const subtaskId = `${id}-${index + 1}`;
      return { id: subtaskId, ...subtask, operationId: subtaskOperationId(id, subtaskId) };
    });
    const stages = plan.stages.map((stage) => ({
      subtaskIds: stage.subtaskIndexes.map((index) => {
        const subtask = subtasks[index];
        if (subtask === undefined)
          throw new RangeError(`stage ${stage.label} names subtask ${index} of ${subtasks.length}`);
        return subtask.id;
      }),
      delayBeforeMs: stage.delayBeforeMs,
      label: stage.label,
      handOverFrom: stage.handOverFrom,
    }));
    const task = (await store.commit({
      type: "task.create",
      body: {
        id,
        kind: plan.kind,
        name: plan.name,
        payload: plan.payload,
        stopOnFailure: plan.stopOnFailure,
        subtasks,
        stages,
        atMs,
      },
    })) as TaskRecord;
    this.drive(id);
    return task;
  }

  /** Starts driving a Running task unless this process already does (resume after a failover). */
  drive(taskId: string): void {
    if (this.#driving.has(taskId) || this.#closed) return;
    this.#driving.add(taskId);
    const term = this.#service.cluster.term();
    void this.#run(taskId, term)
      .catch(() => {
        // Nothing more to do here: the task is still Running in the state and the next tick (or the next PoC) continues it.
      })
      .finally(() => this.#driving.delete(taskId));
  }

  /** Drives every Running task not driven yet (the periodic driver's pass). */
  driveAll(): void {
    for (const task of this.#journal.store.tasks()) if (task.state === "Running") this.drive(task.id);
  }

  /** True while this process may go on driving tasks it started under `term`. */
  #stillPoc(term: number): boolean {
    return !this.#closed && this.#service.cluster.hasQuorum() && this.#service.cluster.term() === term;
  }

  async #advance(body: {
    id: string;
    subtasks?: { id: string; state: TaskStateWord; memberTaskMonitor: string | null; message: string | null }[];
    stage?: { current: number; notBeforeMs: number | null };
    messages?: TaskMessage[];
    finish?: "Completed" | "Exception" | "Cancelled";
  }): Promise<TaskRecord | undefined> {
    try {
      return (await this.#journal.store.commit({
        type: "task.advance",
        body: { subtasks: [], messages: [], ...body, atMs: this.#journal.now() },
      })) as TaskRecord;
    } catch (error) {
      // Finished meanwhile (cancelled by the console) or the store is gone: stop driving.
      if (error instanceof OperationRuleViolation || error instanceof OperationStoreUnavailableError) return undefined;
      throw error;
    }
  }

  async #run(taskId: string, term: number): Promise<void> {
    for (;;) {
      const task = this.#journal.store.task(taskId);
      if (task === undefined || isTaskStateFinished(task.state) || !this.#stillPoc(term)) return;
      if (task.currentStage >= task.stages.length) {
        const failed = task.subtasks.some((subtask) => subtask.state === "Exception");
        await this.#advance({
          id: taskId,
          finish: failed ? "Exception" : "Completed",
          messages: [
            failed
              ? taskMessage("TaskAborted", `The task with Id '${taskId}' has completed with errors.`, "Critical", [
                  taskId,
                ])
              : taskMessage("TaskCompletedOK", `The task with Id '${taskId}' has completed.`, "OK", [taskId]),
          ],
        });
        return;
      }
      const stage = task.stages[task.currentStage] as TaskRecord["stages"][number];
      if (task.stageNotBeforeMs !== null) {
        // The stage's delay, in cluster time: a new PoC waits only what is left of it.
        const wait = task.stageNotBeforeMs - this.#journal.now();
        if (wait > 0) {
          await sleep(Math.min(wait, STAGE_WAIT_SLICE_MS));
          continue;
        }
        if (stage.handOverFrom !== null) {
          const poc = this.#service.cluster.members().find((member) => member.isPoc);
          if (poc?.id === stage.handOverFrom) {
            try {
              await this.#service.cluster.transferLeadership(undefined);
              // Another member leads now; it continues the task from this stage.
              return;
            } catch (error) {
              await this.#advance({
                id: taskId,
                messages: [
                  taskMessage(
                    "TaskProgressChanged",
                    `Leadership could not be handed over before ${stage.label}: ${(error as Error).message}; the stage runs on this PoC.`,
                    "Warning",
                    [taskId],
                  ),
                ],
              });
            }
          }
        }
        const started = await this.#advance({
          id: taskId,
          stage: { current: task.currentStage, notBeforeMs: null },
          subtasks: stage.subtaskIds.flatMap((id) => {
            const subtask = task.subtasks.find((s) => s.id === id);
            return subtask === undefined || subtask.state !== "New"
              ? []
              : [{ id, state: "Running" as const, memberTaskMonitor: null, message: null }];
          }),
        });
        if (started === undefined) return;
        continue;
      }
      const pending = task.subtasks.filter((s) => stage.subtaskIds.includes(s.id) && !isTaskStateFinished(s.state));
      const ends = await Promise.all(pending.map((subtask) => this.#runSubtask(task, subtask, term)));
      if (ends.some((end) => end === undefined)) return;
      const current = this.#journal.store.task(taskId);
      if (current === undefined || isTaskStateFinished(current.state)) return;
      const stageSubtasks = current.subtasks.filter((s) => stage.subtaskIds.includes(s.id));
      const failed = stageSubtasks.find((s) => s.state === "Exception");
      if (failed !== undefined && current.stopOnFailure) {
        await this.#stopAfterFailure(current, stage.label, failed);
        return;
      }
      const next = current.currentStage + 1;
      const nextStage = current.stages[next];
      const advanced = await this.#advance({
        id: taskId,
        stage: {
          current: next,
          notBeforeMs: nextStage === undefined ? null : this.#journal.now() + nextStage.delayBeforeMs,
        },
        messages: [
          taskMessage(
            "TaskProgressChanged",
            `The task with Id '${taskId}' has changed to progress ${current.percentComplete} percent complete.`,
            "OK",
            [taskId, String(current.percentComplete)],
          ),
        ],
      });
      if (advanced === undefined) return;
    }
  }

  /** The first failure ends the task: later subtasks are Cancelled, and the message says where. */
  async #stopAfterFailure(task: TaskRecord, label: string, failed: SubTaskRecord): Promise<void> {
    const cancelled = task.subtasks
      .filter((s) => !isTaskStateFinished(s.state))
      .map((s) => ({
        id: s.id,
        state: "Cancelled" as const,
        memberTaskMonitor: s.memberTaskMonitor,
        message: `Not run: ${label} failed at ${failed.targetUri}`,
      }));
    const reason = failed.message ?? "it failed";
    await this.#advance({
      id: task.id,
      subtasks: cancelled,
      stage: { current: task.stages.length, notBeforeMs: null },
      finish: "Exception",
      messages: [
        taskMessage(
          "TaskAborted",
          `The task with Id '${task.id}' stopped at ${label}: ${failed.targetUri} failed (${reason}); later stages were cancelled.`,
          "Critical",
          [task.id],
        ),
      ],
    });
  }

  /** Runs one subtask to its end and commits it; undefined when this PoC must stop driving. */
  async #runSubtask(task: TaskRecord, subtask: SubTaskRecord, term: number): Promise<SubtaskEnd | undefined> {
    const end = await this.#subtaskEnd(task, subtask, term);
    if (end === undefined) return undefined;
    const committed = await this.#advance({
      id: task.id,
      subtasks: [{ id: subtask.id, state: end.state, memberTaskMonitor: end.memberTaskMonitor, message: end.message }],
    });
    return committed === undefined ? undefined : end;
  }

  async #subtaskEnd(task: TaskRecord, subtask: SubTaskRecord, term: number): Promise<SubtaskEnd | undefined> {
    if (subtask.memberTaskMonitor !== null) return this.#followMemberTask(subtask, subtask.memberTaskMonitor, term);
    const store = this.#journal.store;
    let record = store.operation(subtask.operationId);
    if (record === undefined) {
      try {
        record = (await store.commit({
          type: "operation.accept",
          body: {
            id: subtask.operationId,
            memberId: subtask.memberId,
            action: subtask.action,
            facadePath: "",
            term: this.#service.cluster.term(),
            taskId: task.id,
            idempotencyKey: null,
            atMs: this.#journal.now(),
          },
        })) as OperationRecord;
      } catch (error) {
        const existing = store.operation(subtask.operationId);
        if (error instanceof OperationRuleViolation && error.code === "duplicate-id" && existing !== undefined) {
          record = existing;
        } else if (error instanceof OperationRuleViolation && error.code === "journal-full") {
          return { state: "Exception", memberTaskMonitor: null, message: `${subtask.targetUri}: ${error.message}` };
        } else return undefined;
      }
    }
    // Bounded: each pass either finishes, waits a running owner (bounded by the op's deadline), or counts an attempt.
    const runningDeadline = this.#journal.now() + this.#journal.timeoutFor(subtask.action) * 2;
    while (record.phase === "accepted") {
      if (!this.#stillPoc(term)) return undefined;
      const run = this.#journal.isInFlight(record.id)
        ? { kind: "running" as const }
        : await this.#journal.send(record, {
            unreachableForMs: OWNER_UNREACHABLE_MAX_MS,
            stillPoc: () => this.#stillPoc(term),
          });
      if (run.kind === "interrupted") return undefined;
      if (run.kind === "finished") {
        record = run.record;
        break;
      }
      if (this.#journal.now() > runningDeadline) {
        return {
          state: "Exception",
          memberTaskMonitor: null,
          message: `${subtask.targetUri}: the owner did not finish in time`,
        };
      }
      await sleep(OWNER_RUNNING_POLL_MS);
      const current = store.operation(record.id);
      if (current === undefined) return undefined;
      record = current;
    }
    return this.#endFromRecord(task, subtask, record, term);
  }

  async #endFromRecord(
    task: TaskRecord,
    subtask: SubTaskRecord,
    record: OperationRecord,
    term: number,
  ): Promise<SubtaskEnd | undefined> {
    if (record.phase === "failed" || record.result === null) {
      return {
        state: "Exception",
        memberTaskMonitor: null,
        message: `${subtask.targetUri}: ${record.failure?.message ?? "failed"}`,
      };
    }
    const { result } = record;
    if (result.statusCode >= 400) {
      const said = firstMessageIn(result.text);
      return {
        state: "Exception",
        memberTaskMonitor: null,
        message: `${subtask.targetUri}: the BMC answered ${result.statusCode}${said === undefined ? "" : ` (${said})`}`,
      };
    }
    const location = result.headers.location;
    if (result.statusCode === 202 && location !== undefined) {
      // The member runs a task of its own: follow its monitor (kept, so a new PoC follows it too).
      const monitor = new URL(location, "http://member").pathname;
      const committed = await this.#advance({
        id: task.id,
        subtasks: [{ id: subtask.id, state: "Running", memberTaskMonitor: monitor, message: null }],
      });
      if (committed === undefined) return undefined;
      return this.#followMemberTask(subtask, monitor, term);
    }
    return { state: "Completed", memberTaskMonitor: null, message: null };
  }

  async #followMemberTask(subtask: SubTaskRecord, monitor: string, term: number): Promise<SubtaskEnd | undefined> {
    const deadline = this.#journal.now() + MEMBER_TASK_MAX_MS;
    let failures = 0;
    for (;;) {
      if (!this.#stillPoc(term)) return undefined;
      if (this.#journal.now() > deadline) {
        return {
          state: "Exception",
          memberTaskMonitor: monitor,
          message: `${subtask.targetUri}: the BMC's task did not end in time`,
        };
      }
      let response: UpstreamResponse;
      try {
        response = await this.#service.cluster.forward(subtask.memberId, {
          method: "GET",
          path: monitor,
          headers: { accept: "application/json" },
          timeoutMs: MEMBER_TASK_READ_TIMEOUT_MS,
        });
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        failures++;
        if (failures >= MEMBER_TASK_READ_FAILURES_MAX) {
          return {
            state: "Exception",
            memberTaskMonitor: monitor,
            message: `${subtask.targetUri}: the BMC's task could not be read (${error.message})`,
          };
        }
        await sleep(MEMBER_TASK_POLL_MS);
        continue;
      }
      if (response.statusCode === 202) {
        await sleep(MEMBER_TASK_POLL_MS);
        continue;
      }
      let body: { TaskState?: unknown; Messages?: { Message?: unknown }[] } = {};
      try {
        body = JSON.parse(response.text);
      } catch {
        // Judged by the status alone.
      }
      const state = typeof body.TaskState === "string" ? body.TaskState : undefined;
      if (response.statusCode < 300 && (state === undefined || state === "Completed")) {
        return { state: "Completed", memberTaskMonitor: monitor, message: null };
      }
      const last = body.Messages?.at(-1)?.Message;
      return {
        state: "Exception",
        memberTaskMonitor: monitor,
        message: `${subtask.targetUri}: the BMC's task ended ${state ?? `with status ${response.statusCode}`}${typeof last === "string" ? ` (${last})` : ""}`,
      };
    }
  }
}
