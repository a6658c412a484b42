// Proves each member's health is served per Manager: a member whose agent reported health gets
// `/redfish/v1/Managers/<member>_<id>/ManagerDiagnosticData` (valid against the DMTF schema) and
// its Manager links it; a member without a report, or a manager the BMC does not have, gets none;
// a BMC that serves its own ManagerDiagnosticData keeps it (forwarded, never shadowed).
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { MemberDiagnostics } from "../../src/index.ts";
import { type Facade, hasShared, SHARED_MISSING, sharedRedfish, startFacade } from "../support/facade-fixture.ts";
import { loadRedfishValidator } from "../support/redfish-schemas.ts";

const V1 = "/redfish/v1";
const REPORTED_AT_MS = Date.UTC(2026, 0, 2, 3, 4, 5);
const BMC1_DIAGNOSTICS: MemberDiagnostics = {
  health: "Warning",
  bmcReachable: true,
  cpuPercent: 93,
  memoryPercent: 40,
  stateDiskPercent: 17,
  reportedAtMs: REPORTED_AT_MS,
};

let facade: Facade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

async function twoMembers(): Promise<Facade> {
  const started = await startFacade([{ name: "bmc1" }, { name: "bmc2" }]);
  started.cluster.setMember("bmc1", { diagnostics: BMC1_DIAGNOSTICS });
  return started;
}

describe("ManagerDiagnosticData per member", () => {
  it("serves a reporting member's health under each of its BMC's managers, linked from the Manager", async () => {
    facade = await twoMembers();
    const manager = await facade.json(`${V1}/Managers/bmc1_bmc`);
    expect(manager.ManagerDiagnosticData).toEqual({ "@odata.id": `${V1}/Managers/bmc1_bmc/ManagerDiagnosticData` });
    const diagnostics = await facade.json(`${V1}/Managers/bmc1_bmc/ManagerDiagnosticData`);
    expect(diagnostics).toEqual({
      "@odata.type": "#ManagerDiagnosticData.v1_2_3.ManagerDiagnosticData",
      "@odata.id": `${V1}/Managers/bmc1_bmc/ManagerDiagnosticData`,
      Id: "ManagerDiagnosticData",
      Name: "Diagnostic data of member bmc1",
      Description: expect.stringContaining("last reported to the cluster"),
      Oem: {
        Conclave: {
          HealthStatus: "Warning",
          BmcReachable: true,
          CpuPercent: 93,
          MemoryPercent: 40,
          StateDiskPercent: 17,
          ReportedAt: "2026-01-02T03:04:05.000Z",
        },
      },
    });
    const metadata = await facade.get(`${V1}/$metadata`);
    expect(metadata.body).toContain('<edmx:Include Namespace="ManagerDiagnosticData.v1_2_3"/>');
    // The next report is served at once: nothing of the body is kept.
    facade.cluster.setMember("bmc1", {
      diagnostics: { health: "OK", bmcReachable: false, reportedAtMs: REPORTED_AT_MS + 1_000 },
    });
    const later = await facade.json(`${V1}/Managers/bmc1_bmc/ManagerDiagnosticData`);
    expect(later.Oem).toEqual({
      Conclave: { HealthStatus: "OK", BmcReachable: false, ReportedAt: "2026-01-02T03:04:06.000Z" },
    });
  });

  it("serves nothing for a member without a report, nor for a manager its BMC does not have", async () => {
    facade = await twoMembers();
    const bmc2 = await facade.json(`${V1}/Managers/bmc2_bmc`);
    expect(bmc2.ManagerDiagnosticData).toBeUndefined();
    expect((await facade.get(`${V1}/Managers/bmc2_bmc/ManagerDiagnosticData`)).statusCode).toBe(404);
    expect((await facade.get(`${V1}/Managers/bmc1_nosuch/ManagerDiagnosticData`)).statusCode).toBe(404);
    expect((await facade.get(`${V1}/Managers/nosuch_bmc/ManagerDiagnosticData`)).statusCode).toBe(404);
    // The cluster's own Manager is not a member's.
    const cluster = await facade.json(`${V1}/Managers`);
    const ids = (cluster.Members as { "@odata.id": string }[]).map((m) => m["@odata.id"]);
    expect(ids).toContain(`${V1}/Managers/bmc1_bmc`);
  });

  it("leaves a BMC's own ManagerDiagnosticData alone", async () => {
    facade = await startFacade([{ name: "bmc1" }]);
    const simulator = facade.cluster.simulator("bmc1");
    const own = `${V1}/Managers/bmc/ManagerDiagnosticData`;
    simulator.get(own, async () => ({
      "@odata.type": "#ManagerDiagnosticData.v1_2_3.ManagerDiagnosticData",
      "@odata.id": own,
      Id: "ManagerDiagnosticData",
      Name: "The BMC's own",
      ServiceRootUptimeSeconds: 1234.5,
    }));
    simulator.addHook("onSend", async (request, _reply, payload) => {
      if (request.url !== `${V1}/Managers/bmc` || typeof payload !== "string") return payload;
      return JSON.stringify({ ...JSON.parse(payload), ManagerDiagnosticData: { "@odata.id": own } });
    });
    facade.cluster.setMember("bmc1", { diagnostics: BMC1_DIAGNOSTICS });
    const manager = await facade.json(`${V1}/Managers/bmc1_bmc`);
    expect(manager.ManagerDiagnosticData).toEqual({ "@odata.id": `${V1}/Managers/bmc1_bmc/ManagerDiagnosticData` });
    const diagnostics = await facade.json(`${V1}/Managers/bmc1_bmc/ManagerDiagnosticData`);
    expect(diagnostics).toMatchObject({ Name: "The BMC's own", ServiceRootUptimeSeconds: 1234.5 });
    expect(diagnostics.Oem).toBeUndefined();
  });

  it.skipIf(!hasShared)("validates against the DMTF schemas, the decorated Manager too", async () => {
    const validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
    facade = await twoMembers();
    for (const uri of [`${V1}/Managers/bmc1_bmc`, `${V1}/Managers/bmc1_bmc/ManagerDiagnosticData`]) {
      const body = await facade.json(uri);
      expect(validator.validate(body), uri).toEqual([]);
    }
    // The validator does check this type: a made-up property is refused.
    const diagnostics = await facade.json(`${V1}/Managers/bmc1_bmc/ManagerDiagnosticData`);
    expect(validator.validate({ ...diagnostics, CpuPercent: 1 })).not.toEqual([]);
  });
  if (!hasShared) it.skip(SHARED_MISSING, () => {});
});
