// Random faults for the simulator: node crashes (at any point of the Ready loop, including
// inside persist()), full disks (ENOSPC stops the node) and restarts, and network partitions — symmetric splits, one-way cuts,
// isolation of the leader or of any node — that come and go.
import type { SeededRandom } from "../../src/prng.ts";
import type { ClusterSimulator } from "./cluster-simulator.ts";
import { CRASH_POINTS } from "./simulated-node.ts";

export interface FaultRates {
  /** Probability per tick that some running node crashes. */
  crashesPerTick: number;
  /** A crashed node restarts after a uniform 1..maxDowntimeTicks ticks. */
  maxDowntimeTicks: number;
  /** Probability per tick of a partition change (a new partition, or healing). */
  partitionChangesPerTick: number;
}

export interface FaultStats {
  crashes: number;
  restarts: number;
  partitions: number;
}

export class FaultInjector {
  private readonly simulator: ClusterSimulator;
  private readonly random: SeededRandom;
  readonly rates: FaultRates;
  private readonly restartAt = new Map<string, number>();
  readonly stats: FaultStats = { crashes: 0, restarts: 0, partitions: 0 };

  constructor(simulator: ClusterSimulator, random: SeededRandom, rates: FaultRates) {
    this.simulator = simulator;
    this.random = random;
    this.rates = rates;
  }

  act(): void {
    const simulator = this.simulator;
    for (const node of simulator.nodes.values()) {
      if (node.state !== "crashed") continue;
      const at = this.restartAt.get(node.id);
      if (at === undefined) {
        this.restartAt.set(node.id, simulator.tick + 1 + this.random.nextInt(this.rates.maxDowntimeTicks));
      } else if (simulator.tick >= at) {
        this.restartAt.delete(node.id);
        simulator.restart(node);
        this.stats.restarts++;
      }
    }
    if (this.random.nextFloat() < this.rates.crashesPerTick) this.crash();
    if (this.random.nextFloat() < this.rates.partitionChangesPerTick) this.changePartition();
  }

  private crash(): void {
    const running = this.simulator.running();
    if (running.length === 0) return;
    const node = running[this.random.nextInt(running.length)]!;
    this.stats.crashes++;
    const kind = this.random.nextInt(6);
    if (kind === 0) {
      node.crash("between batches");
    } else if (kind === 1 && node.disk.fillUp(this.random)) {
      // The disk fills up: a coming write fails with ENOSPC and the node stops.
      this.simulator.trace.note(`${node.id}: disk nearly full`);
    } else {
      // Crash inside the next Ready this node handles.
      const point = CRASH_POINTS[this.random.nextInt(CRASH_POINTS.length)]!;
      node.armCrash(point);
    }
  }

  private changePartition(): void {
    const simulator = this.simulator;
    const network = simulator.network;
    const everyone = [...simulator.nodes.keys()];
    this.stats.partitions++;
    const kind = this.random.nextInt(6);
    network.healPartitions();
    switch (kind) {
      case 0:
        simulator.trace.note("partitions healed");
        return;
      case 1: {
        const leader = simulator.leader();
        if (!leader) return;
        network.isolate(leader.id, everyone);
        simulator.trace.note(`leader ${leader.id} isolated`);
        return;
      }
      case 2: {
        const id = everyone[this.random.nextInt(everyone.length)]!;
        network.isolate(id, everyone);
        simulator.trace.note(`${id} isolated`);
        return;
      }
      case 3: {
        const side = everyone.filter(() => this.random.nextInt(2) === 0);
        const other = everyone.filter((id) => !side.includes(id));
        network.partition(side, other);
        simulator.trace.note(`partition [${side.join(",")}] | [${other.join(",")}]`);
        return;
      }
      default: {
        // One-way cuts: a node that can send but not receive, or the reverse.
        const cuts = 1 + this.random.nextInt(3);
        const described: string[] = [];
        for (let i = 0; i < cuts; i++) {
          const from = everyone[this.random.nextInt(everyone.length)]!;
          const to = everyone[this.random.nextInt(everyone.length)]!;
          if (from === to) continue;
          network.cutOneWay(from, to);
          described.push(`${from}>${to}`);
        }
        simulator.trace.note(`one-way cuts ${described.join(" ")}`);
        return;
      }
    }
  }
}
