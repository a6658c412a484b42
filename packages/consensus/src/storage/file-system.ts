// The few synchronous file operations FileStorage needs, behind an interface so crash
// tests and the Raft simulator can swap in SimulatedFileSystem. Synchronous on purpose:
// persist() must be durable before it returns, and the agent loop does nothing else
// meanwhile (a BMC has one slow core and one flash chip; there is nothing to overlap).
import * as fs from "node:fs";

/** An open file. Only meaningful to the FileSystem that returned it. */
export type FileHandle = number;

export interface FileSystem {
  /** Creates the directory and its parents if missing. */
  mkdir(dir: string): void;
  /** Names (not paths) of the entries in `dir`. */
  readdir(dir: string): string[];
  /** The whole file. Throws an error with code "ENOENT" when missing. */
  readFile(path: string): Uint8Array;
  /** Opens for appending, creating the file if missing. */
  openAppend(path: string): FileHandle;
  /** Opens for positional reads. Throws an error with code "ENOENT" when missing. */
  openRead(path: string): FileHandle;
  /** Appends all of `data` (a short write is retried until done or an error is thrown). */
  append(handle: FileHandle, data: Uint8Array): void;
  /** Up to `length` bytes from `position` (fewer at the end of the file). */
  readAt(handle: FileHandle, position: number, length: number): Uint8Array;
  /** Current size in bytes. */
  size(handle: FileHandle): number;
  /** Cuts the file to `length` bytes. */
  truncate(handle: FileHandle, length: number): void;
  /** Makes the file's data durable (not its directory entry: see fsyncDirectory). */
  fsync(handle: FileHandle): void;
  close(handle: FileHandle): void;
  /** Atomically replaces `to` with `from` (same directory). */
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Makes creations, renames and unlinks in `dir` durable. */
  fsyncDirectory(dir: string): void;
}

/** The error code node (and SimulatedFileSystem) set on an error, if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return undefined;
}

export function isNoSpaceError(error: unknown): boolean {
  const code = errorCode(error);
  // EDQUOT (quota exceeded) is the same condition for our purposes: retry once space is freed.
  return code === "ENOSPC" || code === "EDQUOT";
}

export function isNotFoundError(error: unknown): boolean {
  return errorCode(error) === "ENOENT";
}

/** The real thing: node:fs synchronous calls. */
export const nodeFileSystem: FileSystem = Object.freeze({
  mkdir(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
  },
  readdir(dir: string): string[] {
    return fs.readdirSync(dir);
  },
  readFile(path: string): Uint8Array {
    const buffer = fs.readFileSync(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  },
  openAppend(path: string): FileHandle {
    return fs.openSync(path, "a");
  },
  openRead(path: string): FileHandle {
    return fs.openSync(path, "r");
  },
  append(handle: FileHandle, data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      offset += fs.writeSync(handle, data, offset, data.length - offset);
    }
  },
  readAt(handle: FileHandle, position: number, length: number): Uint8Array {
    const buffer = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const read = fs.readSync(handle, buffer, filled, length - filled, position + filled);
      if (read === 0) break;
      filled += read;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  },
  size(handle: FileHandle): number {
    return fs.fstatSync(handle).size;
  },
  truncate(handle: FileHandle, length: number): void {
    fs.ftruncateSync(handle, length);
  },
  fsync(handle: FileHandle): void {
    fs.fsyncSync(handle);
  },
  close(handle: FileHandle): void {
    fs.closeSync(handle);
  },
  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  },
  unlink(path: string): void {
    fs.unlinkSync(path);
  },
  fsyncDirectory(dir: string): void {
    // Linux lets us fsync a directory opened read-only; that is how a rename becomes durable.
    const handle = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(handle);
    } finally {
      fs.closeSync(handle);
    }
  },
});
