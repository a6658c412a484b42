// ReadIndex (Raft thesis §6.4): linearizable reads without writing to the log.
// The leader notes its commit index, confirms it is still leader with one heartbeat
// round acknowledged by a quorum, and then the read may be served once the
// application has applied up to that index.
import type { NodeId } from "./types.ts";

export interface ReadState {
  /** The caller's tag for the read, returned as given. */
  readonly requestId: string;
  /** Serve the read once the applied index reaches this. */
  readonly index: number;
}

interface PendingRead {
  readonly requestId: string;
  readonly index: number;
  readonly round: number;
  readonly acks: Set<NodeId>;
}

/** The named bound on reads waiting for confirmation; more are refused. */
export const MAX_PENDING_READS = 4096;

export class ReadOnlyQueue {
  private readonly pending: PendingRead[] = [];
  private lastRound = 0;

  get size(): number {
    return this.pending.length;
  }

  /** Queues a read and returns the heartbeat round that will confirm it. */
  add(requestId: string, index: number, self: NodeId): number {
    this.lastRound++;
    this.pending.push({ requestId, index, round: this.lastRound, acks: new Set([self]) });
    return this.lastRound;
  }

  /** `from` acknowledged heartbeat round `round`, which confirms every read of that round or earlier. */
  acknowledge(from: NodeId, round: number): void {
    for (const read of this.pending) {
      if (read.round > round) break;
      read.acks.add(from);
    }
  }

  /** Removes and returns the reads confirmed by a quorum, oldest first. */
  takeConfirmed(isQuorum: (acks: ReadonlySet<NodeId>) => boolean): ReadState[] {
    let confirmedUpTo = -1;
    for (let i = 0; i < this.pending.length; i++) {
      if (isQuorum((this.pending[i] as PendingRead).acks)) confirmedUpTo = i;
    }
    // A later confirmed round confirms every earlier read too.
    const confirmed = this.pending.splice(0, confirmedUpTo + 1);
    return confirmed.map((read) => ({ requestId: read.requestId, index: read.index }));
  }

  clear(): void {
    this.pending.length = 0;
  }
}
