// Proves membership changes one server at a time (thesis §4.1, §4.2.2) and learners (thesis §4.2.1): who votes, who counts, who leads.
import { describe, expect, it } from "vitest";
import { ConfChangePendingError, InvalidConfChangeError } from "../../src/errors.ts";
import { type ConfChange, ConfChangeType, type Message } from "../../src/types.ts";
import { appendResponse, RaftNetwork, Solo } from "../support/raft-network.ts";

const basic = { preVote: false, checkQuorum: false };
const addVoter = (nodeId: string): ConfChange => ({ type: ConfChangeType.AddVoter, nodeId });
const addLearner = (nodeId: string): ConfChange => ({ type: ConfChangeType.AddLearner, nodeId });
const remove = (nodeId: string): ConfChange => ({ type: ConfChangeType.RemoveNode, nodeId });

/** Ticks every node one at a time until some node other than `except` leads. */
function electSomeone(network: RaftNetwork, except: string): string {
  for (let i = 0; i < 200; i++) {
    const leader = network.leaders().find((id) => id !== except);
    if (leader) return leader;
    network.tickAll();
  }
  throw new Error("no leader elected");
}

describe("learners", () => {
  it("receive the log but do not count towards commitment", () => {
    // init: voters 1 and 2, learner 3
    const network = new RaftNetwork({ ids: ["1", "2", "3"], voters: ["1", "2"], learners: ["3"] });
    network.elect("1");
    // act: the other voter is unreachable; only the learner acknowledges
    network.isolate("2");
    network.propose("1", "x");
    network.stabilize();
    // check
    expect(network.node("3").status()).toMatchObject({ lastIndex: 3, role: "follower" });
    expect(network.node("1").status().commit).toBe(2);
    expect(network.node("1").status().progress["3"]).toMatchObject({ match: 3, isLearner: true });
  });

  it("are not asked for votes, and their votes do not count", () => {
    const solo = new Solo({ voters: ["1", "2", "3"], learners: ["4"], config: basic });
    solo.node.campaign();
    expect(solo.drain().map((m) => m.to)).toEqual(["2", "3"]);
    solo.step({ type: "voteResponse", from: "4", to: "1", term: 2, reject: false });
    expect(solo.node.status().role).toBe("candidate");
    solo.step({ type: "voteResponse", from: "2", to: "1", term: 2, reject: false });
    expect(solo.node.status().role).toBe("leader");
  });

  it("never campaign, on a timeout or when asked", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], voters: ["1", "2"], learners: ["3"] });
    network.elect("1");
    network.isolate("1");
    const sent: Message[] = [];
    network.onEvent = (event) => {
      if (event.kind === "send" && event.message.from === "3") sent.push(event.message);
    };
    network.tick("3", 100);
    network.node("3").campaign();
    network.process("3");
    expect(sent).toEqual([]);
    expect(network.node("3").status().role).toBe("follower");
  });

  it("is added, catches up, and is promoted to voter", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    network.propose("1", "a");
    network.stabilize();
    network.addPeer("4");
    // act: add as learner
    network.node("1").proposeConfChange(addLearner("4"));
    network.stabilize();
    // check: it caught up (via the bootstrap snapshot, then the log) and is a learner everywhere
    expect(network.peer("4").state).toEqual(["a"]);
    for (const id of network.ids) {
      expect(network.node(id).status().confState).toEqual({ voters: ["1", "2", "3"], learners: ["4"] });
    }
    // act: promote
    network.node("1").proposeConfChange(addVoter("4"));
    network.stabilize();
    // check
    for (const id of network.ids) {
      expect(network.node(id).status().confState).toEqual({ voters: ["1", "2", "3", "4"], learners: [] });
    }
    expect(network.node("1").status().progress["4"]).toMatchObject({ isLearner: false });
    // act + check: with 4 voters, 3 acknowledgements are needed to commit
    network.isolate("3");
    network.isolate("4");
    network.propose("1", "b");
    network.stabilize();
    expect(network.node("1").status().commit).toBe(network.node("1").status().lastIndex - 1);
  });
});

describe("§4.1 membership changes, one server at a time", () => {
  it("adds a voter to a running cluster", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    network.addPeer("4");
    network.node("1").proposeConfChange(addVoter("4"));
    network.stabilize();
    for (const id of network.ids) {
      expect(network.node(id).status().confState.voters).toEqual(["1", "2", "3", "4"]);
      expect(network.node(id).status().commit).toBe(3);
    }
  });

  it("refuses a second change while the first is not applied", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    // act
    const first = network.node("1").proposeConfChange(addLearner("4"));
    // check
    expect(() => network.node("1").proposeConfChange(addLearner("5"))).toThrow(ConfChangePendingError);
    expect(() => network.node("1").proposeConfChange(addLearner("5"))).toThrow(
      `a membership change (log index ${first.index}) is still pending; one change at a time`,
    );
    // act: once applied, the next change is accepted
    network.stabilize();
    expect(network.node("1").proposeConfChange(addLearner("5")).index).toBe(first.index + 1);
  });

  it("a new leader refuses changes until an entry of its own term is committed and applied", () => {
    // init: entry 2 (term 2) is not known to be committed when 1 becomes leader of term 3
    const solo = new Solo({ logTerms: [2], term: 2, config: basic });
    solo.becomeLeader();
    solo.drain();
    // check
    expect(() => solo.node.proposeConfChange(addLearner("4"))).toThrow(ConfChangePendingError);
    // act: the term-3 no-op commits (and entry 2 with it) and is applied
    solo.step(appendResponse({ from: "2", to: "1", term: 3 }, { index: 3 }));
    // check
    expect(solo.node.status()).toMatchObject({ commit: 3, applied: 3 });
    expect(solo.node.proposeConfChange(addLearner("4")).index).toBe(4);
  });

  it("a new leader of a fresh cluster also waits for its no-op", () => {
    // The rule of thesis §4.1 (Ongaro's 2015 fix): no change before an entry of the current term is committed.
    const solo = new Solo({ config: basic });
    solo.becomeLeader();
    solo.drain();
    expect(() => solo.node.proposeConfChange(addLearner("4"))).toThrow(ConfChangePendingError);
    solo.step(appendResponse({ from: "2", to: "1", term: 2 }, { index: 2 }));
    expect(solo.node.proposeConfChange(addLearner("4")).index).toBe(3);
  });

  it("refuses an invalid change up front", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    expect(() => network.node("1").proposeConfChange(addVoter("2"))).toThrow(InvalidConfChangeError);
    expect(() => network.node("1").proposeConfChange(remove("9"))).toThrow("9 is not a member");
  });

  it("removes a follower: the remaining voters commit on their own", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    network.node("1").proposeConfChange(remove("3"));
    network.stabilize();
    expect(network.node("1").status().confState.voters).toEqual(["1", "2"]);
    expect(network.node("1").status().progress["3"]).toBeUndefined();
    network.isolate("3");
    network.propose("1", "x");
    network.stabilize();
    expect(network.peer("2").state).toEqual(["x"]);
  });

  it("removing the leader makes it step down, and the others elect a leader among themselves", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"], seed: 7 });
    network.elect("1");
    // act
    network.node("1").proposeConfChange(remove("1"));
    network.stabilize();
    // check
    expect(network.node("1").status()).toMatchObject({ role: "follower", leaderId: "" });
    for (const id of ["2", "3"]) expect(network.node(id).status().confState.voters).toEqual(["2", "3"]);
    const leader = electSomeone(network, "1");
    expect(["2", "3"]).toContain(leader);
    expect(network.node("1").status().role).toBe("follower");
    // 1 is no member now: it never campaigns again
    network.isolate(leader);
    const sentBy1: Message[] = [];
    network.onEvent = (event) => {
      if (event.kind === "send" && event.message.from === "1") sentBy1.push(event.message);
    };
    network.tick("1", 100);
    expect(sentBy1).toEqual([]);
  });
});
