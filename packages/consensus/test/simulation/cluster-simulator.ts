// The deterministic cluster simulator (in the manner of TigerBeetle's VOPR and
// FoundationDB's simulation): simulated nodes, network and disks, all driven from one seed.
//
// Time: every running node ticks in lockstep; between two ticks the network delivers
// ROUNDS_PER_TICK rounds of messages. With clock drift on, a fast node ticks twice, or a
// slow one skips a tick, at most once per DRIFT_PERIOD_TICKS: over any lease window a
// leader and a follower then differ by at most two ticks, which is the margin
// electionTicks - leaseTicks (10 - 8) the lease keeps for drift. After every step — one node's tick, one delivered
// message, one client operation — the invariants are asserted.
import { decodeConfChange } from "../../src/codec.ts";
import { SeededRandom } from "../../src/prng.ts";
import { bootstrapStorage } from "../../src/raft-node.ts";
import { ConfChangeType, type Entry, EntryType, type Message, type NodeId } from "../../src/types.ts";
import { ClusterInvariants, InvariantViolation, type ObservedNode } from "./invariants.ts";
import { MemoryDisk, type SimulatedDisk } from "./simulated-disk.ts";
import { CALM_NETWORK, SimulatedNetwork } from "./simulated-network.ts";
import { type NodeConfigTemplate, type NodeObserver, SimulatedNode } from "./simulated-node.ts";
import { Trace } from "./trace.ts";

/** Delivery rounds between two ticks. */
export const ROUNDS_PER_TICK = 4;
/** A drifting clock gains or loses at most one tick per this many ticks (about 5%). */
export const DRIFT_PERIOD_TICKS = 20;

/** -1: a slow clock, 0: exact, 1: a fast clock. */
export type ClockDrift = -1 | 0 | 1;

export interface ClusterShape {
  readonly name: string;
  /** Voters that may lead. */
  readonly voters: number;
  /** One more voter that never campaigns (a witness). */
  readonly witness: boolean;
}

export const SHAPES: readonly ClusterShape[] = [
  { name: "2-voters+witness", voters: 2, witness: true },
  { name: "3-voters", voters: 3, witness: false },
  { name: "5-voters", voters: 5, witness: false },
  { name: "7-voters", voters: 7, witness: false },
];

/** Each seed runs on one shape, so a seed alone names a run. */
export function shapeForSeed(seed: number): ClusterShape {
  return SHAPES[seed % SHAPES.length] as ClusterShape;
}

export type DiskKind = "memory" | "file";

export interface SimulatorOptions {
  readonly seed: number;
  readonly shape: ClusterShape;
  readonly disk?: (id: NodeId, random: SeededRandom) => SimulatedDisk;
  readonly config?: Partial<NodeConfigTemplate>;
}

export const DEFAULT_NODE_CONFIG: NodeConfigTemplate = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 2,
  // Small limits so that batching, flow control and chunked snapshots happen all the time.
  maxMessageBytes: 400,
  maxInflightMessages: 4,
  maxUncommittedBytes: 16 * 1024,
  maxSnapshotChunkBytes: 700,
  maxCommittedBytesPerReady: 600,
});

export class SimulationFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SimulationFailure";
  }
}

export class ClusterSimulator {
  readonly seed: number;
  readonly shape: ClusterShape;
  readonly random: SeededRandom;
  readonly network: SimulatedNetwork;
  readonly invariants = new ClusterInvariants();
  readonly trace = new Trace();
  readonly nodes = new Map<NodeId, SimulatedNode>();
  readonly config: NodeConfigTemplate;
  readonly witnessId: NodeId | undefined;
  tick = 0;
  steps = 0;
  /** Called with every message delivered to a running node (targeted tests watch the traffic). */
  onDeliver: ((message: Message) => void) | undefined;
  private readonly makeDisk: (id: NodeId, random: SeededRandom) => SimulatedDisk;
  private readonly observer: NodeObserver;
  /** Nodes whose removal committed: stopped after the current step. */
  private readonly toStop = new Set<NodeId>();
  readonly removed = new Set<NodeId>();
  /** The last observation of each running node, for the invariants. */
  private readonly observed = new Map<NodeId, ObservedNode>();
  /** Per node clock drift (none unless enableClockDrift is called). */
  private readonly drift = new Map<NodeId, { direction: ClockDrift; lastDeviationTick: number }>();
  private driftRandom: SeededRandom | undefined;

  constructor(options: SimulatorOptions) {
    this.seed = options.seed;
    this.shape = options.shape;
    this.random = new SeededRandom(options.seed);
    this.network = new SimulatedNetwork(new SeededRandom(options.seed ^ 0x2545f491));
    // Learners hear every heartbeat round, every second or every third, by seed.
    const learnerHeartbeatRounds = 1 + (Math.floor(options.seed / SHAPES.length) % 3);
    this.config = { ...DEFAULT_NODE_CONFIG, learnerHeartbeatRounds, ...options.config };
    this.makeDisk = options.disk ?? (() => new MemoryDisk());
    this.observer = this.makeObserver();
    const founders: NodeId[] = [];
    for (let i = 1; i <= this.shape.voters; i++) founders.push(`n${i}`);
    if (this.shape.witness) {
      this.witnessId = `w${this.shape.voters + 1}`;
      founders.push(this.witnessId);
    }
    for (const id of founders) {
      const node = this.createNode(id);
      bootstrapStorage(node.disk.open(), founders);
      node.start();
      this.invariants.onRestart(id, node.storage);
    }
  }

  /** A new node with an empty disk (a founder is bootstrapped before it starts). */
  createNode(id: NodeId): SimulatedNode {
    const nodeSeed = (this.seed * 1_000_003 + this.nodes.size * 7919) >>> 0;
    const node = new SimulatedNode({
      id,
      noCampaign: id === this.witnessId,
      disk: this.makeDisk(id, new SeededRandom(nodeSeed ^ 0x68e31da4)),
      template: this.config,
      seed: nodeSeed,
      observer: this.observer,
    });
    this.nodes.set(id, node);
    return node;
  }

  /** Starts a node that joins with empty storage (it learns everything from the leader). */
  startJoiner(id: NodeId): SimulatedNode {
    const node = this.createNode(id);
    node.start();
    this.invariants.onRestart(id, node.storage);
    this.trace.note(`${id} created to join`);
    return node;
  }

  restart(node: SimulatedNode): void {
    if (node.state !== "crashed") return;
    this.guard(() => {
      node.start();
      this.invariants.onRestart(node.id, node.storage);
      this.trace.note(`${node.id} restarted (incarnation ${node.incarnation}) term=${node.status().term}`);
      this.afterStep(node);
    });
  }

  private makeObserver(): NodeObserver {
    return {
      beforePersist: (node, ready) => this.invariants.beforePersist(node.id, node.storage, ready),
      afterPersist: (node, ready) => this.invariants.afterPersist(node.id, node.storage, ready),
      send: (node, message) => {
        this.invariants.onSend(node.id, node.storage, message);
        this.network.send(message);
      },
      onSnapshotRestored: (node, index, hash) => this.invariants.onSnapshotRestored(node.id, index, hash),
      onApplied: (node, entry, hash) => {
        this.invariants.onApplied(node.id, entry, hash);
        if (entry.type === EntryType.ConfChange) this.onConfChangeApplied(node, entry);
      },
      onReadState: (node, readState) => this.invariants.onReadState(node.id, readState),
      onCrash: (node, reason) => this.trace.note(`${node.id} crashed ${reason}`),
    };
  }

  private onConfChangeApplied(node: SimulatedNode, entry: Entry): void {
    const change = decodeConfChange(entry.data);
    if (change.type === ConfChangeType.RemoveNode && !this.removed.has(change.nodeId)) {
      // Committed: the operator may now shut the removed node down.
      this.trace.note(`${node.id} applied removal of ${change.nodeId} at ${entry.index}`);
      this.toStop.add(change.nodeId);
    }
  }

  // ---------------------------------------------------------------- driving

  running(): SimulatedNode[] {
    const result: SimulatedNode[] = [];
    for (const node of this.nodes.values()) if (node.isRunning) result.push(node);
    return result;
  }

  /** The running leader of the highest term, if any. */
  leader(): SimulatedNode | undefined {
    let best: SimulatedNode | undefined;
    let bestTerm = -1;
    for (const node of this.running()) {
      const status = node.status();
      if (status.role === "leader" && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  /** Runs `action` as one step: any error becomes a SimulationFailure naming the seed; invariants follow. */
  guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** One lockstep tick of every running node, then the delivery rounds until the next tick. */
  advanceTick(): void {
    this.tick++;
    this.trace.tick = this.tick;
    this.trace.round = 0;
    this.afterStep();
    for (const node of this.running()) {
      const ticks = 1 + this.clockDeviation(node.id);
      for (let i = 0; i < ticks && node.isRunning; i++) {
        this.guard(() => {
          node.raft.tick();
          node.processReady();
          this.afterStep(node);
        });
      }
    }
  }

  /** Gives every node (present and future) a random clock drift, within the lease margin. */
  enableClockDrift(random: SeededRandom): void {
    this.driftRandom = random;
  }

  /** -1 (skip this tick), 0 or 1 (tick twice) for `id` now. */
  private clockDeviation(id: NodeId): number {
    const random = this.driftRandom;
    if (!random) return 0;
    let drift = this.drift.get(id);
    if (!drift) {
      drift = { direction: (random.nextInt(3) - 1) as ClockDrift, lastDeviationTick: this.tick };
      this.drift.set(id, drift);
    }
    if (drift.direction === 0 || this.tick - drift.lastDeviationTick < DRIFT_PERIOD_TICKS) return 0;
    if (random.nextInt(2) === 0) return 0;
    drift.lastDeviationTick = this.tick;
    return drift.direction;
  }

  deliverRounds(rounds = ROUNDS_PER_TICK): void {
    for (let round = 1; round <= rounds; round++) {
      this.trace.round = round;
      for (const message of this.network.nextRound()) this.deliver(message);
    }
  }

  deliver(message: Message): void {
    const node = this.nodes.get(message.to);
    if (!node?.isRunning) return;
    this.trace.deliver(message);
    this.onDeliver?.(message);
    this.guard(() => {
      node.raft.step(message);
      node.processReady();
      this.afterStep(node);
    });
  }

  /** Runs `ticks` whole ticks (tick, then delivery rounds). */
  runTicks(ticks: number): void {
    for (let i = 0; i < ticks; i++) {
      this.advanceTick();
      this.deliverRounds();
    }
  }

  /**
   * Invariants after a step, and shutting down nodes whose removal committed. A node's state
   * changes only when it is stepped, so after a step that touched one `node` only its
   * observation is refreshed (status() is the costly part); without one, all are.
   */
  afterStep(node?: SimulatedNode): void {
    this.steps++;
    if (this.toStop.size > 0) {
      for (const id of this.toStop) {
        this.removed.add(id);
        const stopped = this.nodes.get(id);
        if (stopped && stopped.state !== "stopped") {
          stopped.stop();
          this.trace.note(`${id} stopped (removed from the cluster)`);
        }
        this.observed.delete(id);
      }
      this.toStop.clear();
    }
    if (node) this.observe(node);
    else for (const each of this.nodes.values()) this.observe(each);
    this.invariants.afterStep([...this.observed.values()]);
  }

  private observe(node: SimulatedNode): void {
    if (!node.isRunning) {
      this.observed.delete(node.id);
      return;
    }
    const status = node.status();
    // The embedder reads these on its hot paths without status(): they must say the same.
    const raft = node.raft;
    if (
      raft.term !== status.term ||
      raft.role !== status.role ||
      raft.leaderId !== status.leaderId ||
      raft.leaseTicksLeft() !== status.leaseTicksLeft
    ) {
      throw new InvariantViolation(
        `${node.id}: term/role/leaderId/leaseTicksLeft ${raft.term}/${raft.role}/${raft.leaderId}/${raft.leaseTicksLeft()} disagree with status() ${status.term}/${status.role}/${status.leaderId}/${status.leaseTicksLeft}`,
      );
    }
    this.observed.set(node.id, {
      id: node.id,
      storage: node.storage,
      role: status.role,
      term: status.term,
      commit: status.commit,
      lastIndex: status.lastIndex,
      hasLease: status.hasLease,
    });
  }

  // ---------------------------------------------------------------- healing and liveness

  /** Heals every fault: partitions gone, a calm network, drains lifted, crashed members restarted. */
  healAll(): void {
    this.trace.note(
      "heal: partitions removed, network calm, disks freed, drained nodes undrained, crashed nodes restarted",
    );
    this.network.healPartitions();
    this.network.faults = { ...CALM_NETWORK, maxDelayRounds: 2 };
    for (const node of this.nodes.values()) {
      node.disarmCrash();
      node.disk.freeSpace();
      if (node.id !== this.witnessId && node.noCampaign) node.setNoCampaign(false);
      if (node.state === "crashed") this.restart(node);
    }
  }

  /** The members by the leader's configuration, and whether they have all caught up with it. */
  converged(): { leader: SimulatedNode; members: SimulatedNode[] } | undefined {
    const leader = this.leader();
    if (!leader) return undefined;
    const status = leader.status();
    if (!status.hasLease) return undefined;
    const memberIds = [...status.confState.voters, ...status.confState.learners];
    const members: SimulatedNode[] = [];
    for (const id of memberIds) {
      const node = this.nodes.get(id);
      if (!node?.isRunning) return undefined;
      const other = node.status();
      if (
        other.term !== status.term ||
        other.leaderId !== leader.id ||
        other.lastIndex !== status.lastIndex ||
        other.commit !== status.lastIndex ||
        other.applied !== other.commit
      ) {
        return undefined;
      }
      members.push(node);
    }
    if (status.commit !== status.lastIndex) return undefined;
    return { leader, members };
  }

  /** Runs whole ticks until `done()` holds; fails when `limitTicks` pass first. Returns the ticks taken. */
  runUntil(done: () => boolean, limitTicks: number, what: string): number {
    for (let i = 0; i <= limitTicks; i++) {
      if (done()) return i;
      this.runTicks(1);
    }
    throw this.failure(new SimulationFailure(`${what} did not happen within ${limitTicks} ticks`));
  }

  node(id: NodeId): SimulatedNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Ticks until converged(); fails when `limitTicks` pass first. */
  awaitConvergence(limitTicks: number, what: string): { leader: SimulatedNode; members: SimulatedNode[] } {
    for (let i = 0; i <= limitTicks; i++) {
      const result = this.converged();
      if (result) return result;
      this.runTicks(1);
    }
    throw this.failure(new SimulationFailure(`liveness: ${what} did not converge within ${limitTicks} ticks`));
  }

  describeNodes(): string {
    const lines: string[] = [];
    for (const node of this.nodes.values()) {
      if (!node.isRunning) {
        lines.push(`  ${node.id}: ${node.state}`);
        continue;
      }
      const s = node.status();
      lines.push(
        `  ${node.id}: ${s.role} term=${s.term} vote=${s.vote || "-"} leader=${s.leaderId || "-"} last=${s.lastIndex} commit=${s.commit} applied=${s.applied} lease=${s.hasLease} voters=[${s.confState.voters.join(",")}] learners=[${s.confState.learners.join(",")}]`,
      );
    }
    return lines.join("\n");
  }

  /** Wraps `error` with what is needed to replay and understand it. */
  failure(error: unknown): SimulationFailure {
    if (error instanceof SimulationFailure && error.message.startsWith("seed ")) return error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const kind = error instanceof InvariantViolation ? "invariant violated" : "failed";
    const message = [
      `seed ${this.seed} (shape ${this.shape.name}) ${kind} at tick ${this.tick}: ${reason}`,
      `replay: SIM_SEED=${this.seed} pnpm test:sim`,
      `cuts: ${this.network.describeCuts() || "none"}`,
      "nodes:",
      this.describeNodes(),
      "last events:",
      this.trace.format(),
    ].join("\n");
    return new SimulationFailure(message, { cause: error });
  }
}
