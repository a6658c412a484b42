// Proves the facade's read side over 3 generated simulators: the ServiceRoot, merged collections,
// the prefix scheme in every URI (and back on the way in), the cluster Manager and AggregationService.
import { afterEach, describe, expect, it } from "vitest";
import { FACADE_MARKER_HEADER, PROTOCOL_FEATURES_SUPPORTED } from "../src/index.ts";
import { type Facade, messageIds, startFacade, threeMembers } from "./support/facade-fixture.ts";
import { TEST_CLUSTER_UUID } from "./support/simulated-cluster.ts";

let facade: Facade;
afterEach(async () => {
  await facade?.close();
});

function ids(collection: Record<string, unknown>): string[] {
  return (collection.Members as { "@odata.id": string }[]).map((m) => m["@odata.id"]);
}

describe("ServiceRoot", () => {
  it("carries the cluster UUID, says what it supports and links only what it serves", async () => {
    facade = await startFacade(threeMembers());
    const root = await facade.json("/redfish/v1/");
    expect(root.UUID).toBe(TEST_CLUSTER_UUID);
    expect(root.ProtocolFeaturesSupported).toEqual(PROTOCOL_FEATURES_SUPPORTED);
    for (const [name, value] of Object.entries(root)) {
      const uri = (value as { "@odata.id"?: string })?.["@odata.id"];
      if (name === "Links" || uri === undefined) continue;
      expect((await facade.get(uri)).statusCode, `${name} -> ${uri}`).toBe(200);
    }
    expect(root).toMatchObject({
      Systems: { "@odata.id": "/redfish/v1/Systems" },
      AggregationService: { "@odata.id": "/redfish/v1/AggregationService" },
      UpdateService: { "@odata.id": "/redfish/v1/UpdateService" },
      Tasks: { "@odata.id": "/redfish/v1/TaskService" },
      // The facade's own EventService (every member's events merged, subscriptions in the cluster state).
      EventService: { "@odata.id": "/redfish/v1/EventService" },
    });
    expect((await facade.get("/redfish")).json()).toEqual({ v1: "/redfish/v1/" });
  });

  it("answers 503 with Retry-After until the cluster has a UUID", async () => {
    facade = await startFacade(threeMembers());
    facade.cluster.setUuid(null);
    const response = await facade.get("/redfish/v1");
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(messageIds(response)).toEqual(["ServiceTemporarilyUnavailable"]);
  });

  it("serves $metadata and the OData service document", async () => {
    facade = await startFacade(threeMembers());
    await facade.json("/redfish/v1/Systems/bmc1_system");
    const metadata = await facade.get("/redfish/v1/$metadata");
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers["content-type"]).toContain("application/xml");
    expect(metadata.body).toContain('<edmx:Include Namespace="ComputerSystem.v1_27_0"/>');
    expect(metadata.body).toContain('<edmx:Include Namespace="AggregationService.v1_0_3"/>');
    const again = await facade.get("/redfish/v1/$metadata", { "if-none-match": String(metadata.headers.etag) });
    expect(again.statusCode).toBe(304);
    const versions = await facade.get("/redfish");
    expect(versions.headers.etag).toMatch(/^"/);
    const odata = await facade.json("/redfish/v1/odata");
    expect(odata.value).toContainEqual({ name: "Systems", kind: "Singleton", url: "/redfish/v1/Systems" });
  });
});

describe("merged collections and the prefix scheme", () => {
  it("merges Systems, Chassis, Managers and service collections of every member, prefixed", async () => {
    facade = await startFacade(threeMembers());
    expect(ids(await facade.json("/redfish/v1/Systems"))).toEqual([
      "/redfish/v1/Systems/bmc1_system",
      "/redfish/v1/Systems/bmc2_system1",
      "/redfish/v1/Systems/bmc2_system2",
      "/redfish/v1/Systems/bmc3_system",
    ]);
    const managers = await facade.json("/redfish/v1/Managers");
    expect(ids(managers)[0]).toBe("/redfish/v1/Managers/conclave");
    expect(managers["Members@odata.count"]).toBe(4);
    expect(ids(await facade.json("/redfish/v1/UpdateService/FirmwareInventory"))).toContain(
      "/redfish/v1/UpdateService/FirmwareInventory/bmc3_bios",
    );
    expect(await facade.json("/redfish/v1/UpdateService")).toMatchObject({
      FirmwareInventory: { "@odata.id": "/redfish/v1/UpdateService/FirmwareInventory" },
    });
  });

  it("prefixes Id, @odata.id, links, action targets and ActionInfo, and routes back without the prefix", async () => {
    facade = await startFacade(threeMembers());
    const system = await facade.json("/redfish/v1/Systems/bmc2_system2");
    expect(system.Id).toBe("bmc2_system2");
    expect(system["@odata.id"]).toBe("/redfish/v1/Systems/bmc2_system2");
    expect(system.Processors).toEqual({ "@odata.id": "/redfish/v1/Systems/bmc2_system2/Processors" });
    expect(system.Links).toMatchObject({
      Chassis: [{ "@odata.id": "/redfish/v1/Chassis/bmc2_chassis" }],
      ManagedBy: [{ "@odata.id": "/redfish/v1/Managers/bmc2_bmc" }],
    });
    const reset = (system.Actions as Record<string, Record<string, string>>)["#ComputerSystem.Reset"];
    expect(reset?.target).toBe("/redfish/v1/Systems/bmc2_system2/Actions/ComputerSystem.Reset");
    const cpu = await facade.json("/redfish/v1/Systems/bmc2_system2/Processors/CPU1");
    // Only the segment after the top-level collection is prefixed; deeper Ids stay the member's.
    expect(cpu.Id).toBe("CPU1");
    expect(cpu["@odata.id"]).toBe("/redfish/v1/Systems/bmc2_system2/Processors/CPU1");
    const paths = facade.cluster.forwards.filter((f) => f.memberName === "bmc2").map((f) => f.request.path);
    expect(paths).toContain("/redfish/v1/Systems/system2/Processors/CPU1");
    expect(paths.every((p) => !p.includes("bmc2_"))).toBe(true);
    const inventory = await facade.json("/redfish/v1/UpdateService/FirmwareInventory/bmc1_bmc");
    expect(inventory.Id).toBe("bmc1_bmc");
    expect(inventory.RelatedItem).toEqual([{ "@odata.id": "/redfish/v1/Managers/bmc1_bmc" }]);
  });

  it("marks every forwarded request as coming from a Conclave facade and never sends credentials", async () => {
    facade = await startFacade(threeMembers());
    await facade.json("/redfish/v1/Chassis");
    expect(facade.cluster.forwards.length).toBeGreaterThan(3);
    for (const { request } of facade.cluster.forwards) {
      expect(request.headers[FACADE_MARKER_HEADER]).toBe("1");
      expect(request.headers.authorization).toBeUndefined();
    }
  });

  it("answers 404 for unknown members, unknown ids, unprefixed member ids and unknown paths", async () => {
    facade = await startFacade(threeMembers());
    for (const uri of [
      "/redfish/v1/Systems/bmc9_system",
      "/redfish/v1/Systems/bmc1_nothing",
      "/redfish/v1/Systems/system",
      "/redfish/v1/Systems/_system",
      "/redfish/v1/Systems/bmc1_",
      "/redfish/v1/Nothing",
      "/redfish/v1/UpdateService/Nothing",
      "/redfish/v1/Managers/conclave/Nothing",
      "/redfish/v1/AggregationService/AggregationSources/bmc9",
    ]) {
      const response = await facade.get(uri);
      expect(response.statusCode, uri).toBe(404);
      expect(messageIds(response), uri).toEqual(["ResourceMissingAtURI"]);
    }
  });
});

describe("cluster Manager and AggregationService", () => {
  it("describes the cluster as a Service manager with the PoC active in its redundancy set", async () => {
    facade = await startFacade(threeMembers());
    let manager = await facade.json("/redfish/v1/Managers/conclave");
    expect(manager).toMatchObject({ ManagerType: "Service", ServiceEntryPointUUID: TEST_CLUSTER_UUID });
    const redundancy = (manager.Redundancy as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(redundancy.Mode).toBe("Failover");
    expect(redundancy.RedundancySet).toHaveLength(3);
    expect(redundancy.ActiveRedundancySet).toEqual([{ "@odata.id": "/redfish/v1/Managers/bmc1_bmc" }]);
    facade.cluster.setPoc("bmc3");
    manager = await facade.json("/redfish/v1/Managers/conclave");
    const after = (manager.Redundancy as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(after.ActiveRedundancySet).toEqual([{ "@odata.id": "/redfish/v1/Managers/bmc3_bmc" }]);
    expect((after.Oem as { Conclave: { PointOfContact: string } }).Conclave.PointOfContact).toBe("bmc3");
  });

  it("lists one AggregationSource per member with a BMC, its health and the resources it gives", async () => {
    facade = await startFacade([...threeMembers(), { name: "witness", hasBmc: false, role: "witness" }]);
    const service = await facade.json("/redfish/v1/AggregationService");
    expect(service.ServiceEnabled).toBe(true);
    const sources = await facade.json("/redfish/v1/AggregationService/AggregationSources");
    expect(ids(sources)).toEqual([
      "/redfish/v1/AggregationService/AggregationSources/bmc1",
      "/redfish/v1/AggregationService/AggregationSources/bmc2",
      "/redfish/v1/AggregationService/AggregationSources/bmc3",
    ]);
    facade.cluster.setMember("bmc2", { health: "Warning" });
    const source = await facade.json("/redfish/v1/AggregationService/AggregationSources/bmc2");
    expect(source).toMatchObject({ HostName: "bmc2.bmc.example", Password: null, Status: { Health: "Warning" } });
    expect((source.Links as { ResourcesAccessed: unknown[] }).ResourcesAccessed).toContainEqual({
      "@odata.id": "/redfish/v1/Systems/bmc2_system2",
    });
    const method = await facade.json("/redfish/v1/AggregationService/ConnectionMethods/conclave-agent");
    expect(method.ConnectionMethodType).toBe("Redfish");
    const aggregate = await facade.json("/redfish/v1/AggregationService/Aggregates/all-members");
    expect(aggregate.ElementsCount).toBe(4);
  });
});
