// Proves log replication and commitment as the Raft paper (§5.3, §5.4.2, Figures 7 and 8) describes, plus flow control and batching.
import { describe, expect, it } from "vitest";
import { NotLeaderError, ProposalDroppedError } from "../../src/errors.ts";
import type { AppendMessage, Message } from "../../src/types.ts";
import {
  appendMessage,
  appendResponse,
  bytes,
  entry,
  heartbeatMessage,
  RaftNetwork,
  Solo,
  soloStorage,
} from "../support/raft-network.ts";

const basic = { preVote: false, checkQuorum: false };
const appendsTo = (messages: readonly Message[], to: string): AppendMessage[] =>
  messages.filter((m): m is AppendMessage => m.type === "append" && m.to === to);
const describeAppend = (m: AppendMessage): string =>
  `prev=${m.prevTerm}/${m.prevIndex} entries=[${m.entries.map((e) => `${e.term}/${e.index}`).join(",")}] commit=${m.commit}`;

describe("§5.3 log replication", () => {
  it("a leader appends a proposal to its log and sends it to every follower", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    // act
    expect(network.propose("1", "x")).toEqual({ index: 3, term: 2 });
    const sent = network.process("1");
    // check
    expect(network.storedEntries("1").at(-1)).toMatchObject({ index: 3, term: 2, data: bytes("x") });
    for (const to of ["2", "3"])
      expect(appendsTo(sent, to).map(describeAppend)).toEqual(["prev=2/2 entries=[2/3] commit=2"]);
  });

  it("a new leader replicates a no-op of its own term first", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    for (const id of network.ids) {
      expect(network.storedEntries(id)).toEqual([{ term: 2, index: 2, type: 0, data: new Uint8Array(0) }]);
    }
  });

  it("every follower learns the new commit index at once, even one whose acknowledgement came second", () => {
    // Regression: a follower still paused (probe) when the entry committed used to wait for the next heartbeat.
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    for (const id of network.ids) expect(network.node(id).status()).toMatchObject({ commit: 2, applied: 2 });
  });

  it("a fresh cluster elects the node asked to campaign, with PreVote and CheckQuorum on", () => {
    // Regression: nodes that never saw a leader used to ignore every (pre-)vote for one election timeout after boot.
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.node("2").campaign();
    network.stabilize();
    expect(network.leaders()).toEqual(["2"]);
  });

  it("only the leader accepts proposals; a follower names the leader", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    expect(() => network.propose("2", "x")).toThrow(NotLeaderError);
    expect(() => network.propose("2", "x")).toThrow("not the leader; the leader is 1");
  });

  it.each([
    [0, 2],
    [1, 2],
    [2, 3],
    [4, 3],
  ])("in a 5-voter cluster an entry acknowledged by %i followers leaves commit at %i", (acks, commit) => {
    // init
    const solo = new Solo({ voters: ["1", "2", "3", "4", "5"], config: basic });
    solo.becomeLeader();
    solo.drain();
    for (const from of ["2", "3", "4", "5"]) solo.step(appendResponse({ from, to: "1", term: 2 }, { index: 2 }));
    expect(solo.node.status().commit).toBe(2);
    solo.node.propose(bytes("x"));
    solo.drain();
    // act
    for (const from of ["2", "3", "4", "5"].slice(0, acks)) {
      solo.step(appendResponse({ from, to: "1", term: 2 }, { index: 3 }));
    }
    // check
    expect(solo.node.status().commit).toBe(commit);
    expect(solo.applied.map((e) => e.index)).toEqual(commit === 3 ? [2, 3] : [2]);
  });

  it("a follower commits what the leader says is committed, up to what it holds", () => {
    // init
    const solo = new Solo({ logTerms: [2, 2], term: 2 });
    // act + check
    solo.step(appendMessage({ from: "2", to: "1", term: 2 }, { prevIndex: 2, prevTerm: 2, commit: 2 }));
    expect(solo.node.status().commit).toBe(2);
    // An append only vouches for the log up to its last entry.
    solo.step(appendMessage({ from: "2", to: "1", term: 2 }, { prevIndex: 2, prevTerm: 2, commit: 9 }));
    expect(solo.node.status().commit).toBe(2);
    solo.step(heartbeatMessage({ from: "2", to: "1", term: 2 }, { commit: 3 }));
    expect(solo.node.status()).toMatchObject({ commit: 3, applied: 3 });
    expect(solo.applied.map((e) => e.index)).toEqual([2, 3]);
  });

  it.each([
    [3, 2, "accept index=3"],
    [2, 1, "accept index=2"],
    [3, 3, "reject index=3 hint=2/3"],
    [4, 2, "reject index=4 hint=2/3"],
    [9, 3, "reject index=9 hint=2/3"],
    [3, 1, "reject index=3 hint=1/2"],
  ])("a follower whose log is [1/2, 2/3] answers an append after %i/%i: %s", (prevIndex, prevTerm, answer) => {
    // init
    const solo = new Solo({ logTerms: [1, 2], term: 2 });
    // act
    const [response] = solo.step(appendMessage({ from: "2", to: "1", term: 3 }, { prevIndex, prevTerm }));
    // check
    if (response?.type !== "appendResponse") throw new Error("expected an appendResponse");
    expect(
      response.reject
        ? `reject index=${response.index} hint=${response.hintTerm}/${response.rejectHint}`
        : `accept index=${response.index}`,
    ).toBe(answer);
    expect(solo.storedTerms()).toEqual([1, 2]);
  });

  it.each([
    [3, 2, [entry(3, 4)], [1, 2, 3]],
    [2, 1, [entry(3, 3)], [1, 3]],
    [1, 1, [entry(1, 2), entry(4, 3)], [1, 4]],
    [1, 1, [entry(1, 2)], [1, 2]],
    [1, 1, [], [1, 2]],
  ])(
    "a follower with [1/2, 2/3] given entries after %i/%i ends with terms %j",
    (prevIndex, prevTerm, entries, terms) => {
      // init
      const solo = new Solo({ logTerms: [1, 2], term: 2 });
      // act
      solo.step(appendMessage({ from: "2", to: "1", term: 4 }, { prevIndex, prevTerm, entries }));
      // check: conflicts are cut off, matching entries (even from a stale append) are kept
      expect(solo.storedTerms()).toEqual(terms);
    },
  );
});

describe("§5.4.2 committing entries from previous terms (Figure 8)", () => {
  it("a leader does not commit an earlier term's entry by counting replicas, only with an entry of its own term", () => {
    // init: entry 2 is from term 2 and not committed; 1 becomes leader of term 3
    const solo = new Solo({ logTerms: [2], term: 2, config: basic });
    solo.becomeLeader();
    solo.drain();
    expect(solo.node.status()).toMatchObject({ term: 3, lastIndex: 3, commit: 1 });
    // act: a majority (1 and 2) holds entry 2
    solo.step(appendResponse({ from: "2", to: "1", term: 3 }, { index: 2 }));
    // check
    expect(solo.node.status().commit).toBe(1);
    // act: a majority holds the term-3 entry after it
    solo.step(appendResponse({ from: "2", to: "1", term: 3 }, { index: 3 }));
    // check: both commit together
    expect(solo.node.status().commit).toBe(3);
  });

  it("Figure 8: an entry replicated on a majority by an old leader can still be overwritten, so it was never committed", () => {
    // init (Figure 8 (c)): S1 led term 4 and replicated entry 2/3 (term 2) to S2 and S3; S5 has 3/3
    const logs: Record<string, number[]> = {
      "1": [2, 4],
      "2": [2],
      "3": [2],
      "4": [],
      "5": [3],
    };
    const storage = Object.fromEntries(
      Object.entries(logs).map(([id, terms]) => [
        id,
        soloStorage({ voters: ["1", "2", "3", "4", "5"], logTerms: [1, ...terms], term: 4 }),
      ]),
    );
    const network = new RaftNetwork({ ids: ["1", "2", "3", "4", "5"], storage, config: basic });
    // check: S1 never counted entry 3 as committed, so nothing past 2 is committed anywhere
    for (const id of network.ids) expect(network.node(id).status().commit).toBe(1);
    // act (d): S5 is elected with votes from S2, S3 and S4 (its last term 3 beats their 2), and overwrites
    network.partition(["1"], ["2", "3", "4", "5"]);
    network.elect("5");
    network.stabilize();
    // check: entry 3 of term 2 is gone from the majority that held it
    expect(network.storedEntries("2").map((e) => e.term)).toEqual([1, 3, 5]);
    expect(network.node("5").status().commit).toBe(4);
  });
});

describe("§5.3 leader brings divergent followers in line (Figure 7)", () => {
  // The leader's log of Figure 7 and followers (a) to (f); index 1 (term 1) is the bootstrap snapshot.
  const leaderLog = [1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 4],
    c: [1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 4, 4, 4, 4],
    f: [1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };

  it.each(Object.entries(followers))("follower (%s) ends with the leader's log", (_, followerLog) => {
    // init: 3 holds the leader's log too, so the leader wins even when (d) refuses its vote
    const storage = {
      "1": soloStorage({ logTerms: leaderLog, term: 7 }),
      "2": soloStorage({ logTerms: followerLog, term: 7 }),
      "3": soloStorage({ logTerms: leaderLog, term: 7 }),
    };
    const network = new RaftNetwork({ ids: ["1", "2", "3"], storage, config: basic });
    // act
    network.elect("1");
    network.stabilize();
    // check
    const expected = [...leaderLog, 8];
    expect(network.storedEntries("2").map((e) => e.term)).toEqual(expected);
    expect(network.node("2").status().commit).toBe(11);
  });
});

describe("flow control and batching", () => {
  it("many proposals between two Readies leave in one append per follower (and one write)", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    const readiesBefore = network.peer("1").readies.length;
    // act
    for (let i = 0; i < 100; i++) network.propose("1", `p${i}`);
    const sent = network.process("1");
    // check
    expect(network.peer("1").readies.length - readiesBefore).toBe(1);
    expect(network.peer("1").readies.at(-1)?.entries).toHaveLength(100);
    for (const to of ["2", "3"]) {
      const appends = appendsTo(sent, to);
      expect(appends).toHaveLength(1);
      expect(appends[0]?.entries).toHaveLength(100);
    }
    network.stabilize();
    for (const id of network.ids) expect(network.peer(id).state).toHaveLength(100);
  });

  it("no more than maxInflightMessages appends are in flight to one follower", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"], config: { maxInflightMessages: 2 } });
    network.elect("1");
    // act: five proposals, each in its own Ready, none acknowledged
    for (let i = 0; i < 5; i++) {
      network.propose("1", `p${i}`);
      network.process("1");
    }
    // check
    expect(appendsTo(network.pending, "2").map(describeAppend)).toEqual([
      "prev=2/2 entries=[2/3] commit=2",
      "prev=2/3 entries=[2/4] commit=2",
    ]);
    // act: acknowledgements open the window again
    network.stabilize();
    // check
    for (const id of network.ids) expect(network.peer(id).state).toEqual(["p0", "p1", "p2", "p3", "p4"]);
  });

  it("a lost append is sent again after the next heartbeat answer", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"], config: { maxInflightMessages: 1 } });
    network.elect("1");
    let dropped = false;
    network.drop((message) => {
      if (dropped || message.type !== "append" || message.to !== "2") return false;
      dropped = true;
      return true;
    });
    // act
    network.propose("1", "x");
    network.stabilize();
    expect(network.peer("2").state).toEqual([]);
    network.tick("1");
    network.stabilize();
    // check
    expect(network.peer("2").state).toEqual(["x"]);
  });

  it("an append carries at most maxMessageBytes of entry data (but at least one entry)", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2"], config: { maxMessageBytes: 10 } });
    network.elect("1");
    const appends: AppendMessage[] = [];
    network.onEvent = (event) => {
      if (event.kind === "send" && event.message.type === "append") appends.push(event.message);
    };
    // act
    for (const text of ["aaaa", "bbbb", "cccc", "dddd", "eeeeeeeeeeeeeeee", "ffff"]) network.propose("1", text);
    network.stabilize();
    // check
    const sizes = appends.filter((m) => m.entries.length > 0).map((m) => m.entries.map((e) => e.data.length).join("+"));
    expect(sizes).toEqual(["4+4", "4+4", "16", "4"]);
    expect(network.peer("2").state).toHaveLength(6);
  });

  it("proposals beyond maxUncommittedBytes are dropped until earlier ones commit", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], config: { maxUncommittedBytes: 10 } });
    network.elect("1");
    network.propose("1", "aaaa");
    network.propose("1", "bbbb");
    expect(() => network.propose("1", "cccc")).toThrow(ProposalDroppedError);
    network.stabilize();
    expect(network.propose("1", "cccc").index).toBe(5);
  });
});
