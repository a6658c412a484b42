// Proves leader election as the Raft paper (§5.1, §5.2, §5.4.1) and thesis (§4.2.3, §6.2, §9.6) describe it.
import { describe, expect, it } from "vitest";
import { PRE_VOTE_RETRY_TICKS, type RaftConfig } from "../../src/config.ts";
import { SeededRandom } from "../../src/prng.ts";
import { RaftNode } from "../../src/raft-node.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import { ConfChangeType, type Message } from "../../src/types.ts";
import { appendMessage, bootstrap, heartbeatMessage, RaftNetwork, Solo, voteRequest } from "../support/raft-network.ts";

const basic = { preVote: false, checkQuorum: false };
const summary = (messages: readonly Message[]): string[] =>
  messages.map((m) => `${m.from}->${m.to} ${m.type} term=${m.term}${"reject" in m && m.reject ? " reject" : ""}`);

describe("§5.1 terms", () => {
  it.each([
    ["follower", {}],
    ["preCandidate", {}],
    ["candidate", basic],
    ["leader", basic],
  ] as const)("a %s that sees a higher term adopts it and becomes a follower", (role, config) => {
    // init
    const solo = new Solo({ config });
    if (role === "preCandidate" || role === "candidate") {
      solo.node.campaign();
      solo.drain();
    }
    if (role === "leader") solo.becomeLeader();
    expect(solo.node.status().role).toBe(role);
    // act
    solo.step(appendMessage({ from: "2", to: "1", term: 5 }, { prevIndex: 1, prevTerm: 1 }));
    // check
    expect(solo.node.status()).toMatchObject({ role: "follower", term: 5, leaderId: "2" });
    expect(solo.storage.initialState().hardState.term).toBe(5);
  });

  it("a message with a stale term is not applied, and the stale sender learns the newer term", () => {
    // init
    const solo = new Solo({ term: 3 });
    // act
    const out = solo.step(
      appendMessage(
        { from: "2", to: "1", term: 2 },
        { prevIndex: 1, prevTerm: 1, entries: [{ term: 2, index: 2, type: 0, data: new Uint8Array() }], commit: 2 },
      ),
    );
    // check
    expect(solo.node.status()).toMatchObject({ term: 3, lastIndex: 1, commit: 1, leaderId: "" });
    expect(summary(out)).toEqual(["1->2 appendResponse term=3"]);
  });

  it("a vote request with a stale term is not granted", () => {
    const solo = new Solo({ term: 3 });
    const out = solo.step(voteRequest({ from: "2", to: "1", term: 2 }, { lastIndex: 9, lastTerm: 2 }));
    expect(out).toEqual([]);
    expect(solo.node.status()).toMatchObject({ term: 3, vote: "" });
  });
});

describe("§5.2 leader election", () => {
  it("a node starts as a follower, keeping its persisted term and vote", () => {
    const solo = new Solo({ term: 4, vote: "2", logTerms: [2, 4] });
    expect(solo.node.status()).toMatchObject({ role: "follower", term: 4, vote: "2", leaderId: "", lastIndex: 3 });
  });

  it("status counts the messages heard from a leader: heartbeats and appends do; ticks, votes and stale leaders do not", () => {
    // init: a follower of term 2
    const solo = new Solo({ term: 2, config: basic, electionTicks: 10 });
    expect(solo.node.status().leaderContacts).toBe(0);
    // act + check
    solo.step(heartbeatMessage({ from: "2", to: "1", term: 2 }));
    solo.step(appendMessage({ from: "2", to: "1", term: 2 }, { prevIndex: 1, prevTerm: 1, commit: 1 }));
    expect(solo.node.status()).toMatchObject({ leaderId: "2", leaderContacts: 2 });
    solo.tick(3);
    solo.step(voteRequest({ from: "3", to: "1", term: 3 }, { lastIndex: 1, lastTerm: 1 }));
    expect(solo.node.status().leaderContacts).toBe(2);
    // term 3 began with that vote request: the deposed leader's heartbeat is refused, not counted
    solo.step(heartbeatMessage({ from: "2", to: "1", term: 2 }));
    expect(solo.node.status().leaderContacts).toBe(2);
  });

  it("a leader sends heartbeats to every follower each heartbeat interval", () => {
    // init
    const solo = new Solo({ config: basic, heartbeatTicks: 2 });
    solo.becomeLeader();
    solo.drain();
    // act + check
    expect(solo.tick()).toEqual([]);
    const heartbeats = solo.tick();
    expect(summary(heartbeats)).toEqual(["1->2 heartbeat term=2", "1->3 heartbeat term=2"]);
    // A heartbeat carries min(match, commit): never a commit index the follower may not have.
    expect(heartbeats.map((m) => (m.type === "heartbeat" ? m.commit : -1))).toEqual([0, 0]);
  });

  it("a follower whose election timeout passes votes for itself and asks every voter", () => {
    // init: the timeout is exactly electionTicks with a fixed random offset of 0
    const solo = new Solo({ config: basic, electionTicks: 10 });
    // act
    expect(solo.tick(9)).toEqual([]);
    const requests = solo.tick();
    // check
    expect(requests).toEqual([
      voteRequest({ from: "1", to: "2", term: 2 }, { lastIndex: 1, lastTerm: 1 }),
      voteRequest({ from: "1", to: "3", term: 2 }, { lastIndex: 1, lastTerm: 1 }),
    ]);
    expect(solo.node.status()).toMatchObject({ role: "candidate", term: 2, vote: "1" });
    expect(solo.storage.initialState().hardState).toMatchObject({ term: 2, vote: "1" });
  });

  it("a candidate whose election times out starts a new election in a new term", () => {
    const solo = new Solo({ config: basic, electionTicks: 10 });
    solo.tick(10);
    const requests = solo.tick(10);
    expect(summary(requests)).toEqual(["1->2 vote term=3", "1->3 vote term=3"]);
    expect(solo.node.status()).toMatchObject({ role: "candidate", term: 3 });
  });

  it.each([
    [1, {}, "leader"],
    [3, { 2: true, 3: true }, "leader"],
    [3, { 2: true }, "leader"],
    [5, { 2: true, 3: true, 4: true, 5: true }, "leader"],
    [5, { 2: true, 3: true }, "leader"],
    [5, { 2: true }, "candidate"],
    [5, { 2: true, 3: false, 4: false }, "candidate"],
    [3, {}, "candidate"],
    [3, { 2: false, 3: false }, "follower"],
    [5, { 2: false, 3: false, 4: false }, "follower"],
  ] as const)("a candidate in a %i-voter cluster with votes %j ends up %s after one round", (size, votes, role) => {
    // init
    const voters = Array.from({ length: size }, (_, i) => String(i + 1));
    const solo = new Solo({ voters, config: basic });
    solo.node.campaign();
    solo.drain();
    // act
    for (const [from, granted] of Object.entries(votes)) {
      solo.step({ type: "voteResponse", from, to: "1", term: 2, reject: !granted });
    }
    // check
    expect(solo.node.status()).toMatchObject({ role, term: 2 });
  });

  it("a follower votes for at most one candidate per term", () => {
    // init
    const solo = new Solo({ config: basic });
    // act + check: the first candidate of the term gets the vote
    expect(summary(solo.step(voteRequest({ from: "2", to: "1", term: 2 }, { lastIndex: 1, lastTerm: 1 })))).toEqual([
      "1->2 voteResponse term=2",
    ]);
    expect(solo.storage.initialState().hardState).toMatchObject({ term: 2, vote: "2" });
    // another candidate of the same term does not
    expect(summary(solo.step(voteRequest({ from: "3", to: "1", term: 2 }, { lastIndex: 1, lastTerm: 1 })))).toEqual([
      "1->3 voteResponse term=2 reject",
    ]);
    // the same candidate asking again (a retry) gets the same answer
    expect(summary(solo.step(voteRequest({ from: "2", to: "1", term: 2 }, { lastIndex: 1, lastTerm: 1 })))).toEqual([
      "1->2 voteResponse term=2",
    ]);
    expect(solo.node.status().vote).toBe("2");
  });

  it("a vote survives a restart: the restarted follower still refuses another candidate of that term", () => {
    // init
    const solo = new Solo({ config: basic });
    solo.step(voteRequest({ from: "2", to: "1", term: 2 }, { lastIndex: 1, lastTerm: 1 }));
    // act
    const restarted = new RaftNode({
      id: "1",
      storage: solo.storage,
      random: new SeededRandom(1),
      electionTicks: 10,
      heartbeatTicks: 1,
      ...basic,
    });
    restarted.step(voteRequest({ from: "3", to: "1", term: 2 }, { lastIndex: 1, lastTerm: 1 }));
    // check
    expect(restarted.status()).toMatchObject({ role: "follower", term: 2, vote: "2" });
    expect(summary(restarted.ready().messages)).toEqual(["1->3 voteResponse term=2 reject"]);
  });

  it("a restarted node that may have acknowledged a leader waits an election timeout before voting", () => {
    // A node past the bootstrap term may have helped a leader hold its lease just before it stopped.
    const solo = new Solo({ term: 4, logTerms: [4] });
    expect(solo.step(voteRequest({ from: "2", to: "1", term: 5 }, { lastIndex: 9, lastTerm: 4 }))).toEqual([]);
    solo.tick(9);
    expect(solo.step(voteRequest({ from: "2", to: "1", term: 5 }, { lastIndex: 9, lastTerm: 4 }))).toEqual([]);
    solo.tick();
    expect(summary(solo.step(voteRequest({ from: "2", to: "1", term: 5 }, { lastIndex: 9, lastTerm: 4 })))).toEqual([
      "1->2 voteResponse term=5",
    ]);
  });

  it("a candidate that hears from a leader of its term becomes its follower", () => {
    const solo = new Solo({ config: basic });
    solo.node.campaign();
    solo.drain();
    solo.step(heartbeatMessage({ from: "3", to: "1", term: 2 }));
    expect(solo.node.status()).toMatchObject({ role: "follower", term: 2, leaderId: "3", vote: "1" });
  });

  it("election timeouts are randomized in [T, 2T), deterministically per seed", () => {
    const electionTicks = 10;
    const ticksToCampaign = (seed: number): number => {
      const storage = new MemoryStorage();
      bootstrap(storage, { voters: ["1", "2", "3"], learners: [] });
      const node = new RaftNode({
        id: "1",
        storage,
        random: new SeededRandom(seed),
        electionTicks,
        heartbeatTicks: 1,
        ...basic,
      });
      for (let tick = 1; tick <= 3 * electionTicks; tick++) {
        node.tick();
        if (node.status().role === "candidate") return tick;
      }
      return -1;
    };
    const timeouts = Array.from({ length: 200 }, (_, seed) => ticksToCampaign(seed));
    for (const timeout of timeouts) {
      expect(timeout).toBeGreaterThanOrEqual(electionTicks);
      expect(timeout).toBeLessThan(2 * electionTicks);
    }
    expect(new Set(timeouts).size).toBe(electionTicks);
    expect(Array.from({ length: 200 }, (_, seed) => ticksToCampaign(seed))).toEqual(timeouts);
  });
});

describe("§5.4.1 election restriction", () => {
  it.each([
    [1, 5, "reject"],
    [2, 2, "reject"],
    [2, 3, "grant"],
    [2, 4, "grant"],
    [3, 1, "grant"],
  ] as const)(
    "a voter whose log ends at 2/3 answers a candidate whose log ends at %i/%i: %s",
    (lastTerm, lastIndex, answer) => {
      // init: log ends at term 2, index 3
      const solo = new Solo({ logTerms: [2, 2], term: 2, config: basic });
      // act
      const out = solo.step(voteRequest({ from: "2", to: "1", term: 3 }, { lastIndex, lastTerm }));
      // check
      expect(summary(out)).toEqual([`1->2 voteResponse term=3${answer === "reject" ? " reject" : ""}`]);
      expect(solo.node.status().vote).toBe(answer === "grant" ? "2" : "");
    },
  );
});

describe("thesis §9.6 PreVote", () => {
  it("a partitioned node does not raise its term, and rejoins without disrupting the leader", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"], seed: 3 });
    network.elect("1");
    network.propose("1", "a");
    network.stabilize();
    // act: node 3 is cut off for many election timeouts
    network.isolate("3");
    network.tick("3", 100);
    // check: it kept asking for pre-votes, never for votes, and its term did not move
    expect(network.node("3").status()).toMatchObject({ role: "preCandidate", term: 2 });
    // act: heal; the next heartbeat brings it back
    network.heal();
    network.tick("1");
    network.stabilize();
    // check
    expect(network.node("1").status()).toMatchObject({ role: "leader", term: 2 });
    expect(network.node("3").status()).toMatchObject({ role: "follower", term: 2, leaderId: "1", commit: 3 });
  });

  it("without PreVote the same partition raises the node's term and deposes the leader when it rejoins", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], seed: 3, config: basic });
    network.elect("1");
    network.isolate("3");
    network.tick("3", 100);
    const isolatedTerm = network.node("3").status().term;
    expect(isolatedTerm).toBeGreaterThan(4);
    network.heal();
    network.tickAll(40);
    expect(network.node("1").status().term).toBeGreaterThanOrEqual(isolatedTerm);
  });

  it("a pre-vote does not change the voter's term or vote", () => {
    const solo = new Solo({ term: 2, vote: "1", config: { checkQuorum: false } });
    const out = solo.step(voteRequest({ from: "2", to: "1", term: 3 }, { lastIndex: 1, lastTerm: 1, preVote: true }));
    expect(summary(out)).toEqual(["1->2 preVoteResponse term=3"]);
    expect(solo.node.status()).toMatchObject({ term: 2, vote: "1" });
    expect(solo.storage.initialState().hardState).toMatchObject({ term: 2, vote: "1" });
  });

  it("a pre-candidate that wins the pre-vote campaigns for real in the next term", () => {
    const solo = new Solo({ config: { checkQuorum: false } });
    solo.node.campaign();
    expect(summary(solo.drain())).toEqual(["1->2 preVote term=2", "1->3 preVote term=2"]);
    expect(solo.node.status()).toMatchObject({ role: "preCandidate", term: 1 });
    const out = solo.step({ type: "preVoteResponse", from: "2", to: "1", term: 2, reject: false });
    expect(summary(out)).toEqual(["1->2 vote term=2", "1->3 vote term=2"]);
    expect(solo.node.status()).toMatchObject({ role: "candidate", term: 2, vote: "1" });
  });
});

describe("a pre-vote ignored at the lease's bound", () => {
  /**
   * The leader dies; node 2's timer fires while node 3, whose ticks run at another phase, has
   * counted one tick less since that leader and ignores the pre-vote (its lease rule). Returns the
   * network with node 2 a pre-candidate that got no answer.
   */
  function firstRoundIgnored(): RaftNetwork {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], electionTicks: 10, seed: 5 });
    network.elect("1");
    network.stabilize();
    network.isolate("1");
    for (let tick = 0; tick < 20 && network.node("2").status().role !== "preCandidate"; tick++) network.tick("2");
    expect(network.node("2").status().role).toBe("preCandidate");
    network.tick("3", 8); // still within electionTicks of the leader's last heartbeat
    network.stabilize();
    expect(network.node("2").status()).toMatchObject({ role: "preCandidate", term: 2 });
    return network;
  }

  it(`asks again PRE_VOTE_RETRY_TICKS (${PRE_VOTE_RETRY_TICKS}) ticks later, not a whole election timeout later`, () => {
    const network = firstRoundIgnored();
    network.tick("3", 2); // node 3's own count reaches electionTicks: it may vote now
    network.tick("2", PRE_VOTE_RETRY_TICKS);
    network.stabilize();
    expect(network.node("2").status()).toMatchObject({ role: "leader", term: 3 });
    expect(network.node("3").status()).toMatchObject({ role: "follower", term: 3, leaderId: "2" });
  });

  it("asks again quickly only once until it hears a leader again", () => {
    const network = firstRoundIgnored();
    network.tick("2", PRE_VOTE_RETRY_TICKS); // the quick retry, ignored too (node 3 is still short)
    network.stabilize();
    network.tick("3", 2);
    // The next round waits a whole randomized election timeout (at least electionTicks).
    network.tick("2", 10 - 1);
    network.stabilize();
    expect(network.node("2").status()).toMatchObject({ role: "preCandidate", term: 2 });
    network.tick("2", 10);
    network.stabilize();
    expect(network.node("2").status()).toMatchObject({ role: "leader", term: 3 });
  });
});

describe("two pre-candidates at once", () => {
  /**
   * Leader 1 of five voters is gone. Nodes 2 and 3 ask for pre-votes before either has heard the
   * other's request; nodes 4 and 5 are past the lease and grant pre-votes. Every election timeout
   * is 19 ticks, so no other timer fires meanwhile.
   */
  function twoRoundsInFlight(): RaftNetwork {
    const network = new RaftNetwork({ ids: ["1", "2", "3", "4", "5"], electionTicks: 10, randomOffset: 9 });
    network.elect("1");
    network.stabilize();
    network.isolate("1");
    network.tick("4", 10);
    network.tick("5", 10);
    for (const id of ["3", "2"]) {
      for (let tick = 0; tick < 20 && network.node(id).status().role !== "preCandidate"; tick++) network.tick(id);
      expect(network.node(id).status()).toMatchObject({ role: "preCandidate", term: 2 });
    }
    return network;
  }

  it("the larger id yields: only the smaller stands, so the votes cannot split", () => {
    const network = twoRoundsInFlight();
    network.stabilize();
    expect(network.node("2").status()).toMatchObject({ role: "leader", term: 3 });
    // Node 3 never stood in term 3: its one vote of that term went to node 2.
    expect(network.node("3").status()).toMatchObject({ role: "follower", term: 3, leaderId: "2", vote: "2" });
  });

  it("the one that yielded stands on its own timer when the other does not win", () => {
    const network = twoRoundsInFlight();
    for (const message of network.take((m) => m.from === "2" && m.to === "3")) network.deliver(message);
    expect(network.node("3").status()).toMatchObject({ role: "follower", term: 2 });
    network.isolate("2"); // node 2 dies before its round ends
    network.stabilize(); // node 3's own grants arrive after it stopped its round: they count for nothing
    expect(network.node("3").status()).toMatchObject({ role: "follower", term: 2 });
    // A whole randomized timeout (19 ticks here) after it yielded, it asks again, and wins.
    network.tick("3", 18);
    network.stabilize();
    expect(network.node("3").status()).toMatchObject({ role: "follower", term: 2 });
    network.tick("3", 1);
    network.stabilize();
    expect(network.node("3").status()).toMatchObject({ role: "leader", term: 3 });
  });
});

describe("thesis §6.2 CheckQuorum", () => {
  it("a leader that has not heard from a quorum for an election timeout steps down", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"], electionTicks: 10 });
    network.elect("1");
    // act
    network.isolate("1");
    network.tick("1", 20);
    // check
    expect(network.node("1").status()).toMatchObject({ role: "follower", term: 2, leaderId: "" });
  });

  it("a leader that hears from a quorum stays leader", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], electionTicks: 10, randomOffset: 9 });
    network.elect("1");
    network.isolate("3");
    for (let i = 0; i < 50; i++) {
      network.tick("1");
      network.tick("2");
      network.stabilize();
    }
    expect(network.node("1").status()).toMatchObject({ role: "leader", term: 2 });
  });
});

/** Voters 1, 2, 3 (1 elected) and learner 4, with exact election timeouts. */
function threeVotersAndALearner(config: Partial<RaftConfig> = {}): RaftNetwork {
  const network = new RaftNetwork({
    ids: ["1", "2", "3", "4"],
    voters: ["1", "2", "3"],
    learners: ["4"],
    electionTicks: 10,
    randomOffset: 9,
    config,
  });
  network.elect("1");
  return network;
}

describe("follower activity in status (what the autopilot and transfers read)", () => {
  it("a follower heard in the last CheckQuorum round stays active right after the next round starts", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], electionTicks: 10, randomOffset: 9 });
    network.elect("1");
    // A round ends on the leader's tick; nothing is delivered after it yet.
    network.tick("1", 10);
    expect(network.node("1").status()).toMatchObject({ role: "leader" });
    const progress = network.node("1").status().progress;
    expect([progress["2"]?.recentActive, progress["3"]?.recentActive]).toEqual([true, true]);
  });

  it("a silent follower or learner is inactive after two rounds; one that answers is active", () => {
    const network = threeVotersAndALearner();
    network.isolate("3");
    network.isolate("4");
    for (let i = 0; i < 20; i++) {
      network.tick("1");
      network.tick("2");
      network.stabilize();
    }
    const progress = network.node("1").status().progress;
    expect(progress["2"]?.recentActive).toBe(true);
    expect(progress["3"]?.recentActive).toBe(false);
    expect(progress["4"]).toMatchObject({ isLearner: true, recentActive: false });
  });
});

describe("learner heartbeats", () => {
  it("learners get every n-th heartbeat round, voters every one; a promoted learner gets every one", () => {
    const network = threeVotersAndALearner({ learnerHeartbeatRounds: 3 });
    const heartbeatsIn = (rounds: number): Record<string, number> => {
      const counts: Record<string, number> = { "2": 0, "3": 0, "4": 0 };
      for (let round = 0; round < rounds; round++) {
        network.tick("1");
        const heartbeats = network.take((message) => message.type === "heartbeat");
        for (const message of heartbeats) {
          counts[message.to] = (counts[message.to] ?? 0) + 1;
          network.deliver(message);
        }
        network.stabilize();
      }
      return counts;
    };
    expect(heartbeatsIn(6)).toEqual({ "2": 6, "3": 6, "4": 2 });
    expect(network.node("1").status().progress["4"]?.recentActive).toBe(true);

    network.node("1").proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: "4" });
    network.stabilize();
    expect(network.node("1").status().confState.voters).toContain("4");
    expect(heartbeatsIn(6)).toEqual({ "2": 6, "3": 6, "4": 6 });
  });
});

describe("thesis §4.2.3 disruptive servers", () => {
  it("a follower that heard from its leader within an election timeout ignores vote requests", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    // act
    network.node("2").step(voteRequest({ from: "3", to: "2", term: 3 }, { lastIndex: 99, lastTerm: 2 }));
    // check
    expect(network.process("2")).toEqual([]);
    expect(network.node("2").status()).toMatchObject({ term: 2, vote: "1", leaderId: "1" });
  });

  it("a forced vote request (leadership transfer) is answered even so", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    network.node("2").step(voteRequest({ from: "3", to: "2", term: 3 }, { lastIndex: 99, lastTerm: 2, force: true }));
    expect(summary(network.process("2"))).toEqual(["2->3 voteResponse term=3"]);
    expect(network.node("2").status()).toMatchObject({ term: 3, vote: "3" });
  });

  it("once an election timeout passes without the leader, the follower votes again", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], electionTicks: 10 });
    network.elect("1");
    network.isolate("1");
    network.tick("2", 10);
    network.node("2").step(voteRequest({ from: "3", to: "2", term: 3 }, { lastIndex: 99, lastTerm: 2 }));
    expect(summary(network.process("2"))).toEqual(["2->3 voteResponse term=3"]);
  });
});

describe("noCampaign (drained nodes and witnesses)", () => {
  it("votes but never stands for election, not even when asked to take over", () => {
    // init
    const network = new RaftNetwork({ ids: ["1", "2", "3"], perNode: { "3": { noCampaign: true } } });
    network.elect("1");
    // act: lose the leader; only 2 and 3 remain
    network.isolate("1");
    const sentBy3: Message[] = [];
    for (let i = 0; i < 60 && network.node("2").status().role !== "leader"; i++) {
      network.tick("3");
      sentBy3.push(...network.pending.filter((m) => m.from === "3"));
      network.tick("2");
      network.stabilize();
    }
    // check: 2 won with 3's vote; 3 never asked for one
    expect(network.node("2").status()).toMatchObject({ role: "leader" });
    expect(network.node("3").status()).toMatchObject({ role: "follower", vote: "2", noCampaign: true });
    expect(sentBy3.filter((m) => m.type === "vote" || m.type === "preVote")).toEqual([]);
    network.node("3").campaign();
    expect(network.process("3")).toEqual([]);
    network.node("3").step({ type: "timeoutNow", from: "2", to: "3", term: network.node("2").status().term });
    expect(network.process("3")).toEqual([]);
    expect(network.node("3").status().role).toBe("follower");
  });

  it("setNoCampaign(false) lets it stand again", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], perNode: { "1": { noCampaign: true } } });
    network.node("1").campaign();
    network.stabilize();
    expect(network.leaders()).toEqual([]);
    network.node("1").setNoCampaign(false);
    network.elect("1");
  });
});
