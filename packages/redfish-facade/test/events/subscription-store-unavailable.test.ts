// Proves that a subscription change the store cannot commit now (no quorum, a leader change: the
// replicated store's SubscriptionStoreUnavailableError) is answered 503 with Retry-After and the
// Base ServiceTemporarilyUnavailable message, for every kind of write, and changes nothing.
import { describe, expect, it } from "vitest";
import { RETRY_AFTER_SECONDS } from "../../src/facade-limits.ts";
import {
  createMemorySubscriptionStore,
  type SubscriptionStore,
  SubscriptionStoreUnavailableError,
} from "../../src/index.ts";
import { CONSOLE, messageIds, startFacade } from "../support/facade-fixture.ts";
import { FakeMemberEvents } from "./fake-member-events.ts";

const SUBSCRIPTIONS = "/redfish/v1/EventService/Subscriptions";

describe("a subscription store that cannot commit", () => {
  it("answers 503 with Retry-After", async () => {
    const memory = createMemorySubscriptionStore();
    let available = true;
    const subscriptions: SubscriptionStore = {
      list: () => memory.list(),
      get: (id) => memory.get(id),
      settings: () => memory.settings(),
      commit: async (change) => {
        if (!available) throw new SubscriptionStoreUnavailableError("no quorum");
        await memory.commit(change);
      },
    };
    const facade = await startFacade([{ name: "bmc1" }], { events: new FakeMemberEvents(), subscriptions });
    try {
      const request = (method: "POST" | "PATCH" | "DELETE", url: string, payload?: object) =>
        facade.app.inject({ method, url, headers: CONSOLE, ...(payload ? { payload } : {}) });
      const created = await request("POST", SUBSCRIPTIONS, { Destination: "https://console.example/events" });
      expect(created.statusCode).toBe(201);
      const uri = String(created.headers.location);
      available = false;
      const writes = [
        request("POST", SUBSCRIPTIONS, { Destination: "https://console.example/other" }),
        request("PATCH", uri, { Context: "changed" }),
        request("DELETE", uri),
        request("POST", `${uri}/Actions/EventDestination.SuspendSubscription`, {}),
        request("PATCH", "/redfish/v1/EventService", { DeliveryRetryAttempts: 5 }),
      ];
      for (const response of await Promise.all(writes)) {
        expect(response.statusCode, response.body).toBe(503);
        expect(response.headers["retry-after"]).toBe(String(RETRY_AFTER_SECONDS));
        expect(messageIds(response)).toEqual(["ServiceTemporarilyUnavailable"]);
      }
      expect(memory.list()).toHaveLength(1);
      expect(memory.list()[0]).toMatchObject({ context: "", enabled: true });
      expect(memory.settings().retryAttempts).toBe(3);
    } finally {
      await facade.close();
    }
  });
});
