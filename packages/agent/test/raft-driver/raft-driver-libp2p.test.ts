// Proves three drivers elect a leader and replicate over the real libp2p RaftTransport (three hosts on 127.0.0.1, pnet, Noise, Yamux) with FileStorage.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrapStorage, FileStorage } from "@conclave/consensus";
import { afterAll, describe, expect, it } from "vitest";
import { ClusterState } from "../../src/cluster-state/cluster-state.ts";
import { clusterCommands } from "../../src/cluster-state/core-section.ts";
import { RaftDriver } from "../../src/raft-driver/raft-driver.ts";
import { newSecret, startHost, type TestHost, waitFor, withoutPeerId } from "../hosts.ts";
import { FAST_TIMING } from "./support.ts";

const hosts: TestHost[] = [];
const drivers: RaftDriver[] = [];
const storages: FileStorage[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const driver of drivers) driver.stop();
  for (const storage of storages) storage.close();
  await Promise.all(hosts.map((host) => host.host.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("drivers over libp2p", () => {
  it("elect a leader and replicate a command to every node", async () => {
    const secret = newSecret();
    const inboxes = new Map<string, RaftDriver>();
    const route = {
      deliver: (to: string, message: Parameters<RaftDriver["enqueue"]>[0]) => inboxes.get(to)?.enqueue(message),
    };
    for (let i = 0; i < 3; i++) {
      const staticPeers = hosts.map((host) => withoutPeerId(host.address));
      const holder: { id?: string } = {};
      const host = await startHost(secret, {
        staticPeers,
        overrides: { onRaftMessage: (message) => route.deliver(holder.id ?? "", message) },
      });
      holder.id = host.host.nodeId;
      hosts.push(host);
    }
    const ids = hosts.map((host) => host.host.nodeId);
    await waitFor("a full mesh", () => hosts.every((host) => host.host.connectedPeers().length >= 2));

    for (const [i, host] of hosts.entries()) {
      const dir = mkdtempSync(join(tmpdir(), "conclave-libp2p-driver-"));
      dirs.push(dir);
      const storage = FileStorage.open({ dir });
      storages.push(storage);
      bootstrapStorage(storage, ids);
      const driver = new RaftDriver(
        { selfId: host.host.nodeId, timing: FAST_TIMING, seed: i + 1 },
        { storage, transport: host.host.raft, state: new ClusterState() },
      );
      inboxes.set(host.host.nodeId, driver);
      drivers.push(driver);
      driver.run().catch(() => {});
    }

    await waitFor("a leader with the lease", () => drivers.some((driver) => driver.status().lease.held), 20_000);
    const leader = drivers.find((driver) => driver.status().lease.held)!;
    const result = await leader.propose(clusterCommands.initCluster("0f8fad5b-d9cb-469f-a165-70867728950e", "rack-1"));
    await waitFor(
      "every node to apply it",
      () => drivers.every((driver) => driver.state.appliedIndex >= result.index),
      20_000,
    );
    for (const driver of drivers) {
      expect(driver.state.identity?.clusterName).toBe("rack-1");
      expect(driver.status().leaderId).toBe(leader.selfId);
    }
  });
});
