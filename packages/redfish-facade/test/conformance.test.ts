// Proves every resource the facade serves — over generated simulators and over DMTF mockups —
// validates against the DMTF schema for its @odata.type, and every link from /redfish/v1 resolves.
import { resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  crawl,
  type Facade,
  hasShared,
  SHARED_MISSING,
  sharedRedfish,
  startFacade,
  threeMembers,
} from "./support/facade-fixture.ts";
import { loadRedfishValidator, type RedfishValidator } from "./support/redfish-schemas.ts";
import type { SimulatedMemberSpec } from "./support/simulated-cluster.ts";

let facade: Facade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

async function problems(validator: RedfishValidator): Promise<{ count: number; problems: string[] }> {
  const { resources, unresolved } = await crawl((facade as Facade).app);
  const found = [...unresolved];
  for (const [uri, body] of resources) {
    const errors = validator.validate(body);
    if (errors.length > 0) found.push(`${uri}: ${errors.slice(0, 3).join("; ")}`);
  }
  return { count: resources.size, problems: found };
}

describe.skipIf(!hasShared)("conformance against ../shared/redfish/json-schema", () => {
  let validator: RedfishValidator;
  beforeAll(() => {
    validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
  });

  it("serves a valid tree over 3 generated simulators, with a topology, and every link resolves", async () => {
    facade = await startFacade(threeMembers(), {
      topology: {
        enclosures: [{ id: "rack", name: "Rack 7", chassisType: "Rack" }],
        chassis: [
          { chassis: { member: "bmc1", id: "chassis" }, containedBy: { enclosure: "rack" } },
          { chassis: { member: "bmc2", id: "chassis" }, containedBy: { enclosure: "rack" } },
          { chassis: { member: "bmc3", id: "chassis" }, containedBy: { chassis: { member: "bmc2", id: "chassis" } } },
        ],
        systems: [{ system: { member: "bmc3", id: "system" }, supplies: [{ member: "bmc1", id: "system" }] }],
      },
    });
    const { count, problems: found } = await problems(validator);
    expect(found).toEqual([]);
    expect(count).toBeGreaterThan(100);
  });

  it("validates merged answers with query options, partial answers and error bodies", async () => {
    facade = await startFacade(threeMembers(), {
      topology: { enclosures: [{ id: "rack", name: "Rack", chassisType: "Rack" }] },
    });
    const served: Record<string, unknown>[] = [];
    for (const uri of [
      "/redfish/v1/Systems?$expand=.",
      "/redfish/v1/Chassis?$expand=*",
      "/redfish/v1/Managers?$expand=~",
      // $select keeps only what it names (and the OData annotations): name the required ones.
      "/redfish/v1/Systems/bmc1_system?$select=Id,Name,PowerState,Status",
      "/redfish/v1/UpdateService/FirmwareInventory?$expand=.",
    ]) {
      served.push(await facade.json(uri));
    }
    facade.cluster.setMember("bmc2", { bmcReachable: false, health: "Critical" });
    const partial = await facade.json("/redfish/v1/Systems");
    expect(partial["@Message.ExtendedInfo"]).toHaveLength(1);
    served.push(partial, await facade.json("/redfish/v1/AggregationService/AggregationSources/bmc2"));
    served.push(...((partial["@Message.ExtendedInfo"] as Record<string, unknown>[]) ?? []));
    for (const uri of ["/redfish/v1/Systems/bmc2_system1", "/redfish/v1/Nothing", "/redfish/v1/Systems?$top=1"]) {
      const error = (await facade.get(uri)).json() as { error: { "@Message.ExtendedInfo": Record<string, unknown>[] } };
      served.push(...error.error["@Message.ExtendedInfo"]);
    }
    const found = served.flatMap((body) =>
      validator.validate(body).map((e) => `${String(body["@odata.id"] ?? body.MessageId)}: ${e}`),
    );
    expect(found).toEqual([]);
  });

  it("prefixes @Redfish.ActionInfo and action targets of a mockup, and both resolve", async () => {
    facade = await startFacade([
      { name: "m1", simulator: { mockupDir: resolve(sharedRedfish, "mockups", "public-rackmount1") } },
    ]);
    const uri = "/redfish/v1/Managers/m1_BMC/NetworkProtocol/HTTPS/Certificates/1";
    const certificate = await facade.json(uri);
    const rekey = (certificate.Actions as Record<string, Record<string, string>>)["#Certificate.Rekey"];
    expect(rekey).toMatchObject({
      target: `${uri}/Actions/Certificate.Rekey`,
      "@Redfish.ActionInfo": `${uri}/RekeyActionInfo`,
    });
    expect(validator.validate(await facade.json(`${uri}/RekeyActionInfo`))).toEqual([]);
  });

  for (const mockup of ["public-rackmount1", "public-bladed", "public-smartnic"]) {
    it(`serves a valid tree over the ${mockup} mockup (twice, as two members) plus a generated member`, async () => {
      const mockupDir = resolve(sharedRedfish, "mockups", mockup);
      const specs: SimulatedMemberSpec[] = [
        { name: "m1", simulator: { mockupDir } },
        { name: "m2", simulator: { mockupDir } },
        { name: "gen", simulator: { generator: { nodeName: "gen" } } },
      ];
      facade = await startFacade(specs);
      const { count, problems: found } = await problems(validator);
      expect(found).toEqual([]);
      expect(count).toBeGreaterThan(40);
    });
  }
});

describe.skipIf(hasShared)("conformance", () => {
  it.skip(SHARED_MISSING, () => {});
});
