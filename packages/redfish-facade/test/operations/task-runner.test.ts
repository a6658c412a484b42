// The task runner: stages in order with their delays in cluster time, stop at the first failure,
// a new PoC continuing a task without running completed subtasks again, leadership handed over
// before a stage that updates the PoC's own BMC, and a member's own task followed to its end.
import { readdir } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { CLUSTER_MANAGER_ID } from "../../src/facade-resources.ts";
import { FacadeService } from "../../src/facade-service.ts";
import {
  createMemoryOperationStore,
  DEFAULT_FACADE_TIMEOUTS,
  type OperationAction,
  type OperationStore,
  subtaskOperationId,
  type TaskRecord,
  UpstreamError,
} from "../../src/index.ts";
import { createFacadeOperations, type FacadeOperations } from "../../src/operations/facade-operations.ts";
import { OPERATION_RESEND_DELAY_MS, OperationJournal } from "../../src/operations/operation-journal.ts";
import type { OperationRecord } from "../../src/operations/operation-types.ts";
import type { NewTaskPlan } from "../../src/operations/task-runner.ts";
import { resolveTopology } from "../../src/topology.ts";
import { TEST_TIMEOUTS, waitFor } from "../support/facade-fixture.ts";
import { createSimulatedCluster, type SimulatedCluster } from "../support/simulated-cluster.ts";

const TIMEOUTS = { ...DEFAULT_FACADE_TIMEOUTS, ...TEST_TIMEOUTS };
/** One system each (`/redfish/v1/Systems/system`), bmc1 the PoC. */
const MEMBERS = [{ name: "bmc1" }, { name: "bmc2" }, { name: "bmc3" }];

interface Poc {
  readonly operations: FacadeOperations;
  /** Moves this PoC's cluster clock. */
  advance(ms: number): void;
}

let cluster: SimulatedCluster | undefined;
const pocs: FacadeOperations[] = [];
afterEach(async () => {
  for (const operations of pocs.splice(0)) operations.close();
  await cluster?.close();
  cluster = undefined;
});

/** The operations of one PoC over the shared cluster and store (a failover is a second one). */
function startPoc(store: OperationStore, clockOffset = { ms: 0 }): Poc {
  const c = cluster as SimulatedCluster;
  const service = new FacadeService({
    cluster: c,
    timeouts: TIMEOUTS,
    topology: resolveTopology(undefined, [CLUSTER_MANAGER_ID]),
    serves: () => false,
  });
  const operations = createFacadeOperations({
    service,
    store,
    timeouts: TIMEOUTS,
    now: () => Date.now() + clockOffset.ms,
  });
  pocs.push(operations);
  return {
    operations,
    advance(ms) {
      clockOffset.ms += ms;
    },
  };
}

function reset(resetType: string): OperationAction {
  return {
    kind: "http",
    request: {
      method: "POST",
      path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ResetType: resetType }),
    },
  };
}

function resetPlan(
  stages: { names: string[]; delayBeforeMs?: number; handOverFrom?: string | null }[],
  options: { stopOnFailure?: boolean; resetType?: Record<string, string> } = {},
): NewTaskPlan {
  const names = stages.flatMap((stage) => stage.names);
  let index = 0;
  return {
    kind: "aggregate-reset",
    name: "Aggregate reset",
    payload: {
      targetUri: "/redfish/v1/AggregationService/Actions/AggregationService.Reset",
      httpOperation: "POST",
      jsonBody: "{}",
    },
    stopOnFailure: options.stopOnFailure ?? false,
    subtasks: names.map((name) => ({
      memberId: `peer-${name}`,
      targetUri: `/redfish/v1/Systems/${name}_system`,
      action: reset(options.resetType?.[name] ?? "ForceRestart"),
    })),
    stages: stages.map((stage, n) => ({
      subtaskIndexes: stage.names.map(() => index++),
      delayBeforeMs: stage.delayBeforeMs ?? 0,
      label: `batch ${n + 1} of ${stages.length}`,
      handOverFrom: stage.handOverFrom ?? null,
    })),
  };
}

async function resets(name: string): Promise<number> {
  const response = await (cluster as SimulatedCluster).simulator(name).inject({ method: "GET", url: "/_sim/counters" });
  return (response.json() as { operations: Record<string, number> }).operations["ComputerSystem.Reset"] ?? 0;
}

function finished(store: OperationStore, id: string): Promise<TaskRecord> {
  return waitFor(async () => {
    const task = store.task(id);
    return task !== undefined && task.state !== "Running" ? task : undefined;
  }, `task ${id} to end`);
}

/**
 * Makes `name`'s agent unreachable (as one restarting) for `forMs` from the first operation sent
 * to it (forever when undefined); counts the sends it refused.
 */
function ownerDownFor(name: string, forMs: number | undefined): { refusedSends: number } {
  const c = cluster as SimulatedCluster;
  const execute = c.executeOperation.bind(c);
  const seen = { refusedSends: 0 };
  let downUntilMs: number | undefined;
  (c as { executeOperation: SimulatedCluster["executeOperation"] }).executeOperation = async (memberId, execution) => {
    if (memberId === `peer-${name}`) {
      downUntilMs ??= Date.now() + (forMs ?? Number.POSITIVE_INFINITY);
      if (Date.now() < downUntilMs) {
        seen.refusedSends++;
        throw new UpstreamError("unreachable", memberId, `${name}'s agent is restarting`);
      }
    }
    return execute(memberId, execution);
  };
  return seen;
}

describe("the task runner", () => {
  it("runs stages in order, each after its delay in cluster time", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    const store = createMemoryOperationStore();
    const poc = startPoc(store);
    const task = await poc.operations.tasks.start(
      resetPlan([{ names: ["bmc1", "bmc2"] }, { names: ["bmc3"], delayBeforeMs: 10 * 60_000 }]),
    );
    expect(task).toMatchObject({ state: "Running", currentStage: 0 });
    // The first stage ran; the second waits ten minutes of cluster time.
    const waiting = await waitFor(async () => {
      const now = store.task(task.id);
      return now?.currentStage === 1 ? now : undefined;
    }, "the first stage");
    expect(waiting.stageNotBeforeMs).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect(waiting.percentComplete).toBe(66);
    expect(await resets("bmc3")).toBe(0);
    poc.advance(10 * 60_000);
    const done = await finished(store, task.id);
    expect(done).toMatchObject({ state: "Completed", percentComplete: 100 });
    expect(done.subtasks.map((s) => s.state)).toEqual(["Completed", "Completed", "Completed"]);
    const order = cluster.executions.map((e) => e.memberName);
    expect(order.indexOf("bmc3")).toBeGreaterThan(Math.max(order.indexOf("bmc1"), order.indexOf("bmc2")));
    expect([await resets("bmc1"), await resets("bmc2"), await resets("bmc3")]).toEqual([1, 1, 1]);
    // Each subtask's operation id is derived from its ids, the same on every PoC.
    expect(done.subtasks[0]?.operationId).toBe(subtaskOperationId(task.id, `${task.id}-1`));
  });

  it("stops at the first failure when asked: later stages are cancelled, the message says where", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    const store = createMemoryOperationStore();
    const poc = startPoc(store);
    const task = await poc.operations.tasks.start(
      resetPlan([{ names: ["bmc1"] }, { names: ["bmc2"] }, { names: ["bmc3"] }], {
        stopOnFailure: true,
        resetType: { bmc2: "Sideways" },
      }),
    );
    const done = await finished(store, task.id);
    expect(done.state).toBe("Exception");
    expect(done.subtasks.map((s) => s.state)).toEqual(["Completed", "Exception", "Cancelled"]);
    expect(done.subtasks[1]?.message).toContain("/redfish/v1/Systems/bmc2_system: the BMC answered 400");
    expect(done.messages.at(-1)?.message).toContain("stopped at batch 2 of 3: /redfish/v1/Systems/bmc2_system failed");
    expect(await resets("bmc3")).toBe(0);
  });

  it("without stopOnFailure runs every stage and ends in Exception when one failed", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    const store = createMemoryOperationStore();
    const poc = startPoc(store);
    const task = await poc.operations.tasks.start(
      resetPlan([{ names: ["bmc1"] }, { names: ["bmc2", "bmc3"] }], { resetType: { bmc1: "Sideways" } }),
    );
    const done = await finished(store, task.id);
    expect(done.state).toBe("Exception");
    expect(done.subtasks.map((s) => s.state)).toEqual(["Exception", "Completed", "Completed"]);
  });

  it("a new PoC continues from the current stage and never runs a completed subtask again", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    const store = createMemoryOperationStore();
    const clock = { ms: 0 };
    const first = startPoc(store, clock);
    const task = await first.operations.tasks.start(
      resetPlan([{ names: ["bmc1"] }, { names: ["bmc2"], delayBeforeMs: 60_000 }, { names: ["bmc3"] }]),
    );
    await waitFor(async () => (store.task(task.id)?.currentStage === 1 ? true : undefined), "the first stage");
    // The PoC dies while the second stage waits; a new one takes over with a new term.
    first.operations.close();
    // The old PoC accepted bmc2's operation and the owner ran it, but nothing was committed after.
    const subtask = store.task(task.id)?.subtasks[1];
    await store.commit({
      type: "operation.accept",
      body: {
        id: subtask?.operationId as string,
        memberId: "peer-bmc2",
        action: subtask?.action as OperationAction,
        facadePath: "",
        term: 1,
        taskId: task.id,
        idempotencyKey: null,
        atMs: Date.now(),
      },
    });
    await cluster.executeOperation("peer-bmc2", {
      operationId: subtask?.operationId as string,
      term: 1,
      action: subtask?.action as OperationAction,
      timeoutMs: 1_000,
    });
    cluster.setTerm(2);
    const second = startPoc(store, clock);
    second.advance(60_000);
    const done = await finished(store, task.id);
    expect(done.state).toBe("Completed");
    expect([await resets("bmc1"), await resets("bmc2"), await resets("bmc3")]).toEqual([1, 1, 1]);
    // The new PoC sent bmc2's operation again with its term; the owner answered its first result.
    const resent = cluster.executions.filter((e) => e.execution.operationId === subtask?.operationId);
    expect(resent.map((e) => [e.execution.term, e.answer?.kind])).toEqual([
      [1, "executed"],
      [2, "executed"],
    ]);
    // bmc1's operation (completed before the failover) was never sent again.
    const bmc1 = cluster.executions.filter((e) => e.memberName === "bmc1");
    expect(bmc1.length).toBe(1);
  });

  it("sends again to an owner whose agent is restarting until it is back: the subtask completes, run once", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    const store = createMemoryOperationStore();
    const poc = startPoc(store);
    const restarting = ownerDownFor("bmc2", 4 * OPERATION_RESEND_DELAY_MS);
    const task = await poc.operations.tasks.start(
      resetPlan([{ names: ["bmc1"] }, { names: ["bmc2"] }, { names: ["bmc3"] }]),
    );
    const done = await finished(store, task.id);
    expect(done.state).toBe("Completed");
    expect(done.subtasks.map((s) => s.state)).toEqual(["Completed", "Completed", "Completed"]);
    expect(restarting.refusedSends).toBeGreaterThanOrEqual(2);
    expect([await resets("bmc1"), await resets("bmc2"), await resets("bmc3")]).toEqual([1, 1, 1]);
  });

  it("an owner unreachable for longer than the send bound is failed as unreachable; a PoC that lost its role stops sending", async () => {
    const members = await createSimulatedCluster(MEMBERS);
    cluster = members;
    const store = createMemoryOperationStore();
    const service = new FacadeService({
      cluster: members,
      timeouts: TIMEOUTS,
      topology: resolveTopology(undefined, [CLUSTER_MANAGER_ID]),
      serves: () => false,
    });
    const journal = new OperationJournal({ service, store, timeouts: TIMEOUTS });
    const down = ownerDownFor("bmc2", undefined);
    const accept = async (id: string) =>
      (await store.commit({
        type: "operation.accept",
        body: {
          id,
          memberId: "peer-bmc2",
          action: reset("ForceRestart"),
          facadePath: "/redfish/v1/Systems/bmc2_system/Actions/ComputerSystem.Reset",
          term: members.term(),
          taskId: null,
          idempotencyKey: null,
          atMs: Date.now(),
        },
      })) as OperationRecord;

    const boundMs = 3 * OPERATION_RESEND_DELAY_MS;
    const run = await journal.send(await accept("op-00000000000000d4"), { unreachableForMs: boundMs });
    expect(run.kind).toBe("finished");
    expect(run.kind === "finished" ? run.record : undefined).toMatchObject({
      phase: "failed",
      failure: { reason: "unreachable" },
    });
    // Sent every OPERATION_RESEND_DELAY_MS within the bound, then given up: a bounded count.
    expect(down.refusedSends).toBeGreaterThanOrEqual(2);
    expect(down.refusedSends).toBeLessThanOrEqual(boundMs / OPERATION_RESEND_DELAY_MS + 1);

    // A PoC that lost its role leaves the operation accepted, for the next PoC to settle.
    const interrupted = await journal.send(await accept("op-00000000000000e5"), {
      unreachableForMs: 60_000,
      stillPoc: () => false,
    });
    expect(interrupted).toMatchObject({ kind: "interrupted" });
    expect(store.operation("op-00000000000000e5")?.phase).toBe("accepted");
    expect(await resets("bmc2")).toBe(0);
  });

  it("hands leadership over before a stage that acts on the PoC's own member; the new PoC goes on", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    const store = createMemoryOperationStore();
    const first = startPoc(store);
    const task = await first.operations.tasks.start(
      resetPlan([{ names: ["bmc2"] }, { names: ["bmc1"], handOverFrom: "peer-bmc1" }]),
    );
    await waitFor(async () => (cluster?.transfers.length === 1 ? true : undefined), "a leadership transfer");
    expect(cluster.transfers).toEqual([undefined]);
    expect(cluster.members().find((m) => m.isPoc)?.name).toBe("bmc2");
    expect(store.task(task.id)).toMatchObject({ state: "Running", currentStage: 1 });
    expect(await resets("bmc1")).toBe(0);
    // The new PoC (bmc2) resumes with its term.
    first.operations.close();
    cluster.setQuorum(true);
    startPoc(store);
    const done = await finished(store, task.id);
    expect(done.state).toBe("Completed");
    expect(cluster.transfers.length).toBe(1);
    expect(await resets("bmc1")).toBe(1);
  });

  it("runs the stage on this PoC with a warning when leadership cannot be handed over", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    cluster.failTransfers(true);
    const store = createMemoryOperationStore();
    const poc = startPoc(store);
    const task = await poc.operations.tasks.start(resetPlan([{ names: ["bmc1"], handOverFrom: "peer-bmc1" }]));
    const done = await finished(store, task.id);
    expect(done.state).toBe("Completed");
    expect(done.messages.some((m) => m.severity === "Warning" && m.message.includes("could not be handed over"))).toBe(
      true,
    );
  });

  it("pushes a staged image and follows the member's own task to its end", async () => {
    cluster = await createSimulatedCluster(MEMBERS);
    const store = createMemoryOperationStore();
    const poc = startPoc(store);
    const writer = await cluster.openImageStage("peer-bmc3", "stage-1", undefined);
    await writer.write(Buffer.from("version=9.9.1\n"));
    await writer.write(Buffer.alloc(64 * 1024, 7));
    expect((await writer.finish()).bytes).toBe(64 * 1024 + 14);
    const task = await poc.operations.tasks.start({
      kind: "firmware-update",
      name: "Firmware update",
      payload: { targetUri: "/redfish/v1/UpdateService/update-multipart", httpOperation: "POST", jsonBody: "{}" },
      stopOnFailure: false,
      subtasks: [
        {
          memberId: "peer-bmc3",
          targetUri: "/redfish/v1/Managers/bmc3_bmc",
          action: { kind: "firmware-push", stageId: "stage-1", imageName: "bmc-9.9.1.bin", updateParameters: {} },
        },
        {
          memberId: "peer-bmc2",
          targetUri: "/redfish/v1/Managers/bmc2_bmc",
          action: { kind: "firmware-push", stageId: "never-staged", imageName: "x.bin", updateParameters: {} },
        },
      ],
      stages: [{ subtaskIndexes: [0, 1], delayBeforeMs: 0, label: "batch 1 of 1", handOverFrom: null }],
    });
    const done = await finished(store, task.id);
    const [pushed, missing] = done.subtasks;
    expect(pushed).toMatchObject({ state: "Completed" });
    expect(pushed?.memberTaskMonitor).toMatch(/^\/redfish\/v1\/TaskService\/TaskMonitors\//);
    expect(missing).toMatchObject({ state: "Exception" });
    expect(missing?.message).toContain("no longer holds the staged image");
    expect(store.operation(missing?.operationId as string)?.failure?.reason).toBe("image-missing");
    const bmc3 = cluster.simulator("bmc3");
    const read = async (url: string): Promise<Record<string, unknown>> =>
      (
        await bmc3.inject({
          method: "GET",
          url,
          headers: { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` },
        })
      ).json();
    const inventory = (await read("/redfish/v1/UpdateService/FirmwareInventory")) as {
      Members: { "@odata.id": string }[];
    };
    const versions = await Promise.all(inventory.Members.map(async (m) => (await read(m["@odata.id"])).Version));
    expect(versions).toContain("9.9.1");
  });
  it("over HTTP, the simulated owner streams the staged image to its BMC and removes it once accepted", async () => {
    cluster = await createSimulatedCluster(MEMBERS, { transport: "http" });
    const store = createMemoryOperationStore();
    const poc = startPoc(store);
    const writer = await cluster.openImageStage("peer-bmc2", "stage-2", undefined);
    await writer.write(Buffer.from("version=3.1.4\n"));
    await writer.finish();
    const task = await poc.operations.tasks.start({
      kind: "firmware-update",
      name: "Firmware update",
      payload: { targetUri: "/redfish/v1/UpdateService/update-multipart", httpOperation: "POST", jsonBody: "{}" },
      stopOnFailure: false,
      subtasks: [
        {
          memberId: "peer-bmc2",
          targetUri: "/redfish/v1/Managers/bmc2_bmc",
          action: { kind: "firmware-push", stageId: "stage-2", imageName: "bmc-3.1.4.bin", updateParameters: {} },
        },
      ],
      stages: [{ subtaskIndexes: [0], delayBeforeMs: 0, label: "batch 1 of 1", handOverFrom: null }],
    });
    const done = await finished(store, task.id);
    expect(done.subtasks[0]).toMatchObject({ state: "Completed" });
    expect(await readdir(cluster.stageDir("bmc2"))).toEqual([]);
  });
});
