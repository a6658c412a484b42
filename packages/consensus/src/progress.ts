// What the leader knows about one follower's log, and how fast it may send to it.
//
// probe:     the leader does not know where the logs match; one append at a time.
// replicate: the logs match up to `match`; appends are pipelined (bounded by inflight count).
// snapshot:  the follower needs a snapshot; chunks go one at a time (stop-and-wait).

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In probe state: an append is outstanding, wait for its answer (or the next heartbeat). */
  probeSent = false;
  /** Last index of each append in flight, oldest first (replicate state). */
  readonly inflights: number[] = [];
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /**
   * Heard from during the CheckQuorum round before: status reports activity over the current and
   * the last round, so a reader just after a round's reset does not see every follower silent.
   */
  activeLastRound = false;
  isLearner: boolean;
  /** The leader tick of the newest message this follower acknowledged (dates the lease). */
  ackedLeaseTick = Number.NEGATIVE_INFINITY;
  /** Snapshot state: index of the snapshot being sent, the next byte to send, and when the last chunk left. */
  snapshotIndex = 0;
  snapshotOffset = 0;
  snapshotChunkInFlight = false;
  snapshotSentTick = 0;
  /** The highest commit index sent to this follower in an append. */
  sentCommit = 0;

  constructor(next: number, isLearner: boolean) {
    this.next = next;
    this.isLearner = isLearner;
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      // The follower installed (or already had) the snapshot: resume after it.
      this.next = Math.max(this.match + 1, this.snapshotIndex + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = "probe";
    this.probeSent = false;
    this.inflights.length = 0;
    this.snapshotIndex = 0;
    this.snapshotOffset = 0;
    this.snapshotChunkInFlight = false;
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights.length = 0;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = "snapshot";
    this.probeSent = false;
    this.inflights.length = 0;
    this.snapshotIndex = snapshotIndex;
    this.snapshotOffset = 0;
    this.snapshotChunkInFlight = false;
  }

  /** An acknowledgement up to `index`. Returns false when it tells nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append whose prevIndex was `rejected`; `hint` is where the
   * follower suggests to try. Returns false when the rejection is stale.
   */
  maybeDecreaseTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Forget in-flight appends up to `index` (acknowledged). */
  freeInflightsTo(index: number): void {
    let drop = 0;
    while (drop < this.inflights.length && (this.inflights[drop] as number) <= index) drop++;
    if (drop > 0) this.inflights.splice(0, drop);
  }

  isPaused(maxInflight: number): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.length >= maxInflight;
      case "snapshot":
        return true;
    }
  }
}
