// Proves a member that does not answer (down, hung, failing, unreachable) never hangs the facade
// nor vanishes silently: collections answer with the others and name each missing source; its
// resources get 503/504/502 Redfish errors within the read deadline; it comes back when it heals.
import { afterEach, describe, expect, it } from "vitest";
import type { FacadeTimeouts } from "../src/facade-limits.ts";
import { MAX_FORWARDS_IN_FLIGHT_PER_MEMBER } from "../src/index.ts";
import { CONSOLE, type Facade, messageIds, startFacade, threeMembers, waitFor } from "./support/facade-fixture.ts";

let facade: Facade;
afterEach(async () => {
  await facade?.close();
});

const SOURCE_BMC2 = "/redfish/v1/AggregationService/AggregationSources/bmc2";

function memberIds(body: Record<string, unknown>): string[] {
  return (body.Members as { "@odata.id": string }[]).map((m) => m["@odata.id"]);
}

function missingSources(body: Record<string, unknown>): string[] {
  const info = (body["@Message.ExtendedInfo"] ?? []) as { MessageId: string; MessageArgs: string[] }[];
  return info.map((m) => `${m.MessageId.replace(/^Base\.(\d+\.)+/, "")} ${m.MessageArgs.join(",")}`);
}

/** Listening simulators: hang and reset act on real sockets. `timeouts` replace the short defaults here. */
async function start(timeouts: Partial<FacadeTimeouts> = {}): Promise<Facade> {
  return startFacade(
    threeMembers(),
    { timeouts: { memberCacheTtlMs: 20, memberReadTimeoutMs: 1_000, ...timeouts } },
    { transport: "http" },
  );
}

describe("a member that does not answer", () => {
  it("unreachable: collections name it at once (cache or not), its resources answer 503 with Retry-After", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 60_000 } });
    await facade.json("/redfish/v1/Systems/bmc2_system1");
    facade.cluster.setMember("bmc2", { bmcReachable: false, health: "Critical" });
    const systems = await facade.json("/redfish/v1/Systems");
    expect(memberIds(systems)).toEqual(["/redfish/v1/Systems/bmc1_system", "/redfish/v1/Systems/bmc3_system"]);
    expect(missingSources(systems)).toEqual([`CouldNotEstablishConnection ${SOURCE_BMC2}`]);
    const resource = await facade.get("/redfish/v1/Systems/bmc2_system1");
    expect(resource.statusCode).toBe(503);
    expect(resource.headers["retry-after"]).toBe("5");
    expect(messageIds(resource)).toEqual(["ServiceTemporarilyUnavailable"]);
    expect(await facade.json(SOURCE_BMC2)).toMatchObject({
      Status: { State: "UnavailableOffline", Health: "Critical" },
    });
  });

  it("hung: collections answer without it after the deadline, its resources answer 504", async () => {
    facade = await start();
    await facade.json("/redfish/v1/Systems");
    await facade.cluster.setFaults("bmc2", { hang: true });
    // The last answer is served while one refresh waits out the deadline; then the member is missing.
    const systems = await waitFor(async () => {
      const body = await (facade as Facade).json("/redfish/v1/Systems");
      return body["@Message.ExtendedInfo"] === undefined ? undefined : body;
    }, "bmc2 to be named missing");
    expect(memberIds(systems)).not.toContain("/redfish/v1/Systems/bmc2_system1");
    expect(missingSources(systems)).toEqual([`CouldNotEstablishConnection ${SOURCE_BMC2}`]);
    await new Promise((r) => setTimeout(r, 30));
    const resource = await facade.get("/redfish/v1/Systems/bmc2_system1/Processors");
    expect(resource.statusCode).toBe(504);
    expect(messageIds(resource)).toEqual(["OperationTimeout"]);
    await facade.cluster.setFaults("bmc2", { hang: false });
    await waitFor(async () => {
      const ids = memberIds(await (facade as Facade).json("/redfish/v1/Systems"));
      return ids.includes("/redfish/v1/Systems/bmc2_system1") ? ids : undefined;
    }, "bmc2 to come back");
  });

  it("failing with 500s: named as missing, its resources answer the BMC's own 500", async () => {
    facade = await start();
    await facade.json("/redfish/v1/Systems");
    await facade.cluster.setFaults("bmc3", { errorRate: 1 });
    const chassis = await waitFor(async () => {
      const body = await (facade as Facade).json("/redfish/v1/Chassis");
      return body["@Message.ExtendedInfo"] === undefined ? undefined : body;
    }, "bmc3 to be named missing");
    expect(missingSources(chassis)).toEqual([
      "CouldNotEstablishConnection /redfish/v1/AggregationService/AggregationSources/bmc3",
    ]);
    expect(memberIds(chassis)).toContain("/redfish/v1/Chassis/bmc1_chassis");
    const resource = await facade.get("/redfish/v1/Chassis/bmc3_chassis");
    expect(resource.statusCode).toBe(500);
    expect(messageIds(resource)).toEqual(["InternalError"]);
  });

  it("a hung member holds at most MAX_FORWARDS_IN_FLIGHT_PER_MEMBER requests; the rest get 503 at once", async () => {
    facade = await start();
    await facade.json("/redfish/v1/Systems");
    await facade.cluster.setFaults("bmc2", { hang: true });
    const extra = 6;
    const answers = await Promise.all(
      Array.from({ length: MAX_FORWARDS_IN_FLIGHT_PER_MEMBER + extra }, (_, i) =>
        (facade as Facade).get(`/redfish/v1/Systems/bmc2_system1/Nothing${i}`),
      ),
    );
    const statuses = answers.map((a) => a.statusCode);
    // A background refresh of a cached answer from bmc2 may hold a slot too.
    expect(statuses.filter((s) => s !== 503 && s !== 504)).toEqual([]);
    expect(statuses.filter((s) => s === 504).length).toBeLessThanOrEqual(MAX_FORWARDS_IN_FLIGHT_PER_MEMBER);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(extra);
    // The other members are not held up by it.
    expect((await facade.get("/redfish/v1/Systems/bmc1_system/Processors")).statusCode).toBe(200);
  });

  it("connections reset: named as missing", async () => {
    facade = await start();
    await facade.cluster.setFaults("bmc1", { down: "reset" });
    const managers = await facade.json("/redfish/v1/Managers");
    expect(missingSources(managers)).toEqual([
      "CouldNotEstablishConnection /redfish/v1/AggregationService/AggregationSources/bmc1",
    ]);
    expect(memberIds(managers)).toContain("/redfish/v1/Managers/conclave");
  });

  it("never read and slow: merged answers name it missing after collectionWaitMs while its read goes on, then include it", async () => {
    // The read deadline is far off: only collectionWaitMs can answer the first requests in time.
    facade = await start({ memberCacheTtlMs: 60_000, memberReadTimeoutMs: 60_000, collectionWaitMs: 50 });
    await facade.cluster.setFaults("bmc2", { latencyMs: 400 });
    const root = await facade.json("/redfish/v1");
    expect(root.Systems).toEqual({ "@odata.id": "/redfish/v1/Systems" });
    const first = await facade.json("/redfish/v1/Systems");
    expect(memberIds(first)).toEqual(["/redfish/v1/Systems/bmc1_system", "/redfish/v1/Systems/bmc3_system"]);
    expect(missingSources(first)).toEqual([`CouldNotEstablishConnection ${SOURCE_BMC2}`]);
    // The reads that were cut short went on and filled the cache: bmc2 is answered from it.
    const complete = await waitFor(async () => {
      const body = await (facade as Facade).json("/redfish/v1/Systems");
      return body["@Message.ExtendedInfo"] === undefined ? body : undefined;
    }, "bmc2's reads to land");
    expect(memberIds(complete)).toEqual([
      "/redfish/v1/Systems/bmc1_system",
      "/redfish/v1/Systems/bmc2_system1",
      "/redfish/v1/Systems/bmc2_system2",
      "/redfish/v1/Systems/bmc3_system",
    ]);
  });

  it("slow but within the deadline: still in the answer", async () => {
    facade = await start({ collectionWaitMs: 1_000 });
    await facade.cluster.setFaults("bmc2", { latencyMs: 50 });
    const systems = await facade.json("/redfish/v1/Systems");
    expect(memberIds(systems)).toContain("/redfish/v1/Systems/bmc2_system2");
    expect(systems["@Message.ExtendedInfo"]).toBeUndefined();
  });

  it("a BMC refusing its own agent's credentials is a 502 naming it, never the console's 401", async () => {
    facade = await start();
    await facade.json("/redfish/v1/Systems");
    const forward = facade.cluster.forward.bind(facade.cluster);
    (facade.cluster as { forward: typeof forward }).forward = async (memberId, request) =>
      request.path.startsWith("/redfish/v1/Systems/system")
        ? { statusCode: 401, headers: { "www-authenticate": 'Basic realm="bmc"' }, text: "{}" }
        : forward(memberId, request);
    for (const method of ["GET", "PATCH"] as const) {
      const response = await facade.app.inject({
        method,
        url: "/redfish/v1/Systems/bmc1_system",
        headers: CONSOLE,
        ...(method === "PATCH" ? { payload: { AssetTag: "x" } } : {}),
      });
      expect(response.statusCode, method).toBe(502);
      expect(response.headers["www-authenticate"]).toBeUndefined();
      expect(response.json().error["@Message.ExtendedInfo"][0]).toMatchObject({
        MessageId: "Base.1.22.ResourceAtUriUnauthorized",
        MessageArgs: ["/redfish/v1/Systems/bmc1_system", "401"],
      });
    }
  });

  it("$expand over a collection with a missing member still expands the others", async () => {
    facade = await start();
    facade.cluster.setMember("bmc1", { bmcReachable: false });
    const expanded = await facade.json("/redfish/v1/Systems?$expand=.");
    const members = expanded.Members as Record<string, unknown>[];
    expect(members.map((m) => m.Id)).toEqual(["bmc2_system1", "bmc2_system2", "bmc3_system"]);
    expect(missingSources(expanded)).toHaveLength(1);
  });
});
