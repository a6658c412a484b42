// An in-memory FileSystem for crash tests and the Raft simulator. It remembers what is
// durable (fsynced data, fsynced directory entries) apart from what a running process
// sees, so crash() can throw away exactly what a power cut would:
//   - file data written since the file's last fsync is lost, or (given a Random) a random
//     prefix of it survives: a torn tail, as when the page cache was partly written back;
//   - directory operations (create, rename, unlink) since the directory's last fsync are
//     lost, or (given a Random) a random prefix of them survives, in order. In-order loss
//     models journaled/log-structured file systems (ext4, UBIFS, JFFS2 on BMC flash), which
//     never persist a later metadata change without the earlier ones.
// Faults: a byte budget (writes past it fail with code "ENOSPC" after a partial write, as
// node's fs does), a one-shot error with any code, and "crash after N operations": the Nth
// mutating operation throws SimulatedCrash and every later call throws it too, until
// crash() restarts the disk. Everything is deterministic: no clock, no Math.random.
import type { Random } from "../prng.ts";
import type { FileHandle, FileSystem } from "./file-system.ts";

/** Thrown by every operation once an injected crash has happened (until crash() is called). */
export class SimulatedCrash extends Error {
  readonly code = "SIMULATED_CRASH";
  constructor(operation: string) {
    super(`simulated crash during ${operation}`);
    this.name = "SimulatedCrash";
  }
}

interface Inode {
  /** Capacity-doubling buffer; bytes [0, length) are the file's current content. */
  buffer: Uint8Array;
  length: number;
  /** Bytes [0, durableLength) survive a crash (unless durableCopy says otherwise). */
  durableLength: number;
  /** Set when a truncate cut into durable data before the next fsync: the durable content. */
  durableCopy: Uint8Array | undefined;
  /** Directory entries (current view) naming this inode. */
  links: number;
}

type DirectoryOperation =
  | { readonly kind: "link"; readonly name: string; readonly inode: Inode }
  | { readonly kind: "unlink"; readonly name: string }
  | { readonly kind: "rename"; readonly from: string; readonly to: string };

interface Directory {
  /** What a running process sees. */
  entries: Map<string, Inode>;
  /** What survives a crash if no pending operation does. */
  durable: Map<string, Inode>;
  /** Operations since the last fsyncDirectory, oldest first. */
  pending: DirectoryOperation[];
}

interface OpenFile {
  readonly inode: Inode;
  readonly path: string;
  readonly writable: boolean;
}

/** Operations that count towards crashAfterOperations / failAfterOperations (reads do not). */
type MutatingOperation =
  | "mkdir"
  | "openAppend"
  | "append"
  | "truncate"
  | "fsync"
  | "rename"
  | "unlink"
  | "fsyncDirectory";

export class SimulatedFileSystem implements FileSystem {
  private readonly directories = new Map<string, Directory>();
  private readonly handles = new Map<FileHandle, OpenFile>();
  private nextHandle: FileHandle = 1;
  private usedBytes = 0;
  private crashed = false;
  private crashCountdown: number | undefined;
  private failCountdown: number | undefined;
  private failCode = "EIO";

  /** Total bytes the disk holds; writes beyond it fail with ENOSPC. Infinity by default. */
  capacityBytes = Number.POSITIVE_INFINITY;
  /** Counters for tests and benchmarks. */
  operationCount = 0;
  bytesWritten = 0;
  fsyncCount = 0;

  /** Bytes currently stored (what counts against capacityBytes). */
  get bytesUsed(): number {
    return this.usedBytes;
  }

  /** The `n`th mutating operation from now (1 = the next) throws SimulatedCrash, as do all after it. */
  crashAfterOperations(n: number): void {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
    this.crashCountdown = n;
  }

  /** The `n`th mutating operation from now fails once with an error carrying `code` (default EIO). */
  failAfterOperations(n: number, code = "EIO"): void {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
    this.failCountdown = n;
    this.failCode = code;
  }

  /** Cancels injected faults that have not fired yet. */
  clearFaults(): void {
    this.crashCountdown = undefined;
    this.failCountdown = undefined;
  }

  /** True once an injected crash fired; every operation throws until crash() is called. */
  get isCrashed(): boolean {
    return this.crashed;
  }

  /**
   * Power cut and reboot: unsynced data and directory operations are lost (a random prefix
   * of each survives when `random` is given), every handle becomes invalid, and injected
   * faults are cleared.
   */
  crash(random?: Random): void {
    const survivors = new Set<Inode>();
    for (const directory of this.directories.values()) {
      const entries = new Map(directory.durable);
      const kept = random ? random.nextInt(directory.pending.length + 1) : 0;
      for (const operation of directory.pending.slice(0, kept)) applyDirectoryOperation(entries, operation);
      directory.entries = entries;
      directory.durable = new Map(entries);
      directory.pending = [];
      for (const inode of entries.values()) survivors.add(inode);
    }
    for (const inode of survivors) inode.links = 0;
    for (const directory of this.directories.values()) {
      for (const inode of directory.entries.values()) inode.links++;
    }
    this.usedBytes = 0;
    for (const inode of survivors) {
      if (inode.durableCopy) {
        inode.buffer = inode.durableCopy.slice();
        inode.length = inode.durableCopy.length;
      } else {
        const unsynced = inode.length - inode.durableLength;
        inode.length = inode.durableLength + (random && unsynced > 0 ? random.nextInt(unsynced + 1) : 0);
      }
      inode.durableLength = inode.length;
      inode.durableCopy = undefined;
      this.usedBytes += inode.length;
    }
    this.handles.clear();
    this.crashed = false;
    this.crashCountdown = undefined;
    this.failCountdown = undefined;
  }

  // ---- FileSystem ----

  mkdir(dir: string): void {
    this.begin("mkdir");
    // Directory creation is treated as immediately durable: FileStorage creates its
    // directory once, at first start, and the tests are about what happens inside it.
    if (!this.directories.has(dir)) this.directories.set(dir, { entries: new Map(), durable: new Map(), pending: [] });
  }

  readdir(dir: string): string[] {
    this.checkAlive("readdir");
    return [...this.directory(dir, "scandir").entries.keys()].sort();
  }

  readFile(path: string): Uint8Array {
    this.checkAlive("readFile");
    const inode = this.lookup(path, "open");
    return inode.buffer.slice(0, inode.length);
  }

  openAppend(path: string): FileHandle {
    this.begin("openAppend");
    const { directory, name } = this.split(path, "open");
    let inode = directory.entries.get(name);
    if (!inode) {
      inode = { buffer: new Uint8Array(0), length: 0, durableLength: 0, durableCopy: undefined, links: 1 };
      directory.entries.set(name, inode);
      directory.pending.push({ kind: "link", name, inode });
    }
    return this.register({ inode, path, writable: true });
  }

  openRead(path: string): FileHandle {
    this.checkAlive("openRead");
    return this.register({ inode: this.lookup(path, "open"), path, writable: false });
  }

  append(handle: FileHandle, data: Uint8Array): void {
    this.begin("append");
    const file = this.handle(handle, "write");
    if (!file.writable) throw fsError("EBADF", "write", file.path);
    const room = this.capacityBytes - this.usedBytes;
    const writable = Math.min(data.length, Math.max(0, room));
    this.grow(file.inode, writable);
    file.inode.buffer.set(data.subarray(0, writable), file.inode.length);
    file.inode.length += writable;
    this.usedBytes += writable;
    this.bytesWritten += writable;
    if (writable < data.length) throw fsError("ENOSPC", "write", file.path);
  }

  readAt(handle: FileHandle, position: number, length: number): Uint8Array {
    this.checkAlive("readAt");
    const { inode } = this.handle(handle, "read");
    const start = Math.min(position, inode.length);
    return inode.buffer.slice(start, Math.min(inode.length, start + length));
  }

  size(handle: FileHandle): number {
    this.checkAlive("size");
    return this.handle(handle, "fstat").inode.length;
  }

  truncate(handle: FileHandle, length: number): void {
    this.begin("truncate");
    const file = this.handle(handle, "ftruncate");
    if (!file.writable) throw fsError("EBADF", "ftruncate", file.path);
    const inode = file.inode;
    if (length < inode.durableLength && !inode.durableCopy) {
      inode.durableCopy = inode.buffer.slice(0, inode.durableLength);
    }
    if (length > inode.length) {
      this.grow(inode, length - inode.length);
      inode.buffer.fill(0, inode.length, length);
    }
    this.usedBytes += length - inode.length;
    inode.length = length;
  }

  fsync(handle: FileHandle): void {
    this.begin("fsync");
    const { inode } = this.handle(handle, "fsync");
    inode.durableLength = inode.length;
    inode.durableCopy = undefined;
    this.fsyncCount++;
  }

  close(handle: FileHandle): void {
    this.checkAlive("close");
    this.handle(handle, "close");
    this.handles.delete(handle);
  }

  rename(from: string, to: string): void {
    this.begin("rename");
    const source = this.split(from, "rename");
    const target = this.split(to, "rename");
    if (source.directory !== target.directory) throw fsError("EXDEV", "rename", from);
    const inode = source.directory.entries.get(source.name);
    if (!inode) throw fsError("ENOENT", "rename", from);
    if (source.name === target.name) return;
    this.dropLink(source.directory.entries.get(target.name));
    const operation: DirectoryOperation = { kind: "rename", from: source.name, to: target.name };
    applyDirectoryOperation(source.directory.entries, operation);
    source.directory.pending.push(operation);
  }

  unlink(path: string): void {
    this.begin("unlink");
    const { directory, name } = this.split(path, "unlink");
    const inode = directory.entries.get(name);
    if (!inode) throw fsError("ENOENT", "unlink", path);
    directory.entries.delete(name);
    directory.pending.push({ kind: "unlink", name });
    this.dropLink(inode);
  }

  fsyncDirectory(dir: string): void {
    this.begin("fsyncDirectory");
    const directory = this.directory(dir, "fsync");
    directory.durable = new Map(directory.entries);
    directory.pending = [];
    this.fsyncCount++;
  }

  // ---- internals ----

  /** Counts a mutating operation and fires any injected fault. */
  private begin(operation: MutatingOperation): void {
    this.checkAlive(operation);
    this.operationCount++;
    if (this.crashCountdown !== undefined && --this.crashCountdown === 0) {
      this.crashCountdown = undefined;
      this.crashed = true;
      throw new SimulatedCrash(operation);
    }
    if (this.failCountdown !== undefined && --this.failCountdown === 0) {
      this.failCountdown = undefined;
      throw fsError(this.failCode, operation, "(injected)");
    }
  }

  private checkAlive(operation: string): void {
    if (this.crashed) throw new SimulatedCrash(operation);
  }

  private register(file: OpenFile): FileHandle {
    const handle = this.nextHandle++;
    this.handles.set(handle, file);
    return handle;
  }

  private handle(handle: FileHandle, syscall: string): OpenFile {
    const file = this.handles.get(handle);
    if (!file) throw fsError("EBADF", syscall, `handle ${handle}`);
    return file;
  }

  private directory(dir: string, syscall: string): Directory {
    const directory = this.directories.get(dir);
    if (!directory) throw fsError("ENOENT", syscall, dir);
    return directory;
  }

  private split(path: string, syscall: string): { directory: Directory; name: string } {
    const slash = path.lastIndexOf("/");
    const dir = slash <= 0 ? "/" : path.slice(0, slash);
    return { directory: this.directory(dir, syscall), name: path.slice(slash + 1) };
  }

  private lookup(path: string, syscall: string): Inode {
    const { directory, name } = this.split(path, syscall);
    const inode = directory.entries.get(name);
    if (!inode) throw fsError("ENOENT", syscall, path);
    return inode;
  }

  /** Space is freed when the last name goes (open handles do not pin it: a simplification). */
  private dropLink(inode: Inode | undefined): void {
    if (!inode) return;
    inode.links--;
    if (inode.links === 0) this.usedBytes -= inode.length;
  }

  private grow(inode: Inode, extraBytes: number): void {
    const needed = inode.length + extraBytes;
    if (needed <= inode.buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, inode.buffer.length * 2, 256));
    grown.set(inode.buffer.subarray(0, inode.length));
    inode.buffer = grown;
  }
}

function applyDirectoryOperation(entries: Map<string, Inode>, operation: DirectoryOperation): void {
  switch (operation.kind) {
    case "link":
      entries.set(operation.name, operation.inode);
      return;
    case "unlink":
      entries.delete(operation.name);
      return;
    case "rename": {
      const inode = entries.get(operation.from);
      // The source may be missing in a crash replay when its creation was not kept; a real
      // journal could not keep the rename without the creation, and neither do we.
      if (!inode) return;
      entries.delete(operation.from);
      entries.set(operation.to, inode);
      return;
    }
  }
}

/** An error shaped like node's fs errors (code, syscall, path), so callers treat both alike. */
function fsError(code: string, syscall: string, path: string): Error {
  const messages: Record<string, string> = {
    ENOSPC: "no space left on device",
    ENOENT: "no such file or directory",
    EBADF: "bad file descriptor",
    EXDEV: "cross-device link not permitted",
    EIO: "i/o error",
  };
  return Object.assign(new Error(`${code}: ${messages[code] ?? "simulated error"}, ${syscall} '${path}'`), {
    code,
    syscall,
    path,
  });
}
