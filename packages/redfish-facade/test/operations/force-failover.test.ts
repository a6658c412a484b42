// Proves Manager.ForceFailover on the cluster Manager is a leadership transfer: to the member whose
// manager NewManager names, or to the best other member without it; a failed transfer is a 503
// saying why, and a NewManager that is no member's manager is refused without any transfer.
import { afterEach, describe, expect, it } from "vitest";
import { messageIds, threeMembers } from "../support/facade-fixture.ts";
import { type OperationsFacade, startOperationsFacade } from "./aggregate-test-support.ts";

const FAILOVER = "/redfish/v1/Managers/conclave/Actions/Manager.ForceFailover";

let facade: OperationsFacade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

describe("Manager.ForceFailover", () => {
  it("transfers leadership to the best other member, or to the one NewManager names", async () => {
    facade = await startOperationsFacade(threeMembers());
    const anyone = await facade.post(FAILOVER, {});
    expect(anyone.statusCode, anyone.body).toBe(204);
    expect(facade.cluster.transfers).toEqual([undefined]);
    expect(facade.cluster.members().find((m) => m.isPoc)?.name).toBe("bmc2");

    // The old PoC lost its lease: the console reaches the new one through the VIP (here: the same app).
    expect((await facade.get("/redfish/v1/Managers/conclave")).statusCode).toBe(503);
    facade.cluster.setQuorum(true);
    const named = await facade.post(FAILOVER, { NewManager: { "@odata.id": "/redfish/v1/Managers/bmc3_bmc" } });
    expect(named.statusCode, named.body).toBe(204);
    expect(facade.cluster.transfers).toEqual([undefined, "peer-bmc3"]);
    expect(facade.cluster.members().find((m) => m.isPoc)?.name).toBe("bmc3");
  });

  it("refuses a NewManager that is no other member's manager, and bad parameters, without a transfer", async () => {
    facade = await startOperationsFacade(threeMembers());
    const cases: [unknown, string[]][] = [
      [{ NewManager: { "@odata.id": "/redfish/v1/Managers/bmc9_bmc" } }, ["ActionParameterValueError"]],
      [{ NewManager: { "@odata.id": "/redfish/v1/Managers/bmc2_nothing" } }, ["ActionParameterValueError"]],
      [{ NewManager: { "@odata.id": "/redfish/v1/Systems/bmc2_system1" } }, ["ActionParameterValueError"]],
      [{ NewManager: { "@odata.id": "/redfish/v1/Managers/conclave" } }, ["ActionParameterValueError"]],
      [{ NewManager: 7 }, ["ActionParameterValueTypeError"]],
      [{ Mode: "Now" }, ["ActionParameterUnknown"]],
      // bmc1 leads already: nothing to do.
      [{ NewManager: "/redfish/v1/Managers/bmc1_bmc" }, ["NoOperation"]],
    ];
    for (const [body, ids] of cases) {
      const response = await facade.post(FAILOVER, body);
      expect([JSON.stringify(body), response.statusCode]).toEqual([JSON.stringify(body), 400]);
      expect(messageIds(response)).toEqual(ids);
    }
    const wrongMethod = await facade.post(FAILOVER, {}, "PATCH");
    expect(wrongMethod.statusCode).toBe(405);
    expect(facade.cluster.transfers).toEqual([]);
  });

  it("answers 503 with the reason when the transfer fails", async () => {
    facade = await startOperationsFacade(threeMembers());
    facade.cluster.failTransfers(true);
    const response = await facade.post(FAILOVER);
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(messageIds(response)).toEqual(["ServiceTemporarilyUnavailable"]);
    expect((response.json() as { error: { message: string } }).error.message).toContain(
      "the test cluster refuses transfers",
    );
    expect(facade.cluster.members().find((m) => m.isPoc)?.name).toBe("bmc1");
  });
});
