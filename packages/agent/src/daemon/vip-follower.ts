// The VIP follows the lease. Claims and releases run one at a time, in the order they were asked
// for, and a claim checks the lease again when its turn comes: on a starved machine each `ip`
// command can take a second or more, and a lease that flapped meanwhile (acquired, lost, acquired,
// lost) leaves claims queued behind releases. Replayed later, after the node has become a
// follower, such a claim would put the VIP on a second node. A claim whose turn comes after a
// release was asked for, or when the lease no longer holds, is skipped.
//
// In interface mode the facade's listener is bound on the VIP once the address is claimed and
// closed right after it is released (the address goes first: while it is on the interface this
// node answers ARP for the VIP, and a successor may be claiming it already).
import type { AgentLogger } from "../logger.ts";
import type { VipManager } from "../vip/vip-manager.ts";

export interface VipFollowerInit {
  readonly vip: Pick<VipManager, "claim" | "release" | "status">;
  /** Whether the lease holds at this instant (RaftDriver.leaseHeldNow). */
  readonly leaseHeldNow: () => boolean;
  /** Interface mode: the facade's listener on the VIP address. Omitted: the VIP manager binds it (loopback) or nothing listens. */
  readonly listener?: {
    bind(): Promise<void>;
    unbind(): Promise<void>;
    listening(): boolean;
  };
  readonly logger: AgentLogger;
}

export interface VipFollower {
  /**
   * Queues a claim; it runs only if, when its turn comes, the lease holds and no release was asked
   * for since. Resolves once it has run, claimed or not (failures are logged here, never rejected).
   */
  claim(reason: string): Promise<void>;
  /** Queues a release; resolves once the address is gone, rejects when it could not be removed (logged here). */
  release(reason: string): Promise<void>;
  /** The reconcile timer's check: claims or releases what the lease says, unless an operation is queued. */
  reconcile(leaseHeld: boolean): void;
  /** Settles once every queued claim and release has run. */
  settled(): Promise<void>;
  /** True from a claim being asked for until a release is. */
  readonly wanted: boolean;
  /** Claims skipped because the lease had lapsed or a release followed them (for tests and status). */
  readonly skippedClaims: number;
}

export function createVipFollower(init: VipFollowerInit): VipFollower {
  const { vip, listener, logger } = init;
  let wanted = false;
  let queued = 0;
  let skippedClaims = 0;
  let chain: Promise<void> = Promise.resolve();

  /** Runs `operation` after the claims and releases before it; resolves or rejects with it. */
  const serialized = (operation: () => Promise<void>): Promise<void> => {
    queued++;
    const run = chain.then(operation);
    chain = run
      .catch(() => undefined)
      .finally(() => {
        queued--;
      });
    return run;
  };

  const claim = (reason: string): Promise<void> => {
    wanted = true;
    return serialized(async () => {
      if (!wanted || !init.leaseHeldNow()) {
        skippedClaims++;
        logger.info({ reason, releaseAskedSince: !wanted }, "VIP claim skipped: the lease no longer holds");
        return;
      }
      try {
        await vip.claim(reason);
        // The `ip` command may have run long after the check above (seconds on a starved
        // machine): if the lease ran out meanwhile, give the address up now rather than when the
        // late Raft loop notices.
        if (!init.leaseHeldNow()) {
          logger.warn({ reason }, "the VIP was claimed after the lease ran out: releasing it at once");
          await vip.release("the lease ran out while the VIP was being claimed");
          return;
        }
        if (listener !== undefined && wanted && !listener.listening()) await listener.bind();
      } catch (error) {
        logger.error({ err: error, reason }, "could not claim the VIP; retrying while PoC");
      }
    });
  };

  const release = (reason: string): Promise<void> => {
    wanted = false;
    return serialized(async () => {
      try {
        await vip.release(reason);
      } catch (error) {
        logger.error({ err: error, reason }, "could not release the VIP");
        throw error;
      } finally {
        if (listener !== undefined) {
          await listener
            .unbind()
            .catch((error: unknown) => logger.error({ err: error }, "could not stop the facade on the VIP"));
        }
      }
    });
  };

  return {
    claim,
    release,
    reconcile: (leaseHeld) => {
      if (queued > 0) return;
      const serving = vip.status().held && (listener === undefined || listener.listening());
      if (leaseHeld && !serving) void claim("PoC with lease: retrying the claim");
      if (!leaseHeld && wanted) release("no lease").catch(() => undefined);
    },
    settled: async () => {
      while (queued > 0) await chain;
    },
    get wanted() {
      return wanted;
    },
    get skippedClaims() {
      return skippedClaims;
    },
  };
}
