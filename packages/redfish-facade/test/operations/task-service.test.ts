// The TaskService the console sees: cluster tasks (from the replicated state) merged with the
// members' tasks, SubTasks, task monitors (202 while running, 200 once done), cancel by DELETE,
// and every body valid against the DMTF schemas.
import { resolve } from "node:path";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createMemoryOperationStore,
  type OperationStore,
  subtaskOperationId,
  taskMonitorUri,
  taskUri,
} from "../../src/index.ts";
import {
  CONSOLE,
  type Facade,
  hasShared,
  messageIds,
  sharedRedfish,
  startFacade,
  waitFor,
} from "../support/facade-fixture.ts";
import { loadRedfishValidator, type RedfishValidator } from "../support/redfish-schemas.ts";

const MEMBERS = [{ name: "bmc1" }, { name: "bmc2" }, { name: "bmc3" }];

let facade: Facade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

/** A task as a PoC commits it; the app's driver picks it up like a task an earlier PoC started. */
async function commitTask(store: OperationStore, number: number, delayMs: number): Promise<string> {
  const id = `t${number}`;
  const subtasks = ["bmc1", "bmc2"].map((name, i) => ({
    id: `${id}-${i + 1}`,
    memberId: `peer-${name}`,
    targetUri: `/redfish/v1/Systems/${name}_system`,
    action: {
      kind: "http" as const,
      request: {
        method: "POST" as const,
        path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
        headers: { "content-type": "application/json" },
        body: '{"ResetType":"ForceRestart"}',
      },
    },
    operationId: subtaskOperationId(id, `${id}-${i + 1}`),
  }));
  await store.commit({
    type: "task.create",
    body: {
      id,
      kind: "aggregate-reset",
      name: "Aggregate reset",
      payload: {
        targetUri: "/redfish/v1/AggregationService/Actions/AggregationService.Reset",
        httpOperation: "POST",
        jsonBody: '{"ResetType":"ForceRestart"}',
      },
      stopOnFailure: true,
      subtasks,
      stages: [
        { subtaskIds: [`${id}-1`], delayBeforeMs: delayMs, label: "batch 1 of 2", handOverFrom: null },
        { subtaskIds: [`${id}-2`], delayBeforeMs: 0, label: "batch 2 of 2", handOverFrom: null },
      ],
      atMs: Date.now(),
    },
  });
  return id;
}

async function get(url: string): Promise<LightMyRequestResponse> {
  return (facade as Facade).get(url);
}

describe("the TaskService", () => {
  it("serves cluster tasks next to the members', their SubTasks, and a monitor that ends with the result", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(MEMBERS, { operations: store });
    const id = await commitTask(store, 5, 0);
    const service = await facade.json("/redfish/v1/TaskService");
    expect(service).toMatchObject({
      Id: "TaskService",
      ServiceEnabled: true,
      Tasks: { "@odata.id": "/redfish/v1/TaskService/Tasks" },
    });
    const tasks = await facade.json("/redfish/v1/TaskService/Tasks");
    expect(tasks.Members).toContainEqual({ "@odata.id": taskUri(id) });
    const monitor = await waitFor(async () => {
      const response = await get(taskMonitorUri(id));
      return response.statusCode === 200 ? response : undefined;
    }, "the task to end");
    expect(monitor.json()).toMatchObject({ Id: id, TaskState: "Completed", PercentComplete: 100, TaskStatus: "OK" });
    const task = await facade.json(taskUri(id));
    expect(task).toMatchObject({
      TaskMonitor: taskMonitorUri(id),
      Payload: { TargetUri: "/redfish/v1/AggregationService/Actions/AggregationService.Reset", HttpOperation: "POST" },
      SubTasks: { "@odata.id": `${taskUri(id)}/SubTasks` },
    });
    expect(typeof task.EndTime).toBe("string");
    const subtasks = await facade.json(`${taskUri(id)}/SubTasks`);
    expect(subtasks["Members@odata.count"]).toBe(2);
    const subtask = await facade.json(`${taskUri(id)}/SubTasks/${id}-2`);
    expect(subtask).toMatchObject({
      TaskState: "Completed",
      Payload: { TargetUri: "/redfish/v1/Systems/bmc2_system" },
    });
    expect((await get(`${taskUri(id)}/SubTasks/${id}-9`)).statusCode).toBe(404);
    expect((await get(taskUri("t999"))).statusCode).toBe(404);
    expect((await get(taskMonitorUri("t999"))).statusCode).toBe(404);
  });

  it("a running task's monitor answers 202 with Location; DELETE cancels what has not started", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(MEMBERS, { operations: store });
    const id = await commitTask(store, 6, 10 * 60_000);
    const running = await get(taskMonitorUri(id));
    expect(running.statusCode).toBe(202);
    expect(running.headers.location).toBe(taskMonitorUri(id));
    expect(running.json()).toMatchObject({ TaskState: "Running", PercentComplete: 0 });
    expect(running.headers.allow).toBe("GET, HEAD, DELETE");
    const patch = await facade.app.inject({
      method: "PATCH",
      url: taskUri(id),
      headers: { ...CONSOLE, "content-type": "application/json" },
      payload: "{}",
    });
    expect(patch.statusCode).toBe(405);
    const cancel = await facade.app.inject({ method: "DELETE", url: taskMonitorUri(id), headers: CONSOLE });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toMatchObject({ TaskState: "Cancelled", TaskStatus: "Warning" });
    const after = await get(taskMonitorUri(id));
    expect(after.statusCode).toBe(200);
    expect(store.task(id)?.subtasks.map((s) => s.state)).toEqual(["Cancelled", "Cancelled"]);
    const again = await facade.app.inject({ method: "DELETE", url: taskUri(id), headers: CONSOLE });
    expect(again.statusCode).toBe(405);
    expect(messageIds(again)).toEqual(["OperationNotAllowed"]);
    expect(facade.cluster.executions).toEqual([]);
  });

  it("is served even when no member has a TaskService", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade([{ name: "bmc1", hasBmc: false }], { operations: store });
    expect((await get("/redfish/v1/TaskService")).statusCode).toBe(200);
    const tasks = await facade.json("/redfish/v1/TaskService/Tasks");
    expect(tasks).toMatchObject({ "@odata.type": "#TaskCollection.TaskCollection", Members: [] });
  });
});

describe.skipIf(!hasShared)("TaskService resources against ../shared/redfish/json-schema", () => {
  let validator: RedfishValidator;
  beforeAll(() => {
    validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
  });

  it("validates the service, the merged collection, tasks, subtasks and monitors", async () => {
    const store = createMemoryOperationStore();
    facade = await startFacade(MEMBERS, { operations: store });
    const running = await commitTask(store, 7, 10 * 60_000);
    const done = await commitTask(store, 8, 0);
    await waitFor(async () => (store.task(done)?.state === "Completed" ? true : undefined), "the task to end");
    await facade.app.inject({ method: "DELETE", url: taskUri(running), headers: CONSOLE });
    const uris = [
      "/redfish/v1/TaskService",
      "/redfish/v1/TaskService/Tasks",
      taskUri(running),
      taskUri(done),
      taskMonitorUri(done),
      `${taskUri(done)}/SubTasks`,
      `${taskUri(done)}/SubTasks/${done}-1`,
      `${taskUri(running)}/SubTasks/${running}-2`,
    ];
    for (const uri of uris) {
      const body = await facade.json(uri);
      expect(validator.validate(body), uri).toEqual([]);
    }
  });
});
