// The random client workload: proposals, ReadIndex reads, leadership transfers, membership
// changes (add a learner, promote it, remove a member; one at a time) and application
// snapshots with log compaction. Operations the core refuses (not the leader, a change
// already pending, a transfer under way) are expected and counted, never fatal.
import {
  ConfChangePendingError,
  ConsensusError,
  InvalidConfChangeError,
  InvalidTransferError,
  NotLeaderError,
  ProposalDroppedError,
  TransferInProgressError,
} from "../../src/errors.ts";
import type { SeededRandom } from "../../src/prng.ts";
import { ConfChangeType, type NodeId } from "../../src/types.ts";
import type { ClusterSimulator } from "./cluster-simulator.ts";
import type { SimulatedNode } from "./simulated-node.ts";
import { encodeProposal } from "./tiny-state-machine.ts";

/** The named bound on nodes that ever exist in one run (founders plus joiners). */
export const MAX_NODES_PER_RUN = 10;

export interface WorkloadRates {
  /** Expected proposals per tick. */
  proposalsPerTick: number;
  readsPerTick: number;
  transfersPerTick: number;
  membershipChangesPerTick: number;
  snapshotsPerTick: number;
  campaignsPerTick: number;
  /** Probability per tick of draining a voter (or undraining a drained one). */
  drainsPerTick: number;
  /** Fraction of snapshots during which the disk crashes (file storage only). */
  snapshotCrashRate: number;
  /** Fraction of operations sent to a random node instead of the leader (they must be refused). */
  misdirectedRate: number;
}

export interface WorkloadStats {
  proposed: number;
  refused: number;
  reads: number;
  transfers: number;
  membershipChanges: number;
  snapshots: number;
}

export class Workload {
  private readonly simulator: ClusterSimulator;
  private readonly random: SeededRandom;
  readonly rates: WorkloadRates;
  private nextProposalId = 1;
  private nextReadId = 1;
  private nextJoinerNumber: number;
  readonly stats: WorkloadStats = {
    proposed: 0,
    refused: 0,
    reads: 0,
    transfers: 0,
    membershipChanges: 0,
    snapshots: 0,
  };

  constructor(simulator: ClusterSimulator, random: SeededRandom, rates: WorkloadRates) {
    this.simulator = simulator;
    this.random = random;
    this.rates = rates;
    this.nextJoinerNumber = simulator.nodes.size + 1;
  }

  /** One tick's worth of operations. */
  act(): void {
    const rates = this.rates;
    for (let i = this.count(rates.proposalsPerTick); i > 0; i--) this.propose();
    for (let i = this.count(rates.readsPerTick); i > 0; i--) this.read();
    if (this.chance(rates.transfersPerTick)) this.transfer();
    if (this.chance(rates.membershipChangesPerTick)) this.changeMembership();
    if (this.chance(rates.snapshotsPerTick)) this.snapshot();
    if (this.chance(rates.campaignsPerTick)) this.campaign();
    if (this.chance(rates.drainsPerTick)) this.toggleDrain();
  }

  private chance(probability: number): boolean {
    return this.random.nextFloat() < probability;
  }

  /** A whole number with mean `rate`. */
  private count(rate: number): number {
    const whole = Math.floor(rate);
    return whole + (this.chance(rate - whole) ? 1 : 0);
  }

  private pick<T>(items: readonly T[]): T | undefined {
    if (items.length === 0) return undefined;
    return items[this.random.nextInt(items.length)];
  }

  /** The leader, or now and then a random running node (which must refuse). */
  private target(): SimulatedNode | undefined {
    if (this.chance(this.rates.misdirectedRate)) return this.pick(this.simulator.running());
    return this.simulator.leader();
  }

  /** Runs one client operation on `node` as a simulation step. */
  private operate(node: SimulatedNode, description: string, operation: () => void): void {
    this.simulator.guard(() => {
      try {
        operation();
        this.simulator.trace.note(`${node.id}: ${description}`);
      } catch (error) {
        if (!isExpectedRefusal(error)) throw error;
        this.stats.refused++;
      }
      node.processReady();
      this.simulator.afterStep(node);
    });
  }

  propose(): void {
    const node = this.target();
    if (!node) return;
    const id = this.nextProposalId++;
    const data = encodeProposal(id, this.random.nextInt(this.chance(0.1) ? 300 : 40));
    this.operate(node, `propose p${id}`, () => {
      node.raft.propose(data);
      this.stats.proposed++;
    });
  }

  read(): void {
    const node = this.target();
    if (!node) return;
    const requestId = `r${this.nextReadId++}`;
    this.operate(node, `readIndex ${requestId}`, () => {
      this.simulator.invariants.onReadRequested(node.id, requestId);
      try {
        node.raft.readIndex(requestId);
      } catch (error) {
        this.simulator.invariants.onReadCancelled(requestId);
        throw error;
      }
      this.stats.reads++;
    });
  }

  transfer(): void {
    const leader = this.simulator.leader();
    if (!leader) return;
    const voters = leader.status().confState.voters.filter((id) => id !== leader.id);
    // Mostly to nodes that can lead; a transfer to the witness must time out harmlessly.
    const candidates = this.chance(0.1) ? voters : voters.filter((id) => id !== this.simulator.witnessId);
    const to = this.pick(candidates);
    if (!to) return;
    this.operate(leader, `transferLeadership to ${to}`, () => {
      leader.raft.transferLeadership(to);
      this.stats.transfers++;
    });
  }

  changeMembership(): void {
    const leader = this.simulator.leader();
    if (!leader) return;
    const { voters, learners } = leader.status().confState;
    const members = new Set([...voters, ...learners]);
    const choice = this.random.nextInt(3);
    if (choice === 0) {
      // Add a learner: a node not in the configuration, new (empty disk) or one whose earlier add was lost.
      let joiner = [...this.simulator.nodes.values()].find(
        (node) => node.isRunning && !members.has(node.id) && !this.simulator.removed.has(node.id),
      );
      if (!joiner) {
        if (this.simulator.nodes.size >= MAX_NODES_PER_RUN) return;
        joiner = this.simulator.startJoiner(`j${this.nextJoinerNumber++}`);
      }
      this.proposeChange(leader, ConfChangeType.AddLearner, joiner.id);
    } else if (choice === 1) {
      const learner = this.pick(learners);
      if (learner) this.proposeChange(leader, ConfChangeType.AddVoter, learner);
    } else {
      // Keep at least three voters, and the witness, so every shape can still fail over.
      const removable = [
        ...learners,
        ...(voters.length > 3 ? voters.filter((id) => id !== this.simulator.witnessId) : []),
      ];
      const victim = this.pick(removable);
      if (victim) this.proposeChange(leader, ConfChangeType.RemoveNode, victim);
    }
  }

  private proposeChange(leader: SimulatedNode, type: ConfChangeType, nodeId: NodeId): void {
    const name =
      type === ConfChangeType.AddLearner ? "addLearner" : type === ConfChangeType.AddVoter ? "addVoter" : "remove";
    this.operate(leader, `${name} ${nodeId}`, () => {
      leader.raft.proposeConfChange({ type, nodeId });
      this.stats.membershipChanges++;
    });
  }

  snapshot(): void {
    const node = this.pick(this.simulator.running());
    if (!node) return;
    const paddingBytes = 1500 + this.random.nextInt(3000);
    const retainEntries = this.random.nextInt(8);
    this.simulator.guard(() => {
      if (node.takeSnapshot(paddingBytes, retainEntries, this.chance(this.rates.snapshotCrashRate))) {
        this.stats.snapshots++;
        this.simulator.trace.note(`${node.id}: snapshot at ${node.machine.appliedIndex} retain ${retainEntries}`);
      }
      this.simulator.afterStep(node);
    });
  }

  /** Drains a random node (it stops campaigning) or undrains it; the witness stays as it is. */
  toggleDrain(): void {
    const candidates = this.simulator.running().filter((node) => node.id !== this.simulator.witnessId);
    const node = this.pick(candidates);
    if (!node) return;
    this.simulator.guard(() => {
      node.setNoCampaign(!node.noCampaign);
      this.simulator.trace.note(`${node.id}: ${node.noCampaign ? "drained" : "undrained"}`);
      node.processReady();
      this.simulator.afterStep(node);
    });
  }

  campaign(): void {
    const node = this.pick(this.simulator.running());
    if (!node) return;
    this.operate(node, "campaign", () => node.raft.campaign());
  }
}

function isExpectedRefusal(error: unknown): boolean {
  return (
    error instanceof NotLeaderError ||
    error instanceof ProposalDroppedError ||
    error instanceof TransferInProgressError ||
    error instanceof ConfChangePendingError ||
    error instanceof InvalidConfChangeError ||
    error instanceof InvalidTransferError ||
    (error instanceof ConsensusError && error.code === "CONSENSUS_ERR_NOT_LEADER")
  );
}
