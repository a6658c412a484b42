// The `hardstate` file: term and vote, replaced atomically (temp file, fsync, rename,
// directory fsync) and only when one of them changes, a few times a day at most. The
// commit index, which changes all the time, goes to the WAL instead; the copy here is the
// commit that was already durable when the file was written, so it can never point past
// the durable log.
//
//   [u32 magic "CHST"][u32 payload length][payload: codec hard state][u32 crc32c of all before]
import { decodeHardState, encodeHardState } from "../codec.ts";
import { CodecError, StorageCorruptError, StorageFullError } from "../errors.ts";
import type { HardState } from "../types.ts";
import { crc32c } from "./crc32c.ts";
import { type FileSystem, isNoSpaceError, isNotFoundError } from "./file-system.ts";

export const HARD_STATE_FILE_NAME = "hardstate";
const TEMP_FILE_NAME = "hardstate.tmp";
const MAGIC = 0x54534843; // "CHST" little-endian
/** Hard state is a term, a node id and a commit index; anything bigger is not a hard state file. */
const PAYLOAD_BYTES_MAX = 4096;

export function readHardStateFile(fs: FileSystem, dir: string): HardState | undefined {
  const path = `${dir}/${HARD_STATE_FILE_NAME}`;
  let bytes: Uint8Array;
  try {
    bytes = fs.readFile(path);
  } catch (error) {
    if (isNotFoundError(error)) return undefined;
    throw error;
  }
  if (bytes.length < 12) throw new StorageCorruptError(path, 0, `file of ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new StorageCorruptError(path, 0, "bad magic number");
  const length = view.getUint32(4, true);
  if (length > PAYLOAD_BYTES_MAX || 8 + length + 4 !== bytes.length) {
    throw new StorageCorruptError(path, 4, `payload length ${length} does not match the file size ${bytes.length}`);
  }
  const stored = view.getUint32(8 + length, true);
  if (crc32c(bytes.subarray(0, 8 + length)) !== stored)
    throw new StorageCorruptError(path, 8 + length, "checksum mismatch");
  try {
    return decodeHardState(bytes.subarray(8, 8 + length));
  } catch (error) {
    if (error instanceof CodecError) throw new StorageCorruptError(path, 8, error.message);
    throw error;
  }
}

/** Writes the file atomically. On ENOSPC the old file is untouched and StorageFullError is thrown. */
export function writeHardStateFile(fs: FileSystem, dir: string, state: HardState): void {
  const payload = encodeHardState(state);
  const bytes = new Uint8Array(8 + payload.length + 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, payload.length, true);
  bytes.set(payload, 8);
  view.setUint32(8 + payload.length, crc32c(bytes.subarray(0, 8 + payload.length)), true);

  const tempPath = `${dir}/${TEMP_FILE_NAME}`;
  const handle = fs.openAppend(tempPath);
  try {
    fs.truncate(handle, 0);
    fs.append(handle, bytes);
    fs.fsync(handle);
  } catch (error) {
    fs.close(handle);
    if (!isNoSpaceError(error)) throw error;
    fs.unlink(tempPath);
    throw new StorageFullError(tempPath, { cause: error });
  }
  fs.close(handle);
  fs.rename(tempPath, `${dir}/${HARD_STATE_FILE_NAME}`);
  fs.fsyncDirectory(dir);
}
