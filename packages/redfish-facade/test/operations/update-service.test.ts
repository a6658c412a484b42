// Proves the facade's UpdateService: SimpleUpdate routed to the targets' owners (un-prefixed), no
// Targets meaning every member in batches with the PoC's own member last after a leadership
// transfer, bad input refused before any task, and the resource valid against the DMTF schema.
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { OperationExecution } from "../../src/operations/operation-types.ts";
import { hasShared, messageIds, sharedRedfish, threeMembers } from "../support/facade-fixture.ts";
import { loadRedfishValidator } from "../support/redfish-schemas.ts";
import { type OperationsFacade, startOperationsFacade } from "./aggregate-test-support.ts";
import { firmwareVersion, recordPocAtEachExecution, resumeAsNewPoc } from "./update-test-support.ts";

const SIMPLE_UPDATE = "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate";

let facade: OperationsFacade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

describe("UpdateService.SimpleUpdate", () => {
  it("updates every member without Targets, in batches, the PoC's own member last after handing over", async () => {
    facade = await startOperationsFacade(threeMembers());
    const pocAt = recordPocAtEachExecution(facade);
    const response = await facade.post(SIMPLE_UPDATE, {
      ImageURI: "http://images.example/bmc-2.5.0.bin",
      TransferProtocol: "HTTP",
      ForceUpdate: true,
    });
    expect(response.statusCode, response.body).toBe(202);
    const taskId = (response.headers.location as string).split("/").pop() as string;
    const planned = facade.store.task(taskId);
    expect(planned?.stages.map((s) => [s.label, s.handOverFrom])).toEqual([
      ["batch 1 of 1", null],
      ["the point of contact's own BMC (bmc1)", "peer-bmc1"],
    ]);
    await resumeAsNewPoc(facade);
    const task = await facade.finishedTask(response, 20_000);
    expect(task.state, JSON.stringify(task.messages)).toBe("Completed");
    expect(facade.cluster.transfers).toEqual([undefined]);
    // bmc1's update ran last, once bmc1 no longer led.
    expect(pocAt.map((e) => e.member)).toEqual(expect.arrayContaining(["bmc2", "bmc3"]));
    expect(pocAt.at(-1)).toEqual({ member: "bmc1", poc: "bmc2" });
    for (const name of ["bmc1", "bmc2", "bmc3"]) expect(await firmwareVersion(facade, name)).toBe("2.5.0");
    const sent = facade.cluster.executions.map(
      (e) => (e.execution.action as { request: { body: string } }).request.body,
    );
    expect(new Set(sent)).toEqual(
      new Set(['{"ImageURI":"http://images.example/bmc-2.5.0.bin","TransferProtocol":"HTTP","ForceUpdate":true}']),
    );
  });

  it("routes Targets to their owner only, un-prefixed, without a hand-over", async () => {
    facade = await startOperationsFacade(threeMembers());
    const response = await facade.post(SIMPLE_UPDATE, {
      ImageURI: "http://images.example/bmc-3.0.0.bin",
      Targets: ["/redfish/v1/UpdateService/FirmwareInventory/bmc2_bmc"],
    });
    const task = await facade.finishedTask(response);
    expect(task.state).toBe("Completed");
    expect(task.subtasks.map((s) => [s.memberId, s.targetUri])).toEqual([
      ["peer-bmc2", "/redfish/v1/UpdateService/FirmwareInventory/bmc2_bmc"],
    ]);
    const execution = facade.cluster.executions[0]?.execution as OperationExecution;
    expect(JSON.parse((execution.action as { request: { body: string } }).request.body)).toEqual({
      ImageURI: "http://images.example/bmc-3.0.0.bin",
      Targets: ["/redfish/v1/UpdateService/FirmwareInventory/bmc"],
    });
    expect(facade.cluster.transfers).toEqual([]);
    expect(await firmwareVersion(facade, "bmc2")).toBe("3.0.0");
    expect(await firmwareVersion(facade, "bmc1")).not.toBe("3.0.0");
  });

  it("refuses bad input before any task", async () => {
    facade = await startOperationsFacade(threeMembers());
    const cases: [unknown, string[]][] = [
      [{}, ["ActionParameterMissing"]],
      [{ ImageURI: 7 }, ["ActionParameterValueTypeError"]],
      [{ ImageURI: "http://x/y.bin", TransferProtocol: "Pigeon" }, ["ActionParameterValueNotInList"]],
      [{ ImageURI: "images.example/y.bin" }, ["ActionParameterMissing"]],
      [{ ImageURI: "http://x/y.bin", Colour: "red" }, ["ActionParameterUnknown"]],
      [{ ImageURI: "http://x/y.bin", Targets: "bmc2" }, ["ActionParameterValueTypeError"]],
      [
        {
          ImageURI: "http://x/y.bin",
          Targets: ["/redfish/v1/UpdateService/FirmwareInventory/bmc9_bmc", "/redfish/v1/Managers/bmc1_nothing"],
        },
        ["ActionParameterValueNotInList", "ActionParameterValueNotInList"],
      ],
    ];
    for (const [body, ids] of cases) {
      const response = await facade.post(SIMPLE_UPDATE, body);
      expect([JSON.stringify(body), response.statusCode]).toEqual([JSON.stringify(body), 400]);
      expect(messageIds(response)).toEqual(ids);
    }
    expect(facade.store.tasks()).toEqual([]);
    expect(facade.cluster.executions).toEqual([]);
  });
});

describe.skipIf(!hasShared)("UpdateService against ../shared/redfish/json-schema", () => {
  it("serves a valid UpdateService advertising SimpleUpdate and the multipart push", async () => {
    const validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
    facade = await startOperationsFacade(threeMembers());
    const body = await facade.json("/redfish/v1/UpdateService");
    expect(body).toMatchObject({
      MultipartHttpPushUri: "/redfish/v1/UpdateService/update-multipart",
      // The simulators' own bound (64 MiB), smaller than the facade's.
      MaxImageSizeBytes: 64 * 1024 * 1024,
      FirmwareInventory: { "@odata.id": "/redfish/v1/UpdateService/FirmwareInventory" },
      Actions: { "#UpdateService.SimpleUpdate": { target: SIMPLE_UPDATE } },
    });
    expect(validator.validate(body)).toEqual([]);
    const manager = await facade.json("/redfish/v1/Managers/conclave");
    expect(manager.Actions).toEqual({
      "#Manager.ForceFailover": { target: "/redfish/v1/Managers/conclave/Actions/Manager.ForceFailover" },
    });
    expect(validator.validate(manager)).toEqual([]);
  });
});
