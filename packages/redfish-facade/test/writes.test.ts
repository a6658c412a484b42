// Proves writes on member resources are forwarded to the owner as they are — URIs un-prefixed on
// the way in, prefixed on the way out (body, Location, task monitors, MessageArgs), If-Match
// passed through, the cache dropped — and that the facade's own resources refuse writes.
import { afterEach, describe, expect, it } from "vitest";
import type { UpstreamRequest } from "../src/index.ts";
import { CONSOLE, type Facade, messageIds, startFacade, threeMembers } from "./support/facade-fixture.ts";

let facade: Facade;
afterEach(async () => {
  await facade?.close();
});

async function send(method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  return facade.app.inject({
    method: method as "POST",
    url,
    headers: { ...CONSOLE, ...headers },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

describe("forwarded writes", () => {
  it("PATCHes a member resource with If-Match, and the next GET shows the change at once", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 60_000 } });
    const before = await facade.get("/redfish/v1/Systems/bmc2_system2");
    const stale = await send("PATCH", "/redfish/v1/Systems/bmc2_system2", { AssetTag: "x" }, { "if-match": '"stale"' });
    expect(stale.statusCode).toBe(412);
    expect(messageIds(stale)).toEqual(["PreconditionFailed"]);
    const patch = await send(
      "PATCH",
      "/redfish/v1/Systems/bmc2_system2",
      { AssetTag: "slot-4" },
      { "if-match": before.headers.etag as string },
    );
    expect(patch.statusCode).toBe(200);
    expect(patch.json()["@odata.id"]).toBe("/redfish/v1/Systems/bmc2_system2");
    const forwarded = facade.cluster.forwards.at(-1)?.request as UpstreamRequest;
    expect(forwarded).toMatchObject({ method: "PATCH", path: "/redfish/v1/Systems/system2" });
    expect(forwarded.headers["if-match"]).toBe(before.headers.etag);
    expect((await facade.json("/redfish/v1/Systems/bmc2_system2")).AssetTag).toBe("slot-4");
  });

  it("POSTs an action to its owner, which really runs it", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 0 } });
    const reset = await send("POST", "/redfish/v1/Systems/bmc3_system/Actions/ComputerSystem.Reset", {
      ResetType: "ForceOff",
    });
    expect(reset.statusCode).toBe(204);
    const deadline = Date.now() + 5_000;
    let state = "";
    while (Date.now() < deadline && state !== "Off") {
      state = String((await facade.json("/redfish/v1/Systems/bmc3_system")).PowerState);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(state).toBe("Off");
    expect(String((await facade.json("/redfish/v1/Systems/bmc1_system")).PowerState)).toBe("On");
  });

  it("un-prefixes this member's URIs in the body, and refuses a URI of another member", async () => {
    facade = await startFacade(threeMembers());
    await facade.json("/redfish/v1");
    const links = { Links: { Chassis: [{ "@odata.id": "/redfish/v1/Chassis/bmc1_chassis" }] } };
    await send("PATCH", "/redfish/v1/Systems/bmc1_system", links);
    expect(JSON.parse(facade.cluster.forwards.at(-1)?.request.body ?? "{}")).toEqual({
      Links: { Chassis: [{ "@odata.id": "/redfish/v1/Chassis/chassis" }] },
    });
    const count = facade.cluster.forwards.length;
    const foreign = await send("PATCH", "/redfish/v1/Systems/bmc2_system1", links);
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().error["@Message.ExtendedInfo"][0]).toMatchObject({
      MessageId: "Base.1.22.PropertyValueIncorrect",
      MessageArgs: ["/Links/Chassis/0/@odata.id", "/redfish/v1/Chassis/bmc1_chassis"],
    });
    expect(facade.cluster.forwards.length).toBe(count);
  });

  it("prefixes Location, the task monitor, Payload headers and MessageArgs of a member's 202", async () => {
    facade = await startFacade(threeMembers());
    const forward = facade.cluster.forward.bind(facade.cluster);
    // A member answering as a BMC that started a task (the simulator only does it for updates).
    (facade.cluster as { forward: typeof forward }).forward = async (memberId, request) => {
      if (!request.path.endsWith("/Actions/Chassis.Reset")) return forward(memberId, request);
      return {
        statusCode: 202,
        headers: { location: "/redfish/v1/TaskService/TaskMonitors/7", "content-type": "application/json" },
        text: JSON.stringify({
          "@odata.type": "#Task.v1_8_0.Task",
          "@odata.id": "/redfish/v1/TaskService/Tasks/7",
          Id: "7",
          Name: "Task 7",
          TaskMonitor: "/redfish/v1/TaskService/TaskMonitors/7",
          Payload: {
            HttpHeaders: ["Location: /redfish/v1/TaskService/TaskMonitors/7"],
            TargetUri: "/redfish/v1/Chassis/chassis/Actions/Chassis.Reset",
          },
          Messages: [{ MessageId: "Base.1.22.Success", MessageArgs: ["/redfish/v1/Chassis/chassis"] }],
        }),
      };
    };
    const response = await send("POST", "/redfish/v1/Chassis/bmc2_chassis/Actions/Chassis.Reset", { ResetType: "On" });
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toBe("/redfish/v1/TaskService/TaskMonitors/bmc2_7");
    expect(response.json()).toMatchObject({
      "@odata.id": "/redfish/v1/TaskService/Tasks/bmc2_7",
      Id: "bmc2_7",
      TaskMonitor: "/redfish/v1/TaskService/TaskMonitors/bmc2_7",
      Payload: {
        HttpHeaders: ["Location: /redfish/v1/TaskService/TaskMonitors/bmc2_7"],
        TargetUri: "/redfish/v1/Chassis/bmc2_chassis/Actions/Chassis.Reset",
      },
      Messages: [{ MessageArgs: ["/redfish/v1/Chassis/bmc2_chassis"] }],
    });
  });

  it("refuses writes on the facade's own resources with 405 and Allow", async () => {
    facade = await startFacade(threeMembers());
    for (const uri of [
      "/redfish/v1/Systems",
      "/redfish/v1/Managers/conclave",
      "/redfish/v1/AggregationService",
      "/redfish/v1",
    ]) {
      const response = await send("PATCH", uri, { Name: "x" });
      expect(response.statusCode, uri).toBe(405);
      expect(response.headers.allow).toBe("GET, HEAD");
      expect(messageIds(response)).toEqual(["OperationNotAllowed"]);
    }
    expect((await send("POST", "/redfish/v1/Nothing", {})).statusCode).toBe(404);
    expect((await send("OPTIONS", "/redfish/v1/Systems")).statusCode).toBe(405);
  });
});
