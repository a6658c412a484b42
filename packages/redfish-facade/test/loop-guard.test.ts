// Proves a request marked as coming from a Conclave facade is refused (508), and that a Conclave
// group aggregating another group's facade gets an answer with the loop named, not a loop.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryAuthStore } from "../src/auth/memory-auth-store.ts";
import { buildApp, FACADE_MARKER_HEADER, LeadershipTransferError, UpstreamError } from "../src/index.ts";
import { CONSOLE, CONSOLE_USER, type Facade, messageIds, startFacade, threeMembers } from "./support/facade-fixture.ts";

let inner: Facade | undefined;
afterEach(async () => {
  await inner?.close();
  inner = undefined;
});

describe("loop guard", () => {
  it("refuses a marked request with 508 before anything else, and forwards nothing", async () => {
    inner = await startFacade(threeMembers());
    const response = await inner.get("/redfish/v1/Systems", { [FACADE_MARKER_HEADER]: "1" });
    expect(response.statusCode).toBe(508);
    expect(messageIds(response)).toEqual(["HeaderInvalid"]);
    expect(inner.cluster.forwards).toEqual([]);
  });

  it("a group whose member is another group's facade names it as missing instead of looping", async () => {
    inner = await startFacade(threeMembers());
    const innerApp = inner.app;
    let forwardsToInner = 0;
    const outer = buildApp({
      auth: await createMemoryAuthStore({ accounts: [CONSOLE_USER] }),
      timeouts: { memberReadTimeoutMs: 300 },
      cluster: {
        clusterName: "outer",
        clusterUuid: () => "0c9a7d4e-1b2f-4e3a-8d5c-6f7a8b9c0d1e",
        hasQuorum: () => true,
        members: () => [
          {
            id: "peer-inner",
            name: "inner",
            hostName: "inner.example",
            role: "voter",
            isPoc: true,
            hasBmc: true,
            health: "OK",
            bmcReachable: true,
            labels: {},
          },
        ],
        async forward(memberId, request) {
          if (memberId !== "peer-inner") throw new UpstreamError("unknown-member", memberId, "no such member");
          forwardsToInner++;
          const response = await innerApp.inject({
            method: request.method as "GET",
            url: request.path,
            headers: { ...request.headers, ...CONSOLE },
          });
          return { statusCode: response.statusCode, headers: response.headers as never, text: response.body };
        },
        // This test only reads: the outer group never journals an operation.
        term: () => 1,
        executeOperation: async (memberId) => {
          throw new UpstreamError("unreachable", memberId, "the outer group runs no operations in this test");
        },
        operationStatus: async (memberId) => {
          throw new UpstreamError("unreachable", memberId, "the outer group runs no operations in this test");
        },
        transferLeadership: async () => {
          throw new LeadershipTransferError("the outer group has one member");
        },
        openImageStage: async (memberId) => {
          throw new UpstreamError("unreachable", memberId, "the outer group stages no images in this test");
        },
      },
    });
    try {
      const systems = await outer.inject({ url: "/redfish/v1/Systems", headers: CONSOLE });
      expect(systems.statusCode).toBe(200);
      expect(systems.json()["@Message.ExtendedInfo"][0].MessageArgs).toEqual([
        "/redfish/v1/AggregationService/AggregationSources/inner",
      ]);
      expect(forwardsToInner).toBe(1);
      expect(inner.cluster.forwards).toEqual([]);
    } finally {
      await outer.close();
    }
  });
});
