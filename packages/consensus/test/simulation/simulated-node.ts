// One simulated member: a RaftNode, its disk, and its application, driven by the embedder
// loop the Ready contract demands — persist, then send, then apply, then advance. It can
// crash at any point of that loop (including inside persist()) and restart from its disk,
// rebuilding the application from the storage snapshot plus the committed entries the
// core hands out again.
import type { RaftConfig } from "../../src/config.ts";
import { StorageFullError } from "../../src/errors.ts";
import { SeededRandom } from "../../src/prng.ts";
import { RaftNode, type Ready, type Status } from "../../src/raft-node.ts";
import type { ReadState } from "../../src/read-only.ts";
import type { Storage } from "../../src/storage.ts";
import type { Entry, Message, NodeId } from "../../src/types.ts";
import type { SimulatedDisk } from "./simulated-disk.ts";
import { TinyStateMachine } from "./tiny-state-machine.ts";

/** The named bound on Ready batches handled after one input; more means the node spins. */
export const READY_BATCHES_PER_INPUT_LIMIT = 64;

/** Where in the Ready loop an injected crash hits. */
export type CrashPoint = "beforePersist" | "duringPersist" | "afterPersist" | "afterSend" | "afterApply";

export const CRASH_POINTS: readonly CrashPoint[] = [
  "beforePersist",
  "duringPersist",
  "afterPersist",
  "afterSend",
  "afterApply",
];

/** What the node reports to the rest of the simulation. */
export interface NodeObserver {
  beforePersist(node: SimulatedNode, ready: Ready): void;
  afterPersist(node: SimulatedNode, ready: Ready): void;
  send(node: SimulatedNode, message: Message): void;
  onSnapshotRestored(node: SimulatedNode, index: number, hash: number): void;
  onApplied(node: SimulatedNode, entry: Entry, hash: number): void;
  onReadState(node: SimulatedNode, readState: ReadState): void;
  onCrash(node: SimulatedNode, point: string): void;
}

/** The node configuration except what the simulated node supplies itself. */
export type NodeConfigTemplate = Omit<RaftConfig, "id" | "storage" | "random" | "noCampaign">;

export type NodeState = "running" | "crashed" | "stopped";

export class SimulatedNode {
  readonly id: NodeId;
  /** A witness, or a drained node: votes, never campaigns. Survives restarts (the agent keeps it in its config). */
  noCampaign: boolean;
  readonly disk: SimulatedDisk;
  private readonly template: NodeConfigTemplate;
  private readonly seed: number;
  private readonly observer: NodeObserver;
  /** Randomness for crash timing and torn writes on this node's disk. */
  private readonly random: SeededRandom;
  state: NodeState = "crashed";
  private node: RaftNode | undefined;
  storage!: Storage;
  machine = new TinyStateMachine();
  incarnation = 0;
  /** A crash armed to hit inside the next Ready. */
  private armedCrash: CrashPoint | undefined;

  constructor(init: {
    id: NodeId;
    noCampaign: boolean;
    disk: SimulatedDisk;
    template: NodeConfigTemplate;
    seed: number;
    observer: NodeObserver;
  }) {
    this.id = init.id;
    this.noCampaign = init.noCampaign;
    this.disk = init.disk;
    this.template = init.template;
    this.seed = init.seed;
    this.observer = init.observer;
    this.random = new SeededRandom(init.seed ^ 0x5bd1e995);
  }

  get isRunning(): boolean {
    return this.state === "running";
  }

  /** The Raft node; only while running. */
  get raft(): RaftNode {
    if (!this.node) throw new Error(`${this.id} is not running`);
    return this.node;
  }

  status(): Status {
    return this.raft.status();
  }

  /** (Re)starts from the disk: the application comes back from the storage snapshot. */
  start(): void {
    this.incarnation++;
    this.storage = this.disk.open();
    const metadata = this.storage.snapshotMetadata();
    this.machine = TinyStateMachine.restore(
      this.storage.readSnapshotChunk(0, Math.max(1, this.storage.snapshotSize())),
      metadata.index,
    );
    this.node = new RaftNode({
      ...this.template,
      id: this.id,
      storage: this.storage,
      random: new SeededRandom((this.seed + this.incarnation * 0x9e3779b9) >>> 0),
      noCampaign: this.noCampaign,
    });
    this.state = "running";
    this.armedCrash = undefined;
  }

  /** Drains (or undrains) the node: it keeps voting but stops campaigning. */
  setNoCampaign(noCampaign: boolean): void {
    this.noCampaign = noCampaign;
    this.node?.setNoCampaign(noCampaign);
  }

  /** Power cut now (between Ready batches). */
  crash(reason: string): void {
    if (this.state !== "running") return;
    this.node = undefined;
    this.state = "crashed";
    this.disk.disarm();
    this.disk.crash(this.random);
    this.observer.onCrash(this, reason);
  }

  /** Decommissioned (removed from the cluster): never runs again. */
  stop(): void {
    this.node = undefined;
    this.state = "stopped";
  }

  /** The next Ready handled crashes at `point`. */
  armCrash(point: CrashPoint): void {
    this.armedCrash = point;
  }

  disarmCrash(): void {
    this.armedCrash = undefined;
  }

  /** Handles every pending Ready; returns the number of batches. */
  processReady(): number {
    let batches = 0;
    while (this.node?.hasReady()) {
      if (++batches > READY_BATCHES_PER_INPUT_LIMIT) {
        throw new Error(`${this.id} produced more than ${READY_BATCHES_PER_INPUT_LIMIT} Ready batches for one input`);
      }
      this.handleReady(this.node);
    }
    return batches;
  }

  private handleReady(node: RaftNode): void {
    const ready = node.ready();
    const crashAt = this.armedCrash;
    this.armedCrash = undefined;
    if (crashAt === "beforePersist") {
      this.crash("before persist");
      return;
    }

    this.observer.beforePersist(this, ready);
    const update = {
      ...(ready.hardState ? { hardState: ready.hardState } : {}),
      entries: ready.entries,
      snapshotChunks: ready.snapshotChunks,
      ...(ready.installSnapshot ? { installSnapshot: ready.installSnapshot } : {}),
    };
    const armed = crashAt === "duringPersist" && this.disk.armCrashDuringNextPersist(this.random);
    try {
      this.storage.persist(update);
    } catch (error) {
      if (armed && this.disk.isSimulatedCrash(error)) {
        this.crash("during persist");
        return;
      }
      // A storage error stops the node, loudly; the agent's supervisor restarts it.
      if (!(error instanceof StorageFullError)) throw error;
      this.crash("disk full while persisting");
      return;
    }
    if (armed) this.disk.disarm();
    this.observer.afterPersist(this, ready);
    if (crashAt === "afterPersist") {
      this.crash("after persist");
      return;
    }

    for (const message of ready.messages) this.observer.send(this, message);
    if (crashAt === "afterSend") {
      this.crash("after send");
      return;
    }

    if (ready.installSnapshot) {
      const metadata = ready.installSnapshot;
      this.machine = TinyStateMachine.restore(
        this.storage.readSnapshotChunk(0, Math.max(1, this.storage.snapshotSize())),
        metadata.index,
      );
      this.observer.onSnapshotRestored(this, metadata.index, this.machine.hash);
    }
    for (const entry of ready.committedEntries) {
      if (entry.index !== this.machine.appliedIndex + 1) {
        throw new Error(
          `${this.id} was handed entry ${entry.index} to apply, but the application is at ${this.machine.appliedIndex}`,
        );
      }
      this.machine.apply(entry);
      this.observer.onApplied(this, entry, this.machine.hash);
    }
    for (const readState of ready.readStates) this.observer.onReadState(this, readState);
    if (crashAt === "afterApply") {
      this.crash("after apply");
      return;
    }
    node.advance();
  }

  /**
   * The application's snapshot, written through the storage; compacts the log behind it.
   * With `crashInside`, the disk (if it can) crashes part-way through writing it.
   */
  takeSnapshot(paddingBytes: number, retainEntries: number, crashInside = false): boolean {
    const status = this.raft.status();
    if (status.applied !== this.machine.appliedIndex) {
      throw new Error(
        `${this.id}: core says applied ${status.applied}, application is at ${this.machine.appliedIndex}`,
      );
    }
    if (status.applied <= this.storage.snapshotMetadata().index) return false;
    const data = this.machine.snapshot(paddingBytes);
    const armed = crashInside && this.disk.armCrashDuringNextPersist(this.random);
    try {
      this.storage.createSnapshot(status.applied, status.confState, data, retainEntries);
    } catch (error) {
      if (armed && this.disk.isSimulatedCrash(error)) {
        this.crash("while writing a snapshot");
        return false;
      }
      if (!(error instanceof StorageFullError)) throw error;
      this.crash("disk full while writing a snapshot");
      return false;
    }
    if (armed) this.disk.disarm();
    return true;
  }
}
