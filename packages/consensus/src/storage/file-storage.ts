// Storage on disk for a real node, built for small, wear-sensitive flash:
//   - the log is a segmented WAL (wal.ts): each persist() is one write and one fsync;
//   - term and vote live in a small `hardstate` file replaced atomically, only when they
//     change; the commit index goes to the WAL only when it changed. A Ready with nothing
//     new (every heartbeat) writes zero bytes;
//   - snapshots are files (snapshot-file.ts), received chunk by chunk into a temp file and
//     read back from disk, never held in memory.
// Every entry after the compaction point is also kept in memory (term, index, type, data),
// so reads never touch the disk; the embedder's snapshot policy bounds how many there are.
//
// Failure policy: ENOSPC makes persist()/createSnapshot() throw StorageFullError after
// undoing what it wrote, with memory unchanged, so the same call can be retried once space
// is freed. Any other I/O error throws StorageIoError and the storage refuses every later
// call with StorageClosedError: after an fsync failure nobody knows what is on disk.
import {
  ConsensusError,
  InvariantError,
  StorageClosedError,
  StorageCorruptError,
  StorageFullError,
  StorageIoError,
} from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";
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
import { type FileHandle, type FileSystem, isNoSpaceError, isNotFoundError, nodeFileSystem } from "./file-system.ts";
import { HARD_STATE_FILE_NAME, readHardStateFile, writeHardStateFile } from "./hard-state-file.ts";
import { MeteredFileSystem } from "./metered-file-system.ts";
import {
  checkSnapshotRead,
  type IncomingSnapshot,
  type PersistPlan,
  planCreateSnapshot,
  planPersist,
} from "./persist-plan.ts";
import {
  checkSnapshotFile,
  parseSnapshotFileName,
  type SnapshotFileInfo,
  SnapshotFileWriter,
  type SnapshotWriterMark,
  snapshotFileName,
} from "./snapshot-file.ts";
import { Wal } from "./wal.ts";
import { encodeCommit, encodeEntries, encodeSnapshotMarker } from "./wal-record.ts";

export const SEGMENT_BYTES_DEFAULT = 8 * 1024 * 1024;
/** Below this a segment would hold little more than its header. */
export const SEGMENT_BYTES_MIN = 256;
export const SEGMENT_BYTES_MAX = 1024 * 1024 * 1024;

/** The incoming InstallSnapshot transfer is written here until complete. */
const RECEIVE_TEMP_FILE_NAME = "snapshot-receive.tmp";
/** createSnapshot() writes here, then renames. */
const CREATE_TEMP_FILE_NAME = "snapshot-create.tmp";
const TEMP_SUFFIX = ".tmp";

export interface FileStorageOptions {
  /** Directory holding the WAL, snapshots and hard state; created if missing. One node per directory. */
  readonly dir: string;
  /** Defaults to node:fs; tests pass a SimulatedFileSystem. */
  readonly fs?: FileSystem;
  /** A WAL segment is rolled once a write would take it past this. Default 8 MiB. */
  readonly segmentBytes?: number;
  readonly logger?: Logger;
}

interface CurrentSnapshot {
  readonly metadata: SnapshotMetadata;
  /** Undefined while there is no snapshot (index 0). */
  readonly file: (SnapshotFileInfo & { readonly path: string }) | undefined;
}

interface Incoming extends IncomingSnapshot {
  readonly writer: SnapshotFileWriter;
}

type Lifecycle = "open" | "failed" | "closed";

export class FileStorage implements Storage {
  private readonly fs: MeteredFileSystem;
  private readonly dir: string;
  private readonly logger: Logger;
  private readonly wal: Wal;
  private readonly log: EntryLog;
  private hardState: HardState;
  private snapshot: CurrentSnapshot;
  private snapshotReadHandle: FileHandle | undefined;
  private incoming: Incoming | undefined;
  private lifecycle: Lifecycle = "open";

  private constructor(
    fs: MeteredFileSystem,
    dir: string,
    logger: Logger,
    wal: Wal,
    log: EntryLog,
    hardState: HardState,
    snapshot: CurrentSnapshot,
  ) {
    this.fs = fs;
    this.dir = dir;
    this.logger = logger;
    this.wal = wal;
    this.log = log;
    this.hardState = hardState;
    this.snapshot = snapshot;
  }

  /**
   * Opens (or creates) the storage in `dir` and recovers: hard state, the newest valid
   * snapshot, then every WAL segment in order. A torn record at the very end of the WAL
   * (a crash mid-write) is cut away and logged; anything else damaged throws
   * StorageCorruptError naming the file and byte offset. Nothing is silently dropped.
   */
  static open(options: FileStorageOptions): FileStorage {
    const segmentBytes = options.segmentBytes ?? SEGMENT_BYTES_DEFAULT;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < SEGMENT_BYTES_MIN || segmentBytes > SEGMENT_BYTES_MAX) {
      throw new InvariantError(
        `segmentBytes must be an integer in [${SEGMENT_BYTES_MIN}, ${SEGMENT_BYTES_MAX}], got ${String(segmentBytes)}`,
      );
    }
    const dir = options.dir.length > 1 && options.dir.endsWith("/") ? options.dir.slice(0, -1) : options.dir;
    const logger = options.logger ?? silentLogger;
    const fs = new MeteredFileSystem(options.fs ?? nodeFileSystem);
    try {
      return FileStorage.recover(fs, dir, segmentBytes, logger);
    } catch (error) {
      if (error instanceof ConsensusError) throw error;
      throw new StorageIoError(`cannot open storage in ${dir}: ${describe(error)}`, { cause: error });
    }
  }

  private static recover(fs: MeteredFileSystem, dir: string, segmentBytes: number, logger: Logger): FileStorage {
    fs.mkdir(dir);
    const names = fs.readdir(dir);
    // Temp files are writes that never completed: an unfinished snapshot transfer (the core
    // forgot it too, and restarts it from offset 0) or an unfinished atomic replace.
    for (const name of names) if (name.endsWith(TEMP_SUFFIX)) fs.unlink(`${dir}/${name}`);
    const storedHardState = readHardStateFile(fs, dir) ?? EMPTY_HARD_STATE;

    const candidates = names
      .map(parseSnapshotFileName)
      .filter((name) => name !== undefined)
      .sort((a, b) => b.index - a.index);
    let snapshot: CurrentSnapshot = { metadata: EMPTY_SNAPSHOT_METADATA, file: undefined };
    const damaged = new Map<number, StorageCorruptError>();
    for (const candidate of candidates) {
      const path = `${dir}/${candidate.name}`;
      try {
        const info = checkSnapshotFile(fs, path, candidate);
        snapshot = { metadata: info.metadata, file: { ...info, path } };
        break;
      } catch (error) {
        if (!(error instanceof StorageCorruptError)) throw error;
        // Only fatal if the WAL says this snapshot is the current one (checked below).
        logger.warn({ file: path, offset: error.offset, err: error }, "skipping a damaged snapshot file");
        damaged.set(candidate.index, error);
      }
    }

    const { wal, replay } = Wal.open(fs, dir, segmentBytes, logger);
    try {
      const markedSnapshot = replay.marker?.snapshotIndex ?? 0;
      const damagedCurrent = damaged.get(markedSnapshot);
      if (snapshot.metadata.index < markedSnapshot && damagedCurrent) throw damagedCurrent;
      const result = replay.finish(snapshot.metadata);
      const log = new EntryLog(result.baseIndex, result.baseTerm, result.entries);
      // A snapshot only ever holds committed state, so the commit index is at least its index.
      const commit = Math.max(result.commit ?? storedHardState.commit, snapshot.metadata.index);
      if (commit > log.lastIndex()) {
        const where = result.commit === commit ? result.commitLocation : undefined;
        throw new StorageCorruptError(
          where?.path ?? `${dir}/${HARD_STATE_FILE_NAME}`,
          where?.offset ?? 0,
          `commit index ${commit} is beyond the last log index ${log.lastIndex()}`,
        );
      }
      if (result.missingMarker !== "none") {
        // Finish what the crash interrupted, so the WAL agrees with the snapshot before
        // anything is appended after it.
        const discardLog = result.missingMarker === "discard";
        const { index, term } = snapshot.metadata;
        logger.warn({ snapshotIndex: index, discardLog }, "recording a snapshot whose WAL marker a crash prevented");
        const marker = {
          snapshotIndex: index,
          snapshotTerm: term,
          baseIndex: log.baseIndex,
          baseTerm: log.baseTerm,
          discardLog,
        };
        wal.append([encodeSnapshotMarker(marker)], {
          maxEntryIndex: 0,
          discardsLog: discardLog,
          nextIndex: log.lastIndex() + 1,
          commit,
          sync: true,
        });
      }
      const storage = new FileStorage(fs, dir, logger, wal, log, { ...storedHardState, commit }, snapshot);
      storage.deleteStaleSnapshotFiles();
      logger.info(
        {
          dir,
          snapshotIndex: snapshot.metadata.index,
          firstIndex: log.firstIndex(),
          lastIndex: log.lastIndex(),
          commit,
          segments: wal.segmentCount,
        },
        "storage recovered",
      );
      return storage;
    } catch (error) {
      wal.close();
      throw error;
    }
  }

  /** Bytes written to disk since open (WAL, hard state, snapshots), for the bytes-per-entry figure. */
  get bytesWritten(): number {
    return this.fs.bytesWritten;
  }

  /** fsync calls (files and directories) since open. */
  get syncCount(): number {
    return this.fs.syncCount;
  }

  /** Names of the WAL segment files, oldest first (for tests and diagnostics). */
  get segmentNames(): string[] {
    return this.wal.segmentNames;
  }

  // ---- read side ----

  initialState(): InitialState {
    this.checkOpen();
    // As in MemoryStorage: a snapshot only holds committed state, so commit is at least its index.
    const commit = Math.max(this.hardState.commit, this.snapshot.metadata.index);
    return { hardState: { ...this.hardState, commit }, confState: this.snapshot.metadata.confState };
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
    return this.snapshot.metadata;
  }

  snapshotSize(): number {
    this.checkOpen();
    return this.snapshot.file?.dataBytes ?? 0;
  }

  readSnapshotChunk(offset: number, maxBytes: number): Uint8Array {
    this.checkOpen();
    const file = this.snapshot.file;
    checkSnapshotRead(offset, maxBytes, file?.dataBytes ?? 0);
    if (!file || offset === file.dataBytes) return new Uint8Array(0);
    try {
      if (this.snapshotReadHandle === undefined) this.snapshotReadHandle = this.fs.openRead(file.path);
      const length = Math.min(maxBytes, file.dataBytes - offset);
      const bytes = this.fs.readAt(this.snapshotReadHandle, file.dataOffset + offset, length);
      if (bytes.length !== length) {
        throw new StorageCorruptError(
          file.path,
          file.dataOffset + offset + bytes.length,
          "snapshot file is shorter than it was",
        );
      }
      return bytes;
    } catch (error) {
      throw this.fail(error, `reading ${file.path}`);
    }
  }

  // ---- write side ----

  persist(update: PersistUpdate): void {
    this.checkOpen();
    const plan = planPersist(
      {
        log: this.log,
        snapshotIndex: this.snapshot.metadata.index,
        hardState: this.hardState,
        incoming: this.incoming,
      },
      update,
    );
    if (plan.empty) return;
    const receive = new ReceiveUndo(this.fs, `${this.dir}/${RECEIVE_TEMP_FILE_NAME}`, this.incoming);
    let incoming: Incoming | undefined;
    let installed: CurrentSnapshot | undefined;
    try {
      if (plan.termOrVoteChanged) {
        // First, before the log: a durable term with a shorter log is a state Raft can be in
        // after any crash; entries of a term the node has not durably entered are not.
        writeHardStateFile(this.fs, this.dir, { ...plan.hardState, commit: this.hardState.commit });
      }
      incoming = this.writeChunks(plan, receive);
      if (plan.install) installed = this.installIncoming(plan.install, incoming!, receive);
      this.wal.append(walRecords(plan), {
        maxEntryIndex: plan.entries.at(-1)?.index ?? 0,
        discardsLog: plan.install !== undefined,
        nextIndex: plan.entries[0]?.index ?? (plan.install ? plan.install.index + 1 : this.log.lastIndex() + 1),
        commit: this.hardState.commit,
        sync: plan.entries.length > 0 || plan.install !== undefined,
      });
    } catch (error) {
      if (error instanceof StorageFullError) {
        try {
          this.incoming = receive.undo();
        } catch (undoError) {
          throw this.fail(undoError, "undoing a write after ENOSPC");
        }
        throw error;
      }
      throw this.fail(error, "persisting");
    }

    // Durable: now memory may change.
    if (installed) {
      this.replaceSnapshot(installed);
      this.log.reset(installed.metadata.index, installed.metadata.term);
    }
    this.incoming = plan.incoming ? incoming : undefined;
    this.log.append(plan.entries);
    this.hardState = plan.hardState;
    if (installed) this.cleanUpAfterSnapshot(installed.metadata.index);
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array, retainEntries = 0): void {
    this.checkOpen();
    const plan = planCreateSnapshot(this.log, this.snapshot.metadata.index, index, confState, retainEntries);
    let created: CurrentSnapshot;
    try {
      created = this.writeSnapshotFile(plan.metadata, data);
      // If this append fails with ENOSPC the new snapshot file stays: it is complete, and
      // recovery would adopt it (the log still holds its index), which is just as correct.
      const marker = encodeSnapshotMarker({
        snapshotIndex: plan.metadata.index,
        snapshotTerm: plan.metadata.term,
        baseIndex: plan.compactIndex,
        baseTerm: this.log.term(plan.compactIndex),
        discardLog: false,
      });
      this.wal.append([marker], {
        maxEntryIndex: 0,
        discardsLog: false,
        nextIndex: this.log.lastIndex() + 1,
        commit: this.hardState.commit,
        sync: true,
      });
    } catch (error) {
      if (error instanceof StorageFullError) throw error;
      throw this.fail(error, "creating a snapshot");
    }
    this.replaceSnapshot(created);
    this.log.compact(plan.compactIndex);
    this.cleanUpAfterSnapshot(plan.compactIndex);
  }

  close(): void {
    if (this.lifecycle === "closed") return;
    this.lifecycle = "closed";
    this.releaseHandles();
  }

  // ---- internals ----

  private checkOpen(): void {
    if (this.lifecycle !== "open") throw new StorageClosedError();
  }

  /** Writes the plan's chunks to the receive temp file; returns the transfer state after them. */
  private writeChunks(plan: PersistPlan, receive: ReceiveUndo): Incoming | undefined {
    let incoming = this.incoming;
    for (const { chunk, restart } of plan.chunks) {
      receive.touch();
      try {
        if (restart || !incoming) {
          incoming?.writer.close();
          receive.restarted();
          const writer = SnapshotFileWriter.create(this.fs, receive.path, chunk.metadata, chunk.totalBytes);
          incoming = { metadata: chunk.metadata, totalBytes: chunk.totalBytes, nextOffset: 0, writer };
          receive.track(writer);
        }
        incoming.writer.append(chunk.data);
        if (chunk.done) incoming.writer.finish();
      } catch (error) {
        if (isNoSpaceError(error)) throw new StorageFullError(receive.path, { cause: error });
        throw error;
      }
      // Not synced: until the snapshot is complete a crash may lose it, and the core, which
      // forgets the transfer on restart too, starts it over from offset 0.
      incoming = { ...incoming, nextOffset: chunk.offset + chunk.data.length };
    }
    return incoming;
  }

  /** Makes the complete incoming snapshot durable under its final name. */
  private installIncoming(metadata: SnapshotMetadata, incoming: Incoming, receive: ReceiveUndo): CurrentSnapshot {
    const writer = incoming.writer;
    if (!writer.isFinished) throw new InvariantError(`snapshot ${metadata.index} is not complete`);
    writer.sync();
    writer.close();
    const path = `${this.dir}/${snapshotFileName(metadata.index, metadata.term)}`;
    this.fs.rename(receive.path, path);
    receive.renamed(path);
    this.fs.fsyncDirectory(this.dir);
    return {
      metadata,
      file: { metadata, dataOffset: writer.dataOffset, dataBytes: incoming.totalBytes, path },
    };
  }

  /** createSnapshot's file: temp, fsync, rename, directory fsync. ENOSPC leaves nothing behind. */
  private writeSnapshotFile(metadata: SnapshotMetadata, data: Uint8Array): CurrentSnapshot {
    const tempPath = `${this.dir}/${CREATE_TEMP_FILE_NAME}`;
    let writer: SnapshotFileWriter | undefined;
    try {
      writer = SnapshotFileWriter.create(this.fs, tempPath, metadata, data.length);
      writer.append(data);
      writer.finish();
      writer.sync();
      writer.close();
    } catch (error) {
      writer?.close();
      if (!isNoSpaceError(error)) throw error;
      this.fs.unlink(tempPath);
      throw new StorageFullError(tempPath, { cause: error });
    }
    const path = `${this.dir}/${snapshotFileName(metadata.index, metadata.term)}`;
    this.fs.rename(tempPath, path);
    this.fs.fsyncDirectory(this.dir);
    return { metadata, file: { metadata, dataOffset: writer.dataOffset, dataBytes: data.length, path } };
  }

  private replaceSnapshot(next: CurrentSnapshot): void {
    if (this.snapshotReadHandle !== undefined) {
      const handle = this.snapshotReadHandle;
      this.snapshotReadHandle = undefined;
      this.fs.close(handle);
    }
    this.snapshot = next;
  }

  /** Once a new snapshot and its marker are durable: older snapshots and log segments go. */
  private cleanUpAfterSnapshot(compactIndex: number): void {
    try {
      this.deleteStaleSnapshotFiles();
      this.wal.deleteThrough(compactIndex);
    } catch (error) {
      throw this.fail(error, "deleting old snapshot files and WAL segments");
    }
  }

  /** Every snapshot file but the current one is garbage (older, or never referenced by the WAL). */
  private deleteStaleSnapshotFiles(): void {
    const current = this.snapshot.file?.path;
    for (const name of this.fs.readdir(this.dir)) {
      if (parseSnapshotFileName(name) && `${this.dir}/${name}` !== current) this.fs.unlink(`${this.dir}/${name}`);
    }
  }

  /** Stops the storage for good after an I/O error and returns the error to throw. */
  private fail(error: unknown, doing: string): ConsensusError {
    this.lifecycle = "failed";
    this.releaseHandles();
    if (error instanceof ConsensusError) return error;
    this.logger.error({ dir: this.dir, err: error }, `storage failed while ${doing}; refusing further writes`);
    return new StorageIoError(`storage in ${this.dir} failed while ${doing}: ${describe(error)}`, { cause: error });
  }

  /** Best effort: the storage is closing or already broken, so errors here change nothing. */
  private releaseHandles(): void {
    const attempts = [
      () => this.wal.close(),
      () => this.incoming?.writer.close(),
      () => {
        if (this.snapshotReadHandle !== undefined) this.fs.close(this.snapshotReadHandle);
      },
    ];
    for (const attempt of attempts) {
      try {
        attempt();
      } catch {
        // Nothing more to do with a handle we cannot close.
      }
    }
    this.snapshotReadHandle = undefined;
  }
}

/** The WAL records of one persist(), in the order replay must see them. */
function walRecords(plan: PersistPlan): Uint8Array[] {
  const records: Uint8Array[] = [];
  if (plan.install) {
    const { index, term } = plan.install;
    records.push(
      encodeSnapshotMarker({
        snapshotIndex: index,
        snapshotTerm: term,
        baseIndex: index,
        baseTerm: term,
        discardLog: true,
      }),
    );
  }
  for (const record of encodeEntries(plan.entries)) records.push(record);
  if (plan.commitChanged) records.push(encodeCommit(plan.hardState.commit));
  return records;
}

/**
 * Puts the receive temp file back the way it was before a persist() that ran out of space,
 * so the same persist() can be retried: a transfer that was continued is cut back to where
 * it stood; one this persist() restarted (or that it renamed into place) is gone.
 */
class ReceiveUndo {
  readonly path: string;
  private readonly fs: FileSystem;
  private readonly before: Incoming | undefined;
  private readonly mark: SnapshotWriterMark | undefined;
  private touched = false;
  private restartedTransfer = false;
  private renamedTo: string | undefined;
  private writers: SnapshotFileWriter[] = [];

  constructor(fs: FileSystem, path: string, before: Incoming | undefined) {
    this.fs = fs;
    this.path = path;
    this.before = before;
    this.mark = before?.writer.mark();
    if (before) this.writers.push(before.writer);
  }

  /** The temp file is about to change. */
  touch(): void {
    this.touched = true;
  }

  restarted(): void {
    this.restartedTransfer = true;
  }

  track(writer: SnapshotFileWriter): void {
    this.writers.push(writer);
  }

  renamed(path: string): void {
    this.renamedTo = path;
  }

  /** Returns the transfer state matching the disk after the undo. */
  undo(): Incoming | undefined {
    if (!this.touched) return this.before;
    for (const writer of this.writers) writer.close();
    if (this.renamedTo) this.fs.rename(this.renamedTo, this.path);
    if (this.restartedTransfer || !this.before || !this.mark) {
      try {
        this.fs.unlink(this.path);
      } catch (error) {
        if (!isNotFoundError(error)) throw error;
      }
      return undefined;
    }
    const { metadata, totalBytes } = this.before;
    const writer = SnapshotFileWriter.resume(this.fs, this.path, metadata, totalBytes, this.mark);
    return { ...this.before, writer };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
