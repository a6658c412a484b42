// Test helpers: drivers with real FileStorage in temp dirs over a MemoryRaftNetwork, an
// ordered log of every node's events, and a check that no two nodes ever hold the lease at once.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrapStorage, FileStorage, type NodeId, type Storage } from "@conclave/consensus";
import { ClusterState } from "../../src/cluster-state/cluster-state.ts";
import type { LoopTimers, MonotonicClock } from "../../src/raft-driver/clock.ts";
import { MemoryRaftNetwork } from "../../src/raft-driver/memory-transport.ts";
import {
  RaftDriver,
  type RaftDriverEvents,
  type RaftDriverInit,
  type RaftDriverTiming,
} from "../../src/raft-driver/raft-driver.ts";

/** tickMs 10: heartbeat 20 ms, election timeout [150, 300) ms, lease 100 ms, margin (15 - 1 - 10) x 10 = 40 ms. */
export const FAST_TIMING: RaftDriverTiming = Object.freeze({
  tickMs: 10,
  heartbeatTicks: 2,
  electionTicks: 15,
  leaseTicks: 10,
  leaseSafetyMarginMs: 40,
});

export interface LoggedEvent {
  readonly node: NodeId;
  readonly event: keyof RaftDriverEvents;
  readonly payload: unknown;
}

interface Running {
  readonly driver: RaftDriver;
  readonly storage: Storage;
  readonly running: Promise<void>;
  error: unknown;
}

export interface TestClusterOptions {
  readonly ids: readonly NodeId[];
  /** Founding voters bootstrapped into every listed node's storage (default: all ids). */
  readonly bootstrap?: readonly NodeId[];
  readonly init?: Partial<RaftDriverInit>;
  readonly network?: MemoryRaftNetwork;
  readonly clock?: MonotonicClock;
  readonly timersFor?: (id: NodeId) => LoopTimers;
  readonly wallClock?: () => number;
  readonly storageFor?: (id: NodeId, dir: string) => Storage;
}

export class TestCluster {
  readonly network: MemoryRaftNetwork;
  readonly events: LoggedEvent[] = [];
  /** Every moment two nodes held the lease, described. Must stay empty. */
  readonly leaseOverlaps: string[] = [];
  readonly #options: TestClusterOptions;
  readonly #dirs = new Map<NodeId, string>();
  readonly #nodes = new Map<NodeId, Running>();
  readonly #leaseHolders = new Set<NodeId>();
  #seed = 1;

  constructor(options: TestClusterOptions) {
    this.#options = options;
    this.network = options.network ?? new MemoryRaftNetwork();
    for (const id of options.ids) this.#dirs.set(id, mkdtempSync(join(tmpdir(), `conclave-driver-${id}-`)));
  }

  dir(id: NodeId): string {
    return this.#dirs.get(id) as string;
  }

  /** Opens the node's storage (bootstrapping it the first time if it is a founder) and starts its driver. */
  start(id: NodeId, init: Partial<RaftDriverInit> = {}): RaftDriver {
    const storage = this.#options.storageFor?.(id, this.dir(id)) ?? FileStorage.open({ dir: this.dir(id) });
    const founders = this.#options.bootstrap ?? this.#options.ids;
    if (founders.includes(id) && storage.lastIndex() === 0 && storage.initialState().hardState.term === 0) {
      bootstrapStorage(storage, founders);
    }
    let driver: RaftDriver | undefined;
    const transport = this.network.attach(id, (message) => driver?.enqueue(message));
    void transport.start();
    driver = new RaftDriver(
      { selfId: id, timing: FAST_TIMING, seed: this.#seed++, ...this.#options.init, ...init },
      {
        storage,
        transport,
        state: new ClusterState(),
        ...(this.#options.clock ? { clock: this.#options.clock } : {}),
        ...(this.#options.timersFor ? { timers: this.#options.timersFor(id) } : {}),
        ...(this.#options.wallClock ? { wallClock: this.#options.wallClock } : {}),
      },
    );
    for (const event of [
      "leadershipChanged",
      "leaseAcquired",
      "leaseLost",
      "membershipChanged",
      "snapshotTaken",
      "snapshotInstalled",
      "stalled",
      "fatal",
    ] as const) {
      driver.on(event, (payload) => this.#log(id, event, payload));
    }
    const entry: Running = { driver, storage, running: driver.run(), error: undefined };
    entry.running.catch((error: unknown) => {
      entry.error = error;
    });
    this.#nodes.set(id, entry);
    return driver;
  }

  #log(node: NodeId, event: keyof RaftDriverEvents, payload: unknown): void {
    this.events.push({ node, event, payload });
    if (event === "leaseAcquired") {
      if (this.#leaseHolders.size > 0) {
        this.leaseOverlaps.push(`${node} acquired the lease while ${[...this.#leaseHolders].join(",")} held it`);
      }
      this.#leaseHolders.add(node);
    } else if (event === "leaseLost") {
      this.#leaseHolders.delete(node);
    }
  }

  driver(id: NodeId): RaftDriver {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`${id} is not running`);
    return node.driver;
  }

  storage(id: NodeId): Storage {
    return (this.#nodes.get(id) as Running).storage;
  }

  running(): RaftDriver[] {
    return [...this.#nodes.values()].map((node) => node.driver).filter((driver) => driver.phase === "running");
  }

  /** The running node that holds the lease, if exactly one does. */
  leaseHolder(): RaftDriver | undefined {
    const holders = this.running().filter((driver) => driver.status().lease.held);
    return holders.length === 1 ? holders[0] : undefined;
  }

  /** Stops the node's driver and closes its storage, as a process exit would. */
  stop(id: NodeId): void {
    const node = this.#nodes.get(id);
    if (node === undefined) return;
    node.driver.stop();
    node.storage.close();
    this.#nodes.delete(id);
  }

  errors(): unknown[] {
    return [...this.#nodes.values()].map((node) => node.error).filter((error) => error !== undefined);
  }

  cleanup(): void {
    for (const id of [...this.#nodes.keys()]) this.stop(id);
    for (const dir of this.#dirs.values()) rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls `condition` every 5 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function waitForLeaseHolder(cluster: TestCluster, timeoutMs = 10_000): Promise<RaftDriver> {
  await waitFor("a lease holder", () => cluster.leaseHolder() !== undefined, timeoutMs);
  return cluster.leaseHolder() as RaftDriver;
}

export function snapshotText(driver: RaftDriver): string {
  return new TextDecoder().decode(driver.state.snapshot());
}
