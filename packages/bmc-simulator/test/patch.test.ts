// Proves PATCH honours If-Match (412 on mismatch) and rejects read-only, unknown and out-of-list values with Base messages.
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN, type ErrorBody, getJson, testSimulator } from "./helpers.ts";

let app: FastifyInstance;
beforeEach(() => {
  app = testSimulator();
});
afterEach(async () => {
  await app.close();
});

const SYSTEM = "/redfish/v1/Systems/system";

function patch(url: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: "PATCH", url, headers: { ...ADMIN, ...headers }, payload: payload as object });
}

function messageIds(body: ErrorBody): string[] {
  return body.error["@Message.ExtendedInfo"].map((m) => m.MessageId);
}

describe("PATCH", () => {
  it("applies a change with the current ETag and returns the new ETag", async () => {
    const before = await app.inject({ url: SYSTEM, headers: ADMIN });
    const etag = String(before.headers.etag);
    const response = await patch(
      SYSTEM,
      { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" }, AssetTag: "rack-7-u12" },
      { "if-match": etag },
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers.etag).not.toBe(etag);
    const system = await getJson(app, SYSTEM);
    expect(system.AssetTag).toBe("rack-7-u12");
    expect(system.Boot).toMatchObject({
      BootSourceOverrideTarget: "Pxe",
      BootSourceOverrideEnabled: "Once",
      BootSourceOverrideMode: "UEFI",
    });
    expect(app.simulator.counters.snapshot().byTarget[`PATCH ${SYSTEM}`]).toBe(1);
  });

  it("answers a stale If-Match with 412 PreconditionFailed and changes nothing", async () => {
    const stale = String((await app.inject({ url: SYSTEM, headers: ADMIN })).headers.etag);
    expect((await patch(SYSTEM, { AssetTag: "first" }, { "if-match": stale })).statusCode).toBe(200);
    const response = await patch(SYSTEM, { AssetTag: "second" }, { "if-match": stale });
    expect(response.statusCode).toBe(412);
    expect(messageIds(response.json())).toEqual(["Base.1.19.0.PreconditionFailed"]);
    expect((await getJson(app, SYSTEM)).AssetTag).toBe("first");
    expect((await patch(SYSTEM, { AssetTag: "third" }, { "if-match": "*" })).statusCode).toBe(200);
  });

  it("rejects a read-only property with PropertyNotWritable and an unknown one with PropertyUnknown", async () => {
    const response = await patch(SYSTEM, { PowerState: "Off", SerialNumber: "X", Flux: 1 });
    expect(response.statusCode).toBe(400);
    expect(messageIds(response.json())).toEqual([
      "Base.1.19.0.PropertyNotWritable",
      "Base.1.19.0.PropertyNotWritable",
      "Base.1.19.0.PropertyUnknown",
    ]);
    expect(response.json().error["@Message.ExtendedInfo"][0].MessageArgs).toEqual(["PowerState"]);
    expect((await getJson(app, SYSTEM)).PowerState).toBe("On");
  });

  it("is all or nothing: one bad property keeps the good ones from being applied", async () => {
    const response = await patch(SYSTEM, { AssetTag: "good", Boot: { BootSourceOverrideTarget: "Floppy" } });
    expect(response.statusCode).toBe(400);
    // Floppy is a Redfish boot target, but not one this system lists in @Redfish.AllowableValues.
    expect(messageIds(response.json())).toEqual(["Base.1.19.0.PropertyValueNotInList"]);
    expect(response.json().error["@Message.ExtendedInfo"][0].MessageArgs).toEqual([
      "Floppy",
      "Boot/BootSourceOverrideTarget",
    ]);
    expect((await getJson(app, SYSTEM)).AssetTag).toBe("");
  });

  it("rejects wrong types and out-of-range values", async () => {
    const typed = await patch(SYSTEM, { LocationIndicatorActive: "yes" });
    expect(messageIds(typed.json())).toEqual(["Base.1.19.0.PropertyValueTypeError"]);
    const range = await patch("/redfish/v1/SessionService", { SessionTimeout: 5 });
    expect(messageIds(range.json())).toEqual(["Base.1.19.0.PropertyValueOutOfRange"]);
    const empty = await patch(SYSTEM, {});
    expect(messageIds(empty.json())).toEqual(["Base.1.19.0.NoOperation"]);
  });

  it("keeps IndicatorLED and LocationIndicatorActive in step on systems and chassis", async () => {
    expect((await patch(SYSTEM, { LocationIndicatorActive: true })).statusCode).toBe(200);
    expect((await getJson(app, SYSTEM)).IndicatorLED).toBe("Lit");
    expect((await patch("/redfish/v1/Chassis/chassis", { IndicatorLED: "Blinking" })).statusCode).toBe(200);
    expect((await getJson(app, "/redfish/v1/Chassis/chassis")).LocationIndicatorActive).toBe(true);
  });

  it("answers PATCH on a resource without writable properties with 405", async () => {
    const response = await patch("/redfish/v1/Systems", { Name: "x" });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe("GET, HEAD");
  });
});
