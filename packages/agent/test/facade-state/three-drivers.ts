// Three Raft drivers in one process over an in-memory network, each with the facade's state
// sections: what the replicated stores' tests commit through. `stopAll` in afterEach.
import { bootstrapStorage, MemoryStorage, type NodeId } from "@conclave/consensus";
import { ClusterState } from "../../src/cluster-state/cluster-state.ts";
import { facadeStateExtensions } from "../../src/facade-state/index.ts";
import { MemoryRaftNetwork } from "../../src/raft-driver/memory-transport.ts";
import { RaftDriver, type RaftDriverTiming } from "../../src/raft-driver/raft-driver.ts";

/** tickMs 25: election timeout [375, 750) ms, lease 250 ms; slow enough for a loaded test machine. */
export const THREE_DRIVERS_TIMING: RaftDriverTiming = Object.freeze({
  tickMs: 25,
  heartbeatTicks: 2,
  electionTicks: 15,
  leaseTicks: 10,
  leaseSafetyMarginMs: 100,
});
export const THREE_DRIVER_IDS = ["a", "b", "c"] as const;
/** Commit attempts while a store is unavailable (no leader for a moment), and the pause between. */
const UNAVAILABLE_ATTEMPTS = 30;
const UNAVAILABLE_PAUSE_MS = 100;

export class ThreeDrivers {
  readonly drivers: RaftDriver[];

  constructor(seed: number) {
    const network = new MemoryRaftNetwork();
    let next = seed;
    this.drivers = THREE_DRIVER_IDS.map((id: NodeId) => {
      const storage = new MemoryStorage();
      bootstrapStorage(storage, [...THREE_DRIVER_IDS]);
      let driver: RaftDriver | undefined;
      const transport = network.attach(id, (message) => driver?.enqueue(message));
      void transport.start();
      driver = new RaftDriver(
        { selfId: id, timing: THREE_DRIVERS_TIMING, seed: next++ },
        { storage, transport, state: new ClusterState({ extensions: facadeStateExtensions }) },
      );
      void driver.run().catch(() => {});
      return driver;
    });
  }

  running(): RaftDriver[] {
    return this.drivers.filter((driver) => driver.phase === "running");
  }

  leader(): RaftDriver | undefined {
    return this.running().find((driver) => driver.status().role === "leader");
  }

  stopAll(): void {
    for (const driver of this.drivers) driver.stop();
  }
}

/** Runs `commit` again while it fails with `unavailable` (a store's 503), at most UNAVAILABLE_ATTEMPTS times. */
export async function whileUnavailable<T>(
  commit: () => Promise<T>,
  unavailable: new (...args: never[]) => Error,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await commit();
    } catch (error) {
      if (!(error instanceof unavailable) || attempt === UNAVAILABLE_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, UNAVAILABLE_PAUSE_MS));
    }
  }
}
