// The TaskService as the console sees it: the cluster's own tasks (from the replicated state, so a
// task monitor answers on any PoC) merged with each member's tasks, the SubTasks of a cluster
// task, and its task monitor (202 with the Task while it runs, 200 with the Task once it ended).
// Served even when no member has a TaskService of its own.
import type { FastifyReply, FastifyRequest } from "fastify";
import { RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import type { FacadePart } from "../facade-part.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import type { RequestPath } from "../request-path.ts";
import { READ_ONLY_ALLOW, type Served, servedError, servedResource } from "../served.ts";
import { isTaskStateFinished } from "./operation-state.ts";
import { OperationRuleViolation, type OperationStore, OperationStoreUnavailableError } from "./operation-store.ts";
import type { SubTaskRecord, TaskRecord, TaskStateWord } from "./operation-types.ts";
import { subTaskUri, TASK_SERVICE_URI, TASKS_URI, taskMonitorUri, taskUri } from "./task-uris.ts";

type Json = Record<string, unknown>;

const TASK_TYPE = "#Task.v1_7_4.Task";
/** Retry-After (seconds) a running task's monitor suggests. */
export const TASK_MONITOR_RETRY_AFTER_SECONDS = 1;
/** Cluster task ids (never a member's prefixed `<name>_<id>`). */
const CLUSTER_TASK_ID = /^t[0-9]{1,15}$/;
const RUNNING_ALLOW: readonly string[] = Object.freeze(["GET", "HEAD", "DELETE"]);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function taskStatus(state: TaskStateWord, messages: TaskRecord["messages"]): "OK" | "Warning" | "Critical" {
  if (state === "Exception") return "Critical";
  if (state === "Cancelled") return "Warning";
  return messages.some((m) => m.severity === "Critical")
    ? "Critical"
    : messages.some((m) => m.severity === "Warning")
      ? "Warning"
      : "OK";
}

/** A cluster task as a Redfish Task (what a 202 answers and the task monitor serves). */
export function taskBody(task: TaskRecord): Json {
  const body: Json = {
    "@odata.type": TASK_TYPE,
    "@odata.id": taskUri(task.id),
    Id: task.id,
    Name: task.name,
    TaskState: task.state,
    TaskStatus: taskStatus(task.state, task.messages),
    StartTime: iso(task.startTimeMs),
    PercentComplete: task.percentComplete,
    TaskMonitor: taskMonitorUri(task.id),
    HidePayload: false,
    Payload: {
      HttpOperation: task.payload.httpOperation,
      TargetUri: task.payload.targetUri,
      JsonBody: task.payload.jsonBody,
      HttpHeaders: [],
    },
    Messages: task.messages.map((m) => ({
      MessageId: m.messageId,
      Message: m.message,
      MessageArgs: [...m.args],
      MessageSeverity: m.severity,
    })),
    SubTasks: { "@odata.id": `${taskUri(task.id)}/SubTasks` },
  };
  if (task.endTimeMs !== null) body.EndTime = iso(task.endTimeMs);
  return body;
}

export function subTaskBody(task: TaskRecord, subtask: SubTaskRecord): Json {
  const stage = task.stages.find((s) => s.subtaskIds.includes(subtask.id));
  const request = subtask.action.kind === "http" ? subtask.action.request : undefined;
  const body: Json = {
    "@odata.type": TASK_TYPE,
    "@odata.id": subTaskUri(task.id, subtask.id),
    Id: subtask.id,
    Name: `${task.name}: ${subtask.targetUri}${stage === undefined ? "" : ` (${stage.label})`}`,
    TaskState: subtask.state,
    TaskStatus: subtask.state === "Exception" ? "Critical" : subtask.state === "Cancelled" ? "Warning" : "OK",
    StartTime: iso(task.startTimeMs),
    PercentComplete: isTaskStateFinished(subtask.state) ? 100 : 0,
    HidePayload: false,
    Payload: {
      HttpOperation: request?.method ?? "POST",
      TargetUri: subtask.targetUri,
      JsonBody:
        request?.body ?? JSON.stringify(subtask.action.kind === "firmware-push" ? subtask.action.updateParameters : {}),
      HttpHeaders: [],
    },
    Messages:
      subtask.message === null
        ? []
        : [
            {
              MessageId: `TaskEvent.1.0.${subtask.state === "Completed" ? "TaskCompletedOK" : subtask.state === "Cancelled" ? "TaskCancelled" : "TaskAborted"}`,
              Message: subtask.message,
              MessageArgs: [subtask.id],
              MessageSeverity: subtask.state === "Exception" ? "Critical" : "Warning",
            },
          ],
  };
  if (isTaskStateFinished(subtask.state) && task.endTimeMs !== null) body.EndTime = iso(task.endTimeMs);
  return body;
}

function taskServiceBody(): Json {
  return {
    "@odata.type": "#TaskService.v1_3_0.TaskService",
    "@odata.id": TASK_SERVICE_URI,
    Id: "TaskService",
    Name: "Task Service",
    Description: "Task Service of the Conclave cluster: the cluster's tasks and every member's, merged",
    ServiceEnabled: true,
    CompletedTaskOverWritePolicy: "Oldest",
    LifeCycleEventOnTaskStateChange: false,
    Status: { State: "Enabled", Health: "OK" },
    Tasks: { "@odata.id": TASKS_URI },
  };
}

function notFound(path: string): Served {
  return servedError(404, baseMessage("ResourceMissingAtURI", [path]));
}

export interface TaskServicePartInit {
  readonly service: FacadeService;
  readonly store: OperationStore;
  /** Cluster time, for the Cancelled end. */
  readonly now: () => number;
}

export function taskServicePart(init: TaskServicePartInit): FacadePart {
  const { service, store } = init;
  const allowFor = (task: TaskRecord): readonly string[] =>
    isTaskStateFinished(task.state) ? READ_ONLY_ALLOW : RUNNING_ALLOW;

  const resolve = (segments: readonly string[], path: string): Served | Promise<Served> | undefined => {
    const [first, second, id, fourth, fifth] = segments;
    if (first !== "TaskService") return undefined;
    if (segments.length === 1) return servedResource(taskServiceBody());
    if (second === "Tasks" && segments.length === 2) {
      return service.rootMaps().then((maps) => service.aggregate(path, "TaskService/Tasks", maps));
    }
    if (id === undefined || !CLUSTER_TASK_ID.test(id)) return undefined;
    if (second === "Tasks") {
      const task = store.task(id);
      if (task === undefined) return notFound(path);
      if (segments.length === 3) return servedResource(taskBody(task), { allow: allowFor(task) });
      if (fourth !== "SubTasks" || segments.length > 5) return notFound(path);
      if (fifth === undefined) {
        const members = task.subtasks.map((s) => ({ "@odata.id": subTaskUri(task.id, s.id) }));
        return servedResource({
          "@odata.type": "#TaskCollection.TaskCollection",
          "@odata.id": `${taskUri(task.id)}/SubTasks`,
          Name: `Sub Tasks of ${task.id}`,
          Members: members,
          "Members@odata.count": members.length,
        });
      }
      const subtask = task.subtasks.find((s) => s.id === fifth);
      return subtask === undefined ? notFound(path) : servedResource(subTaskBody(task, subtask));
    }
    if (second === "TaskMonitors" && segments.length === 3) {
      const task = store.task(id);
      if (task === undefined) return notFound(path);
      if (isTaskStateFinished(task.state)) return servedResource(taskBody(task), { allow: READ_ONLY_ALLOW });
      return servedResource(taskBody(task), {
        statusCode: 202,
        allow: RUNNING_ALLOW,
        headers: { location: taskMonitorUri(task.id), "retry-after": String(TASK_MONITOR_RETRY_AFTER_SECONDS) },
      });
    }
    return undefined;
  };

  /** DELETE on a running cluster task (or its monitor): the stages not started are cancelled. */
  const write = async (
    request: FastifyRequest,
    reply: FastifyReply,
    parsed: RequestPath,
  ): Promise<FastifyReply | undefined> => {
    const [first, second, id] = parsed.segments;
    // Anything else (the service, the collection, a member's task) is not this part's to write.
    if (first !== "TaskService" || (second !== "Tasks" && second !== "TaskMonitors")) return undefined;
    if (id === undefined || !CLUSTER_TASK_ID.test(id)) return undefined;
    if (parsed.segments.length !== 3) {
      const existing = await resolve(parsed.segments, parsed.path);
      if (existing === undefined || existing.kind === "error") {
        return sendRedfishError(reply, 404, baseMessage("ResourceMissingAtURI", [parsed.path]));
      }
      reply.header("Allow", READ_ONLY_ALLOW.join(", "));
      return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
    }
    const task = store.task(id);
    if (task === undefined) return sendRedfishError(reply, 404, baseMessage("ResourceMissingAtURI", [parsed.path]));
    if (request.method !== "DELETE" || isTaskStateFinished(task.state)) {
      reply.header("Allow", allowFor(task).join(", "));
      return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
    }
    let cancelled: TaskRecord;
    try {
      cancelled = (await store.commit({
        type: "task.advance",
        body: {
          id: task.id,
          // Subtasks already sent run to their end on their BMC; the ones not started never will.
          subtasks: task.subtasks
            .filter((s) => s.state === "New")
            .map((s) => ({
              id: s.id,
              state: "Cancelled" as const,
              memberTaskMonitor: null,
              message: "Cancelled before it started",
            })),
          stage: { current: task.stages.length, notBeforeMs: null },
          messages: [
            {
              messageId: "TaskEvent.1.0.TaskCancelled",
              message: `Work on the task with Id '${task.id}' was halted prior to completion due to an explicit request.`,
              severity: "Warning",
              args: [task.id],
            },
          ],
          finish: "Cancelled",
          atMs: init.now(),
        },
      })) as TaskRecord;
    } catch (error) {
      if (!(error instanceof OperationRuleViolation || error instanceof OperationStoreUnavailableError)) throw error;
      // Finished meanwhile: its final state is what the console gets.
      const now = store.task(task.id);
      if (now !== undefined && isTaskStateFinished(now.state)) {
        return reply
          .code(200)
          .type("application/json; charset=utf-8")
          .send(JSON.stringify(taskBody(now)));
      }
      const seconds = String(RETRY_AFTER_SECONDS);
      reply.header("Retry-After", seconds);
      return sendRedfishError(reply, 503, baseMessage("ServiceTemporarilyUnavailable", [seconds]));
    }
    return reply
      .code(200)
      .type("application/json; charset=utf-8")
      .send(JSON.stringify(taskBody(cancelled)));
  };

  return {
    resolve,
    // ServiceRoot names the TaskService link `Tasks`.
    rootLinks: () => ({ Tasks: TASK_SERVICE_URI }),
    collectionMembers: (key) => (key === "TaskService/Tasks" ? store.tasks().map((task) => taskUri(task.id)) : []),
    write,
  };
}
