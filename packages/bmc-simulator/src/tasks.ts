// TaskService: long operations become Tasks with a task monitor; the tasks kept are bounded
// and the oldest finished ones make room for new ones.
import { baseMessage, fillMessage, RedfishError } from "./errors.ts";
import { type EventHub, REGISTRIES } from "./events.ts";
import type { JsonValue, Resource, ResourceStore } from "./store.ts";

export const TASKS_URI = "/redfish/v1/TaskService/Tasks";
export const TASK_MONITORS_URI = "/redfish/v1/TaskService/TaskMonitors";

export type TaskState = "New" | "Running" | "Completed" | "Exception" | "Cancelled" | "Killed";
const FINISHED: ReadonlySet<string> = new Set(["Completed", "Exception", "Cancelled", "Killed"]);

export interface TaskPayload {
  httpOperation: string;
  targetUri: string;
  jsonBody: string;
  httpHeaders: string[];
}

export interface TaskHandle {
  id: string;
  uri: string;
  monitorUri: string;
}

const TASK_MESSAGES = {
  TaskStarted: { text: "The task with Id '%1' has started.", severity: "OK" },
  TaskProgressChanged: { text: "The task with Id '%1' has changed to progress %2 percent complete.", severity: "OK" },
  TaskCompletedOK: { text: "The task with Id '%1' has completed.", severity: "OK" },
  TaskAborted: { text: "The task with Id '%1' has completed with errors.", severity: "Critical" },
  TaskCancelled: {
    text: "Work on the task with Id '%1' was halted prior to completion due to an explicit request.",
    severity: "Warning",
  },
} as const;

export type TaskMessageKey = keyof typeof TASK_MESSAGES;

export class TaskService {
  private nextId = 1;
  private readonly order: string[] = [];
  private readonly cancelHooks = new Map<string, () => void>();
  private readonly store: ResourceStore;
  private readonly events: EventHub;
  private readonly maxTasksKept: number;
  private readonly now: () => Date;

  constructor(store: ResourceStore, events: EventHub, maxTasksKept: number, now: () => Date = () => new Date()) {
    this.store = store;
    this.events = events;
    this.maxTasksKept = maxTasksKept;
    this.now = now;
  }

  static taskUri(id: string): string {
    return `${TASKS_URI}/${id}`;
  }

  static monitorUri(id: string): string {
    return `${TASK_MONITORS_URI}/${id}`;
  }

  /** Creates a task in state New; throws 503 when every kept task is still running. */
  create(name: string, payload: TaskPayload, onCancel?: () => void): TaskHandle {
    this.makeRoom();
    const id = String(this.nextId++);
    const handle = { id, uri: TaskService.taskUri(id), monitorUri: TaskService.monitorUri(id) };
    const task: Resource = {
      "@odata.type": "#Task.v1_7_4.Task",
      "@odata.id": handle.uri,
      Id: id,
      Name: name,
      TaskState: "New",
      TaskStatus: "OK",
      StartTime: this.now().toISOString(),
      PercentComplete: 0,
      TaskMonitor: handle.monitorUri,
      HidePayload: false,
      Payload: {
        HttpOperation: payload.httpOperation,
        TargetUri: payload.targetUri,
        JsonBody: payload.jsonBody,
        HttpHeaders: payload.httpHeaders,
      },
      Messages: [],
    };
    this.store.put(task);
    this.store.addMember(TASKS_URI, handle.uri);
    this.order.push(id);
    if (onCancel) this.cancelHooks.set(id, onCancel);
    return handle;
  }

  get(id: string): Resource | undefined {
    return this.store.get(TaskService.taskUri(id));
  }

  isFinished(id: string): boolean {
    const task = this.store.peek(TaskService.taskUri(id));
    return task !== undefined && FINISHED.has(String(task.TaskState));
  }

  start(id: string): void {
    this.change(id, (task) => {
      task.TaskState = "Running";
    });
    this.publish(id, "TaskStarted", [id]);
  }

  progress(id: string, percent: number, message?: { messageId: string; text: string; args: string[] }): void {
    if (this.isFinished(id)) return;
    this.change(id, (task) => {
      task.PercentComplete = percent;
      if (message)
        this.appendMessage(task, message.messageId, fillMessage(message.text, message.args), message.args, "OK");
    });
    this.publish(id, "TaskProgressChanged", [id, String(percent)]);
  }

  /** Ends a task: Completed with OK status, or Exception with Critical status. */
  finish(id: string, ok: boolean): void {
    if (this.isFinished(id)) return;
    this.cancelHooks.delete(id);
    const key: TaskMessageKey = ok ? "TaskCompletedOK" : "TaskAborted";
    this.change(id, (task) => {
      task.TaskState = ok ? "Completed" : "Exception";
      task.TaskStatus = ok ? "OK" : "Critical";
      if (ok) task.PercentComplete = 100;
      task.EndTime = this.now().toISOString();
      this.appendTaskMessage(task, key, [id]);
    });
    this.publish(id, key, [id]);
  }

  /** Cancels a running task (DELETE on its monitor); returns false when it had already finished. */
  cancel(id: string): boolean {
    if (this.isFinished(id)) return false;
    const hook = this.cancelHooks.get(id);
    this.cancelHooks.delete(id);
    hook?.();
    this.change(id, (task) => {
      task.TaskState = "Cancelled";
      task.TaskStatus = "Warning";
      task.EndTime = this.now().toISOString();
      this.appendTaskMessage(task, "TaskCancelled", [id]);
    });
    this.publish(id, "TaskCancelled", [id]);
    return true;
  }

  private makeRoom(): void {
    while (this.order.length >= this.maxTasksKept) {
      const oldestFinished = this.order.findIndex((id) => this.isFinished(id));
      if (oldestFinished < 0) {
        throw new RedfishError(503, [baseMessage("ServiceTemporarilyUnavailable", ["5"])], { "Retry-After": "5" });
      }
      const [id] = this.order.splice(oldestFinished, 1);
      if (id === undefined) break;
      this.store.delete(TaskService.taskUri(id));
      this.store.removeMember(TASKS_URI, TaskService.taskUri(id));
    }
  }

  private change(id: string, mutate: (task: Resource) => void): void {
    if (!this.store.has(TaskService.taskUri(id))) return;
    this.store.update(TaskService.taskUri(id), mutate);
  }

  private appendTaskMessage(task: Resource, key: TaskMessageKey, args: string[]): void {
    const template = TASK_MESSAGES[key];
    this.appendMessage(
      task,
      `${REGISTRIES.taskEvent}.${key}`,
      fillMessage(template.text, args),
      args,
      template.severity,
    );
  }

  private appendMessage(task: Resource, messageId: string, text: string, args: string[], severity: string): void {
    const messages: JsonValue[] = Array.isArray(task.Messages) ? task.Messages : [];
    messages.push({ MessageId: messageId, Message: text, MessageArgs: args, MessageSeverity: severity });
    task.Messages = messages;
  }

  private publish(id: string, key: TaskMessageKey, args: string[]): void {
    const template = TASK_MESSAGES[key];
    this.events.publish({
      messageId: `${REGISTRIES.taskEvent}.${key}`,
      message: fillMessage(template.text, args),
      args,
      severity: template.severity,
      originOfCondition: TaskService.taskUri(id),
    });
  }
}
