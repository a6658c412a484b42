// One WAL segment file: its name and how its bytes are checked on recovery.
//
// Segments are named `wal-<sequence>-<firstIndex>.log` (16 hex digits each): the sequence
// orders them and exposes a missing file; firstIndex (the next log index when the segment
// was started) tells an operator what is inside. The sequence is needed because, after a
// conflicting append truncated the log, two segments may start at the same index.
import { StorageCorruptError } from "../errors.ts";
import { RecordType, readFrame, type WalRecord } from "./wal-record.ts";

const SEGMENT_NAME = /^wal-([0-9a-f]{16})-([0-9a-f]{16})\.log$/;

export interface SegmentName {
  readonly name: string;
  readonly sequence: number;
  readonly firstIndex: number;
}

export function segmentFileName(sequence: number, firstIndex: number): string {
  return `wal-${hex16(sequence)}-${hex16(firstIndex)}.log`;
}

export function parseSegmentFileName(name: string): SegmentName | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (!match) return undefined;
  const sequence = Number.parseInt(match[1]!, 16);
  const firstIndex = Number.parseInt(match[2]!, 16);
  if (!Number.isSafeInteger(sequence) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { name, sequence, firstIndex };
}

export interface ScannedRecord {
  readonly record: WalRecord;
  readonly offset: number;
}

export interface SegmentScan {
  readonly records: ScannedRecord[];
  /** Bytes up to the end of the last good record. */
  readonly validBytes: number;
  /** Set when the tail after validBytes is a write cut short by a crash. */
  readonly torn: { readonly offset: number; readonly reason: string } | undefined;
}

/**
 * Checks every record of a segment. Only the last segment may end in a torn record (the
 * write a crash interrupted: cut short, failing its checksum as the final record, or
 * zero-filled); anything wrong elsewhere is corruption of data that was once synced.
 */
export function scanSegment(bytes: Uint8Array, segment: SegmentName, path: string, isLast: boolean): SegmentScan {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const result = readFrame(bytes, offset);
    if (result.kind === "record") {
      checkPlacement(result.record, segment, path, offset);
      records.push({ record: result.record, offset });
      offset = result.endOffset;
      continue;
    }
    const tornTail =
      isLast && (result.kind === "truncated" || result.endOffset === bytes.length || isZero(bytes, offset));
    if (!tornTail) throw new StorageCorruptError(path, offset, result.reason);
    return { records, validBytes: offset, torn: { offset, reason: result.reason } };
  }
  if (records.length === 0 && !isLast) throw new StorageCorruptError(path, 0, "segment is empty");
  return { records, validBytes: offset, torn: undefined };
}

function checkPlacement(record: WalRecord, segment: SegmentName, path: string, offset: number): void {
  const isHeader = record.type === RecordType.SegmentHeader;
  if (offset === 0 && !isHeader) throw new StorageCorruptError(path, 0, "segment does not start with a header");
  if (offset !== 0 && isHeader) throw new StorageCorruptError(path, offset, "segment header in mid-segment");
  if (
    record.type === RecordType.SegmentHeader &&
    (record.header.sequence !== segment.sequence || record.header.firstIndex !== segment.firstIndex)
  ) {
    throw new StorageCorruptError(
      path,
      0,
      `header says sequence ${record.header.sequence}, first index ${record.header.firstIndex}; the file name disagrees`,
    );
  }
}

function isZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function hex16(value: number): string {
  return value.toString(16).padStart(16, "0");
}
