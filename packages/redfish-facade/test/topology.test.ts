// Proves the topology makes one tree across BMCs: facade enclosures, ContainedBy/Contains and
// ManagedBy on both ends, system dependencies, and plain refusals of a bad topology.
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, type FacadeTopology, TopologyError } from "../src/index.ts";
import { type Facade, startFacade, threeMembers } from "./support/facade-fixture.ts";
import { createSimulatedCluster } from "./support/simulated-cluster.ts";

let facade: Facade;
afterEach(async () => {
  await facade?.close();
});

const TOPOLOGY: FacadeTopology = {
  enclosures: [
    { id: "row1", name: "Row 1", chassisType: "Row" },
    { id: "rack", name: "Rack 7", chassisType: "Rack", containedBy: "row1" },
  ],
  chassis: [
    { chassis: { member: "bmc1", id: "chassis" }, containedBy: { enclosure: "rack" } },
    {
      chassis: { member: "bmc3", id: "chassis" },
      containedBy: { chassis: { member: "bmc1", id: "chassis" } },
      managedBy: [{ member: "bmc1", id: "bmc" }],
    },
  ],
  systems: [
    {
      system: { member: "bmc2", id: "system1" },
      managedBy: [{ member: "bmc1", id: "bmc" }],
      supplies: [{ member: "bmc3", id: "system" }],
    },
  ],
};

describe("topology", () => {
  it("serves the enclosures itself and links them both ways", async () => {
    facade = await startFacade(threeMembers(), { topology: TOPOLOGY });
    const chassis = await facade.json("/redfish/v1/Chassis");
    const members = (chassis.Members as { "@odata.id": string }[]).map((m) => m["@odata.id"]);
    expect(members.slice(0, 2)).toEqual(["/redfish/v1/Chassis/row1", "/redfish/v1/Chassis/rack"]);
    const rack = await facade.json("/redfish/v1/Chassis/rack");
    expect(rack).toMatchObject({
      ChassisType: "Rack",
      Links: {
        ContainedBy: { "@odata.id": "/redfish/v1/Chassis/row1" },
        Contains: [{ "@odata.id": "/redfish/v1/Chassis/bmc1_chassis" }],
        ManagedBy: [{ "@odata.id": "/redfish/v1/Managers/conclave" }],
      },
    });
    expect((await facade.json("/redfish/v1/Chassis/row1")).Links).toMatchObject({
      Contains: [{ "@odata.id": "/redfish/v1/Chassis/rack" }],
    });
    const manager = await facade.json("/redfish/v1/Managers/conclave");
    expect((manager.Links as Record<string, unknown>).ManagerForChassis).toEqual([
      { "@odata.id": "/redfish/v1/Chassis/row1" },
      { "@odata.id": "/redfish/v1/Chassis/rack" },
    ]);
  });

  it("adds ContainedBy, Contains and ManagedBy across members, on both ends", async () => {
    facade = await startFacade(threeMembers(), { topology: TOPOLOGY });
    const outer = await facade.json("/redfish/v1/Chassis/bmc1_chassis");
    expect(outer.Links).toMatchObject({
      ContainedBy: { "@odata.id": "/redfish/v1/Chassis/rack" },
      Contains: [{ "@odata.id": "/redfish/v1/Chassis/bmc3_chassis" }],
      "Contains@odata.count": 1,
    });
    const inner = await facade.json("/redfish/v1/Chassis/bmc3_chassis");
    const innerLinks = inner.Links as Record<string, unknown>;
    expect(innerLinks.ContainedBy).toEqual({ "@odata.id": "/redfish/v1/Chassis/bmc1_chassis" });
    // Its own BMC still manages it; the topology adds bmc1's manager.
    expect(innerLinks.ManagedBy).toEqual([
      { "@odata.id": "/redfish/v1/Managers/bmc3_bmc" },
      { "@odata.id": "/redfish/v1/Managers/bmc1_bmc" },
    ]);
    const bmc1 = await facade.json("/redfish/v1/Managers/bmc1_bmc");
    const managerLinks = bmc1.Links as Record<string, { "@odata.id": string }[]>;
    expect(managerLinks.ManagerForChassis).toContainEqual({ "@odata.id": "/redfish/v1/Chassis/bmc3_chassis" });
    expect(managerLinks.ManagerForServers).toContainEqual({ "@odata.id": "/redfish/v1/Systems/bmc2_system1" });
  });

  it("links a supplying system and the system it supplies", async () => {
    facade = await startFacade(threeMembers(), { topology: TOPOLOGY });
    const supplier = await facade.json("/redfish/v1/Systems/bmc2_system1");
    expect((supplier.Links as Record<string, unknown>).ConsumingComputerSystems).toEqual([
      { "@odata.id": "/redfish/v1/Systems/bmc3_system" },
    ]);
    const consumer = await facade.json("/redfish/v1/Systems/bmc3_system");
    expect((consumer.Links as Record<string, unknown>).SupplyingComputerSystems).toEqual([
      { "@odata.id": "/redfish/v1/Systems/bmc2_system1" },
    ]);
  });

  const bad: [string, FacadeTopology, RegExp][] = [
    ["a bad enclosure id", { enclosures: [{ id: "a_b", name: "x", chassisType: "Rack" }] }, /id must match/],
    ["the cluster manager's id", { enclosures: [{ id: "conclave", name: "x", chassisType: "Rack" }] }, /used twice/],
    ["an unknown chassis type", { enclosures: [{ id: "r", name: "x", chassisType: "Box" as "Rack" }] }, /chassisType/],
    [
      "enclosures in a loop",
      {
        enclosures: [
          { id: "a", name: "a", chassisType: "Rack", containedBy: "b" },
          { id: "b", name: "b", chassisType: "Rack", containedBy: "a" },
        ],
      },
      /contained in itself/,
    ],
    [
      "an unknown enclosure",
      { chassis: [{ chassis: { member: "bmc1", id: "c" }, containedBy: { enclosure: "nope" } }] },
      /names no enclosure/,
    ],
    [
      "a bad member name",
      { chassis: [{ chassis: { member: "bmc_1", id: "c" }, containedBy: { chassis: { member: "bmc2", id: "c" } } }] },
      /member must be a member name/,
    ],
    [
      "chassis in a loop",
      {
        chassis: [
          { chassis: { member: "a", id: "c" }, containedBy: { chassis: { member: "b", id: "c" } } },
          { chassis: { member: "b", id: "c" }, containedBy: { chassis: { member: "a", id: "c" } } },
        ],
      },
      /contained in itself/,
    ],
    [
      "a system supplying itself",
      { systems: [{ system: { member: "a", id: "s" }, supplies: [{ member: "a", id: "s" }] }] },
      /cannot supply itself/,
    ],
    ["an id with a slash", { systems: [{ system: { member: "a", id: "s/../x" }, managedBy: [] }] }, /without '\/'/],
  ];
  for (const [what, topology, message] of bad) {
    it(`refuses ${what} with a plain message`, async () => {
      const cluster = await createSimulatedCluster([]);
      expect(() => buildApp({ cluster, auth: {} as never, topology })).toThrow(TopologyError);
      expect(() => buildApp({ cluster, auth: {} as never, topology })).toThrow(message);
    });
  }
});
