// Proves three drivers over an in-memory transport with real FileStorage elect a leader, apply proposals everywhere, fail over with the lease never held twice, restart from disk, transfer leadership, compact the log and catch a lagging node up by InstallSnapshot.

import { NotLeaderError } from "@conclave/consensus";
import { afterEach, describe, expect, it } from "vitest";
import { clusterCommands } from "../../src/cluster-state/core-section.ts";
import { ClusterCommandRejectedError } from "../../src/cluster-state/errors.ts";
import { LeadershipLostError, ProposalTimeoutError } from "../../src/raft-driver/errors.ts";
import { snapshotText, TestCluster, waitFor, waitForLeaseHolder } from "./support.ts";

const UUID = "0f8fad5b-d9cb-469f-a165-70867728950e";
let cluster: TestCluster | undefined;

afterEach(() => {
  cluster?.cleanup();
  cluster = undefined;
});

function threeNodes(init: ConstructorParameters<typeof TestCluster>[0]["init"] = {}): TestCluster {
  cluster = new TestCluster({ ids: ["a", "b", "c"], init });
  for (const id of ["a", "b", "c"]) cluster.start(id);
  return cluster;
}

describe("a three-node cluster of drivers", () => {
  it("elects one leader and applies proposals on every node, identically", async () => {
    const c = threeNodes();
    const leader = await waitForLeaseHolder(c);
    const init = await leader.propose(clusterCommands.initCluster(UUID, "rack-1"));
    expect(init.value).toMatchObject({ clusterId: UUID });
    await leader.propose(clusterCommands.updateMember(leader.selfId, { priority: 90, labels: { slot: "1" } }));
    await expect(leader.propose(clusterCommands.drainMember("nobody", true))).rejects.toBeInstanceOf(
      ClusterCommandRejectedError,
    );

    const follower = c.running().find((driver) => driver !== leader)!;
    const refused = await follower.propose(clusterCommands.drainMember("a", true)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NotLeaderError);
    expect((refused as NotLeaderError).leaderId).toBe(leader.selfId);
    await expect(follower.linearizableRead()).rejects.toBeInstanceOf(NotLeaderError);

    const readIndex = await leader.linearizableRead();
    expect(readIndex).toBeGreaterThanOrEqual(init.index);
    await waitFor("every node to apply", () =>
      c.running().every((driver) => driver.state.appliedIndex === leader.state.appliedIndex),
    );
    const texts = c.running().map(snapshotText);
    expect(new Set(texts).size).toBe(1);
    for (const driver of c.running()) {
      expect(driver.state.identity?.clusterId).toBe(UUID);
      expect(driver.state.member(leader.selfId)?.priority).toBe(90);
      expect(driver.state.rejectedCommands().count).toBe(1);
    }

    const status = leader.status();
    // (The lease itself may blink under a loaded test machine: a late timer counts as a stall.)
    expect(status).toMatchObject({ role: "leader", leaderId: leader.selfId });
    expect(status.members.map((member) => member.id)).toEqual(["a", "b", "c"]);
    expect(status.members.every((member) => member.lagEntries >= 0)).toBe(true);
    expect(follower.status().members).toEqual([]);
    expect(c.leaseOverlaps).toEqual([]);
    expect(c.errors()).toEqual([]);
  });

  it("fails over when the leader stops, reports its lease lost first, and restarts it from disk", async () => {
    const c = threeNodes();
    const first = await waitForLeaseHolder(c);
    await first.propose(clusterCommands.initCluster(UUID, "rack-1"));
    const oldId = first.selfId;
    c.stop(oldId);
    expect(c.events.at(-1)).toMatchObject({ node: oldId, event: "leaseLost", payload: { reason: "stopped" } });

    const second = await waitForLeaseHolder(c);
    expect(second.selfId).not.toBe(oldId);
    await second.propose(clusterCommands.recordLeadership(second.status().term, second.selfId, "election"));

    // The old leader comes back with its log and state, and does not bootstrap again.
    // First alone: it replays its own committed log.
    const restarted = c.start(oldId);
    c.network.isolate(oldId);
    await waitFor("the restarted node to replay its log", () => restarted.state.identity?.clusterId === UUID);
    c.network.heal();
    await waitFor("the restarted node to catch up", () => restarted.state.appliedIndex === second.state.appliedIndex);
    expect(restarted.state.leadershipHistory().at(-1)).toMatchObject({ leaderId: second.selfId });
    expect(restarted.status().leaderId).toBe(second.selfId);

    const stopped = c.events.findIndex((event) => event.node === oldId && event.event === "leaseLost");
    const taken = c.events.findIndex((event) => event.node === second.selfId && event.event === "leaseAcquired");
    expect(stopped).toBeGreaterThanOrEqual(0);
    expect(stopped).toBeLessThan(taken);
    expect(c.leaseOverlaps).toEqual([]);
  });

  it("lets the lease of an isolated leader lapse before anyone else takes it", async () => {
    const c = threeNodes({ proposeTimeoutMs: 2_000 });
    const old = await waitForLeaseHolder(c);
    c.network.isolate(old.selfId);
    const stranded = old.propose(clusterCommands.drainMember(old.selfId, true)).catch((error: unknown) => error);

    await waitFor("a new lease holder", () => c.running().some((d) => d !== old && d.status().lease.held));
    const lost = c.events.findIndex((event) => event.node === old.selfId && event.event === "leaseLost");
    const acquired = c.events.findIndex((event) => event.node !== old.selfId && event.event === "leaseAcquired");
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost).toBeLessThan(acquired);
    expect(c.events[lost]?.payload).toMatchObject({ reason: expect.stringMatching(/expired|leadership-lost|stall/) });
    expect(await stranded).toSatisfy(
      (error) => error instanceof LeadershipLostError || error instanceof ProposalTimeoutError,
    );

    c.network.heal();
    await waitFor("the old leader to follow", () => old.status().role === "follower" && old.status().leaderId !== "");
    expect(old.state.member(old.selfId)?.drained ?? false).toBe(false);
    expect(c.leaseOverlaps).toEqual([]);
  });

  it("transfers leadership to a named node and to the best one", async () => {
    const c = threeNodes();
    const leader = await waitForLeaseHolder(c);
    const target = ["a", "b", "c"].find((id) => id !== leader.selfId)!;
    const moved = await leader.transferLeadership(target);
    expect(moved).toMatchObject({ leaderId: target });
    expect(moved.tookMs).toBeGreaterThanOrEqual(0);
    await waitFor("the target to hold the lease", () => c.driver(target).status().lease.held);

    // Without a target: drain one follower, so the other one is chosen.
    const newLeader = c.driver(target);
    const [drained, expected] = ["a", "b", "c"].filter((id) => id !== target);
    await newLeader.propose(clusterCommands.drainMember(drained!, true));
    await waitFor("everyone to know the drain", () =>
      c.running().every((d) => d.state.member(drained!)?.drained === true),
    );
    expect(await newLeader.transferLeadership()).toMatchObject({ leaderId: expected });
    await expect(c.driver(drained!).transferLeadership()).rejects.toBeInstanceOf(NotLeaderError);
    await waitFor("a lease holder", () => c.leaseHolder()?.selfId === expected);
    expect(c.leaseOverlaps).toEqual([]);
  });

  it("compacts the log by policy and catches a lagging node up with InstallSnapshot", async () => {
    const c = threeNodes({ snapshotPolicy: { everyAppliedEntries: 20, retainEntries: 5 } });
    const leader = await waitForLeaseHolder(c);
    const lagging = c.running().find((driver) => driver !== leader)!;
    c.network.isolate(lagging.selfId);
    await leader.propose(clusterCommands.initCluster(UUID, "rack-1"));
    for (let i = 0; i < 60; i++) {
      await leader.propose(
        clusterCommands.reportHealth(leader.selfId, { status: "ok", bmcReachable: true, cpuPercent: i }),
      );
    }
    await waitFor("a snapshot on the leader", () => c.storage(leader.selfId).snapshotMetadata().index > 40);
    expect(c.storage(leader.selfId).firstIndex()).toBeGreaterThan(lagging.state.appliedIndex + 1);
    expect(c.events.some((event) => event.node === leader.selfId && event.event === "snapshotTaken")).toBe(true);

    c.network.heal();
    await waitFor("the lagging node to install the snapshot", () =>
      c.events.some((event) => event.node === lagging.selfId && event.event === "snapshotInstalled"),
    );
    await waitFor("the lagging node to catch up", () => lagging.state.appliedIndex === leader.state.appliedIndex);
    expect(snapshotText(lagging)).toBe(snapshotText(leader));
    expect(lagging.state.identity?.clusterId).toBe(UUID);
    expect(c.errors()).toEqual([]);
  });
});
