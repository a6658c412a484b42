// A snapshot file, `snapshot-<index>-<term>.snap` (16 hex digits each):
//
//   [u32 magic "CSNP"][u32 metadata length][u32 data length high][u32 data length low]
//   [metadata: codec snapshot metadata][u32 crc32c of the header so far]
//   [data][u32 crc32c of data]
//
// The data is written piece by piece (InstallSnapshot chunks arrive one at a time and are
// never all held in memory) into a temp file that is fsynced and renamed into place only
// when complete, so a file with the final name is always whole. Reads go to the file too.
import { decodeSnapshotMetadata, encodeSnapshotMetadata } from "../codec.ts";
import { CodecError, InvariantError, StorageCorruptError } from "../errors.ts";
import type { SnapshotMetadata } from "../types.ts";
import { crc32c } from "./crc32c.ts";
import type { FileHandle, FileSystem } from "./file-system.ts";

const MAGIC = 0x504e5343; // "CSNP" little-endian
const FIXED_HEADER_BYTES = 16;
const CRC_BYTES = 4;
/** Metadata is a conf state: a few node ids. A bigger length field is corruption. */
const METADATA_BYTES_MAX = 1024 * 1024;
/** Recovery checks a snapshot's checksum in pieces of this size, so memory stays bounded. */
const VERIFY_CHUNK_BYTES = 1024 * 1024;
const SNAPSHOT_NAME = /^snapshot-([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export interface SnapshotFileName {
  readonly name: string;
  readonly index: number;
  readonly term: number;
}

export function snapshotFileName(index: number, term: number): string {
  return `snapshot-${index.toString(16).padStart(16, "0")}-${term.toString(16).padStart(16, "0")}.snap`;
}

export function parseSnapshotFileName(name: string): SnapshotFileName | undefined {
  const match = SNAPSHOT_NAME.exec(name);
  if (!match) return undefined;
  const index = Number.parseInt(match[1]!, 16);
  const term = Number.parseInt(match[2]!, 16);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return undefined;
  return { name, index, term };
}

/** Where a checked snapshot file keeps its data. */
export interface SnapshotFileInfo {
  readonly metadata: SnapshotMetadata;
  readonly dataOffset: number;
  readonly dataBytes: number;
}

/** A position in a SnapshotFileWriter to roll back to. */
export interface SnapshotWriterMark {
  readonly fileBytes: number;
  readonly headerBytes: number;
  readonly dataBytes: number;
  readonly crc: number;
  readonly finished: boolean;
}

/** Writes one snapshot file, header first, then data in pieces, then the data checksum. */
export class SnapshotFileWriter {
  readonly path: string;
  readonly metadata: SnapshotMetadata;
  readonly totalBytes: number;
  private readonly fs: FileSystem;
  private handle: FileHandle | undefined;
  private fileBytes = 0;
  private dataBytes = 0;
  private crc = 0;
  private finished = false;
  private headerBytes = 0;

  private constructor(
    fs: FileSystem,
    path: string,
    metadata: SnapshotMetadata,
    totalBytes: number,
    handle: FileHandle,
  ) {
    this.fs = fs;
    this.path = path;
    this.metadata = metadata;
    this.totalBytes = totalBytes;
    this.handle = handle;
  }

  /** Creates (or empties) `path` and writes the header. */
  static create(fs: FileSystem, path: string, metadata: SnapshotMetadata, totalBytes: number): SnapshotFileWriter {
    const writer = new SnapshotFileWriter(fs, path, metadata, totalBytes, fs.openAppend(path));
    try {
      fs.truncate(writer.openHandle(), 0);
      const encoded = encodeSnapshotMetadata(metadata);
      const header = new Uint8Array(FIXED_HEADER_BYTES + encoded.length + CRC_BYTES);
      const view = new DataView(header.buffer);
      view.setUint32(0, MAGIC, true);
      view.setUint32(4, encoded.length, true);
      view.setUint32(8, Math.floor(totalBytes / 0x1_0000_0000), true);
      view.setUint32(12, totalBytes >>> 0, true);
      header.set(encoded, FIXED_HEADER_BYTES);
      const headerCrc = crc32c(header.subarray(0, FIXED_HEADER_BYTES + encoded.length));
      view.setUint32(FIXED_HEADER_BYTES + encoded.length, headerCrc, true);
      writer.write(header);
      writer.headerBytes = header.length;
    } catch (error) {
      writer.close();
      throw error;
    }
    return writer;
  }

  /** Reopens a file this writer made, cut back to `mark` (to retry after ENOSPC). */
  static resume(
    fs: FileSystem,
    path: string,
    metadata: SnapshotMetadata,
    totalBytes: number,
    mark: SnapshotWriterMark,
  ): SnapshotFileWriter {
    const writer = new SnapshotFileWriter(fs, path, metadata, totalBytes, fs.openAppend(path));
    writer.headerBytes = mark.headerBytes;
    try {
      writer.rollback(mark);
    } catch (error) {
      writer.close();
      throw error;
    }
    return writer;
  }

  /** Where the data starts in the file. */
  get dataOffset(): number {
    return this.headerBytes;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  append(data: Uint8Array): void {
    if (this.finished || this.dataBytes + data.length > this.totalBytes) {
      throw new InvariantError(`snapshot data overflows its ${this.totalBytes} bytes`);
    }
    if (data.length === 0) return;
    // The running CRC is updated only once the bytes are written, so rollback() stays exact.
    this.write(data);
    this.dataBytes += data.length;
    this.crc = crc32c(data, this.crc);
  }

  /** Writes the data checksum; the file is complete (but not yet synced). */
  finish(): void {
    if (this.dataBytes !== this.totalBytes) {
      throw new InvariantError(`snapshot has ${this.dataBytes} of ${this.totalBytes} bytes`);
    }
    const trailer = new Uint8Array(CRC_BYTES);
    new DataView(trailer.buffer).setUint32(0, this.crc, true);
    this.write(trailer);
    this.finished = true;
  }

  mark(): SnapshotWriterMark {
    return {
      fileBytes: this.fileBytes,
      headerBytes: this.headerBytes,
      dataBytes: this.dataBytes,
      crc: this.crc,
      finished: this.finished,
    };
  }

  /** Cuts the file back to `mark` (after a failed write, so the same bytes can be written again). */
  rollback(mark: SnapshotWriterMark): void {
    this.fs.truncate(this.openHandle(), mark.fileBytes);
    this.fileBytes = mark.fileBytes;
    this.dataBytes = mark.dataBytes;
    this.crc = mark.crc;
    this.finished = mark.finished;
  }

  sync(): void {
    this.fs.fsync(this.openHandle());
  }

  close(): void {
    if (this.handle === undefined) return;
    const handle = this.handle;
    this.handle = undefined;
    this.fs.close(handle);
  }

  private write(bytes: Uint8Array): void {
    const before = this.fileBytes;
    try {
      this.fs.append(this.openHandle(), bytes);
    } catch (error) {
      // A short write may have left part of `bytes`; cut it so the file matches our counters.
      this.fs.truncate(this.openHandle(), before);
      throw error;
    }
    this.fileBytes += bytes.length;
  }

  private openHandle(): FileHandle {
    if (this.handle === undefined) throw new InvariantError(`snapshot file ${this.path} is closed`);
    return this.handle;
  }
}

/**
 * Checks a snapshot file end to end (header, metadata, data checksum) and says where its
 * data is. Throws StorageCorruptError naming the file and the offset of the problem.
 */
export function checkSnapshotFile(fs: FileSystem, path: string, expected: SnapshotFileName): SnapshotFileInfo {
  const handle = fs.openRead(path);
  try {
    const size = fs.size(handle);
    const fixed = fs.readAt(handle, 0, FIXED_HEADER_BYTES);
    if (fixed.length < FIXED_HEADER_BYTES) throw new StorageCorruptError(path, 0, "file too short for a header");
    const view = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength);
    if (view.getUint32(0, true) !== MAGIC) throw new StorageCorruptError(path, 0, "bad magic number");
    const metadataBytes = view.getUint32(4, true);
    const dataBytes = view.getUint32(8, true) * 0x1_0000_0000 + view.getUint32(12, true);
    if (metadataBytes > METADATA_BYTES_MAX) {
      throw new StorageCorruptError(path, 4, `metadata length ${metadataBytes} is impossible`);
    }
    const dataOffset = FIXED_HEADER_BYTES + metadataBytes + CRC_BYTES;
    if (!Number.isSafeInteger(dataBytes) || dataOffset + dataBytes + CRC_BYTES !== size) {
      throw new StorageCorruptError(path, 8, `data length ${dataBytes} does not match the file size ${size}`);
    }
    const header = fs.readAt(handle, 0, dataOffset);
    const headerCrc = new DataView(header.buffer, header.byteOffset).getUint32(dataOffset - CRC_BYTES, true);
    if (crc32c(header.subarray(0, dataOffset - CRC_BYTES)) !== headerCrc) {
      throw new StorageCorruptError(path, dataOffset - CRC_BYTES, "header checksum mismatch");
    }
    let metadata: SnapshotMetadata;
    try {
      metadata = decodeSnapshotMetadata(header.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + metadataBytes));
    } catch (error) {
      if (error instanceof CodecError) throw new StorageCorruptError(path, FIXED_HEADER_BYTES, error.message);
      throw error;
    }
    if (metadata.index !== expected.index || metadata.term !== expected.term) {
      throw new StorageCorruptError(
        path,
        FIXED_HEADER_BYTES,
        `metadata says index ${metadata.index}, term ${metadata.term}; the file name disagrees`,
      );
    }
    let crc = 0;
    for (let offset = 0; offset < dataBytes; offset += VERIFY_CHUNK_BYTES) {
      crc = crc32c(fs.readAt(handle, dataOffset + offset, Math.min(VERIFY_CHUNK_BYTES, dataBytes - offset)), crc);
    }
    const trailer = fs.readAt(handle, dataOffset + dataBytes, CRC_BYTES);
    if (new DataView(trailer.buffer, trailer.byteOffset).getUint32(0, true) !== crc) {
      throw new StorageCorruptError(path, dataOffset + dataBytes, "data checksum mismatch");
    }
    return { metadata, dataOffset, dataBytes };
  } finally {
    fs.close(handle);
  }
}
