// Proves ReadIndex (thesis §6.4) and the leader lease (§6.4.1): when reads are confirmed, and that a lease never overlaps another leader.
import { describe, expect, it } from "vitest";
import { NotLeaderError } from "../../src/errors.ts";
import type { Message } from "../../src/types.ts";
import {
  appendResponse,
  describeMessage,
  heartbeatMessage,
  RaftNetwork,
  Solo,
  voteRequest,
} from "../support/raft-network.ts";

const basic = { preVote: false, checkQuorum: false };
const heartbeatResponse = (from: string, term: number, readRound: number, leaseTick = 0): Message => ({
  type: "heartbeatResponse",
  from,
  to: "1",
  term,
  leaseTick,
  readRound,
});

describe("thesis §6.4 ReadIndex", () => {
  it("waits until the new leader has committed an entry of its own term", () => {
    // init: 1 leads term 3 and does not yet know whether entry 2 (term 2) is committed
    const solo = new Solo({ logTerms: [2], term: 2, config: basic });
    solo.becomeLeader();
    solo.drain();
    // act
    solo.node.readIndex("r1");
    // check: no heartbeat round yet
    expect(solo.drain()).toEqual([]);
    // act: the no-op commits
    const out = solo.step(appendResponse({ from: "2", to: "1", term: 3 }, { index: 3 }));
    // check: now the confirming round goes out, recording commit 3
    expect(out.filter((m) => m.type === "heartbeat").map(describeMessage)).toEqual([
      "1->2 heartbeat term=3 commit=3 read-round=1",
      "1->3 heartbeat term=3 commit=0 read-round=1",
    ]);
    solo.step(heartbeatResponse("3", 3, 1));
    expect(solo.readStates).toEqual([{ requestId: "r1", index: 3 }]);
  });

  it("is confirmed by a quorum acknowledging its heartbeat round, not by earlier rounds", () => {
    // init
    const solo = new Solo({ config: basic });
    solo.becomeLeader();
    solo.step(appendResponse({ from: "2", to: "1", term: 2 }, { index: 2 }));
    // act
    solo.node.readIndex("r1");
    expect(solo.drain().map(describeMessage)).toEqual([
      "1->2 heartbeat term=2 commit=2 read-round=1",
      "1->3 heartbeat term=2 commit=0 read-round=1",
    ]);
    // check: an ordinary heartbeat's answer does not confirm it
    solo.step(heartbeatResponse("2", 2, 0));
    expect(solo.readStates).toEqual([]);
    // check: the round's answer from one follower makes a quorum with the leader
    solo.step(heartbeatResponse("2", 2, 1));
    expect(solo.readStates).toEqual([{ requestId: "r1", index: 2 }]);
    // a second answer confirms nothing twice
    solo.step(heartbeatResponse("3", 2, 1));
    expect(solo.readStates).toHaveLength(1);
  });

  it("a leader cut off from the majority never confirms a read", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    network.isolate("1");
    network.node("1").readIndex("stale?");
    for (let i = 0; i < 30; i++) network.tick("1");
    expect(network.peer("1").readStates).toEqual([]);
  });

  it("a single voter confirms at once; a follower refuses, naming the leader", () => {
    const alone = new RaftNetwork({ ids: ["1"] });
    alone.elect("1");
    alone.node("1").readIndex("r");
    alone.process("1");
    expect(alone.peer("1").readStates).toEqual([{ requestId: "r", index: 2 }]);
    const network = new RaftNetwork({ ids: ["1", "2", "3"] });
    network.elect("1");
    expect(() => network.node("2").readIndex("r")).toThrow(NotLeaderError);
  });
});

describe("thesis §6.4.1 leader lease", () => {
  it("holds only while a quorum acknowledged a message sent within leaseTicks", () => {
    // init: electionTicks 10, so leaseTicks defaults to 8
    const solo = new Solo();
    solo.becomeLeader();
    solo.drain();
    // check: a new leader has no lease until followers answer
    expect(solo.node.hasLease()).toBe(false);
    // act: 2 acknowledges a heartbeat sent at tick 1
    solo.tick();
    solo.step(heartbeatResponse("2", 2, 0, 1));
    // check: the lease runs from the send tick: ticks 1 to 8
    expect(solo.node.status()).toMatchObject({ hasLease: true, leaseTicksLeft: 8 });
    solo.tick(7);
    expect(solo.node.status()).toMatchObject({ hasLease: true, leaseTicksLeft: 1 });
    solo.tick();
    expect(solo.node.hasLease()).toBe(false);
  });

  it("starts with the voters' answers to a heartbeat sent on election, before any follower made the no-op durable", () => {
    const solo = new Solo({ voters: ["1", "2", "3"], learners: ["4"] });
    // check: a heartbeat to each voter (not the learner) goes out with the no-op's appends
    const out = solo.becomeLeader().map(describeMessage);
    expect(out.filter((line) => line.includes("heartbeat"))).toEqual([
      "1->2 heartbeat term=2 commit=0",
      "1->3 heartbeat term=2 commit=0",
    ]);
    expect(out.filter((line) => line.includes(" append "))).toHaveLength(3);
    expect(solo.node.hasLease()).toBe(false);
    // act: 2 answers the heartbeat (its append's answer waits for its fsync)
    solo.step(heartbeatResponse("2", 2, 0, 0));
    // check: leader and 2 are a quorum of three voters
    expect(solo.node.hasLease()).toBe(true);
  });

  it("is not granted by a learner's acknowledgement", () => {
    const solo = new Solo({ voters: ["1", "2", "3"], learners: ["4"] });
    solo.becomeLeader();
    solo.step(heartbeatResponse("4", 2, 0, 0));
    expect(solo.node.hasLease()).toBe(false);
  });

  it("is never held without CheckQuorum, since followers then vote at any time", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], config: { checkQuorum: false } });
    network.elect("1");
    network.tickAll(3);
    expect(network.node("1").hasLease()).toBe(false);
  });

  it("is lost as soon as TimeoutNow goes out for a transfer", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], randomOffset: 5 });
    network.elect("1");
    expect(network.node("1").hasLease()).toBe(true);
    network.node("1").transferLeadership("2");
    expect(network.node("1").status()).toMatchObject({ role: "leader", hasLease: false });
    expect(network.process("1").map(describeMessage)).toEqual(["1->2 timeoutNow term=2"]);
  });

  it("is lost by an isolated leader before CheckQuorum deposes it", () => {
    const network = new RaftNetwork({ ids: ["1", "2", "3"], randomOffset: 5 });
    network.elect("1");
    network.tickAll();
    network.isolate("1");
    network.tick("1", 7);
    expect(network.node("1").status()).toMatchObject({ role: "leader", hasLease: true });
    network.tick("1");
    expect(network.node("1").status()).toMatchObject({ role: "leader", hasLease: false });
  });

  it("a follower whose term another message raised still refuses votes within the lease", () => {
    // Regression (found by lease-fuzz seed 18045): a rejected pre-vote's answer from a
    // candidate of a higher term raised a follower's term and cleared its leader, and the
    // follower then voted for that candidate while its old leader still held the lease.
    // init: 1 follows leader 3 of term 8, heard from it just now
    const solo = new Solo({ term: 7, logTerms: [6, 6] });
    solo.step(heartbeatMessage({ from: "3", to: "1", term: 8 }));
    expect(solo.node.status()).toMatchObject({ term: 8, leaderId: "3" });
    // act: 2, a candidate of term 9, rejects an old pre-vote of 1's, then asks for 1's vote
    solo.step({ type: "preVoteResponse", from: "2", to: "1", term: 9, reject: true });
    expect(solo.node.status()).toMatchObject({ term: 9, leaderId: "" });
    const out = solo.step(voteRequest({ from: "2", to: "1", term: 9 }, { lastIndex: 3, lastTerm: 6 }));
    // check
    expect(out.map(describeMessage)).toEqual(["1->2 voteResponse term=9 reject"]);
    expect(solo.node.status().vote).toBe("");
    // An election timeout later (3 has gone quiet), the vote is granted.
    solo.tick(10);
    const later = solo.step(voteRequest({ from: "2", to: "1", term: 9 }, { lastIndex: 3, lastTerm: 6 }));
    expect(later.map(describeMessage)).toEqual(["1->2 voteResponse term=9"]);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    "never overlaps with another leader when the leader is cut off (seed %i)",
    (seed) => {
      // init
      const network = new RaftNetwork({ ids: ["1", "2", "3"], seed });
      network.elect("1");
      network.tickAll(5);
      // act: the leader is cut off; everyone keeps ticking in step
      network.isolate("1");
      let newLeader: string | undefined;
      for (let tick = 0; tick < 100 && !newLeader; tick++) {
        for (const id of network.ids) {
          network.tick(id);
          network.stabilize();
          newLeader = network.leaders().find((leader) => leader !== "1");
          // check, after every single tick
          if (newLeader) expect(network.node("1").hasLease()).toBe(false);
        }
      }
      expect(newLeader).toBeDefined();
    },
  );

  it("never overlaps with a leader elected by a manual campaign of a follower inside the lease", () => {
    // init: 3 stopped hearing from 1, 2 still hears from it, so 1 keeps its lease through 2
    const network = new RaftNetwork({ ids: ["1", "2", "3"], randomOffset: 9 });
    network.elect("1");
    network.cutLink("1", "3");
    network.cutLink("3", "1");
    for (let i = 0; i < 12; i++) network.tickAll();
    expect(network.node("1").hasLease()).toBe(true);
    // act: an operator asks 2 to campaign; deliver one message at a time
    network.node("2").campaign();
    network.process("2");
    for (let i = 0; i < 100 && network.pending.length > 0; i++) {
      const [message] = network.take((m) => m === network.pending[0]);
      network.deliver(message as Message);
      // check: while 1 holds its lease, nobody else leads
      if (network.node("1").hasLease()) expect(network.leaders()).toEqual(["1"]);
    }
    expect(network.leaders()).toEqual(["1"]);
  });
});
