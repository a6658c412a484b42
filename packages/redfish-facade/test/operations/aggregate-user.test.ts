// Proves user aggregates are created, changed and deleted through the operation store, served
// next to the default aggregate, reset as a task over their elements, refuse bad input without
// changing anything, and that the aggregation resources validate against the DMTF schemas.
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hasShared, messageIds, sharedRedfish, threeMembers } from "../support/facade-fixture.ts";
import { loadRedfishValidator } from "../support/redfish-schemas.ts";
import { ALL_SYSTEMS, type OperationsFacade, startOperationsFacade } from "./aggregate-test-support.ts";

const AGGREGATES = "/redfish/v1/AggregationService/Aggregates";

let facade: OperationsFacade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

const link = (uri: string) => ({ "@odata.id": uri });

async function created(f: OperationsFacade, body: unknown): Promise<string> {
  const response = await f.post(AGGREGATES, body);
  expect(response.statusCode, response.body).toBe(201);
  return response.headers.location as string;
}

describe("user aggregates", () => {
  it("creates, lists, changes, resets and deletes an aggregate kept in the store", async () => {
    facade = await startOperationsFacade(threeMembers());
    const uri = await created(facade, {
      Name: "Front row",
      Elements: [link(ALL_SYSTEMS[0] as string), ALL_SYSTEMS[3]],
    });
    const id = uri.split("/").pop() as string;
    expect(facade.store.aggregate(id)).toEqual({ id, name: "Front row", elements: [ALL_SYSTEMS[0], ALL_SYSTEMS[3]] });

    const collection = await facade.json(AGGREGATES);
    expect(collection.Members).toEqual([link(`${AGGREGATES}/all-members`), link(uri)]);
    const aggregate = await facade.json(uri);
    expect(aggregate).toMatchObject({ Id: id, Name: "Front row", ElementsCount: 2 });
    expect(Object.keys(aggregate.Actions as object)).toEqual([
      "#Aggregate.Reset",
      "#Aggregate.AddElements",
      "#Aggregate.RemoveElements",
    ]);

    expect(
      (await facade.post(`${uri}/Actions/Aggregate.AddElements`, { Elements: [link(ALL_SYSTEMS[1] as string)] }))
        .statusCode,
    ).toBe(204);
    expect(
      (await facade.post(`${uri}/Actions/Aggregate.RemoveElements`, { Elements: [link(ALL_SYSTEMS[0] as string)] }))
        .statusCode,
    ).toBe(204);
    expect(facade.store.aggregate(id)?.elements).toEqual([ALL_SYSTEMS[3], ALL_SYSTEMS[1]]);

    const task = await facade.finishedTask(
      await facade.post(`${uri}/Actions/Aggregate.Reset`, { ResetType: "ForceRestart" }),
    );
    expect(task.state).toBe("Completed");
    expect(task.subtasks.map((s) => s.targetUri)).toEqual([ALL_SYSTEMS[3], ALL_SYSTEMS[1]]);
    expect(task.payload.targetUri).toBe(`${uri}/Actions/Aggregate.Reset`);
    expect(Object.values(await facade.executedIds("bmc1"))).toEqual([]);

    expect((await facade.post(uri, undefined, "DELETE")).statusCode).toBe(204);
    expect(facade.store.aggregate(id)).toBeUndefined();
    expect((await facade.get(uri)).statusCode).toBe(404);
  });

  it("resets the default aggregate: every member's systems", async () => {
    facade = await startOperationsFacade(threeMembers());
    const task = await facade.finishedTask(
      await facade.post(`${AGGREGATES}/all-members/Actions/Aggregate.Reset`, {
        ResetType: "ForceRestart",
        BatchSize: 3,
      }),
    );
    expect(task.state).toBe("Completed");
    expect(task.subtasks.map((s) => s.targetUri)).toEqual(ALL_SYSTEMS);
    expect(task.stages.map((s) => s.subtaskIds.length)).toEqual([3, 1]);
    const added = await facade.post(`${AGGREGATES}/all-members/Actions/Aggregate.AddElements`, { Elements: [] });
    expect(added.statusCode).toBe(400);
    expect(messageIds(added)).toEqual(["ActionNotSupported"]);
  });

  it("refuses bad input and changes nothing", async () => {
    facade = await startOperationsFacade(threeMembers());
    const uri = await created(facade, { Elements: [ALL_SYSTEMS[0]] });
    const cases: [string, unknown, number, string[]][] = [
      [AGGREGATES, { Name: "x" }, 400, ["CreateFailedMissingReqProperties"]],
      [AGGREGATES, { Elements: ["/redfish/v1/Systems/bmc9_system"] }, 400, ["ActionParameterValueNotInList"]],
      [AGGREGATES, { Elements: "all" }, 400, ["PropertyValueTypeError"]],
      [AGGREGATES, { Elements: [], Colour: "red" }, 400, ["PropertyUnknown"]],
      [`${uri}/Actions/Aggregate.AddElements`, {}, 400, ["ActionParameterMissing"]],
      [
        `${uri}/Actions/Aggregate.AddElements`,
        { Elements: [ALL_SYSTEMS[1], "/redfish/v1/Chassis/bmc1_nope"] },
        400,
        ["ActionParameterValueNotInList"],
      ],
      [
        `${uri}/Actions/Aggregate.RemoveElements`,
        { Elements: [ALL_SYSTEMS[2]] },
        400,
        ["ActionParameterValueNotInList"],
      ],
      [`${uri}/Actions/Aggregate.Reset`, { ResetType: "Sideways" }, 400, ["ActionParameterValueNotInList"]],
      [`${AGGREGATES}/nothing/Actions/Aggregate.Reset`, { ResetType: "On" }, 404, ["ResourceMissingAtURI"]],
    ];
    for (const [url, body, status, ids] of cases) {
      const response = await facade.post(url, body);
      expect([url, JSON.stringify(body), response.statusCode]).toEqual([url, JSON.stringify(body), status]);
      expect(messageIds(response)).toEqual(ids);
    }
    expect(facade.store.aggregates().map((a) => a.elements)).toEqual([[ALL_SYSTEMS[0]]]);
    expect(facade.store.tasks()).toEqual([]);
    const empty = await created(facade, { Elements: [] });
    expect(messageIds(await facade.post(`${empty}/Actions/Aggregate.Reset`, { ResetType: "On" }))).toEqual([
      "NoOperation",
    ]);
  });
});

describe.skipIf(!hasShared)("aggregation resources against ../shared/redfish/json-schema", () => {
  it("serves valid AggregationService, Aggregates, aggregates and Tasks", async () => {
    const validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
    facade = await startOperationsFacade(threeMembers());
    const uri = await created(facade, { Name: "Row", Elements: [ALL_SYSTEMS[0]] });
    const started = await facade.post("/redfish/v1/AggregationService/Actions/AggregationService.Reset", {
      TargetURIs: [ALL_SYSTEMS[0]],
      ResetType: "ForceRestart",
    });
    const task = await facade.finishedTask(started);
    const bodies = [
      await facade.json("/redfish/v1/AggregationService"),
      await facade.json(AGGREGATES),
      await facade.json(`${AGGREGATES}/all-members`),
      await facade.json(uri),
      started.json() as Record<string, unknown>,
      await facade.json(`/redfish/v1/TaskService/Tasks/${task.id}`),
    ];
    for (const body of bodies) expect([body["@odata.id"], validator.validate(body)]).toEqual([body["@odata.id"], []]);
  });
});
