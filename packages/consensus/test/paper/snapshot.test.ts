// Proves log compaction and InstallSnapshot (thesis ch. 5): chunked transfer, fast-forward, out-of-order and lost chunks.
import { describe, expect, it } from "vitest";
import type { Message, SnapshotMessage, SnapshotMetadata } from "../../src/types.ts";
import { appendMessage, describeMessage, entry, RaftNetwork, Solo } from "../support/raft-network.ts";

const metadata: SnapshotMetadata = { index: 4, term: 2, confState: { voters: ["1", "2", "3"], learners: [] } };

function chunk(offset: number, data: string, totalBytes: number, done: boolean, meta = metadata): Message {
  return {
    type: "snapshot",
    from: "2",
    to: "1",
    term: 2,
    leaseTick: 0,
    chunk: { metadata: meta, offset, totalBytes, data: new TextEncoder().encode(data), done },
  };
}

/** A 3-node cluster where 3 missed five entries that the leader then compacted away. */
function laggingFollowerBehindSnapshot(chunkBytes: number): RaftNetwork {
  const network = new RaftNetwork({
    ids: ["1", "2", "3"],
    randomOffset: 5,
    config: { maxSnapshotChunkBytes: chunkBytes },
  });
  network.elect("1");
  network.isolate("3");
  for (const text of ["alpha", "bravo", "charlie", "delta", "echo"]) network.propose("1", text);
  network.stabilize();
  const applied = network.node("1").status().applied;
  network.compact("1", applied);
  network.heal();
  return network;
}

describe("thesis §5 snapshots", () => {
  it("a follower behind the leader's first index gets the snapshot in chunks, then the log", () => {
    // init
    const network = laggingFollowerBehindSnapshot(16);
    const snapshotSize = network.peer("1").storage.snapshotSize();
    expect(snapshotSize).toBeGreaterThan(32);
    const snapshotChunks: SnapshotMessage[] = [];
    network.onEvent = (event) => {
      if (event.kind === "send" && event.message.type === "snapshot") snapshotChunks.push(event.message);
    };
    // act
    network.tick("1");
    network.stabilize();
    network.propose("1", "foxtrot");
    network.stabilize();
    // check: stop-and-wait chunks covering the snapshot exactly once, the last one marked done
    expect(snapshotChunks.map((m) => m.chunk.offset)).toEqual(
      Array.from({ length: Math.ceil(snapshotSize / 16) }, (_, i) => i * 16),
    );
    expect(snapshotChunks.map((m) => m.chunk.done)).toEqual(
      snapshotChunks.map((_, i) => i === snapshotChunks.length - 1),
    );
    expect(network.peer("3").installedSnapshots).toEqual([
      { index: 7, term: 2, confState: { voters: ["1", "2", "3"], learners: [] } },
    ]);
    expect(network.peer("3").state).toEqual(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]);
    expect(network.node("3").status()).toMatchObject({ commit: 8, applied: 8, lastIndex: 8 });
    expect(network.peer("3").storage.firstIndex()).toBe(8);
  });

  it("a follower that already holds the snapshot's last entry fast-forwards its commit instead of installing", () => {
    // init: entries 2..5 of term 2, only 1 committed
    const solo = new Solo({ logTerms: [2, 2, 2, 2], term: 2 });
    // act
    const out = solo.step(chunk(0, "0123456789", 100, false));
    // check: done with the whole snapshot at once, nothing written, the log kept
    expect(out.map(describeMessage)).toEqual(["1->2 snapshotResponse term=2 snapshot=4 next=100"]);
    expect(solo.readies.flatMap((ready) => ready.snapshotChunks)).toEqual([]);
    expect(solo.node.status()).toMatchObject({ commit: 4, applied: 4, lastIndex: 5 });
    expect(solo.storage.snapshotMetadata().index).toBe(1);
  });

  it("a follower whose log conflicts at the snapshot index installs it, replacing its log", () => {
    const solo = new Solo({ logTerms: [1, 1, 1, 1], term: 2 });
    solo.step(chunk(0, '["a",', 9, false));
    expect(solo.node.status().commit).toBe(1);
    const out = solo.step(chunk(5, '"b"]', 9, true));
    expect(out.map(describeMessage)).toEqual(["1->2 snapshotResponse term=2 snapshot=4 next=9"]);
    expect(solo.storage.snapshotMetadata()).toEqual(metadata);
    expect(solo.node.status()).toMatchObject({ commit: 4, applied: 4, lastIndex: 4 });
    expect(solo.readies.some((ready) => ready.installSnapshot?.index === 4)).toBe(true);
  });

  it("a chunk out of order is refused with the offset the follower expects; a duplicate is acknowledged", () => {
    const solo = new Solo({ term: 2 });
    expect(solo.step(chunk(5, "xxxx", 20, false)).map(describeMessage)).toEqual([
      "1->2 snapshotResponse term=2 snapshot=4 next=0 reject",
    ]);
    solo.step(chunk(0, "01234", 20, false));
    expect(solo.step(chunk(10, "abcde", 20, false)).map(describeMessage)).toEqual([
      "1->2 snapshotResponse term=2 snapshot=4 next=5 reject",
    ]);
    solo.step(chunk(5, "56789", 20, false));
    expect(solo.step(chunk(5, "56789", 20, false)).map(describeMessage)).toEqual([
      "1->2 snapshotResponse term=2 snapshot=4 next=10",
    ]);
    expect(solo.readies.flatMap((ready) => ready.snapshotChunks).map((c) => c.offset)).toEqual([0, 5]);
    // A chunk at offset 0 always starts the transfer over (the leader restarted it).
    expect(solo.step(chunk(0, "01234", 20, false)).map(describeMessage)).toEqual([
      "1->2 snapshotResponse term=2 snapshot=4 next=5",
    ]);
  });

  it("a transfer overtaken by appends that commit past the snapshot is dropped, not installed", () => {
    // Regression: the last chunk used to install the snapshot anyway, moving the commit index back.
    // init: a transfer of snapshot 4 is under way
    const solo = new Solo({ term: 2 });
    solo.step(chunk(0, "01234", 10, false));
    // act: appends arrive (reordered on the network) and commit up to 5
    solo.step(
      appendMessage(
        { from: "2", to: "1", term: 2 },
        { prevIndex: 1, prevTerm: 1, entries: [entry(2, 2), entry(2, 3), entry(2, 4), entry(2, 5)], commit: 5 },
      ),
    );
    expect(solo.node.status().commit).toBe(5);
    const out = solo.step(chunk(5, "56789", 10, true));
    // check
    expect(out.map(describeMessage)).toEqual(["1->2 snapshotResponse term=2 snapshot=4 next=10"]);
    expect(solo.readies.some((ready) => ready.installSnapshot)).toBe(false);
    expect(solo.node.status()).toMatchObject({ commit: 5, applied: 5, lastIndex: 5 });
  });

  it("a lost chunk is sent again after an election timeout of silence", () => {
    // init
    const network = laggingFollowerBehindSnapshot(1024);
    let dropNext = true;
    network.drop((message) => {
      if (message.type !== "snapshot" || !dropNext) return false;
      dropNext = false;
      return true;
    });
    network.tick("1");
    network.stabilize();
    expect(network.peer("3").installedSnapshots).toEqual([]);
    // act
    const resent: string[] = [];
    network.onEvent = (event) => {
      if (event.kind === "send" && event.message.type === "snapshot") resent.push(describeMessage(event.message));
    };
    for (let i = 0; i < 10; i++) {
      network.tick("1");
      network.stabilize();
    }
    // check
    expect(resent).toHaveLength(1);
    expect(network.peer("3").installedSnapshots.map((m) => m.index)).toEqual([7]);
  });

  it("a follower restarted on its installed snapshot keeps it and resumes from it", () => {
    const network = laggingFollowerBehindSnapshot(8);
    network.tick("1");
    network.stabilize();
    network.restart("3");
    network.propose("1", "golf");
    network.stabilize();
    expect(network.node("3").status()).toMatchObject({ commit: 8, lastIndex: 8, role: "follower", leaderId: "1" });
  });
});
