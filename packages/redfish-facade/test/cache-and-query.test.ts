// Proves member answers are cached for the TTL (a console polling a collection does not reach
// every BMC on every poll), ETag / If-None-Match, and $select, $expand and only, with their errors.
import { afterEach, describe, expect, it } from "vitest";
import { BACKGROUND_REFRESHES_IN_PARALLEL } from "../src/facade-limits.ts";
import { CONSOLE, type Facade, messageIds, startFacade, threeMembers } from "./support/facade-fixture.ts";

let facade: Facade;
afterEach(async () => {
  await facade?.close();
});

describe("cache and ETags", () => {
  it("serves a polled collection from the cache within the TTL", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 60_000 } });
    await facade.json("/redfish/v1/Systems");
    const afterFirst = facade.cluster.forwards.length;
    for (let i = 0; i < 20; i++) await facade.json("/redfish/v1/Systems");
    expect(facade.cluster.forwards.length).toBe(afterFirst);
  });

  it("past the TTL, answers at once with the last answer and asks the members again", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 50 } });
    await facade.json("/redfish/v1/Systems");
    const afterFirst = facade.cluster.forwards.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    await facade.json("/redfish/v1/Systems");
    expect(facade.cluster.forwards.length).toBeGreaterThan(afterFirst);
  });

  it(`past the TTL, reads the members again ${BACKGROUND_REFRESHES_IN_PARALLEL} at a time, and every one of them`, async () => {
    const specs = Array.from({ length: 3 * BACKGROUND_REFRESHES_IN_PARALLEL }, (_, i) => ({ name: `bmc${i + 1}` }));
    facade = await startFacade(specs, { timeouts: { memberCacheTtlMs: 50 } });
    await facade.json("/redfish/v1/Systems");
    await new Promise((resolve) => setTimeout(resolve, 80));
    const forward = facade.cluster.forward.bind(facade.cluster);
    const inFlight = new Set<string>();
    const readAgain = new Set<string>();
    let mostAtOnce = 0;
    facade.cluster.forward = async (memberId, request) => {
      inFlight.add(memberId);
      mostAtOnce = Math.max(mostAtOnce, inFlight.size);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5)); // a member that takes a moment
        return await forward(memberId, request);
      } finally {
        inFlight.delete(memberId);
        readAgain.add(memberId);
      }
    };
    expect((await facade.get("/redfish/v1/Systems")).statusCode).toBe(200);
    for (let waited = 0; readAgain.size < specs.length && waited < 200; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(readAgain.size).toBe(specs.length);
    expect(mostAtOnce).toBe(BACKGROUND_REFRESHES_IN_PARALLEL);
  });

  it("gives a member one background read at a time: one that stopped answering does not hold up the others", async () => {
    const specs = Array.from({ length: 2 * BACKGROUND_REFRESHES_IN_PARALLEL }, (_, i) => ({ name: `bmc${i + 1}` }));
    facade = await startFacade(specs, { timeouts: { memberCacheTtlMs: 50 } });
    const collections = ["/redfish/v1/Systems", "/redfish/v1/Chassis", "/redfish/v1/Managers"];
    for (const uri of collections) await facade.json(uri);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const forward = facade.cluster.forward.bind(facade.cluster);
    const slow = "peer-bmc1";
    const inFlight = new Map<string, number>();
    const readAgain = new Set<string>();
    let mostOfSlowAtOnce = 0;
    facade.cluster.forward = async (memberId, request) => {
      inFlight.set(memberId, (inFlight.get(memberId) ?? 0) + 1);
      mostOfSlowAtOnce = Math.max(mostOfSlowAtOnce, inFlight.get(slow) ?? 0);
      try {
        // bmc1 has stopped answering quickly; the others take a moment.
        await new Promise((resolve) => setTimeout(resolve, memberId === slow ? 400 : 5));
        return await forward(memberId, request);
      } finally {
        inFlight.set(memberId, (inFlight.get(memberId) ?? 1) - 1);
        readAgain.add(memberId);
      }
    };
    for (const uri of collections) expect((await facade.get(uri)).statusCode).toBe(200);
    for (let waited = 0; readAgain.size < specs.length - 1 && waited < 200; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Every other member was read again while bmc1's first read still ran, and bmc1 had one at a time.
    expect([...readAgain].filter((id) => id !== slow)).toHaveLength(specs.length - 1);
    expect(readAgain.has(slow)).toBe(false);
    expect(mostOfSlowAtOnce).toBe(1);
  });

  it("asks concurrent requests of the same resource once", async () => {
    facade = await startFacade(threeMembers());
    await facade.json("/redfish/v1/Systems");
    const before = facade.cluster.forwards.length;
    await Promise.all(Array.from({ length: 10 }, () => facade.json("/redfish/v1/Systems/bmc1_system/Processors/CPU0")));
    expect(facade.cluster.forwards.length).toBe(before + 1);
  });

  it("answers 304 to a matching If-None-Match and a new ETag once the member changed", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 0 } });
    for (const uri of ["/redfish/v1/Systems", "/redfish/v1/Systems/bmc1_system", "/redfish/v1/Managers/conclave"]) {
      const first = await facade.get(uri);
      const etag = first.headers.etag as string;
      expect(etag, uri).toMatch(/^"[^"]+"$/);
      const again = await facade.get(uri, { "if-none-match": etag });
      expect(again.statusCode, uri).toBe(304);
      expect(again.body).toBe("");
      expect((await facade.get(uri, { "if-none-match": '"other"' })).statusCode).toBe(200);
    }
    const before = (await facade.get("/redfish/v1/Systems/bmc1_system")).headers.etag as string;
    const patch = await facade.cluster.simulator("bmc1").inject({
      method: "PATCH",
      url: "/redfish/v1/Systems/system",
      headers: { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` },
      payload: { AssetTag: "moved" },
    });
    expect(patch.statusCode).toBe(200);
    const after = await facade.get("/redfish/v1/Systems/bmc1_system", { "if-none-match": before });
    expect(after.statusCode).toBe(200);
    expect(after.json().AssetTag).toBe("moved");
  });

  it("puts OData-Version, Allow, Link and Cache-Control on answers", async () => {
    facade = await startFacade(threeMembers());
    const response = await facade.get("/redfish/v1/Systems/bmc1_system");
    expect(response.headers).toMatchObject({
      "odata-version": "4.0",
      allow: "GET, HEAD, PATCH",
      link: "<http://redfish.dmtf.org/schemas/v1/ComputerSystem.v1_27_0.json>; rel=describedby",
      "cache-control": "no-cache",
    });
    const head = await facade.app.inject({ method: "HEAD", url: "/redfish/v1/Systems", headers: CONSOLE });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe("");
  });
});

describe("query options", () => {
  it("$expand=. expands every member of a merged collection, $select cuts them down", async () => {
    facade = await startFacade(threeMembers());
    const expanded = await facade.json("/redfish/v1/Systems?$expand=.($levels=1)");
    const members = expanded.Members as Record<string, unknown>[];
    expect(members).toHaveLength(4);
    expect(members.map((m) => m.Id)).toEqual(["bmc1_system", "bmc2_system1", "bmc2_system2", "bmc3_system"]);
    expect((members[0] as { Processors: unknown }).Processors).toEqual({
      "@odata.id": "/redfish/v1/Systems/bmc1_system/Processors",
    });
    const selected = await facade.json("/redfish/v1/Systems?$expand=.&$select=PowerState,Status/Health");
    expect((selected.Members as unknown[])[0]).toEqual({
      "@odata.id": "/redfish/v1/Systems/bmc1_system",
      "@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem",
      PowerState: "On",
      Status: { Health: "OK" },
    });
    const resource = await facade.json("/redfish/v1/Systems/bmc1_system?$select=Id,Links/Chassis");
    expect(resource).toEqual({
      "@odata.id": "/redfish/v1/Systems/bmc1_system",
      "@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem",
      Id: "bmc1_system",
      Links: { Chassis: [{ "@odata.id": "/redfish/v1/Chassis/bmc1_chassis" }] },
    });
  });

  it("$expand=~ expands only under Links, * everything", async () => {
    facade = await startFacade(threeMembers());
    const links = await facade.json("/redfish/v1/Systems/bmc1_system?$expand=~");
    expect((links.Processors as Record<string, unknown>)["@odata.type"]).toBeUndefined();
    const linked = links.Links as Record<string, Record<string, unknown>[]>;
    expect(linked.Chassis?.[0]?.Id).toBe("bmc1_chassis");
    const all = await facade.json("/redfish/v1/Systems/bmc1_system?$expand=*");
    expect((all.Processors as Record<string, unknown>)["Members@odata.count"]).toBe(2);
    const allLinks = all.Links as Record<string, Record<string, unknown>[]>;
    expect(allLinks.ManagedBy?.[0]?.Id).toBe("bmc1_bmc");
  });

  it("only answers the single member of a collection, and the collection otherwise", async () => {
    facade = await startFacade([{ name: "solo" }]);
    const only = await facade.json("/redfish/v1/Systems?only");
    expect(only["@odata.id"]).toBe("/redfish/v1/Systems/solo_system");
    const many = await facade.json("/redfish/v1/Managers?only");
    expect(many["Members@odata.count"]).toBe(2);
  });

  const problems: [string, number, string][] = [
    ["/redfish/v1/Systems?$filter=PowerState eq 'On'", 501, "QueryNotSupported"],
    ["/redfish/v1/Systems?$top=1", 501, "QueryNotSupported"],
    ["/redfish/v1/Systems?$skip=1", 501, "QueryNotSupported"],
    ["/redfish/v1/Systems?excerpt", 501, "QueryNotSupported"],
    ["/redfish/v1/Systems?$orderby=Id", 501, "QueryNotSupported"],
    ["/redfish/v1/Systems?$expand=x", 400, "QueryParameterValueFormatError"],
    ["/redfish/v1/Systems?$expand=.($levels=two)", 400, "QueryParameterValueFormatError"],
    ["/redfish/v1/Systems?$expand=.($levels=2)", 400, "QueryParameterOutOfRange"],
    ["/redfish/v1/Systems?$expand=.($levels=0)", 400, "QueryParameterOutOfRange"],
    ["/redfish/v1/Systems?$select=", 400, "QueryParameterValueFormatError"],
    ["/redfish/v1/Systems?$select=Id,,Name", 400, "QueryParameterValueFormatError"],
    ["/redfish/v1/Systems?$select=Id&$select=Name", 400, "QueryParameterValueError"],
    [
      `/redfish/v1/Systems?$select=${Array.from({ length: 65 }, (_, i) => `P${i}`).join(",")}`,
      400,
      "QueryParameterOutOfRange",
    ],
    ["/redfish/v1/Systems?only=1", 400, "QueryParameterValueFormatError"],
    ["/redfish/v1/Systems?only&$expand=.", 400, "QueryCombinationInvalid"],
    ["/redfish/v1/Systems?$select=%ZZ", 400, "QueryParameterValueFormatError"],
    ["/redfish/v1/$metadata?$select=Id", 400, "QueryNotSupportedOnResource"],
  ];
  for (const [uri, status, message] of problems) {
    it(`answers ${uri.slice(19, 80)} with ${status} ${message}`, async () => {
      facade = await startFacade(threeMembers());
      const response = await facade.get(uri);
      expect(response.statusCode).toBe(status);
      expect(messageIds(response)).toEqual([message]);
    });
  }

  it("ignores query parameters that are not Redfish options", async () => {
    facade = await startFacade(threeMembers());
    expect((await facade.get("/redfish/v1/Systems?cachebuster=123")).statusCode).toBe(200);
  });
});
