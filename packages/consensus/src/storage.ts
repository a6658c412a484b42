// The storage contract between the Raft core and whatever keeps its state.
//
// The core only reads (synchronously) through the read side. The embedder writes,
// applying each Ready batch with `persist()` before it sends that batch's messages.
// A storage error is fatal: the node must stop, never limp on.
import type { ConfState, Entry, HardState, SnapshotChunk, SnapshotMetadata } from "./types.ts";

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/** Everything one Ready asks to make durable, written with one sync (group commit). */
export interface PersistUpdate {
  /** Present only when it changed. Unchanged hard state writes nothing. */
  readonly hardState?: HardState;
  /** New entries; an entry whose index is already stored replaces it and everything after it. */
  readonly entries: readonly Entry[];
  /** Incoming InstallSnapshot chunks, in order. */
  readonly snapshotChunks: readonly SnapshotChunk[];
  /**
   * A snapshot the core has accepted: once its last chunk is written, it becomes the
   * storage's snapshot and replaces the whole log (every stored entry is discarded: the
   * core installs a snapshot only when its log does not already hold the snapshot's entry).
   * `installSnapshot` is also used with a single empty chunk to bootstrap a new cluster.
   */
  readonly installSnapshot?: SnapshotMetadata;
}

export interface Storage {
  // ---- read side: used by the core ----

  /** The state saved before the last shutdown (zeros for a new node). */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi). Returns at least one entry when lo < hi, then stops before
   * exceeding maxBytes (sum of data lengths). Throws CompactedError / UnavailableError.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`; the snapshot's index answers with the snapshot's term. */
  term(index: number): number;
  /**
   * Index of the first available entry: snapshot index + 1, or lower when createSnapshot
   * kept `retainEntries` entries before the snapshot. term(firstIndex - 1) always answers.
   */
  firstIndex(): number;
  /** Index of the last entry (firstIndex - 1 when the log is empty). */
  lastIndex(): number;
  /** Metadata of the current snapshot (index 0 when there is none). */
  snapshotMetadata(): SnapshotMetadata;
  /** Size in bytes of the current snapshot's data. */
  snapshotSize(): number;
  /** Up to maxBytes of the current snapshot's data from `offset`. */
  readSnapshotChunk(offset: number, maxBytes: number): Uint8Array;

  // ---- write side: used by the embedder ----

  /** Makes one Ready's state durable (fsync) before returning. */
  persist(update: PersistUpdate): void;
  /**
   * Records the application's snapshot at `index` (<= the applied index) and
   * discards the log up to `index - retainEntries` so slow followers can still catch up
   * from the log.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array, retainEntries?: number): void;
  /** Releases files and handles. Further calls throw StorageClosedError. */
  close(): void;
}
