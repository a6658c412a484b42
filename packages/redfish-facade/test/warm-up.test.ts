// Proves a node about to serve can read ahead (warmUpFacade) so the console's first poll finds
// answers, and that a root map past its TTL is served while it is read again instead of holding
// every request behind ten reads per member.
import { afterEach, describe, expect, it } from "vitest";
import { WARM_UP_MEMBERS_IN_PARALLEL } from "../src/facade-limits.ts";
import { warmUpFacade } from "../src/index.ts";
import { type Facade, startFacade, threeMembers } from "./support/facade-fixture.ts";

let facade: Facade;
afterEach(async () => {
  await facade?.close();
});

const pathsRead = (from: number): string[] => facade.cluster.forwards.slice(from).map((f) => f.request.path);

describe("warm-up", () => {
  it("reads every member's root map and its Systems, Chassis and Managers, so the first polls ask nobody", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 60_000 } });
    expect(await warmUpFacade(facade.app)).toEqual({ members: 3, answered: 3 });
    const read = pathsRead(0);
    expect(read.filter((p) => p === "/redfish/v1")).toHaveLength(3);
    for (const collection of ["Systems", "Chassis", "Managers"]) {
      expect(read.filter((p) => p === `/redfish/v1/${collection}`)).toHaveLength(3);
    }
    const afterWarmUp = facade.cluster.forwards.length;
    for (const uri of ["/redfish/v1/Systems", "/redfish/v1/Chassis", "/redfish/v1/Managers"]) {
      const body = await facade.json(uri);
      expect(body["Members@odata.count"], uri).toBeGreaterThanOrEqual(3);
    }
    expect(facade.cluster.forwards.length).toBe(afterWarmUp);
  });

  it(`reads at most ${WARM_UP_MEMBERS_IN_PARALLEL} members at once, and every one of them`, async () => {
    const specs = Array.from({ length: 3 * WARM_UP_MEMBERS_IN_PARALLEL }, (_, i) => ({ name: `bmc${i + 1}` }));
    facade = await startFacade(specs);
    const forward = facade.cluster.forward.bind(facade.cluster);
    const inFlight = new Map<string, number>();
    let mostMembersAtOnce = 0;
    facade.cluster.forward = async (memberId, request) => {
      inFlight.set(memberId, (inFlight.get(memberId) ?? 0) + 1);
      mostMembersAtOnce = Math.max(mostMembersAtOnce, inFlight.size);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5)); // a member that takes a moment
        return await forward(memberId, request);
      } finally {
        const left = (inFlight.get(memberId) ?? 1) - 1;
        if (left === 0) inFlight.delete(memberId);
        else inFlight.set(memberId, left);
      }
    };
    expect(await warmUpFacade(facade.app)).toEqual({ members: specs.length, answered: specs.length });
    expect(mostMembersAtOnce).toBe(WARM_UP_MEMBERS_IN_PARALLEL);
    expect(new Set(facade.cluster.forwards.map((f) => f.memberName)).size).toBe(specs.length);
  });

  it("reads again, and waits for, what is past its TTL", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 20, discoveryTtlMs: 20 } });
    await warmUpFacade(facade.app);
    await new Promise((resolve) => setTimeout(resolve, 40));
    const forward = facade.cluster.forward.bind(facade.cluster);
    let inFlight = 0;
    facade.cluster.forward = async (memberId, request) => {
      inFlight++;
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await forward(memberId, request);
      } finally {
        inFlight--;
      }
    };
    const before = facade.cluster.forwards.length;
    await warmUpFacade(facade.app);
    // Settled means read: nothing is still being read behind the warm-up's back.
    expect(inFlight).toBe(0);
    const read = pathsRead(before);
    expect(read.filter((p) => p === "/redfish/v1")).toHaveLength(3);
    expect(read.filter((p) => p === "/redfish/v1/Systems")).toHaveLength(3);
  });

  it("with skipAnsweredWithinMs, reads only the members the last warm-up missed", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { memberCacheTtlMs: 20, discoveryTtlMs: 20 } });
    await facade.cluster.setFaults("bmc2", { errorRate: 1 });
    expect(await warmUpFacade(facade.app)).toEqual({ members: 3, answered: 2 });
    await facade.cluster.setFaults("bmc2", { errorRate: 0 });
    await new Promise((resolve) => setTimeout(resolve, 40)); // everything is past its TTL
    const before = facade.cluster.forwards.length;
    expect(await warmUpFacade(facade.app, { skipAnsweredWithinMs: 60_000 })).toEqual({ members: 3, answered: 3 });
    expect(new Set(facade.cluster.forwards.slice(before).map((f) => f.memberName))).toEqual(new Set(["bmc2"]));
    // Without it, everything past its TTL is read again.
    const again = facade.cluster.forwards.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    await warmUpFacade(facade.app);
    expect(new Set(facade.cluster.forwards.slice(again).map((f) => f.memberName))).toEqual(
      new Set(["bmc1", "bmc2", "bmc3"]),
    );
  });

  it("counts a member that cannot be read as not answered, and does not reject", async () => {
    facade = await startFacade(threeMembers());
    await facade.cluster.simulator("bmc2").close();
    const result = await warmUpFacade(facade.app);
    expect(result.members).toBe(3);
    expect(result.answered).toBe(2);
  });

  it("refuses an app it did not build", async () => {
    facade = await startFacade(threeMembers());
    const { default: Fastify } = await import("fastify");
    const other = Fastify();
    expect(() => warmUpFacade(other)).toThrow(/not made by buildApp/);
    await other.close();
  });
});

describe("root maps past their TTL", () => {
  it("are served at once while one rediscovery runs", async () => {
    facade = await startFacade(threeMembers(), { timeouts: { discoveryTtlMs: 50, memberCacheTtlMs: 0 } });
    await facade.json("/redfish/v1/Systems");
    await new Promise((resolve) => setTimeout(resolve, 80));
    const before = facade.cluster.forwards.length;
    // Ten polls at once past the TTL: each member's root is read again once, not once per poll.
    await Promise.all(Array.from({ length: 10 }, () => facade.json("/redfish/v1/Systems")));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pathsRead(before).filter((p) => p === "/redfish/v1")).toHaveLength(3);
  });

  it("do not hold a request while a member's root is read again", async () => {
    // A read deadline longer than the test's: a request that waited for the held read would time out.
    const timeouts = { discoveryTtlMs: 50, memberCacheTtlMs: 0, memberReadTimeoutMs: 60_000 };
    facade = await startFacade(threeMembers(), { timeouts });
    const first = await facade.json("/redfish/v1/Systems");
    await new Promise((resolve) => setTimeout(resolve, 80));
    // From now on bmc1's service root does not answer until released.
    const forward = facade.cluster.forward.bind(facade.cluster);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let rootReadsHeld = 0;
    facade.cluster.forward = async (memberId, request) => {
      if (request.path === "/redfish/v1" && facade.cluster.members().find((m) => m.id === memberId)?.name === "bmc1") {
        rootReadsHeld++;
        await held;
      }
      return forward(memberId, request);
    };
    const body = await facade.json("/redfish/v1/Systems");
    expect(body.Members).toEqual(first.Members);
    expect(rootReadsHeld).toBe(1);
    release();
    await warmUpFacade(facade.app);
  });

  it("serve a root collection up to discoveryTtlMs old while it is read again, and a resource only briefly", async () => {
    // Past the TTL plus the read deadline (about 270 ms here), within discoveryTtlMs.
    const timeouts = { memberCacheTtlMs: 10, memberReadTimeoutMs: 10, discoveryTtlMs: 60_000 };
    facade = await startFacade(threeMembers(), { timeouts });
    const collection = await facade.json("/redfish/v1/Systems");
    const resource = await facade.get("/redfish/v1/Systems/bmc1_system");
    expect(resource.statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // bmc1 answers nothing from now on: its reads run into their deadline.
    const forward = facade.cluster.forward.bind(facade.cluster);
    facade.cluster.forward = async (memberId, request) => {
      if (facade.cluster.members().find((m) => m.id === memberId)?.name === "bmc1") {
        return new Promise(() => undefined);
      }
      return forward(memberId, request);
    };
    expect((await facade.json("/redfish/v1/Systems")).Members).toEqual(collection.Members);
    // A resource's state (PowerState, Status) is not served that old: bmc1's system is missing now.
    expect((await facade.get("/redfish/v1/Systems/bmc1_system")).statusCode).not.toBe(200);
  });

  it("do not wait for the discovery of a member the cluster has since called unreachable", async () => {
    // A read deadline longer than the test's: a request that waited for the held read would time out.
    facade = await startFacade(threeMembers(), { timeouts: { memberReadTimeoutMs: 60_000 } });
    const forward = facade.cluster.forward.bind(facade.cluster);
    const bmc1 = facade.cluster.members().find((m) => m.name === "bmc1")!;
    facade.cluster.forward = async (memberId, request) => {
      if (memberId === bmc1.id) return new Promise(() => undefined); // gone, link down
      return forward(memberId, request);
    };
    // A standby's warm-up starts reading bmc1 (never discovered) before anyone knows it is gone.
    void warmUpFacade(facade.app);
    const members = facade.cluster.members.bind(facade.cluster);
    facade.cluster.members = () => members().map((m) => (m.id === bmc1.id ? { ...m, bmcReachable: false } : m));
    const response = await facade.get("/redfish/v1/Systems");
    expect(response.statusCode).toBe(200);
    const info = response.json()["@Message.ExtendedInfo"] as { MessageId: string }[];
    expect(info.map((m) => m.MessageId)).toEqual([expect.stringContaining("CouldNotEstablishConnection")]);
  });
});
