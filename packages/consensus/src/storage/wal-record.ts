// The WAL's record framing and the four record kinds.
//
//   [u32 length][u32 crc32c][u8 type][payload]      (little-endian)
//
// `length` counts the type byte and the payload. The CRC covers the length field too, so
// a flipped length is caught like any other flipped bit instead of silently re-framing
// the rest of the segment. Payloads use the codec's varints: small numbers, small records.
import { BinaryReader, BinaryWriter, varintBytes } from "../binary.ts";
import { encodedEntryBytes, readEntry, writeEntry } from "../codec.ts";
import { CodecError } from "../errors.ts";
import type { Entry } from "../types.ts";
import { crc32c } from "./crc32c.ts";

export const RECORD_HEADER_BYTES = 9;
/** No legitimate record comes near this; a bigger length field means corruption, not data. */
export const RECORD_BYTES_MAX = 64 * 1024 * 1024;
/** Entries are split into records of about this size, so one record never needs a huge buffer. */
export const ENTRIES_RECORD_BYTES_TARGET = 1024 * 1024;
/** Bound on the entry count one record may claim (checked before looping). */
const ENTRIES_PER_RECORD_MAX = 1024 * 1024;
/** Smallest encoded entry: version, term, index, type, empty data. */
const ENTRY_BYTES_MIN = 5;
const SEGMENT_FORMAT_VERSION = 1;

export const RecordType = {
  /** First record of every segment: which segment this is, and the commit index so far. */
  SegmentHeader: 1,
  /** Consecutive entries; the first one's index discards every stored entry at or after it. */
  Entries: 2,
  /** The commit index, written only when it changed. */
  Commit: 3,
  /** A snapshot became the storage's snapshot; the log before `baseIndex` is gone. */
  SnapshotMarker: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export interface SegmentHeader {
  readonly sequence: number;
  readonly firstIndex: number;
  /** Commit index when the segment was started, so deleting older segments never loses it. */
  readonly commit: number;
}

export interface SnapshotMarker {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** The log keeps entries after baseIndex (below the snapshot when entries are retained). */
  readonly baseIndex: number;
  readonly baseTerm: number;
  /** An installed snapshot replaces the whole log; a created one keeps the entries after baseIndex. */
  readonly discardLog: boolean;
}

export type WalRecord =
  | { readonly type: typeof RecordType.SegmentHeader; readonly header: SegmentHeader }
  | { readonly type: typeof RecordType.Entries; readonly entries: readonly Entry[] }
  | { readonly type: typeof RecordType.Commit; readonly commit: number }
  | { readonly type: typeof RecordType.SnapshotMarker; readonly marker: SnapshotMarker };

/** Frames a payload: header plus payload in one buffer. */
function frame(type: RecordType, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1 + payload.length, true);
  bytes[8] = type;
  bytes.set(payload, RECORD_HEADER_BYTES);
  view.setUint32(4, crc32c(bytes.subarray(8), crc32c(bytes.subarray(0, 4))), true);
  return bytes;
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const writer = new BinaryWriter(1 + varintBytes(header.sequence) + varintBytes(header.firstIndex) + 8);
  writer.writeByte(SEGMENT_FORMAT_VERSION);
  writer.writeVarint(header.sequence);
  writer.writeVarint(header.firstIndex);
  writer.writeVarint(header.commit);
  return frame(RecordType.SegmentHeader, writer.finish());
}

/** One or more records holding `entries`, each about ENTRIES_RECORD_BYTES_TARGET at most. */
export function encodeEntries(entries: readonly Entry[]): Uint8Array[] {
  const records: Uint8Array[] = [];
  let start = 0;
  while (start < entries.length) {
    let end = start;
    let bytes = 0;
    // At least one entry per record, however big.
    do {
      bytes += encodedEntryBytes(entries[end]!);
      end++;
    } while (end < entries.length && bytes + encodedEntryBytes(entries[end]!) <= ENTRIES_RECORD_BYTES_TARGET);
    const writer = new BinaryWriter(varintBytes(end - start) + bytes);
    writer.writeVarint(end - start);
    for (let i = start; i < end; i++) writeEntry(writer, entries[i]!);
    records.push(frame(RecordType.Entries, writer.finish()));
    start = end;
  }
  return records;
}

export function encodeCommit(commit: number): Uint8Array {
  const writer = new BinaryWriter(varintBytes(commit));
  writer.writeVarint(commit);
  return frame(RecordType.Commit, writer.finish());
}

export function encodeSnapshotMarker(marker: SnapshotMarker): Uint8Array {
  const writer = new BinaryWriter(40);
  writer.writeVarint(marker.snapshotIndex);
  writer.writeVarint(marker.snapshotTerm);
  writer.writeVarint(marker.baseIndex);
  writer.writeVarint(marker.baseTerm);
  writer.writeBool(marker.discardLog);
  return frame(RecordType.SnapshotMarker, writer.finish());
}

/** What sits at one offset of a segment. */
export type FrameResult =
  | { readonly kind: "record"; readonly record: WalRecord; readonly endOffset: number }
  /** The bytes end inside this record: a write cut short by a crash (if at the tail). */
  | { readonly kind: "truncated"; readonly reason: string }
  /** A whole record that fails its checksum or does not decode. */
  | { readonly kind: "bad"; readonly reason: string; readonly endOffset: number };

/** Reads the record at `offset` of `bytes` (which must hold at least one byte from offset). */
export function readFrame(bytes: Uint8Array, offset: number): FrameResult {
  const available = bytes.length - offset;
  if (available < RECORD_HEADER_BYTES) {
    return { kind: "truncated", reason: `${available} bytes left, a record header needs ${RECORD_HEADER_BYTES}` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_HEADER_BYTES);
  const length = view.getUint32(0, true);
  const storedCrc = view.getUint32(4, true);
  if (length < 1 || length > RECORD_BYTES_MAX) {
    return { kind: "bad", reason: `record length ${length} is impossible`, endOffset: bytes.length };
  }
  const endOffset = offset + 8 + length;
  if (endOffset > bytes.length) {
    return { kind: "truncated", reason: `record of ${length} bytes runs past the end of the file` };
  }
  const crc = crc32c(bytes.subarray(offset + 8, endOffset), crc32c(bytes.subarray(offset, offset + 4)));
  if (crc !== storedCrc) {
    return { kind: "bad", reason: `checksum mismatch (stored ${hex(storedCrc)}, computed ${hex(crc)})`, endOffset };
  }
  try {
    return { kind: "record", record: decodePayload(bytes, offset + RECORD_HEADER_BYTES, endOffset), endOffset };
  } catch (error) {
    if (error instanceof CodecError) return { kind: "bad", reason: error.message, endOffset };
    throw error;
  }
}

function decodePayload(bytes: Uint8Array, start: number, end: number): WalRecord {
  const type = bytes[start - 1]!;
  const reader = new BinaryReader(bytes, start, end);
  let record: WalRecord;
  switch (type) {
    case RecordType.SegmentHeader: {
      const version = reader.readByte("segment format version");
      if (version !== SEGMENT_FORMAT_VERSION) throw new CodecError(`unknown segment format version ${version}`);
      const sequence = reader.readVarint("segment sequence");
      const firstIndex = reader.readVarint("segment first index");
      const commit = reader.readVarint("segment commit");
      record = { type, header: { sequence, firstIndex, commit } };
      break;
    }
    case RecordType.Entries: {
      const count = reader.readCount("entry count", ENTRIES_PER_RECORD_MAX, "ENTRIES_PER_RECORD_MAX", ENTRY_BYTES_MIN);
      if (count === 0) throw new CodecError("empty entries record");
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) {
        const entry = readEntry(reader);
        const previous = entries[i - 1];
        if (previous && entry.index !== previous.index + 1) {
          throw new CodecError(`entry ${entry.index} does not follow entry ${previous.index}`);
        }
        if (entry.index < 1) throw new CodecError(`entry index ${entry.index} is impossible`);
        entries.push(entry);
      }
      record = { type, entries };
      break;
    }
    case RecordType.Commit:
      record = { type, commit: reader.readVarint("commit") };
      break;
    case RecordType.SnapshotMarker: {
      const snapshotIndex = reader.readVarint("snapshot index");
      const snapshotTerm = reader.readVarint("snapshot term");
      const baseIndex = reader.readVarint("base index");
      const baseTerm = reader.readVarint("base term");
      const discardLog = reader.readBool("discard log");
      if (baseIndex > snapshotIndex) throw new CodecError(`base index ${baseIndex} is after snapshot ${snapshotIndex}`);
      record = { type, marker: { snapshotIndex, snapshotTerm, baseIndex, baseTerm, discardLog } };
      break;
    }
    default:
      throw new CodecError(`unknown record type ${type}`);
  }
  reader.expectEnd("record");
  return record;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
