// The log as the core sees it: what storage holds, plus what was appended (or a
// snapshot accepted) and not yet persisted, plus the commit and apply cursors.
import { CompactedError, InvariantError, UnavailableError } from "./errors.ts";
import type { Storage } from "./storage.ts";
import type { Entry, SnapshotMetadata } from "./types.ts";

export class RaftLog {
  readonly storage: Storage;
  /** Entries not yet persisted; `unstableOffset` is the index of the first one. */
  private unstable: Entry[] = [];
  private unstableOffset: number;
  /** A snapshot accepted by the core and not yet persisted. */
  private unstableSnapshot: SnapshotMetadata | undefined;
  committed: number;
  applied: number;

  constructor(storage: Storage, applied: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstableOffset = storage.lastIndex() + 1;
    // The snapshot may sit above first - 1 (createSnapshot keeps retainEntries before it);
    // the application restores from it, so everything up to its index is applied already.
    const snapshotIndex = storage.snapshotMetadata().index;
    this.committed = Math.max(storage.initialState().hardState.commit, first - 1, snapshotIndex);
    this.applied = Math.max(applied, first - 1, snapshotIndex);
    if (this.applied > this.committed && this.applied <= this.lastIndex()) {
      // The application cannot have applied what was never committed; storage lost the commit record.
      this.committed = this.applied;
    }
    // A crash in the middle of persisting a Ready can leave the commit record ahead of the
    // entries it covers. Nothing was acknowledged for that Ready, and the commit index is
    // re-learned from the leader, so clamping is safe.
    this.committed = Math.min(this.committed, this.lastIndex());
  }

  firstIndex(): number {
    if (this.unstableSnapshot) return this.unstableSnapshot.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    if (this.unstableSnapshot) return this.unstableSnapshot.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.termOrZero(this.lastIndex());
  }

  /** Term at `index`; throws CompactedError / UnavailableError. */
  term(index: number): number {
    if (index >= this.unstableOffset && this.unstable.length > 0) {
      const entry = this.unstable[index - this.unstableOffset];
      if (entry) return entry.term;
      throw new UnavailableError(index, this.lastIndex());
    }
    if (this.unstableSnapshot) {
      if (index === this.unstableSnapshot.index) return this.unstableSnapshot.term;
      if (index < this.unstableSnapshot.index) throw new CompactedError(index, this.unstableSnapshot.index + 1);
      throw new UnavailableError(index, this.lastIndex());
    }
    if (index === 0) return 0;
    return this.storage.term(index);
  }

  /** Term at `index`, or 0 when it is compacted or not there. */
  termOrZero(index: number): number {
    try {
      return this.term(index);
    } catch (error) {
      if (error instanceof CompactedError || error instanceof UnavailableError) return 0;
      throw error;
    }
  }

  matchTerm(index: number, term: number): boolean {
    if (index > this.lastIndex()) return false;
    return this.termOrZero(index) === term && (term !== 0 || index === 0);
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myLastTerm = this.lastTerm();
    return lastTerm > myLastTerm || (lastTerm === myLastTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi), at least one when lo < hi, at most maxBytes of data beyond the first. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    const last = this.lastIndex();
    if (hi > last + 1) throw new UnavailableError(hi - 1, last);
    const result: Entry[] = [];
    let bytes = 0;
    if (lo < this.unstableOffset) {
      const stored = this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxBytes);
      for (const entry of stored) {
        bytes += entry.data.length;
        result.push(entry);
      }
      const reached = lo + stored.length;
      if (reached < Math.min(hi, this.unstableOffset) || bytes >= maxBytes) return result;
    }
    for (let index = Math.max(lo, this.unstableOffset); index < hi; index++) {
      const entry = this.unstable[index - this.unstableOffset] as Entry;
      if (result.length > 0 && bytes + entry.data.length > maxBytes) break;
      bytes += entry.data.length;
      result.push(entry);
    }
    return result;
  }

  /**
   * The index of the first entry in `entries` that is not already in the log with
   * the same term, or 0 when all of them are (Log Matching makes the rest identical).
   */
  private findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`: where a follower's log may
   * match a leader's, used to skip a whole conflicting term per round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    const floor = this.firstIndex() - 1;
    while (i > floor) {
      const t = this.termOrZero(i);
      if (t <= term) return i;
      i--;
    }
    return i;
  }

  /**
   * Follower path: append the leader's entries after (prevIndex, prevTerm) if the logs
   * match there. Returns the new last index, or -1 when they do not match.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number {
    if (!this.matchTerm(prevIndex, prevTerm)) return -1;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new InvariantError(`entry ${conflict} conflicts with the committed log (commit ${this.committed})`);
      }
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Appends entries, replacing any existing entries from the first one's index on. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    if (first <= this.committed) {
      throw new InvariantError(`cannot overwrite committed entry ${first} (commit ${this.committed})`);
    }
    const last = this.lastIndex();
    if (first > last + 1) throw new InvariantError(`append at ${first} leaves a gap after ${last}`);
    if (first === last + 1) {
      if (this.unstable.length === 0) this.unstableOffset = first;
      for (const entry of entries) this.unstable.push(entry);
    } else if (first >= this.unstableOffset) {
      // Replace the tail of the unstable part.
      this.unstable.length = first - this.unstableOffset;
      for (const entry of entries) this.unstable.push(entry);
    } else {
      // The conflict lies in stable storage: the unstable part starts over at `first`,
      // and persisting it will overwrite storage from there.
      this.unstable = [...entries];
      this.unstableOffset = first;
    }
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new InvariantError(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Accepts a complete snapshot: it replaces the whole log once persisted. */
  restore(metadata: SnapshotMetadata): void {
    this.unstableSnapshot = metadata;
    this.unstable = [];
    this.unstableOffset = metadata.index + 1;
    this.committed = metadata.index;
  }

  pendingSnapshot(): SnapshotMetadata | undefined {
    return this.unstableSnapshot;
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable;
  }

  /** Committed entries not yet applied, bounded by maxBytes (at least one). Empty while a snapshot is pending. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (this.unstableSnapshot) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.entries(lo, this.committed + 1, maxBytes);
  }

  hasCommittedEntriesToApply(): boolean {
    return !this.unstableSnapshot && this.committed > this.applied;
  }

  /** The embedder persisted everything handed out: unstable entries and snapshot are now in storage. */
  markPersisted(): void {
    if (this.unstableSnapshot) {
      this.applied = Math.max(this.applied, this.unstableSnapshot.index);
      this.unstableSnapshot = undefined;
    }
    this.unstableOffset = this.lastIndex() + 1;
    this.unstable = [];
  }

  appliedTo(index: number): void {
    if (index > this.committed) {
      throw new InvariantError(`applied ${index} is beyond the commit index ${this.committed}`);
    }
    if (index > this.applied) this.applied = index;
  }
}
