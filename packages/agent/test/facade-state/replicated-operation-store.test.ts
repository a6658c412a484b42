// Proves the replicated OperationStore over three Raft drivers: an operation accepted on one leader is found, unfinished, by the next (which can finish it), a rule's refusal reaches the caller as OperationRuleViolation with its code and is recorded identically on every node, and a store without a driver or without a leader is unavailable (not refused).
import {
  type OperationChange,
  OperationRuleViolation,
  type OperationStore,
  OperationStoreUnavailableError,
} from "@conclave/redfish-facade";
import { afterEach, describe, expect, it } from "vitest";
import { createReplicatedOperationStore } from "../../src/facade-state/replicated-operation-store.ts";
import type { RaftDriver } from "../../src/raft-driver/raft-driver.ts";
import { waitFor } from "../raft-driver/support.ts";
import { ThreeDrivers, whileUnavailable } from "./three-drivers.ts";

const T0 = 1_700_000_000_000;

let cluster: ThreeDrivers | undefined;
afterEach(() => {
  cluster?.stopAll();
  cluster = undefined;
});

function startCluster(): RaftDriver[] {
  cluster = new ThreeDrivers(11);
  return cluster.drivers;
}

const running = () => cluster?.running() ?? [];
const leader = () => cluster?.leader();

/** Commits again while the store is unavailable (no leader for a moment on a loaded machine). */
const commit = (store: OperationStore, change: OperationChange): Promise<unknown> =>
  whileUnavailable(() => store.commit(change), OperationStoreUnavailableError) as Promise<unknown>;

const accept = (id: string): OperationChange => ({
  type: "operation.accept",
  body: {
    id,
    memberId: "c",
    action: {
      kind: "http",
      request: { method: "PATCH", path: "/redfish/v1/Systems/system", headers: {}, body: '{"AssetTag":"x"}' },
    },
    facadePath: "/redfish/v1/Systems/bmc3_system",
    term: 2,
    taskId: null,
    idempotencyKey: null,
    atMs: T0,
  },
});

describe("the replicated OperationStore", () => {
  it("keeps an accepted operation for the next leader, which finishes it", async () => {
    startCluster();
    await waitFor("a leader", () => leader() !== undefined);
    const store = createReplicatedOperationStore({ driver: leader });
    expect(await commit(store, accept("op-0000000000000001"))).toMatchObject({ phase: "accepted" });
    await waitFor("every node to apply it", () =>
      running().every((driver) => driver.state.appliedIndex === leader()?.state.appliedIndex),
    );
    const first = leader() as RaftDriver;
    first.stop();
    await waitFor("another leader", () => leader() !== undefined && leader() !== first);
    const next = createReplicatedOperationStore({ driver: leader });
    expect(next.operations().map((operation) => [operation.id, operation.phase])).toEqual([
      ["op-0000000000000001", "accepted"],
    ]);
    await commit(next, {
      type: "operation.finish",
      body: {
        id: "op-0000000000000001",
        outcome: { kind: "failed", reason: "not-run", message: "the PoC failed over before sending it" },
        atMs: T0 + 5,
      },
    });
    expect(next.operation("op-0000000000000001")?.phase).toBe("failed");
  });

  it("turns a refusal into OperationRuleViolation with the rule's code, recorded on every node", async () => {
    startCluster();
    await waitFor("a leader", () => leader() !== undefined);
    const store = createReplicatedOperationStore({ driver: leader });
    await commit(store, accept("op-0000000000000002"));
    const refused = await commit(store, accept("op-0000000000000002")).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OperationRuleViolation);
    expect((refused as OperationRuleViolation).code).toBe("duplicate-id");
    const index = (leader() as RaftDriver).state.appliedIndex;
    await waitFor("every node to apply it", () => running().every((driver) => driver.state.appliedIndex >= index));
    for (const driver of running()) {
      expect(driver.state.rejectedCommands().recent).toEqual([
        expect.objectContaining({ type: "operation.accept", code: "duplicate-id" }),
      ]);
    }
    // A body that breaks the schema never reaches the log: refused as an invalid change.
    const invalid = await store
      .commit({ type: "operation.finish", body: { id: "nope", atMs: 1 } })
      .catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(OperationRuleViolation);
    expect((invalid as OperationRuleViolation).code).toBe("invalid-change");
  });

  it("is unavailable without a driver, and on a follower", async () => {
    const none = createReplicatedOperationStore({ driver: () => undefined });
    expect(none.operations()).toEqual([]);
    await expect(none.commit(accept("op-0000000000000003"))).rejects.toBeInstanceOf(OperationStoreUnavailableError);
    startCluster();
    await waitFor("a leader", () => leader() !== undefined);
    const follower = running().find((driver) => driver.status().role !== "leader") as RaftDriver;
    const store = createReplicatedOperationStore({ driver: follower });
    await expect(store.commit(accept("op-0000000000000003"))).rejects.toBeInstanceOf(OperationStoreUnavailableError);
  });
});
