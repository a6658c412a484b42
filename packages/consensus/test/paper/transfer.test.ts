// Proves leadership transfer as the Raft thesis (§3.10) describes: catch the target up, TimeoutNow, abort after an election timeout.
import { describe, expect, it } from "vitest";
import { InvalidTransferError, NotLeaderError, TransferInProgressError } from "../../src/errors.ts";
import { ConfChangeType } from "../../src/types.ts";
import { describeMessage, RaftNetwork } from "../support/raft-network.ts";

function cluster(): RaftNetwork {
  const network = new RaftNetwork({ ids: ["1", "2", "3"], electionTicks: 10, randomOffset: 5 });
  network.elect("1");
  return network;
}

describe("§3.10 leadership transfer", () => {
  it("to an up-to-date follower: TimeoutNow at once, and the target wins the next term", () => {
    // init
    const network = cluster();
    // act
    network.node("1").transferLeadership("2");
    // check
    expect(network.process("1").map(describeMessage)).toEqual(["1->2 timeoutNow term=2"]);
    network.stabilize();
    expect(network.node("2").status()).toMatchObject({ role: "leader", term: 3 });
    expect(network.node("1").status()).toMatchObject({ role: "follower", term: 3, leaderId: "2" });
    expect(network.node("3").status()).toMatchObject({ role: "follower", term: 3, leaderId: "2" });
  });

  it("the target's vote requests are forced past the followers' leader stickiness", () => {
    const network = cluster();
    network.node("1").transferLeadership("3");
    network.process("1");
    network.deliverRound();
    const requests = network.process("3").map(describeMessage);
    expect(requests).toEqual(["3->1 vote term=3 last=2/2 force", "3->2 vote term=3 last=2/2 force"]);
  });

  it("to a lagging follower: the leader catches it up first, then sends TimeoutNow", () => {
    // init: 3 misses two entries
    const network = cluster();
    network.isolate("3");
    network.propose("1", "a");
    network.propose("1", "b");
    network.stabilize();
    network.heal();
    // act
    network.node("1").transferLeadership("3");
    const first = network.process("1").map(describeMessage);
    // check: no TimeoutNow before 3 has the whole log, and no new proposals meanwhile
    expect(first.some((line) => line.includes("timeoutNow"))).toBe(false);
    expect(() => network.propose("1", "c")).toThrow(TransferInProgressError);
    network.stabilize();
    expect(network.node("3").status()).toMatchObject({ role: "leader", term: 3 });
    expect(network.peer("3").state).toEqual(["a", "b"]);
  });

  it("is aborted after an election timeout when the target does not catch up; the leader stays", () => {
    // init: 3 is cut off and lags behind
    const network = cluster();
    network.isolate("3");
    network.propose("1", "a");
    network.stabilize();
    // act
    network.node("1").transferLeadership("3");
    network.process("1");
    expect(network.node("1").status().leadTransferee).toBe("3");
    for (let i = 0; i < 10; i++) {
      network.tick("1");
      network.stabilize();
    }
    // check
    expect(network.node("1").status()).toMatchObject({ role: "leader", term: 2, leadTransferee: "" });
    expect(network.propose("1", "after").index).toBe(4);
  });

  it("steps the leader down when TimeoutNow went out but no election followed within a timeout", () => {
    // init: the TimeoutNow is lost
    const network = cluster();
    network.drop((message) => message.type === "timeoutNow");
    // act
    network.node("1").transferLeadership("2");
    network.process("1");
    // check: its lease is void at once (2 may already be campaigning with forced votes)
    expect(network.node("1").hasLease()).toBe(false);
    for (let i = 0; i < 10; i++) {
      network.tick("1");
      network.stabilize();
    }
    expect(network.node("1").status()).toMatchObject({ role: "follower", term: 2, leadTransferee: "" });
  });

  it("refuses a target that is not a voter, ignores itself as target, and needs a leader", () => {
    const network = cluster();
    network.addPeer("4");
    network.node("1").proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: "4" });
    network.stabilize();
    expect(() => network.node("1").transferLeadership("4")).toThrow(InvalidTransferError);
    expect(() => network.node("1").transferLeadership("9")).toThrow("9 is not a voter; only voters can become leader");
    network.node("1").transferLeadership("1");
    expect(network.node("1").status().leadTransferee).toBe("");
    expect(() => network.node("2").transferLeadership("3")).toThrow(NotLeaderError);
  });
});
