// FileStorage keeps the Storage contract on disk: it reopens to exactly what was persisted,
// writes nothing for an unchanged Ready, rolls and deletes segments, reports corruption with
// file and offset, and survives ENOSPC and I/O errors the way its contract says.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  InvariantError,
  StorageClosedError,
  StorageCorruptError,
  StorageFullError,
  StorageIoError,
} from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { SimulatedFileSystem } from "../../src/storage/simulated-file-system.ts";
import type { Storage } from "../../src/storage.ts";
import type { ConfState, Entry, SnapshotMetadata } from "../../src/types.ts";
import { bytes, chunksOf, describeStorageCompliance, entry, entryRange, update } from "./storage-compliance.ts";

const CONF: ConfState = { voters: ["a", "b", "c"], learners: [] };
const DIR = "/data/raft";
const UNLIMITED = Number.MAX_SAFE_INTEGER;

const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStorageCompliance("FileStorage on node:fs", () => {
  const dir = mkdtempSync(join(tmpdir(), "conclave-storage-"));
  tempDirs.push(dir);
  return FileStorage.open({ dir });
});

describeStorageCompliance("FileStorage on SimulatedFileSystem, small segments", () =>
  FileStorage.open({ dir: DIR, fs: new SimulatedFileSystem(), segmentBytes: 256 }),
);

type Observed = ReturnType<typeof observe>;

/**
 * After an interrupted write, each piece of state is as it was before or after it: term and
 * vote are written first, a snapshot before its WAL marker (an installed one may come back
 * without the entries persisted with it), the commit index last.
 */
function expectBeforeOrAfter(storage: Storage, before: Observed, after: Observed): void {
  const state = observe(storage);
  const log = (o: Observed) => ({ first: o.first, last: o.last, baseTerm: o.baseTerm, entries: o.entries });
  const snapshotOf = (o: Observed) => ({ snapshot: o.snapshot, data: o.snapshotData });
  const installedAlone = {
    first: after.snapshot.index + 1,
    last: after.snapshot.index,
    baseTerm: after.snapshot.term,
    entries: [],
  };
  expect([log(before), log(after), installedAlone]).toContainEqual(log(state));
  expect([snapshotOf(before), snapshotOf(after)]).toContainEqual(snapshotOf(state));
  const termAndVote = (o: Observed) => ({ term: o.initial.hardState.term, vote: o.initial.hardState.vote });
  expect([termAndVote(before), termAndVote(after)]).toContainEqual(termAndVote(state));
  expect(state.initial.hardState.commit).toBeGreaterThanOrEqual(before.initial.hardState.commit);
  expect(state.initial.hardState.commit).toBeLessThanOrEqual(after.initial.hardState.commit);
}

/** Everything a reader can see, for comparing a storage before and after reopening. */
function observe(storage: Storage) {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  return {
    initial: storage.initialState(),
    first,
    last,
    baseTerm: storage.term(first - 1),
    entries: storage.entries(first, last + 1, UNLIMITED),
    snapshot: storage.snapshotMetadata(),
    snapshotData: storage.readSnapshotChunk(0, storage.snapshotSize() + 1),
  };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => {};
  return { warnings, debug: ignore, info: ignore, error: ignore, warn: (_fields, message) => warnings.push(message) };
}

function flipByte(fs: SimulatedFileSystem, path: string, offset: number): void {
  const content = fs.readFile(path);
  content[offset]! ^= 0x40;
  const handle = fs.openAppend(path);
  fs.truncate(handle, 0);
  fs.append(handle, content);
  fs.fsync(handle);
  fs.close(handle);
}

function segmentPaths(fs: SimulatedFileSystem): string[] {
  return fs
    .readdir(DIR)
    .filter((name) => name.startsWith("wal-"))
    .map((name) => `${DIR}/${name}`);
}

describe("FileStorage", () => {
  it("reopens to exactly what was persisted (real files)", () => {
    const dir = mkdtempSync(join(tmpdir(), "conclave-storage-"));
    tempDirs.push(dir);
    const storage = FileStorage.open({ dir, segmentBytes: 1024 });
    storage.persist(update({ hardState: { term: 2, vote: "b", commit: 0 }, entries: entryRange(1, 30, 2) }));
    storage.persist(update({ hardState: { term: 3, vote: "", commit: 12 }, entries: entryRange(25, 40, 3) }));
    storage.createSnapshot(10, CONF, bytes(3000), 3);
    storage.persist(update({ hardState: { term: 3, vote: "", commit: 33 } }));
    const before = observe(storage);
    storage.close();
    const reopened = FileStorage.open({ dir, segmentBytes: 1024 });
    expect(observe(reopened)).toEqual(before);
    reopened.persist(update({ entries: [entry(41, 3)] }));
    reopened.close();
    expect(FileStorage.open({ dir }).lastIndex()).toBe(41);
  });

  it("reopens an installed snapshot and the log after it", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    storage.persist(update({ hardState: { term: 1, vote: "a", commit: 2 }, entries: entryRange(1, 5, 1) }));
    const metadata: SnapshotMetadata = { index: 50, term: 4, confState: CONF };
    const chunks = chunksOf(metadata, bytes(5000, 4), 1000);
    storage.persist(update({ hardState: { term: 4, vote: "", commit: 2 }, snapshotChunks: chunks.slice(0, 3) }));
    storage.persist(
      update({
        hardState: { term: 4, vote: "", commit: 52 },
        snapshotChunks: chunks.slice(3),
        installSnapshot: metadata,
        entries: entryRange(51, 53, 4),
      }),
    );
    const before = observe(storage);
    storage.close();
    const reopened = FileStorage.open({ dir: DIR, fs });
    expect(observe(reopened)).toEqual(before);
    expect(fs.readdir(DIR).filter((name) => name.endsWith(".snap"))).toHaveLength(1);
  });

  it("writes zero bytes and no fsync for heartbeats and unchanged hard state", () => {
    const storage = FileStorage.open({ dir: DIR, fs: new SimulatedFileSystem() });
    const hardState = { term: 3, vote: "a", commit: 1 };
    storage.persist(update({ hardState, entries: entryRange(1, 2, 3) }));
    const bytesBefore = storage.bytesWritten;
    const syncsBefore = storage.syncCount;
    for (let i = 0; i < 100; i++) {
      storage.persist(update({}));
      storage.persist(update({ hardState }));
      storage.persist(update({ hardState: { ...hardState } }));
    }
    expect(storage.bytesWritten).toBe(bytesBefore);
    expect(storage.syncCount).toBe(syncsBefore);
    // A commit change alone is one small WAL record and no fsync of its own: no hard state file.
    storage.persist(update({ hardState: { ...hardState, commit: 2 } }));
    expect(storage.bytesWritten - bytesBefore).toBeLessThan(16);
    expect(storage.syncCount - syncsBefore).toBe(0);
  });

  it("costs one fsync per persist and little more than the entry per 64-byte entry", () => {
    const storage = FileStorage.open({ dir: DIR, fs: new SimulatedFileSystem() });
    storage.persist(update({ hardState: { term: 1, vote: "a", commit: 0 } }));
    const bytesBefore = storage.bytesWritten;
    const syncsBefore = storage.syncCount;
    const count = 1000;
    for (let index = 1; index <= count; index++) {
      storage.persist(
        update({ hardState: { term: 1, vote: "a", commit: index - 1 }, entries: [entry(index, 1, bytes(64))] }),
      );
    }
    const perEntry = (storage.bytesWritten - bytesBefore) / count;
    expect(perEntry).toBeGreaterThan(64);
    expect(perEntry).toBeLessThan(100);
    // One fsync per persist, plus a directory fsync for the one segment created.
    expect(storage.syncCount - syncsBefore).toBe(count + 1);
  });

  it("rolls segments past segmentBytes and deletes those below the compaction point", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs, segmentBytes: 512 });
    for (let index = 1; index <= 100; index++) {
      storage.persist(
        update({ hardState: { term: 1, vote: "", commit: index - 1 }, entries: [entry(index, 1, bytes(40))] }),
      );
    }
    const segments = storage.segmentNames;
    expect(segments.length).toBeGreaterThan(8);
    expect(segments[0]).toBe("wal-0000000000000001-0000000000000001.log");
    storage.createSnapshot(60, CONF, bytes(100), 5);
    const remaining = storage.segmentNames;
    expect(remaining.length).toBeLessThan(segments.length);
    expect(remaining.at(-1)).toBe(segments.at(-1));
    expect(fs.readdir(DIR).filter((name) => name.startsWith("wal-"))).toEqual(remaining);
    const before = observe(storage);
    storage.close();
    expect(observe(FileStorage.open({ dir: DIR, fs, segmentBytes: 512 }))).toEqual(before);
  });

  it("splits a big persist into several records and reads snapshots back from the file", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    const big = Array.from({ length: 30 }, (_, i) => entry(i + 1, 1, bytes(100_000, i)));
    storage.persist(update({ hardState: { term: 1, vote: "", commit: 30 }, entries: big }));
    const data = bytes(5000, 7);
    storage.createSnapshot(30, CONF, data);
    data.fill(0); // the storage kept no reference to the caller's buffer
    storage.close();
    const reopened = FileStorage.open({ dir: DIR, fs });
    expect(reopened.initialState().hardState.commit).toBe(30);
    expect(reopened.term(30)).toBe(1);
    expect(reopened.readSnapshotChunk(1000, 2000)).toEqual(bytes(5000, 7).subarray(1000, 3000));
    const segment = fs.readdir(DIR).find((name) => name.startsWith("wal-"))!;
    expect(fs.readFile(`${DIR}/${segment}`).length).toBeGreaterThan(3_000_000);
  });

  it("truncates a torn record at the tail of the last segment, and logs it", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    storage.persist(update({ hardState: { term: 1, vote: "", commit: 1 }, entries: entryRange(1, 3, 1) }));
    const before = observe(storage);
    storage.close();
    const [segment] = segmentPaths(fs);
    const handle = fs.openAppend(segment!);
    fs.append(handle, new Uint8Array([40, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9]));
    fs.close(handle);
    const logger = recordingLogger();
    const reopened = FileStorage.open({ dir: DIR, fs, logger });
    expect(observe(reopened)).toEqual(before);
    expect(logger.warnings).toHaveLength(1);
    reopened.persist(update({ entries: [entry(4, 1)] }));
    reopened.close();
    expect(FileStorage.open({ dir: DIR, fs }).lastIndex()).toBe(4);
  });

  it("throws StorageCorruptError with file and offset for a bad record before the tail", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    const recordBytes: number[] = [];
    for (let index = 1; index <= 3; index++) {
      const written = storage.bytesWritten;
      storage.persist(update({ entries: [entry(index, 1, bytes(20))] }));
      recordBytes.push(storage.bytesWritten - written);
    }
    storage.close();
    const [segment] = segmentPaths(fs);
    const size = fs.readFile(segment!).length;
    // Entry 2's record sits in mid-file, with entry 3's record after it.
    const recordOffset = size - recordBytes[2]! - recordBytes[1]!;
    flipByte(fs, segment!, recordOffset + 12);
    let caught: unknown;
    try {
      FileStorage.open({ dir: DIR, fs });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StorageCorruptError);
    const corrupt = caught as StorageCorruptError;
    expect(corrupt.file).toBe(segment);
    expect(corrupt.offset).toBe(recordOffset);
    expect(corrupt.message).toContain("checksum");
  });

  it("treats any damage in an earlier segment, or a missing segment, as corruption", () => {
    for (const damage of ["flip", "delete"] as const) {
      const fs = new SimulatedFileSystem();
      const storage = FileStorage.open({ dir: DIR, fs, segmentBytes: 256 });
      for (let index = 1; index <= 40; index++) storage.persist(update({ entries: [entry(index, 1, bytes(30))] }));
      storage.close();
      const segments = segmentPaths(fs);
      expect(segments.length).toBeGreaterThan(3);
      if (damage === "flip") flipByte(fs, segments[1]!, fs.readFile(segments[1]!).length - 1);
      else fs.unlink(segments[1]!);
      expect(() => FileStorage.open({ dir: DIR, fs, segmentBytes: 256 })).toThrow(StorageCorruptError);
    }
  });

  it("refuses to open when the current snapshot file is damaged or hard state is corrupt", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    storage.persist(update({ hardState: { term: 1, vote: "", commit: 5 }, entries: entryRange(1, 6, 1) }));
    storage.createSnapshot(5, CONF, bytes(200));
    storage.close();
    const snapshot = fs.readdir(DIR).find((name) => name.endsWith(".snap"))!;
    flipByte(fs, `${DIR}/${snapshot}`, 100);
    expect(() => FileStorage.open({ dir: DIR, fs })).toThrow(StorageCorruptError);
    flipByte(fs, `${DIR}/${snapshot}`, 100);
    expect(FileStorage.open({ dir: DIR, fs }).snapshotMetadata().index).toBe(5);
    flipByte(fs, `${DIR}/hardstate`, 9);
    expect(() => FileStorage.open({ dir: DIR, fs })).toThrow(StorageCorruptError);
  });

  it("on ENOSPC throws StorageFullError, changes nothing, and the same persist succeeds once space is freed", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs, segmentBytes: 1024 });
    storage.persist(update({ hardState: { term: 1, vote: "a", commit: 0 }, entries: entryRange(1, 10, 1) }));
    const before = observe(storage);
    const metadata: SnapshotMetadata = { index: 40, term: 2, confState: CONF };
    const chunks = chunksOf(metadata, bytes(3000, 6), 1000);
    const updates = [
      update({
        hardState: { term: 2, vote: "b", commit: 5 },
        entries: [...entryRange(8, 9, 2), entry(10, 2, bytes(2000))],
      }),
      update({ hardState: { term: 2, vote: "b", commit: 5 }, snapshotChunks: chunks.slice(0, 2) }),
      update({
        hardState: { term: 2, vote: "b", commit: 41 },
        snapshotChunks: chunks.slice(2),
        installSnapshot: metadata,
        entries: [entry(41, 2)],
      }),
    ];
    let expected = before;
    for (const next of updates) {
      // Try with every budget up to what this update needs: each failure must be clean.
      let failures = 0;
      for (let spare = 0; ; spare += 97) {
        expect(spare).toBeLessThan(20_000);
        fs.capacityBytes = fs.bytesUsed + spare;
        try {
          storage.persist(next);
          break;
        } catch (error) {
          expect(error).toBeInstanceOf(StorageFullError);
          expect(observe(storage)).toEqual(expected);
          failures++;
        }
      }
      expect(failures).toBeGreaterThan(0);
      expected = observe(storage);
    }
    fs.capacityBytes = Number.POSITIVE_INFINITY;
    expect(storage.snapshotMetadata()).toEqual(metadata);
    storage.close();
    expect(observe(FileStorage.open({ dir: DIR, fs, segmentBytes: 1024 }))).toEqual(expected);
  });

  it("on ENOSPC in createSnapshot throws StorageFullError and can retry", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    storage.persist(update({ hardState: { term: 1, vote: "", commit: 8 }, entries: entryRange(1, 10, 1) }));
    const before = observe(storage);
    fs.capacityBytes = fs.bytesUsed + 500;
    expect(() => storage.createSnapshot(8, CONF, bytes(1000))).toThrow(StorageFullError);
    expect(observe(storage)).toEqual(before);
    fs.capacityBytes = Number.POSITIVE_INFINITY;
    storage.createSnapshot(8, CONF, bytes(1000));
    expect(storage.firstIndex()).toBe(9);
    storage.close();
    expect(FileStorage.open({ dir: DIR, fs }).snapshotSize()).toBe(1000);
  });

  describe("a fault at every disk operation of a write", () => {
    const metadata: SnapshotMetadata = { index: 40, term: 3, confState: CONF };
    const scenarios: Record<string, (storage: FileStorage) => void> = {
      "append with a new term, rolling a segment": (storage) =>
        storage.persist(
          update({ hardState: { term: 3, vote: "c", commit: 12 }, entries: [entry(13, 3, bytes(400)), entry(14, 3)] }),
        ),
      "snapshot chunks, install and entries": (storage) =>
        storage.persist(
          update({
            hardState: { term: 3, vote: "", commit: 41 },
            snapshotChunks: chunksOf(metadata, bytes(900, 2), 300),
            installSnapshot: metadata,
            entries: entryRange(41, 42, 3),
          }),
        ),
      "createSnapshot deleting old segments": (storage) => storage.createSnapshot(12, CONF, bytes(700, 3), 1),
    };
    const setUp = (fs: SimulatedFileSystem): FileStorage => {
      const storage = FileStorage.open({ dir: DIR, fs, segmentBytes: 512 });
      for (let index = 1; index <= 15; index++) {
        storage.persist(
          update({
            hardState: { term: 2, vote: "a", commit: Math.max(index - 3, 0) },
            entries: [entry(index, 2, bytes(60))],
          }),
        );
      }
      return storage;
    };

    for (const [name, operation] of Object.entries(scenarios)) {
      for (const code of ["ENOSPC", "EIO"]) {
        it(`${name}: ${code} leaves a consistent storage`, () => {
          const clean = new SimulatedFileSystem();
          const reference = setUp(clean);
          const before = observe(reference);
          operation(reference);
          const after = observe(reference);
          let faults = 0;
          for (let n = 1; ; n++) {
            expect(n).toBeLessThan(100);
            const fs = new SimulatedFileSystem();
            const storage = setUp(fs);
            fs.failAfterOperations(n, code);
            try {
              operation(storage);
              fs.clearFaults();
              expect(observe(storage)).toEqual(after);
              break;
            } catch (error) {
              faults++;
              if (error instanceof StorageFullError) {
                // Clean failure: nothing changed, and the same call succeeds on retry.
                expect(observe(storage)).toEqual(before);
                operation(storage);
                expect(observe(storage)).toEqual(after);
                storage.close();
              } else {
                expect(error).toBeInstanceOf(StorageIoError);
                expect(() => storage.lastIndex()).toThrow(StorageClosedError);
              }
            }
            // Whatever happened, the disk reopens to the state before or after the call.
            expectBeforeOrAfter(FileStorage.open({ dir: DIR, fs, segmentBytes: 512 }), before, after);
          }
          expect(faults).toBeGreaterThan(2);
        });
      }
    }
  });

  it("after any other I/O error throws StorageIoError, then refuses every call", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    storage.persist(update({ entries: entryRange(1, 3, 1) }));
    fs.failAfterOperations(2, "EIO"); // the append succeeds, the fsync fails
    expect(() => storage.persist(update({ entries: [entry(4, 1)] }))).toThrow(StorageIoError);
    expect(() => storage.persist(update({ entries: [entry(4, 1)] }))).toThrow(StorageClosedError);
    expect(() => storage.lastIndex()).toThrow(StorageClosedError);
    const reopened = FileStorage.open({ dir: DIR, fs });
    expect([3, 4]).toContain(reopened.lastIndex());
  });

  it("validates before writing: a rejected update leaves no trace on disk", () => {
    const fs = new SimulatedFileSystem();
    const storage = FileStorage.open({ dir: DIR, fs });
    storage.persist(update({ entries: entryRange(1, 3, 1) }));
    const written = storage.bytesWritten;
    const bad: Entry[] = [entry(4, 1), entry(6, 1)];
    expect(() => storage.persist(update({ hardState: { term: 9, vote: "", commit: 0 }, entries: bad }))).toThrow(
      InvariantError,
    );
    expect(storage.bytesWritten).toBe(written);
    expect(storage.initialState().hardState.term).toBe(0);
  });

  it("rejects a bad segmentBytes", () => {
    expect(() => FileStorage.open({ dir: DIR, fs: new SimulatedFileSystem(), segmentBytes: 10 })).toThrow(
      InvariantError,
    );
  });
});
