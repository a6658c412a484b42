// Proves the bootstrap decision, the transfer-target choice and the inbox bounds, and that the driver grows a cluster one member at a time, refuses unsafe removals and stops loudly on a storage error.

import {
  ConfChangePendingError,
  MemoryStorage,
  type Message,
  type PersistUpdate,
  type ProgressStatus,
  StorageIoError,
} from "@conclave/consensus";
import { afterEach, describe, expect, it } from "vitest";
import { newMember } from "../../src/cluster-state/core-section.ts";
import type { MemberRecord } from "../../src/cluster-state/types.ts";
import { bootstrapOnce, decideBootstrap, hasRaftState } from "../../src/raft-driver/bootstrap.ts";
import { DriverStoppedError, QuorumAtRiskError } from "../../src/raft-driver/errors.ts";
import { Inbox } from "../../src/raft-driver/inbox.ts";
import { pickTransferTarget } from "../../src/raft-driver/transfer-target.ts";
import { TestCluster, waitFor, waitForLeaseHolder } from "./support.ts";

let cluster: TestCluster | undefined;
afterEach(() => {
  cluster?.cleanup();
  cluster = undefined;
});

describe("decideBootstrap", () => {
  it("never bootstraps a node with state", () => {
    expect(decideBootstrap("a", ["b", "c"], 3, true)).toEqual({ action: "resume" });
  });
  it("waits until bootstrapExpect nodes are known, counting itself once", () => {
    expect(decideBootstrap("a", ["b", "a", "b"], 3, false)).toEqual({ action: "wait", known: 2, expect: 3 });
  });
  it("lets the lowest id bootstrap alone and the others join through it", () => {
    expect(decideBootstrap("a", ["c", "b"], 3, false)).toEqual({ action: "bootstrap", voters: ["a"] });
    expect(decideBootstrap("c", ["b", "a"], 3, false)).toEqual({ action: "join", via: "a" });
    expect(decideBootstrap("b", ["a", "c", "d"], 3, false)).toEqual({ action: "join", via: "a" });
    expect(decideBootstrap("solo", [], 1, false)).toEqual({ action: "bootstrap", voters: ["solo"] });
  });
  it("never lets a witness bootstrap: it could not elect itself", () => {
    const witnesses = new Set(["a"]);
    expect(decideBootstrap("a", ["b", "c"], 3, false, witnesses)).toEqual({ action: "join", via: "b" });
    expect(decideBootstrap("b", ["a", "c"], 3, false, witnesses)).toEqual({ action: "bootstrap", voters: ["b"] });
    expect(decideBootstrap("a", [], 1, false, witnesses)).toEqual({ action: "wait", known: 1, expect: 1 });
  });
  it("refuses nonsense", () => {
    expect(() => decideBootstrap("", [], 1, false)).toThrow(/selfId/);
    expect(() => decideBootstrap("a", [], 0, false)).toThrow(/bootstrapExpect/);
  });
  it("bootstraps storage exactly once", () => {
    const storage = new MemoryStorage();
    expect(hasRaftState(storage)).toBe(false);
    expect(bootstrapOnce(storage, ["a"])).toBe(true);
    expect(hasRaftState(storage)).toBe(true);
    expect(bootstrapOnce(storage, ["a", "b"])).toBe(false);
    expect(storage.snapshotMetadata().confState.voters).toEqual(["a"]);
  });
});

describe("pickTransferTarget", () => {
  const progress = (match: number, recentActive = true): ProgressStatus => ({
    match,
    next: match + 1,
    state: "replicate",
    recentActive,
    isLearner: false,
  });
  const members = new Map<string, MemberRecord>(
    ["a", "b", "c", "d", "e"].map((id) => [id, newMember(id, "voter", 0)] as const),
  );
  const member = (id: string) => members.get(id);

  it("prefers reachable, healthy, high-priority, caught-up voters and skips witnesses and drained ones", () => {
    const all = { a: progress(10), b: progress(9), c: progress(10), d: progress(10, false), e: progress(10) };
    expect(pickTransferTarget("a", ["a", "b", "c", "d", "e"], all, member)).toBe("c");
    members.set("c", { ...newMember("c", "voter", 0), drained: true });
    members.set("e", { ...newMember("e", "voter", 0), witness: true, role: "witness" });
    expect(pickTransferTarget("a", ["a", "b", "c", "d", "e"], all, member)).toBe("b");
    members.set("b", {
      ...newMember("b", "voter", 0),
      health: { status: "critical", bmcReachable: false, reportedAtMs: 1 },
    });
    members.set("d", { ...newMember("d", "voter", 0), priority: 100 });
    expect(pickTransferTarget("a", ["a", "b", "c", "d", "e"], { ...all, d: progress(3) }, member)).toBe("d");
    expect(pickTransferTarget("a", ["a"], all, member)).toBeUndefined();
  });
});

describe("Inbox", () => {
  const heartbeat = (commit: number): Message => ({
    type: "heartbeat",
    from: "b",
    to: "a",
    term: 1,
    commit,
    leaseTick: 0,
    readRound: 0,
  });
  it("drops the oldest messages beyond its count and byte bounds", () => {
    const inbox = new Inbox(3, 1_000_000);
    for (let i = 1; i <= 5; i++) inbox.push(heartbeat(i));
    expect(inbox.dropped).toBe(2);
    expect(inbox.drain().map((message) => (message.type === "heartbeat" ? message.commit : 0))).toEqual([3, 4, 5]);
    expect(inbox.length).toBe(0);

    const small = new Inbox(100, 300);
    const big: Message = {
      ...heartbeat(0),
      type: "append",
      prevIndex: 0,
      prevTerm: 0,
      entries: [{ term: 1, index: 1, type: 0, data: new Uint8Array(200) }],
      commit: 0,
      leaseTick: 0,
    } as Message;
    small.push(heartbeat(1));
    small.push(big);
    expect(small.dropped).toBe(1);
    expect(small.bytes).toBeLessThanOrEqual(300);
  });
});

describe("membership through the driver", () => {
  it("grows from one bootstrapped node, one change at a time, and refuses a removal that risks quorum", async () => {
    cluster = new TestCluster({ ids: ["a", "b", "c"], bootstrap: ["a"] });
    const c = cluster;
    const a = c.start("a");
    await waitForLeaseHolder(c);
    const b = c.start("b");
    const joiner = c.start("c");
    expect(b.status().voters).toEqual([]);

    await a.addLearner("b");
    await waitFor("b to catch up", () => b.state.appliedIndex === a.state.appliedIndex);
    expect(b.state.member("b")?.role).toBe("learner");
    await a.promote("b");

    const learner = a.addLearner("c");
    const second = a.remove("b");
    await expect(second).rejects.toBeInstanceOf(ConfChangePendingError);
    await learner;
    await a.promote("c");
    await waitFor("all three to agree", () =>
      [a, b, joiner].every(
        (driver) => driver.status().voters.join() === "a,b,c" && driver.state.appliedIndex === a.state.appliedIndex,
      ),
    );
    expect(c.events.filter((event) => event.node === "a" && event.event === "membershipChanged")).toHaveLength(4);
    expect(joiner.state.members().map((member) => member.role)).toEqual(["voter", "voter", "voter"]);

    // With c gone, removing b would leave a alone in {a, c}: refused.
    c.stop("c");
    await waitFor("a to notice c is gone", () => a.status().members.find((m) => m.id === "c")?.recentActive === false);
    await expect(a.remove("b")).rejects.toBeInstanceOf(QuorumAtRiskError);
    expect(c.leaseOverlaps).toEqual([]);
  });
});

describe("a storage error", () => {
  it("stops the driver loudly: lease dropped, callers rejected, run() rejects with the error", async () => {
    let failing = false;
    cluster = new TestCluster({
      ids: ["a"],
      storageFor: () => {
        const storage = new MemoryStorage();
        const persist = storage.persist.bind(storage);
        storage.persist = (update: PersistUpdate) => {
          if (failing) throw new StorageIoError("disk on fire");
          persist(update);
        };
        return storage;
      },
    });
    const c = cluster;
    const a = c.start("a");
    await waitForLeaseHolder(c);
    failing = true;
    const proposal = a.propose({ type: "member.drain", body: { id: "a", drained: true } });
    await expect(proposal).rejects.toBeInstanceOf(DriverStoppedError);
    expect(a.phase).toBe("failed");
    await waitFor("the error to reach run()", () => c.errors().length === 1);
    expect(c.errors()[0]).toBeInstanceOf(StorageIoError);
    const tail = c.events.slice(-2).map((event) => [event.event, (event.payload as { reason?: string }).reason]);
    expect(tail).toEqual([
      ["leaseLost", "failed"],
      ["fatal", undefined],
    ]);
    await expect(a.propose({ type: "member.drain", body: { id: "a", drained: true } })).rejects.toBeInstanceOf(
      DriverStoppedError,
    );
  });
});
