// One random simulation run from a seed: the seed picks the cluster shape and a fault
// profile (swarm testing: each run stresses a different mix), then a chaos phase of faults
// and workload, then a heal phase that must end with a leader and converged logs.
import { ConsensusError } from "../../src/errors.ts";
import { SeededRandom } from "../../src/prng.ts";
import {
  type ClusterShape,
  ClusterSimulator,
  type DiskKind,
  SimulationFailure,
  shapeForSeed,
} from "./cluster-simulator.ts";
import { FaultInjector, type FaultRates } from "./fault-injector.ts";
import { FileDisk, type SimulatedDisk } from "./simulated-disk.ts";
import type { NetworkFaults } from "./simulated-network.ts";
import { Workload, type WorkloadRates } from "./workload.ts";

/** Ticks of faults and workload in one run. */
export const CHAOS_TICKS = 220;
/** After healing, a leader must hold a lease and every member must catch up within this many ticks. */
export const HEAL_CONVERGENCE_TICKS_LIMIT = 300;
/** After convergence, a final proposal must be applied everywhere within this many ticks. */
export const FINAL_PROPOSAL_TICKS_LIMIT = 60;

export interface RunProfile {
  readonly network: NetworkFaults;
  readonly faults: FaultRates;
  readonly workload: WorkloadRates;
  /** Nodes' clocks drift apart (within the lease margin). */
  readonly clockDrift: boolean;
  /** Memory storage (atomic writes) or file storage on a crashing, tearing simulated disk. */
  readonly disk: DiskKind;
}

export interface RunReport {
  readonly seed: number;
  readonly shape: string;
  readonly ticks: number;
  readonly steps: number;
  readonly leadersElected: number;
  readonly entriesApplied: number;
  readonly snapshotsRestored: number;
  readonly readsServed: number;
  readonly proposalsApplied: number;
  readonly crashes: number;
  readonly restarts: number;
  readonly partitions: number;
  readonly transfers: number;
  readonly membershipChanges: number;
  readonly snapshotsTaken: number;
  readonly messagesDelivered: number;
  readonly disk: string;
}

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[random.nextInt(items.length)] as T;
}

export function profileForSeed(random: SeededRandom): RunProfile {
  return {
    network: {
      dropRate: pick(random, [0, 0, 0.01, 0.05, 0.15]),
      duplicateRate: pick(random, [0, 0.01, 0.05]),
      maxDelayRounds: pick(random, [1, 2, 4, 8]),
      longDelayRate: pick(random, [0, 0, 0.005, 0.02]),
      longDelayRounds: pick(random, [8, 40, 120]),
    },
    faults: {
      crashesPerTick: pick(random, [0, 0.005, 0.01, 0.03]),
      maxDowntimeTicks: pick(random, [5, 20, 60]),
      partitionChangesPerTick: pick(random, [0, 0.01, 0.02, 0.05]),
    },
    disk: pick(random, ["memory", "file"] as const),
    clockDrift: pick(random, [false, true]),
    workload: {
      proposalsPerTick: pick(random, [0.2, 0.5, 1, 2]),
      readsPerTick: pick(random, [0, 0.1, 0.5]),
      transfersPerTick: pick(random, [0, 0.005, 0.02]),
      membershipChangesPerTick: pick(random, [0, 0.01, 0.03]),
      snapshotsPerTick: pick(random, [0.01, 0.03, 0.1]),
      campaignsPerTick: pick(random, [0, 0.002, 0.01]),
      misdirectedRate: 0.05,
      snapshotCrashRate: pick(random, [0, 0.1]),
      drainsPerTick: pick(random, [0, 0, 0.01]),
    },
  };
}

export interface RunOptions {
  readonly shape?: ClusterShape;
  readonly disk?: (id: string, random: SeededRandom) => SimulatedDisk;
  readonly chaosTicks?: number;
}

export function runSeed(seed: number, options: RunOptions = {}): RunReport {
  const shape = options.shape ?? shapeForSeed(seed);
  const profile = profileForSeed(new SeededRandom(seed ^ 0x1b873593));
  const disk = options.disk ?? (profile.disk === "file" ? (id: string) => new FileDisk(`/data/${id}`) : undefined);
  const simulator = new ClusterSimulator({ seed, shape, ...(disk ? { disk } : {}) });
  simulator.network.faults = { ...profile.network };
  if (profile.clockDrift) simulator.enableClockDrift(new SeededRandom(seed ^ 0x3c6ef372));
  const faults = new FaultInjector(simulator, new SeededRandom(seed ^ 0x27d4eb2f), profile.faults);
  const workload = new Workload(simulator, new SeededRandom(seed ^ 0x165667b1), profile.workload);

  const chaosTicks = options.chaosTicks ?? CHAOS_TICKS;
  for (let tick = 0; tick < chaosTicks; tick++) {
    simulator.advanceTick();
    faults.act();
    workload.act();
    simulator.deliverRounds();
  }

  simulator.healAll();
  simulator.awaitConvergence(HEAL_CONVERGENCE_TICKS_LIMIT, "the cluster after healing");

  // The final proposal proves the converged cluster still makes progress, and flushes
  // every earlier acknowledged entry to every member.
  let target = 0;
  for (let attempt = 0; attempt < FINAL_PROPOSAL_TICKS_LIMIT && target === 0; attempt++) {
    const current = simulator.leader();
    if (current) {
      simulator.guard(() => {
        try {
          target = current.raft.propose(new TextEncoder().encode("final")).index;
        } catch (error) {
          // A transfer the workload started may still be under way: try again next tick.
          if (!(error instanceof ConsensusError)) throw error;
        }
        current.processReady();
        simulator.afterStep();
      });
    }
    if (target === 0) simulator.runTicks(1);
  }
  let done = false;
  for (let tick = 0; tick < FINAL_PROPOSAL_TICKS_LIMIT && !done; tick++) {
    simulator.runTicks(1);
    const converged = simulator.converged();
    done = converged?.members.every((node) => node.machine.appliedIndex >= target) ?? false;
  }
  const converged = simulator.converged();
  if (!done || !converged) {
    throw simulator.failure(
      new SimulationFailure(
        `liveness: a final proposal was not applied everywhere within ${FINAL_PROPOSAL_TICKS_LIMIT} ticks`,
      ),
    );
  }
  // No acknowledged proposal is lost: everything any node applied is applied by every member.
  const maxApplied = simulator.invariants.maxAppliedIndex;
  for (const node of converged.members) {
    if (node.machine.appliedIndex < maxApplied) {
      throw simulator.failure(
        new SimulationFailure(
          `${node.id} applied up to ${node.machine.appliedIndex} < ${maxApplied} applied elsewhere`,
        ),
      );
    }
  }
  const stats = simulator.invariants.stats;
  return {
    seed,
    shape: shape.name,
    ticks: simulator.tick,
    steps: simulator.steps,
    leadersElected: stats.leadersElected,
    entriesApplied: stats.entriesApplied,
    snapshotsRestored: stats.snapshotsRestored,
    readsServed: stats.readsServed,
    proposalsApplied: simulator.invariants.appliedProposals.size,
    crashes: faults.stats.crashes,
    restarts: faults.stats.restarts,
    partitions: faults.stats.partitions,
    transfers: workload.stats.transfers,
    membershipChanges: workload.stats.membershipChanges,
    snapshotsTaken: workload.stats.snapshots,
    messagesDelivered: simulator.network.stats.delivered,
    disk: profile.disk,
  };
}
