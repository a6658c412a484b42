// Proves every resource the simulator serves (generated tree and DMTF mockups) validates against the DMTF schemas.
import { resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, crawl, FAST_TIMING, hasShared, sharedRedfish, testSimulator, waitFor } from "./helpers.ts";
import { loadRedfishValidator, type RedfishValidator } from "./redfish-schemas.ts";

async function invalidResources(
  app: FastifyInstance,
  validator: RedfishValidator,
): Promise<{ count: number; problems: string[] }> {
  const resources = await crawl(app);
  const problems: string[] = [...((resources as { missing?: string[] }).missing ?? [])];
  for (const [uri, body] of resources) {
    const errors = validator.validate(body);
    if (errors.length > 0) problems.push(`${uri}: ${errors.slice(0, 3).join("; ")}`);
  }
  return { count: resources.size, problems };
}

describe.skipIf(!hasShared)("schema validation against ../shared/redfish/json-schema", () => {
  let validator: RedfishValidator;
  let app: FastifyInstance | undefined;
  beforeAll(() => {
    validator = loadRedfishValidator(resolve(sharedRedfish, "json-schema"));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("validates the generated tree, including several systems and chassis", async () => {
    app = testSimulator({ generator: { nodeName: "bmc7", systemCount: 2, chassisCount: 2 } });
    const { count, problems } = await invalidResources(app, validator);
    expect(problems).toEqual([]);
    expect(count).toBeGreaterThan(40);
  });

  it("validates the tree after it changed: sessions, a finished task, events and a PATCH", async () => {
    app = testSimulator();
    const login = await app.inject({
      method: "POST",
      url: "/redfish/v1/SessionService/Sessions",
      payload: { UserName: "admin", Password: "admin" },
    });
    expect(login.statusCode).toBe(201);
    const update = await app.inject({
      method: "POST",
      url: "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
      headers: ADMIN,
      payload: { ImageURI: "http://images.example/bmc-2.19.0.tar" },
    });
    expect(update.statusCode).toBe(202);
    const taskUri = String(update.json()["@odata.id"]);
    await waitFor(async () => {
      const task = (await app?.inject({ url: taskUri, headers: ADMIN }))?.json();
      return task?.TaskState === "Completed" ? task : undefined;
    }, "the update task to complete");
    const patch = await app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/system",
      headers: ADMIN,
      payload: { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" }, AssetTag: "rack-7" },
    });
    expect(patch.statusCode).toBe(200);
    await app.inject({
      method: "POST",
      url: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
      headers: ADMIN,
      payload: { ResetType: "GracefulShutdown" },
    });
    const { problems } = await invalidResources(app, validator);
    expect(problems).toEqual([]);
    const events = app.simulator.events.events();
    expect(events.length).toBeGreaterThan(5);
    for (const event of events) expect(validator.validate(event.body)).toEqual([]);
  });

  it("validates Redfish error bodies' messages", async () => {
    app = testSimulator();
    const response = await app.inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/system",
      headers: ADMIN,
      payload: { PowerState: "Off", Bogus: 1 },
    });
    expect(response.statusCode).toBe(400);
    for (const message of response.json().error["@Message.ExtendedInfo"])
      expect(validator.validate(message)).toEqual([]);
  });

  for (const mockup of ["public-rackmount1", "public-bladed", "public-smartnic"]) {
    it(`validates the ${mockup} mockup as served`, async () => {
      app = testSimulator({ mockupDir: resolve(sharedRedfish, "mockups", mockup), timing: FAST_TIMING });
      const { count, problems } = await invalidResources(app, validator);
      expect(problems).toEqual([]);
      expect(count).toBeGreaterThan(20);
    });
  }
});
