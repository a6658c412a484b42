// Proves aggregated resets run every target's own Reset exactly once on its owner, in batches and
// in power-sequence order, stop at the first failed power group saying where, and refuse bad input
// before anything runs.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryAuthStore } from "../../src/auth/memory-auth-store.ts";
import { buildApp, FacadeConfigError } from "../../src/index.ts";
import { CONSOLE_USER, messageIds, threeMembers } from "../support/facade-fixture.ts";
import { createSimulatedCluster } from "../support/simulated-cluster.ts";
import { ALL_SYSTEMS, type OperationsFacade, startOperationsFacade } from "./aggregate-test-support.ts";

const RESET_URI = "/redfish/v1/AggregationService/Actions/AggregationService.Reset";

let facade: OperationsFacade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

/** The systems reset, in the order their owners ran them. */
function resetOrder(f: OperationsFacade): string[] {
  return f.cluster.executions
    .filter((e) => e.answer?.kind === "executed" && e.execution.action.kind === "http")
    .map((e) => {
      const action = e.execution.action as { request: { path: string } };
      return `${e.memberName}:${action.request.path.split("/")[4]}`;
    });
}

describe("AggregationService.Reset", () => {
  it("resets every target exactly once, batch after batch, as a task with one subtask each", async () => {
    facade = await startOperationsFacade(threeMembers());
    const response = await facade.post(RESET_URI, {
      TargetURIs: ALL_SYSTEMS.map((uri) => ({ "@odata.id": uri })),
      ResetType: "ForceRestart",
      BatchSize: 2,
    });
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toMatch(/^\/redfish\/v1\/TaskService\/TaskMonitors\/t\d+$/);
    expect(response.json()).toMatchObject({ "@odata.type": "#Task.v1_7_4.Task", TaskState: "Running" });
    const task = await facade.finishedTask(response);
    expect(task.state).toBe("Completed");
    expect(task.percentComplete).toBe(100);
    expect(task.subtasks.map((s) => [s.targetUri, s.state])).toEqual(ALL_SYSTEMS.map((uri) => [uri, "Completed"]));
    expect(task.stages.map((s) => s.label)).toEqual(["batch 1 of 2", "batch 2 of 2"]);

    // Batch 2 ran only after batch 1: the owners saw bmc1 and bmc2's first system first.
    const order = resetOrder(facade);
    expect(order).toHaveLength(4);
    expect(new Set(order.slice(0, 2))).toEqual(new Set(["bmc1:system", "bmc2:system1"]));
    expect(new Set(order.slice(2))).toEqual(new Set(["bmc2:system2", "bmc3:system"]));

    // The simulators' own counters: each subtask's operation ran exactly once on its owner's BMC.
    for (const subtask of task.subtasks) {
      const member = subtask.targetUri.split("/").pop()?.split("_")[0] as string;
      expect((await facade.executedIds(member))[subtask.operationId]).toBe(1);
    }
    const counts = await Promise.all(["bmc1", "bmc2", "bmc3"].map((m) => facade?.executedIds(m)));
    expect(counts.map((c) => Object.values(c ?? {}).reduce((a, b) => a + b, 0))).toEqual([1, 2, 1]);
  });

  it("resets chassis and managers through their own Reset actions", async () => {
    facade = await startOperationsFacade(threeMembers());
    const task = await facade.finishedTask(
      await facade.post(RESET_URI, {
        TargetURIs: ["/redfish/v1/Chassis/bmc1_chassis", "/redfish/v1/Managers/bmc3_bmc"],
        ResetType: "ForceRestart",
      }),
    );
    expect(task.state, JSON.stringify(task.messages)).toBe("Completed");
    expect(
      facade.cluster.executions.map((e) => [
        e.memberName,
        (e.execution.action as { request: { path: string } }).request.path,
      ]),
    ).toEqual([
      ["bmc1", "/redfish/v1/Chassis/chassis/Actions/Chassis.Reset"],
      ["bmc3", "/redfish/v1/Managers/bmc/Actions/Manager.Reset"],
    ]);
    expect(Object.values(await facade.executedIds("bmc1"))).toEqual([1]);
    expect(Object.values(await facade.executedIds("bmc3"))).toEqual([1]);
  });

  it("refuses bad input with Base messages before anything runs", async () => {
    facade = await startOperationsFacade(threeMembers());
    const cases: [unknown, number, string[]][] = [
      [{ TargetURIs: ALL_SYSTEMS, ResetType: "Explode" }, 400, ["ActionParameterValueNotInList"]],
      [{ TargetURIs: ALL_SYSTEMS }, 400, ["ActionParameterMissing"]],
      [{ ResetType: "On" }, 400, ["ActionParameterMissing"]],
      [{ TargetURIs: [], ResetType: "On" }, 400, ["ActionParameterValueError"]],
      [{ TargetURIs: "all", ResetType: "On" }, 400, ["ActionParameterValueTypeError"]],
      [{ TargetURIs: ALL_SYSTEMS, ResetType: "On", BatchSize: -1 }, 400, ["ActionParameterValueOutOfRange"]],
      [
        { TargetURIs: ALL_SYSTEMS, ResetType: "On", DelayBetweenBatchesInSeconds: "soon" },
        400,
        ["ActionParameterValueTypeError"],
      ],
      [{ TargetURIs: ALL_SYSTEMS, ResetType: "On", Force: true }, 400, ["ActionParameterUnknown"]],
      [{ TargetURIs: [ALL_SYSTEMS[0], ALL_SYSTEMS[0]], ResetType: "On" }, 400, ["ActionParameterValueError"]],
      // Targets that do not exist: an unknown member, an unknown system of a known member, a facade resource.
      [
        {
          TargetURIs: [
            "/redfish/v1/Systems/bmc9_system",
            "/redfish/v1/Systems/bmc1_nothing",
            "/redfish/v1/Managers/conclave",
          ],
          ResetType: "On",
        },
        400,
        ["ResourceMissingAtURI", "ResourceMissingAtURI", "ResourceMissingAtURI"],
      ],
      // A manager advertises only restarts: On is not in its list.
      [
        { TargetURIs: [ALL_SYSTEMS[0], "/redfish/v1/Managers/bmc1_bmc"], ResetType: "On" },
        400,
        ["ActionParameterValueNotInList"],
      ],
    ];
    for (const [body, status, ids] of cases) {
      const response = await facade.post(RESET_URI, body);
      expect([JSON.stringify(body), response.statusCode]).toEqual([JSON.stringify(body), status]);
      expect(messageIds(response)).toEqual(ids);
    }
    const wrongMethod = await facade.post(RESET_URI, { ResetType: "On" }, "PATCH");
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toBe("POST");
    expect(facade.store.tasks()).toEqual([]);
    expect(facade.cluster.executions).toEqual([]);
  });

  it("answers the member's error and runs nothing when a target cannot be read", async () => {
    facade = await startOperationsFacade(threeMembers());
    await facade.cluster.setFaults("bmc3", { errorRate: 1, pathPrefix: "/redfish/v1/Systems" });
    const response = await facade.post(RESET_URI, { TargetURIs: ALL_SYSTEMS, ResetType: "ForceRestart" });
    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect(facade.store.tasks()).toEqual([]);
    expect(facade.cluster.executions).toEqual([]);
  });
});

describe("power sequencing", () => {
  const powerSequence = {
    groups: [
      { name: "storage", members: ["bmc3"], delayAfterSeconds: 0 },
      { name: "compute", members: ["bmc1"], delayAfterSeconds: 0 },
    ],
  };

  it("powers on group by group (members in no group last) and off in reverse", async () => {
    facade = await startOperationsFacade(threeMembers(), { powerSequence });
    const off = await facade.finishedTask(
      await facade.post(RESET_URI, { TargetURIs: ALL_SYSTEMS, ResetType: "ForceOff" }),
    );
    expect(off.state).toBe("Completed");
    expect(off.stopOnFailure).toBe(true);
    expect(off.stages.map((s) => s.label)).toEqual([
      "members in no power group",
      "power group compute",
      "power group storage",
    ]);
    expect(resetOrder(facade).slice(0, 2).sort()).toEqual(["bmc2:system1", "bmc2:system2"]);
    expect(resetOrder(facade).slice(2)).toEqual(["bmc1:system", "bmc3:system"]);

    facade.cluster.executions.length = 0;
    const on = await facade.finishedTask(
      await facade.post(RESET_URI, { TargetURIs: ALL_SYSTEMS, ResetType: "On", BatchSize: 1 }),
    );
    expect(on.state).toBe("Completed");
    expect(resetOrder(facade)).toEqual(["bmc3:system", "bmc1:system", "bmc2:system1", "bmc2:system2"]);
    expect(on.stages.map((s) => s.label)).toEqual([
      "power group storage",
      "power group compute",
      "members in no power group, batch 1 of 2",
      "members in no power group, batch 2 of 2",
    ]);
  });

  it("stops at the first group that fails; the task says which group and which target", async () => {
    facade = await startOperationsFacade(threeMembers(), { powerSequence });
    // bmc1's BMC refuses every action: the compute group fails.
    await facade.cluster.setFaults("bmc1", { errorRate: 1, pathPrefix: "/redfish/v1/Systems/system/Actions" });
    const task = await facade.finishedTask(await facade.post(RESET_URI, { TargetURIs: ALL_SYSTEMS, ResetType: "On" }));
    expect(task.state).toBe("Exception");
    const states = Object.fromEntries(task.subtasks.map((s) => [s.targetUri.split("/").pop(), s.state]));
    expect(states).toEqual({
      bmc3_system: "Completed",
      bmc1_system: "Exception",
      bmc2_system1: "Cancelled",
      bmc2_system2: "Cancelled",
    });
    const said = task.messages.map((m) => m.message).join("\n");
    expect(said).toContain("power group compute");
    expect(said).toContain("/redfish/v1/Systems/bmc1_system");
    // Nothing of the later group ran.
    expect(await facade.executedIds("bmc2")).toEqual({});
  });

  it("refuses a bad sequence when the app is built", async () => {
    const cluster = await createSimulatedCluster(threeMembers());
    try {
      const auth = await createMemoryAuthStore({ accounts: [CONSOLE_USER] });
      expect(() =>
        buildApp({
          cluster,
          auth,
          powerSequence: { groups: [{ name: "storage", members: ["bmc3"], delayAfterSeconds: -5 }] },
        }),
      ).toThrow(FacadeConfigError);
    } finally {
      await cluster.close();
    }
  });
});
