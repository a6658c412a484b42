// Proves a DMTF-format mockup directory is served (both URI forms) and its systems, chassis and managers behave.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, getJson, hasShared, sharedRedfish, testSimulator, waitFor } from "./helpers.ts";

let dir: string;
let app: FastifyInstance | undefined;

function put(uri: string, body: Record<string, unknown>): void {
  const folder = join(
    dir,
    ...uri
      .replace(/^\/redfish\/v1\/?/, "")
      .split("/")
      .filter(Boolean),
  );
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "index.json"), JSON.stringify({ "@odata.id": uri, ...body }));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bmc-sim-mockup-"));
  put("/redfish/v1/", {
    "@odata.type": "#ServiceRoot.v1_20_0.ServiceRoot",
    Id: "RootService",
    Name: "Root Service",
    Systems: { "@odata.id": "/redfish/v1/Systems" },
    Managers: { "@odata.id": "/redfish/v1/Managers" },
    Links: {},
  });
  put("/redfish/v1/Systems", {
    "@odata.type": "#ComputerSystemCollection.ComputerSystemCollection",
    Name: "Systems",
    Members: [{ "@odata.id": "/redfish/v1/Systems/Node7" }],
    "Members@odata.count": 1,
  });
  put("/redfish/v1/Systems/Node7", {
    "@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem",
    Name: "Node 7",
    PowerState: "Off",
    Actions: {
      "#ComputerSystem.Reset": {
        target: "/redfish/v1/Systems/Node7/Actions/ComputerSystem.Reset",
        "@Redfish.ActionInfo": "/redfish/v1/Systems/Node7/ResetActionInfo",
      },
    },
  });
  put("/redfish/v1/Systems/Node7/ResetActionInfo", {
    "@odata.type": "#ActionInfo.v1_5_0.ActionInfo",
    Id: "ResetActionInfo",
    Name: "Reset Action Info",
    Parameters: [{ Name: "ResetType", Required: true, DataType: "String", AllowableValues: ["On", "ForceOff"] }],
  });
  put("/redfish/v1/Managers", {
    "@odata.type": "#ManagerCollection.ManagerCollection",
    Name: "Managers",
    Members: [{ "@odata.id": "/redfish/v1/Managers/BMC" }],
    "Members@odata.count": 1,
  });
  put("/redfish/v1/Managers/BMC", {
    "@odata.type": "#Manager.v1_24_0.Manager",
    Id: "BMC",
    Name: "Manager",
    FirmwareVersion: "4.2.0",
  });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe("mockup directories", () => {
  it("serves the mockup with the live services laid over it", async () => {
    app = testSimulator({ mockupDir: dir });
    const root = await getJson(app, "/redfish/v1/");
    expect(root["@odata.id"]).toBe("/redfish/v1/");
    expect(root.SessionService).toEqual({ "@odata.id": "/redfish/v1/SessionService" });
    expect((await getJson(app, "/redfish/v1/Systems/Node7")).Id).toBe("Node7");
    // Firmware inventory made from the manager, so updates work on a mockup without one.
    const inventory = await getJson(app, "/redfish/v1/UpdateService/FirmwareInventory/BMC_firmware");
    expect(inventory.Version).toBe("4.2.0");
  });

  it("limits ResetType to the values its ActionInfo allows and powers the system on", async () => {
    app = testSimulator({ mockupDir: dir });
    const target = "/redfish/v1/Systems/Node7/Actions/ComputerSystem.Reset";
    const refused = await app.inject({
      method: "POST",
      url: target,
      headers: ADMIN,
      payload: { ResetType: "GracefulRestart" },
    });
    expect(refused.statusCode).toBe(400);
    const on = await app.inject({ method: "POST", url: target, headers: ADMIN, payload: { ResetType: "On" } });
    expect(on.statusCode).toBe(204);
    await waitFor(
      async () =>
        (await getJson(app as FastifyInstance, "/redfish/v1/Systems/Node7")).PowerState === "On" ? true : undefined,
      "Node7 on",
    );
  });

  it.skipIf(!hasShared)("drives a system of public-rackmount1 and serves its own $metadata", async () => {
    app = testSimulator({ mockupDir: join(sharedRedfish, "mockups", "public-rackmount1") });
    const uri = "/redfish/v1/Systems/437XR1138R2";
    const patch = await app.inject({ method: "PATCH", url: uri, headers: ADMIN, payload: { AssetTag: "lab-1" } });
    expect(patch.statusCode).toBe(200);
    const reset = await app.inject({
      method: "POST",
      url: `${uri}/Actions/ComputerSystem.Reset`,
      headers: ADMIN,
      payload: { ResetType: "ForceOff" },
    });
    expect(reset.statusCode).toBe(204);
    await waitFor(
      async () => ((await getJson(app as FastifyInstance, uri)).PowerState === "Off" ? true : undefined),
      "off",
    );
    const metadata = await app.inject({ url: "/redfish/v1/$metadata" });
    expect(metadata.body).toContain("edmx:Edmx");
  });
});
