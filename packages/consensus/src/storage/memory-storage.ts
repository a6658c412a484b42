// Storage kept entirely in memory, with etcd's MemoryStorage semantics: for tests, the
// simulator, and as the reference FileStorage must behave like (both run the same
// compliance suite). Nothing survives the process; everything else is the real contract.
import { StorageClosedError } from "../errors.ts";
import type { InitialState, PersistUpdate, Storage } from "../storage.ts";
import {
  type ConfState,
  EMPTY_HARD_STATE,
  EMPTY_SNAPSHOT_METADATA,
  type Entry,
  type HardState,
  type SnapshotMetadata,
} from "../types.ts";
import { EntryLog } from "./entry-log.ts";
import { checkSnapshotRead, type IncomingSnapshot, planCreateSnapshot, planPersist } from "./persist-plan.ts";

interface Incoming extends IncomingSnapshot {
  /** Sized once from totalBytes, which the core bounds when it accepts the first chunk. */
  readonly data: Uint8Array;
}

export class MemoryStorage implements Storage {
  private readonly log = new EntryLog();
  private hardState: HardState = EMPTY_HARD_STATE;
  private snapshot: SnapshotMetadata = EMPTY_SNAPSHOT_METADATA;
  private snapshotData: Uint8Array = new Uint8Array(0);
  private incoming: Incoming | undefined;
  private closed = false;

  initialState(): InitialState {
    this.checkOpen();
    // A snapshot only ever holds committed state, so the commit index is at least its index.
    const commit = Math.max(this.hardState.commit, this.snapshot.index);
    return { hardState: { ...this.hardState, commit }, confState: this.snapshot.confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.checkOpen();
    return this.log.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    this.checkOpen();
    return this.log.term(index);
  }

  firstIndex(): number {
    this.checkOpen();
    return this.log.firstIndex();
  }

  lastIndex(): number {
    this.checkOpen();
    return this.log.lastIndex();
  }

  snapshotMetadata(): SnapshotMetadata {
    this.checkOpen();
    return this.snapshot;
  }

  snapshotSize(): number {
    this.checkOpen();
    return this.snapshotData.length;
  }

  readSnapshotChunk(offset: number, maxBytes: number): Uint8Array {
    this.checkOpen();
    checkSnapshotRead(offset, maxBytes, this.snapshotData.length);
    return this.snapshotData.slice(offset, Math.min(this.snapshotData.length, offset + maxBytes));
  }

  persist(update: PersistUpdate): void {
    this.checkOpen();
    const plan = planPersist(
      { log: this.log, snapshotIndex: this.snapshot.index, hardState: this.hardState, incoming: this.incoming },
      update,
    );
    if (plan.empty) return;
    let incoming = this.incoming;
    for (const { chunk, restart } of plan.chunks) {
      const data = restart || !incoming ? new Uint8Array(chunk.totalBytes) : incoming.data;
      data.set(chunk.data, chunk.offset);
      incoming = {
        metadata: chunk.metadata,
        totalBytes: chunk.totalBytes,
        nextOffset: chunk.offset + chunk.data.length,
        data,
      };
    }
    if (plan.install) {
      this.snapshot = plan.install;
      this.snapshotData = incoming!.data;
      this.log.reset(plan.install.index, plan.install.term);
      incoming = undefined;
    }
    this.incoming = incoming;
    this.log.append(plan.entries);
    this.hardState = plan.hardState;
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array, retainEntries = 0): void {
    this.checkOpen();
    const plan = planCreateSnapshot(this.log, this.snapshot.index, index, confState, retainEntries);
    this.snapshot = plan.metadata;
    this.snapshotData = data.slice();
    this.log.compact(plan.compactIndex);
  }

  close(): void {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}
