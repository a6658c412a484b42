// Rebuilds the log from WAL records, oldest first. The rules, in the order records were
// written:
//   - entries starting at i discard every entry at or after i (a conflicting append);
//   - a snapshot marker drops the entries up to its base, or (an installed snapshot) all;
//   - the commit index is the last one recorded (segment headers repeat it, so deleting old
//     segments never loses it).
// Segments wholly below a compaction point may already be deleted, so replay does not
// assume the log starts at 1: the first entries record sets the start, and finish()
// checks the log reaches down to the snapshot's base. A hole anywhere is corruption.
import { StorageCorruptError } from "../errors.ts";
import type { Entry } from "../types.ts";
import type { SnapshotMarker } from "./wal-record.ts";

export interface RecordLocation {
  readonly path: string;
  readonly offset: number;
}

export interface ReplayResult {
  readonly baseIndex: number;
  readonly baseTerm: number;
  /** Entries after the base, consecutive. */
  readonly entries: Entry[];
  /** Undefined when the WAL holds no segment at all. */
  readonly commit: number | undefined;
  readonly commitLocation: RecordLocation | undefined;
  /**
   * The snapshot file is newer than the last marker (a crash came between the two), so the
   * WAL lacks its marker: the caller must write it before appending anything.
   * "keep": the log holds the snapshot's entry and stays; "discard": the log was replaced.
   */
  readonly missingMarker: "none" | "keep" | "discard";
}

export class WalReplay {
  private log: Entry[] = [];
  /** Index of log[0]; meaningful only once `known`. */
  private start = 0;
  /** False until the first entries record or installed-snapshot marker. */
  private known = false;
  private startLocation: RecordLocation | undefined;
  private lastMarker: SnapshotMarker | undefined;
  private lastMarkerLocation: RecordLocation | undefined;
  private commit: number | undefined;
  private commitLocation: RecordLocation | undefined;

  /** The latest snapshot marker: the snapshot the storage had at the time of the crash. */
  get marker(): SnapshotMarker | undefined {
    return this.lastMarker;
  }

  onEntries(entries: readonly Entry[], location: RecordLocation): void {
    const first = entries[0]!.index;
    const last = this.start + this.log.length - 1;
    if (this.known && first > last + 1) {
      throw new StorageCorruptError(
        location.path,
        location.offset,
        `entries start at ${first} but the log ends at ${last}`,
      );
    }
    if (!this.known || first < this.start) {
      this.log = [...entries];
      this.start = first;
      this.known = true;
      this.startLocation = location;
      return;
    }
    this.log.length = first - this.start;
    for (const entry of entries) this.log.push(entry);
  }

  onCommit(commit: number, location: RecordLocation): void {
    // The last one wins rather than the largest, so the storage reopens to exactly the commit
    // index it last persisted (Raft never lowers it, but the storage does not rely on that).
    this.commit = commit;
    this.commitLocation = location;
  }

  onMarker(marker: SnapshotMarker, location: RecordLocation): void {
    this.lastMarker = marker;
    this.lastMarkerLocation = location;
    if (marker.discardLog) {
      this.resetTo(marker.baseIndex, location);
    } else if (this.known) {
      this.dropThrough(marker.baseIndex, location);
    }
  }

  /**
   * Reconciles the log with the newest valid snapshot file and checks it is whole. A
   * snapshot newer than the last marker means a crash between making the snapshot durable
   * and logging it: it is still the storage's snapshot (persist() or createSnapshot()
   * had made it durable before writing the marker).
   */
  finish(snapshot: { readonly index: number; readonly term: number }): ReplayResult {
    const marker = this.lastMarker;
    let baseIndex = marker?.baseIndex ?? 0;
    let baseTerm = marker?.baseTerm ?? 0;
    const markedSnapshot = marker?.snapshotIndex ?? 0;
    if (snapshot.index < markedSnapshot) {
      const location = this.lastMarkerLocation!;
      throw new StorageCorruptError(
        location.path,
        location.offset,
        `the log refers to snapshot ${markedSnapshot} but the newest valid snapshot is ${snapshot.index}`,
      );
    }
    let missingMarker: ReplayResult["missingMarker"] = "none";
    if (snapshot.index > markedSnapshot) {
      missingMarker = "keep";
      if (!this.holds(snapshot.index, snapshot.term)) {
        missingMarker = "discard";
        this.resetTo(snapshot.index, undefined);
        baseIndex = snapshot.index;
        baseTerm = snapshot.term;
      }
    }
    if (this.known) {
      if (this.log.length > 0 && this.start > baseIndex + 1) {
        const location = this.startLocation!;
        throw new StorageCorruptError(
          location.path,
          location.offset,
          `the log starts at ${this.start} but the snapshot base is ${baseIndex}: entries are missing`,
        );
      }
      this.dropThrough(baseIndex, this.startLocation);
    }
    return {
      baseIndex,
      baseTerm,
      entries: this.known ? this.log : [],
      commit: this.commit,
      commitLocation: this.commitLocation,
      missingMarker,
    };
  }

  private holds(index: number, term: number): boolean {
    return (
      this.known &&
      index >= this.start &&
      index < this.start + this.log.length &&
      this.log[index - this.start]!.term === term
    );
  }

  private resetTo(baseIndex: number, location: RecordLocation | undefined): void {
    this.log = [];
    this.start = baseIndex + 1;
    this.known = true;
    this.startLocation = location;
  }

  private dropThrough(index: number, location: RecordLocation | undefined): void {
    if (index < this.start) return;
    this.log = this.log.slice(Math.min(this.log.length, index + 1 - this.start));
    this.start = index + 1;
    this.startLocation = location;
  }
}
