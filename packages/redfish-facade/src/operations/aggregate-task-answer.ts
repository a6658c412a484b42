// How the facade's own actions answer: a started task as 202 with its task monitor, and a store
// that refused or could not commit as a Redfish error. Shared by the aggregation and update parts.
import type { FastifyReply } from "fastify";
import { RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, type RedfishMessage, sendRedfishError } from "../redfish-error.ts";
import { OperationRuleViolation, OperationStoreUnavailableError } from "./operation-store.ts";
import type { TaskRecord } from "./operation-types.ts";
import type { NewTaskPlan, TaskRunner } from "./task-runner.ts";
import { taskMonitorUri, taskUri } from "./task-uris.ts";

/** A Redfish error for a change the store refused or could not commit; undefined for another error. */
export function storeFailure(
  error: unknown,
): { statusCode: number; message: RedfishMessage; headers: Record<string, string> } | undefined {
  const seconds = String(RETRY_AFTER_SECONDS);
  if (error instanceof OperationStoreUnavailableError) {
    return {
      statusCode: 503,
      message: baseMessage("ServiceTemporarilyUnavailable", [seconds]),
      headers: { "retry-after": seconds },
    };
  }
  if (error instanceof OperationRuleViolation) {
    if (error.code === "tasks-full") {
      // Every kept task is running: a new one may start once one ends.
      return {
        statusCode: 503,
        message: baseMessage("ServiceTemporarilyUnavailable", [seconds]),
        headers: { "retry-after": seconds },
      };
    }
    if (error.code === "aggregates-full") {
      return { statusCode: 400, message: baseMessage("CreateLimitReachedForResource"), headers: {} };
    }
    if (error.code === "unknown-aggregate") {
      return { statusCode: 404, message: baseMessage("ResourceNotFound", ["Aggregate", error.message]), headers: {} };
    }
    if (error.code === "too-many-elements") {
      return { statusCode: 400, message: baseMessage("ArraySizeTooLong", ["Elements", error.message]), headers: {} };
    }
  }
  return undefined;
}

export function sendStoreFailure(reply: FastifyReply, error: unknown): FastifyReply {
  const failure = storeFailure(error);
  if (failure === undefined) throw error;
  for (const [name, value] of Object.entries(failure.headers)) reply.header(name, value);
  return sendRedfishError(reply, failure.statusCode, failure.message);
}

/** The Task as the TaskService serves it (what a GET of its URI gives). */
async function taskBody(service: FacadeService, task: TaskRecord): Promise<Record<string, unknown> | undefined> {
  const served = await service.resolve(["TaskService", "Tasks", task.id], taskUri(task.id));
  return served.kind === "resource" ? served.body : undefined;
}

/** Starts a task and answers 202 with `Location: <task monitor>` and the Task. */
export async function startTaskAnswer(
  reply: FastifyReply,
  service: FacadeService,
  tasks: TaskRunner,
  plan: NewTaskPlan,
): Promise<{ reply: FastifyReply; task: TaskRecord | undefined }> {
  let task: TaskRecord;
  try {
    task = await tasks.start(plan);
  } catch (error) {
    return { reply: sendStoreFailure(reply, error), task: undefined };
  }
  const body = await taskBody(service, task);
  reply.code(202).header("Location", taskMonitorUri(task.id));
  if (body === undefined) return { reply: reply.send(), task };
  return { reply: reply.type("application/json; charset=utf-8").send(JSON.stringify(body)), task };
}
