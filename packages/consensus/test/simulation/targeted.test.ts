// Proves, on fixed deterministic scenarios, PreVote rejoin, lease exclusivity under leader isolation, one election per failover with slow messages, transfer to a lagging follower, snapshot install to a new learner, and replays regression seeds.
import { describe, expect, it } from "vitest";
import { TransferInProgressError } from "../../src/errors.ts";
import { ConfChangeType, type NodeId } from "../../src/types.ts";
import { ClusterSimulator, ROUNDS_PER_TICK, SHAPES } from "./cluster-simulator.ts";
import { runSeed } from "./random-run.ts";
import type { SimulatedNode } from "./simulated-node.ts";
import { encodeProposal } from "./tiny-state-machine.ts";

const WITNESS = SHAPES[0]!;
const THREE = SHAPES[1]!;
const FIVE = SHAPES[2]!;
/** Generous bounds in ticks (electionTicks is 10). */
const ELECTION_LIMIT_TICKS = 100;
const CATCH_UP_LIMIT_TICKS = 200;

function electLeader(simulator: ClusterSimulator, id: NodeId): SimulatedNode {
  const node = simulator.node(id);
  simulator.guard(() => {
    node.raft.campaign();
    node.processReady();
    simulator.afterStep();
  });
  simulator.runUntil(
    () => node.status().role === "leader" && node.status().hasLease,
    ELECTION_LIMIT_TICKS,
    `${id} leads`,
  );
  return node;
}

let nextProposal = 1_000_000;
function proposeMany(simulator: ClusterSimulator, leader: SimulatedNode, count: number): void {
  for (let i = 0; i < count; i++) {
    simulator.guard(() => {
      leader.raft.propose(encodeProposal(nextProposal++, 20));
      leader.processReady();
      simulator.afterStep();
    });
    simulator.runTicks(1);
  }
}

function maxTerm(simulator: ClusterSimulator): number {
  return Math.max(...simulator.running().map((node) => node.status().term));
}

describe("PreVote: a partitioned node that rejoins does not raise the term", () => {
  for (const shape of [THREE, FIVE]) {
    it(`on ${shape.name}`, () => {
      const simulator = new ClusterSimulator({ seed: 11, shape });
      const leader = electLeader(simulator, "n1");
      proposeMany(simulator, leader, 5);
      const termBefore = maxTerm(simulator);
      const everyone = [...simulator.nodes.keys()];
      simulator.network.isolate("n2", everyone);
      // Far longer than any election timeout: without PreVote n2 would bump its term many times.
      simulator.runTicks(30 * simulator.config.electionTicks);
      expect(simulator.node("n2").status().term).toBe(termBefore);
      simulator.network.healPartitions();
      simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "the rejoined cluster");
      expect(maxTerm(simulator)).toBe(termBefore);
      expect(simulator.leader()?.id).toBe("n1");
      expect(simulator.node("n2").status().commit).toBe(leader.status().commit);
    });
  }
});

describe("lease exclusivity while the leader is isolated", () => {
  it("the old leader's lease lapses before any new leader is elected, and it steps down", () => {
    const simulator = new ClusterSimulator({ seed: 12, shape: FIVE });
    const oldLeader = electLeader(simulator, "n3");
    proposeMany(simulator, oldLeader, 3);
    simulator.network.isolate("n3", [...simulator.nodes.keys()]);
    let leaseLostTick: number | undefined;
    let newLeaderTick: number | undefined;
    let newLeader: NodeId | undefined;
    simulator.runUntil(
      () => {
        if (leaseLostTick === undefined && !oldLeader.status().hasLease) leaseLostTick = simulator.tick;
        const leader = simulator.running().find((node) => node.id !== "n3" && node.status().role === "leader");
        if (leader && newLeaderTick === undefined) {
          newLeaderTick = simulator.tick;
          newLeader = leader.id;
        }
        return newLeaderTick !== undefined && oldLeader.status().role !== "leader";
      },
      ELECTION_LIMIT_TICKS,
      "a new leader and the old one stepping down",
    );
    expect(leaseLostTick).toBeDefined();
    expect(newLeaderTick).toBeDefined();
    expect(leaseLostTick!).toBeLessThanOrEqual(newLeaderTick!);
    expect(newLeader).not.toBe("n3");
    simulator.network.healPartitions();
    simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "the cluster after the isolation");
  });
});

describe("leadership transfer to a lagging follower", () => {
  it("catches the target up, then hands over; proposals are refused meanwhile", () => {
    const simulator = new ClusterSimulator({ seed: 13, shape: THREE });
    const leader = electLeader(simulator, "n1");
    // n3 hears nothing from n1 while the log grows: it lags far behind.
    simulator.network.cutOneWay("n1", "n3");
    proposeMany(simulator, leader, 20);
    expect(simulator.node("n3").status().lastIndex).toBeLessThan(leader.status().lastIndex - 10);
    simulator.network.healPartitions();
    const lastIndex = leader.status().lastIndex;
    simulator.guard(() => {
      leader.raft.transferLeadership("n3");
      leader.processReady();
      simulator.afterStep();
    });
    expect(() => leader.raft.propose(encodeProposal(nextProposal++, 1))).toThrow(TransferInProgressError);
    const target = simulator.node("n3");
    simulator.runUntil(() => target.status().role === "leader", ELECTION_LIMIT_TICKS, "n3 takes over");
    expect(target.status().lastIndex).toBeGreaterThan(lastIndex);
    expect(target.status().term).toBe(leader.status().term);
    const converged = simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "after the transfer");
    expect(converged.leader.id).toBe("n3");
  });
});

describe("snapshot install to a new learner", () => {
  it("sends a compacted log as a multi-chunk snapshot, then the learner catches up and can be promoted", () => {
    const simulator = new ClusterSimulator({ seed: 14, shape: THREE });
    const leader = electLeader(simulator, "n1");
    proposeMany(simulator, leader, 30);
    simulator.guard(() => {
      expect(leader.takeSnapshot(4000, 0)).toBe(true);
    });
    const snapshotIndex = leader.storage.snapshotMetadata().index;
    let chunks = 0;
    let laterChunks = 0;
    simulator.onDeliver = (message) => {
      if (message.type === "snapshot" && message.to === "j4") {
        chunks++;
        if (message.chunk.offset > 0) laterChunks++;
      }
    };
    const joiner = simulator.startJoiner("j4");
    simulator.guard(() => {
      leader.raft.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: "j4" });
      leader.processReady();
      simulator.afterStep();
    });
    simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "the learner catching up");
    expect(joiner.storage.snapshotMetadata().index).toBeGreaterThanOrEqual(snapshotIndex);
    expect(chunks).toBeGreaterThanOrEqual(Math.ceil(4000 / simulator.config.maxSnapshotChunkBytes!));
    expect(laterChunks).toBeGreaterThan(0);
    expect(joiner.machine.hash).toBe(leader.machine.hash);
    expect(joiner.status().confState.learners).toEqual(["j4"]);

    simulator.guard(() => {
      leader.raft.proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: "j4" });
      leader.processReady();
      simulator.afterStep();
    });
    simulator.runUntil(
      () => leader.status().confState.voters.includes("j4"),
      CATCH_UP_LIMIT_TICKS,
      "j4 promoted to voter",
    );
    simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "after the promotion");
  });
});

describe("a witness that holds the newest committed entries", () => {
  it("does not block failover: it leads just long enough to hand over to a voter that can lead", () => {
    const simulator = new ClusterSimulator({ seed: 16, shape: WITNESS });
    const leader = electLeader(simulator, "n1");
    proposeMany(simulator, leader, 3);
    simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "before the fault");
    // n2 stops hearing from n1: the next entries commit on n1 and the witness alone.
    simulator.network.cutOneWay("n1", "n2");
    proposeMany(simulator, leader, 3);
    const witness = simulator.node("w3");
    expect(witness.status().commit).toBeGreaterThan(simulator.node("n2").status().lastIndex);
    leader.crash("test");
    simulator.network.healPartitions();
    // n2 alone cannot win (the witness refuses a log that lacks committed entries);
    // the witness must step in, catch n2 up and hand leadership over.
    const n2 = simulator.node("n2");
    const committedBefore = witness.status().commit;
    simulator.runUntil(() => n2.status().role === "leader", 20 * ELECTION_LIMIT_TICKS, "n2 takes over");
    simulator.runUntil(
      () => n2.status().hasLease && n2.status().commit > committedBefore,
      CATCH_UP_LIMIT_TICKS,
      "n2 holds the lease and commits in its own term",
    );
    expect(witness.status().role).toBe("follower");
  });
});

describe("a transfer whose target is removed after TimeoutNow went out", () => {
  it("the leader steps down instead of leading without a lease for the rest of the term", () => {
    const simulator = new ClusterSimulator({ seed: 17, shape: THREE });
    const leader = electLeader(simulator, "n1");
    proposeMany(simulator, leader, 3);
    simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "before the transfer");
    const term = leader.status().term;
    // The TimeoutNow is lost, so n2 never takes over; then n2's removal applies.
    simulator.network.dropIf = (message) => message.type === "timeoutNow";
    simulator.guard(() => {
      leader.raft.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "n2" });
      leader.raft.transferLeadership("n2");
      leader.processReady();
      simulator.afterStep();
    });
    simulator.runUntil(() => simulator.removed.has("n2"), CATCH_UP_LIMIT_TICKS, "n2 removed");
    simulator.network.dropIf = undefined;
    const converged = simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "after the removal");
    expect(converged.leader.status().hasLease).toBe(true);
    expect(converged.leader.status().term).toBeGreaterThan(term);
  });
});

describe("restart after a snapshot that kept some log entries", () => {
  it("hands out only the entries after the snapshot (regression: they were applied twice)", () => {
    const simulator = new ClusterSimulator({ seed: 15, shape: THREE });
    const leader = electLeader(simulator, "n1");
    proposeMany(simulator, leader, 12);
    simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "before the snapshot");
    const follower = simulator.node("n2");
    simulator.guard(() => {
      expect(follower.takeSnapshot(100, 5)).toBe(true);
    });
    expect(follower.storage.firstIndex()).toBeLessThan(follower.storage.snapshotMetadata().index);
    follower.crash("test");
    simulator.restart(follower);
    // SimulatedNode refuses an entry that does not follow the application's applied index.
    proposeMany(simulator, leader, 3);
    simulator.awaitConvergence(CATCH_UP_LIMIT_TICKS, "after the restart");
    expect(follower.machine.hash).toBe(leader.machine.hash);
  });
});

describe("failover when messages are slow", () => {
  /** Seeds run; each crashes its first leader once. */
  const FAILOVER_SEEDS = 400;
  /** Messages take up to two ticks, so two voters whose timers fire that close both ask for pre-votes. */
  const SLOW_DELAY_ROUNDS = 2 * ROUNDS_PER_TICK;
  /** At most 2% of failovers may take a second election (11% did before concurrent pre-candidates yielded). */
  const SECOND_ELECTIONS_MAX = FAILOVER_SEEDS / 50;

  it(`elects the next leader in one election in nearly every seed (at most ${SECOND_ELECTIONS_MAX} of ${FAILOVER_SEEDS})`, () => {
    const secondElections: number[] = [];
    for (let seed = 1; seed <= FAILOVER_SEEDS; seed++) {
      const simulator = new ClusterSimulator({ seed, shape: FIVE });
      simulator.network.faults = { ...simulator.network.faults, maxDelayRounds: SLOW_DELAY_ROUNDS };
      simulator.awaitConvergence(ELECTION_LIMIT_TICKS, "a first leader");
      const leader = simulator.leader() as SimulatedNode;
      const term = leader.status().term;
      leader.crash("the leader's BMC died");
      simulator.runUntil(
        () => (simulator.leader()?.status().term ?? 0) > term,
        ELECTION_LIMIT_TICKS,
        `a leader after ${leader.id}`,
      );
      if ((simulator.leader() as SimulatedNode).status().term > term + 1) secondElections.push(seed);
    }
    expect(secondElections.length, `seeds with a second election: ${secondElections.join(" ")}`).toBeLessThanOrEqual(
      SECOND_ELECTIONS_MAX,
    );
  });
});

describe("replay", () => {
  it("the same seed gives exactly the same run", () => {
    for (const seed of [101, 102, 103, 104]) expect(runSeed(seed)).toEqual(runSeed(seed));
  });
});

describe("regression seeds", () => {
  // Each of these once broke the core (2: entries re-applied after a restart; 109: a leader
  // left without a lease). A change to the simulator's random choices changes what a seed
  // does, so the targeted tests above are the lasting regression tests; these are replays.
  const REGRESSION_SEEDS: readonly number[] = [2, 109];
  for (const seed of REGRESSION_SEEDS) {
    it(`seed ${seed}`, () => {
      expect(runSeed(seed).entriesApplied).toBeGreaterThan(0);
    });
  }
});
