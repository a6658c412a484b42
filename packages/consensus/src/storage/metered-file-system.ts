// A FileSystem wrapper that counts what reaches the disk, so FileStorage can report the
// bytes and syncs it cost (flash wear is the budget on a BMC; the benchmark reports it).
import type { FileHandle, FileSystem } from "./file-system.ts";

export class MeteredFileSystem implements FileSystem {
  private readonly inner: FileSystem;
  /** Bytes handed to append(), including any a failed write may have left behind. */
  bytesWritten = 0;
  /** fsync() and fsyncDirectory() calls. */
  syncCount = 0;

  constructor(inner: FileSystem) {
    this.inner = inner;
  }

  mkdir(dir: string): void {
    this.inner.mkdir(dir);
  }
  readdir(dir: string): string[] {
    return this.inner.readdir(dir);
  }
  readFile(path: string): Uint8Array {
    return this.inner.readFile(path);
  }
  openAppend(path: string): FileHandle {
    return this.inner.openAppend(path);
  }
  openRead(path: string): FileHandle {
    return this.inner.openRead(path);
  }
  append(handle: FileHandle, data: Uint8Array): void {
    this.bytesWritten += data.length;
    this.inner.append(handle, data);
  }
  readAt(handle: FileHandle, position: number, length: number): Uint8Array {
    return this.inner.readAt(handle, position, length);
  }
  size(handle: FileHandle): number {
    return this.inner.size(handle);
  }
  truncate(handle: FileHandle, length: number): void {
    this.inner.truncate(handle, length);
  }
  fsync(handle: FileHandle): void {
    this.syncCount++;
    this.inner.fsync(handle);
  }
  close(handle: FileHandle): void {
    this.inner.close(handle);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }
  unlink(path: string): void {
    this.inner.unlink(path);
  }
  fsyncDirectory(dir: string): void {
    this.syncCount++;
    this.inner.fsyncDirectory(dir);
  }
}
