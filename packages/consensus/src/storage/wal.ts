// The write-ahead log: an ordered list of segment files, only the last one written to.
//
// append() is group commit: all records of one persist() go out in one write and one
// fsync, plus a directory fsync only when the batch opened a new segment. A segment is
// rolled once the batch would take it past segmentBytes. Segments are deleted only as a
// prefix and only when every entry they ever held is at or below a durable compaction
// point, so the surviving records always replay to the same log (see wal-replay.ts).
import { StorageCorruptError, StorageFullError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { FileHandle, FileSystem } from "./file-system.ts";
import { isNoSpaceError } from "./file-system.ts";
import { encodeSegmentHeader, RECORD_HEADER_BYTES, RecordType } from "./wal-record.ts";
import { WalReplay } from "./wal-replay.ts";
import { parseSegmentFileName, type SegmentName, scanSegment, segmentFileName } from "./wal-segment.ts";

/** A segment header record: frame, version byte and three varints of at most 8 bytes. */
const SEGMENT_HEADER_RECORD_BYTES_MAX = RECORD_HEADER_BYTES + 1 + 3 * 8;

interface Segment extends SegmentName {
  readonly path: string;
  sizeBytes: number;
  /** Largest index of any entry this segment holds that still matters (0: none). */
  maxEntryIndex: number;
}

/** What the records of one append() change, so the WAL can keep its per-segment bookkeeping. */
export interface AppendInfo {
  /** Largest entry index in the batch (0 when none). */
  readonly maxEntryIndex: number;
  /** The batch holds an installed-snapshot marker: every earlier entry is superseded. */
  readonly discardsLog: boolean;
  /** Index a new segment would be named after: the first index the batch writes. */
  readonly nextIndex: number;
  /** Commit index already durable, recorded in a new segment's header. */
  readonly commit: number;
  /**
   * fsync before returning. False only for a batch holding nothing but a commit record:
   * the commit index need not be durable (Raft re-learns it from the leader), so it rides
   * along with the next synced batch instead of costing an fsync of its own.
   */
  readonly sync: boolean;
}

export class Wal {
  readonly dir: string;
  private readonly fs: FileSystem;
  private readonly segmentBytes: number;
  private readonly segments: Segment[];
  /** Append handle of the last segment, opened lazily. */
  private handle: FileHandle | undefined;
  /** The current segment has bytes written without an fsync (a lazy commit record). */
  private unsynced = false;

  private constructor(
    fs: FileSystem,
    dir: string,
    segmentBytes: number,
    segments: Segment[],
    handle: FileHandle | undefined,
  ) {
    this.fs = fs;
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.segments = segments;
    this.handle = handle;
  }

  /** Reads and checks every segment, truncating a torn tail of the last one. */
  static open(fs: FileSystem, dir: string, segmentBytes: number, logger: Logger): { wal: Wal; replay: WalReplay } {
    const names = fs
      .readdir(dir)
      .map(parseSegmentFileName)
      .filter((name): name is SegmentName => name !== undefined)
      .sort((a, b) => a.sequence - b.sequence);
    const segments: Segment[] = [];
    const replay = new WalReplay();
    let handle: FileHandle | undefined;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const path = `${dir}/${name.name}`;
      const previous = names[i - 1];
      if (previous && name.sequence !== previous.sequence + 1) {
        throw new StorageCorruptError(path, 0, `segment ${previous.sequence + 1} is missing before this one`);
      }
      const isLast = i === names.length - 1;
      const bytes = fs.readFile(path);
      const scan = scanSegment(bytes, name, path, isLast);
      const segment: Segment = { ...name, path, sizeBytes: scan.validBytes, maxEntryIndex: 0 };
      segments.push(segment);
      for (const { record, offset } of scan.records) {
        const location = { path, offset };
        switch (record.type) {
          case RecordType.SegmentHeader:
            replay.onCommit(record.header.commit, location);
            break;
          case RecordType.Entries:
            replay.onEntries(record.entries, location);
            segment.maxEntryIndex = Math.max(segment.maxEntryIndex, record.entries[record.entries.length - 1]!.index);
            break;
          case RecordType.Commit:
            replay.onCommit(record.commit, location);
            break;
          case RecordType.SnapshotMarker:
            replay.onMarker(record.marker, location);
            if (record.marker.discardLog) for (const earlier of segments) earlier.maxEntryIndex = 0;
            break;
        }
      }
      if (scan.torn) {
        logger.warn(
          {
            file: path,
            offset: scan.torn.offset,
            droppedBytes: bytes.length - scan.validBytes,
            reason: scan.torn.reason,
          },
          "truncating a torn record at the end of the WAL (a write interrupted by a crash)",
        );
      }
      if (isLast && scan.validBytes === 0) {
        // Not even the header made it: the segment never held anything.
        fs.unlink(path);
        fs.fsyncDirectory(dir);
        segments.pop();
      } else if (scan.torn) {
        handle = fs.openAppend(path);
        fs.truncate(handle, scan.validBytes);
        fs.fsync(handle);
      }
    }
    return { wal: new Wal(fs, dir, segmentBytes, segments, handle), replay };
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get segmentNames(): string[] {
    return this.segments.map((segment) => segment.name);
  }

  /**
   * Writes `records` durably. On ENOSPC the partial write is cut away (or the new segment
   * removed) and StorageFullError is thrown: the same batch can be appended again later.
   * Any other error is thrown as is; the caller must stop using the WAL.
   */
  append(records: readonly Uint8Array[], info: AppendInfo): void {
    const batchBytes = records.reduce((sum, record) => sum + record.length, 0);
    if (batchBytes === 0) return;
    const current = this.segments[this.segments.length - 1];
    // A segment holding only its header is not rolled: the batch alone is too big for any segment.
    const roll =
      !current ||
      (current.sizeBytes + batchBytes > this.segmentBytes && current.sizeBytes > SEGMENT_HEADER_RECORD_BYTES_MAX);
    if (roll) {
      // A segment must be whole and durable before the next one begins: a crash may tear
      // only the tail of the last segment.
      if (this.unsynced && this.handle !== undefined) this.fs.fsync(this.handle);
      this.unsynced = false;
      this.appendToNewSegment(records, batchBytes, info, current);
    } else {
      this.appendToCurrent(current, records, batchBytes, info.sync);
    }
    const last = this.segments[this.segments.length - 1]!;
    if (info.discardsLog) for (const segment of this.segments) segment.maxEntryIndex = 0;
    last.maxEntryIndex = Math.max(last.maxEntryIndex, info.maxEntryIndex);
  }

  /**
   * Deletes the oldest segments while every entry they hold is at or below `compactIndex`
   * (never the last one). Call only once a marker for that compaction point is durable.
   */
  deleteThrough(compactIndex: number): number {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[0]!.maxEntryIndex <= compactIndex) {
      this.fs.unlink(this.segments[0]!.path);
      this.segments.shift();
      deleted++;
    }
    // Deletions become durable in order; syncing keeps the disk usage we report honest.
    if (deleted > 0) this.fs.fsyncDirectory(this.dir);
    return deleted;
  }

  close(): void {
    if (this.handle === undefined) return;
    const handle = this.handle;
    this.handle = undefined;
    if (this.unsynced) {
      this.unsynced = false;
      this.fs.fsync(handle);
    }
    this.fs.close(handle);
  }

  private appendToCurrent(segment: Segment, records: readonly Uint8Array[], batchBytes: number, sync: boolean): void {
    if (this.handle === undefined) this.handle = this.fs.openAppend(segment.path);
    const handle = this.handle;
    try {
      this.fs.append(handle, concat(records, batchBytes));
    } catch (error) {
      if (!isNoSpaceError(error)) throw error;
      // Cut the partial record and make the cut durable: a later segment must never find
      // a torn record in the middle of the log.
      this.fs.truncate(handle, segment.sizeBytes);
      this.fs.fsync(handle);
      throw new StorageFullError(segment.path, { cause: error });
    }
    if (sync) {
      this.fs.fsync(handle);
      this.unsynced = false;
    } else {
      this.unsynced = true;
    }
    segment.sizeBytes += batchBytes;
  }

  private appendToNewSegment(
    records: readonly Uint8Array[],
    batchBytes: number,
    info: AppendInfo,
    previous: Segment | undefined,
  ): void {
    const sequence = (previous?.sequence ?? 0) + 1;
    const name = segmentFileName(sequence, info.nextIndex);
    const path = `${this.dir}/${name}`;
    const header = encodeSegmentHeader({ sequence, firstIndex: info.nextIndex, commit: info.commit });
    let handle: FileHandle;
    try {
      handle = this.fs.openAppend(path);
    } catch (error) {
      if (isNoSpaceError(error)) throw new StorageFullError(path, { cause: error });
      throw error;
    }
    try {
      this.fs.append(handle, concat([header, ...records], header.length + batchBytes));
    } catch (error) {
      this.fs.close(handle);
      if (!isNoSpaceError(error)) throw error;
      this.fs.unlink(path);
      throw new StorageFullError(path, { cause: error });
    }
    try {
      this.fs.fsync(handle);
      this.fs.fsyncDirectory(this.dir);
    } catch (error) {
      this.fs.close(handle);
      throw error;
    }
    this.close();
    this.handle = handle;
    this.segments.push({
      name,
      sequence,
      firstIndex: info.nextIndex,
      path,
      sizeBytes: header.length + batchBytes,
      maxEntryIndex: 0,
    });
  }
}

function concat(parts: readonly Uint8Array[], totalBytes: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const bytes = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
