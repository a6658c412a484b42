// The disk under one simulated node: opens its Storage after each (re)start, and loses what
// a power cut would lose. Two kinds: MemoryStorage (atomic, never tears) and the
// file storage on a SimulatedFileSystem (lost unsynced writes, torn tails, crash mid-persist).
import type { SeededRandom } from "../../src/prng.ts";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import { SimulatedCrash, SimulatedFileSystem } from "../../src/storage/simulated-file-system.ts";
import type { Storage } from "../../src/storage.ts";

export interface SimulatedDisk {
  readonly kind: string;
  /** The storage to hand a (re)started node. */
  open(): Storage;
  /** A power cut: whatever was not durable is lost (or torn, with the file system). */
  crash(random: SeededRandom): void;
  /**
   * Makes the next write fail with a simulated crash after a random number of file
   * operations. Returns false when this disk cannot crash in the middle of a write.
   */
  armCrashDuringNextPersist(random: SeededRandom): boolean;
  /** Cancels an armed crash that did not fire (the persist needed fewer operations). */
  disarm(): void;
  /** True when `error` is the armed crash firing. */
  isSimulatedCrash(error: unknown): boolean;
  /** Leaves only a little free space, so a coming write fails with ENOSPC. False when this disk cannot fill up. */
  fillUp(random: SeededRandom): boolean;
  /** Frees the space again (the operator cleaned up). */
  freeSpace(): void;
}

export class MemoryDisk implements SimulatedDisk {
  readonly kind = "memory";
  private readonly storage = new MemoryStorage();

  open(): Storage {
    return this.storage;
  }

  crash(): void {
    // Every persist() was atomic and durable: nothing to lose.
  }

  armCrashDuringNextPersist(): boolean {
    return false;
  }

  disarm(): void {}

  isSimulatedCrash(): boolean {
    return false;
  }

  fillUp(): boolean {
    return false;
  }

  freeSpace(): void {}
}

/** A small WAL segment size, so segments roll over and are deleted by compaction all the time. */
export const SIMULATED_SEGMENT_BYTES = 4096;
/** An armed crash fires within this many file operations of the next persist(). */
export const CRASH_WITHIN_OPERATIONS = 8;
/** A disk that fills up keeps less than this many bytes free. */
export const FULL_DISK_FREE_BYTES_MAX = 2048;

export class FileDisk implements SimulatedDisk {
  readonly kind = "file";
  readonly fs = new SimulatedFileSystem();
  private readonly dir: string;
  private storage: FileStorage | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  open(): Storage {
    // Every start recovers from what is on the disk, as a restarted process would.
    if (this.storage && !this.fs.isCrashed) this.storage.close();
    this.storage = FileStorage.open({ dir: this.dir, fs: this.fs, segmentBytes: SIMULATED_SEGMENT_BYTES });
    return this.storage;
  }

  crash(random: SeededRandom): void {
    this.storage = undefined;
    this.fs.crash(random);
    // The operator frees space before the node comes back.
    this.freeSpace();
  }

  armCrashDuringNextPersist(random: SeededRandom): boolean {
    this.fs.crashAfterOperations(1 + random.nextInt(CRASH_WITHIN_OPERATIONS));
    return true;
  }

  disarm(): void {
    // The file system has no way to cancel a countdown; push it out of reach instead.
    if (!this.fs.isCrashed) this.fs.crashAfterOperations(Number.MAX_SAFE_INTEGER);
  }

  isSimulatedCrash(error: unknown): boolean {
    return this.fs.isCrashed || error instanceof SimulatedCrash;
  }

  fillUp(random: SeededRandom): boolean {
    this.fs.capacityBytes = this.fs.bytesUsed + random.nextInt(FULL_DISK_FREE_BYTES_MAX);
    return true;
  }

  freeSpace(): void {
    this.fs.capacityBytes = Number.POSITIVE_INFINITY;
  }
}
