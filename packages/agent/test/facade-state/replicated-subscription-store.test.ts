// Proves the replicated SubscriptionStore over three Raft drivers: a subscription created on one leader, with the delivery cursor the PoC committed for it, is there on the next leader (which can go on changing it); a rule's refusal reaches the caller as SubscriptionRuleViolation with its rule and is recorded identically on every node; a body off its schema is refused as invalid; and a store without a driver or on a follower is unavailable (not refused).
import {
  type EventSubscription,
  type SubscriptionChange,
  SubscriptionRuleViolation,
  type SubscriptionStore,
  SubscriptionStoreUnavailableError,
} from "@conclave/redfish-facade";
import { afterEach, describe, expect, it } from "vitest";
import { createReplicatedSubscriptionStore } from "../../src/facade-state/replicated-subscription-store.ts";
import type { RaftDriver } from "../../src/raft-driver/raft-driver.ts";
import { waitFor } from "../raft-driver/support.ts";
import { ThreeDrivers, whileUnavailable } from "./three-drivers.ts";

let cluster: ThreeDrivers | undefined;
afterEach(() => {
  cluster?.stopAll();
  cluster = undefined;
});

function startCluster(): RaftDriver[] {
  cluster = new ThreeDrivers(23);
  return cluster.drivers;
}

const running = () => cluster?.running() ?? [];
const leader = () => cluster?.leader();

/** Commits again while the store is unavailable (no leader for a moment on a loaded machine). */
const commit = (store: SubscriptionStore, change: SubscriptionChange): Promise<void> =>
  whileUnavailable(() => store.commit(change), SubscriptionStoreUnavailableError) as Promise<void>;

function subscription(id: string): EventSubscription {
  return {
    id,
    destination: "https://console.example/events",
    context: "rack7",
    registryPrefixes: [],
    messageIds: ["ResourceEvent.1.4.ResourceChanged"],
    resourceTypes: [],
    originResources: [],
    subordinateResources: false,
    deliveryRetryPolicy: "SuspendRetries",
    enabled: true,
  };
}

const SUBSCRIPTION_ID = "0b6f3c2e-1d4a-4e5b-9c7d-2f1e0a9b8c7d";

describe("the replicated SubscriptionStore", () => {
  it("keeps a subscription and its committed delivery cursor for the next leader", async () => {
    startCluster();
    await waitFor("a leader", () => leader() !== undefined);
    const store = createReplicatedSubscriptionStore({ driver: leader });
    await commit(store, { type: "create", subscription: subscription(SUBSCRIPTION_ID) });
    const delivered = { bmc1: ["3f2a9c1d", 42], bmc2: ["77", 5], _cluster: ["1a", 3] } as const;
    await commit(store, { type: "progress", id: SUBSCRIPTION_ID, delivered });
    await commit(store, { type: "settings", settings: { retryAttempts: 7 } });
    expect(store.get(SUBSCRIPTION_ID)?.delivered).toEqual(delivered);
    await waitFor("every node to apply it", () =>
      running().every((driver) => driver.state.appliedIndex === leader()?.state.appliedIndex),
    );
    const first = leader() as RaftDriver;
    first.stop();
    await waitFor("another leader", () => leader() !== undefined && leader() !== first);
    const next = createReplicatedSubscriptionStore({ driver: leader });
    expect(next.list()).toEqual([{ ...subscription(SUBSCRIPTION_ID), delivered }]);
    expect(next.settings().retryAttempts).toBe(7);
    // The next PoC goes on from there: its delivery moves the cursor, a console suspends it.
    const later = { ...delivered, bmc1: ["3f2a9c1d", 50] } as const;
    await commit(next, { type: "progress", id: SUBSCRIPTION_ID, delivered: later });
    await commit(next, { type: "suspend", id: SUBSCRIPTION_ID });
    expect(next.get(SUBSCRIPTION_ID)).toMatchObject({ enabled: false, delivered: later });
  });

  it("turns a refusal into SubscriptionRuleViolation with the rule, recorded on every node", async () => {
    startCluster();
    await waitFor("a leader", () => leader() !== undefined);
    const store = createReplicatedSubscriptionStore({ driver: leader });
    await commit(store, { type: "create", subscription: subscription(SUBSCRIPTION_ID) });
    const refused = await commit(store, { type: "create", subscription: subscription(SUBSCRIPTION_ID) }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(SubscriptionRuleViolation);
    expect((refused as SubscriptionRuleViolation).rule).toBe("exists");
    const unknown = await commit(store, { type: "remove", id: "no-such-one" }).catch((error: unknown) => error);
    expect((unknown as SubscriptionRuleViolation).rule).toBe("unknown");
    const index = (leader() as RaftDriver).state.appliedIndex;
    await waitFor("every node to apply it", () => running().every((driver) => driver.state.appliedIndex >= index));
    for (const driver of running()) {
      expect(driver.state.rejectedCommands().recent).toEqual([
        expect.objectContaining({ type: "subscription.create", code: "exists" }),
        expect.objectContaining({ type: "subscription.remove", code: "unknown" }),
      ]);
    }
    // A body that breaks the schema never reaches the log: refused as invalid.
    const invalid = await store
      .commit({ type: "progress", id: SUBSCRIPTION_ID, delivered: { bmc1: ["not hex", 1] } })
      .catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(SubscriptionRuleViolation);
    expect((invalid as SubscriptionRuleViolation).rule).toBe("invalid");
    expect(store.get(SUBSCRIPTION_ID)?.delivered).toBeUndefined();
  });

  it("is unavailable without a driver, and on a follower", async () => {
    const none = createReplicatedSubscriptionStore({ driver: () => undefined });
    expect(none.list()).toEqual([]);
    expect(none.settings()).toEqual({ retryAttempts: 3, retryIntervalSeconds: 30 });
    await expect(none.commit({ type: "remove", id: SUBSCRIPTION_ID })).rejects.toBeInstanceOf(
      SubscriptionStoreUnavailableError,
    );
    startCluster();
    await waitFor("a leader", () => leader() !== undefined);
    const follower = running().find((driver) => driver.status().role !== "leader") as RaftDriver;
    const store = createReplicatedSubscriptionStore({ driver: follower });
    await expect(store.commit({ type: "create", subscription: subscription(SUBSCRIPTION_ID) })).rejects.toBeInstanceOf(
      SubscriptionStoreUnavailableError,
    );
  });
});
