// The Storage contract as a reusable suite: every implementation must pass it unchanged.
import { describe, expect, it } from "vitest";
import {
  CompactedError,
  InvariantError,
  SnapshotOutOfDateError,
  StorageClosedError,
  UnavailableError,
} from "../../src/errors.ts";
import type { PersistUpdate, Storage } from "../../src/storage.ts";
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type SnapshotChunk,
  type SnapshotMetadata,
} from "../../src/types.ts";

const UNLIMITED = Number.MAX_SAFE_INTEGER;
const CONF: ConfState = { voters: ["a", "b", "c"], learners: ["d"] };

export function entry(index: number, term: number, data: Uint8Array | string = `e${index}`): Entry {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return { index, term, type: EntryType.Normal, data: bytes };
}

/** Entries [from, to] all of `term`. */
export function entryRange(from: number, to: number, term: number): Entry[] {
  const entries: Entry[] = [];
  for (let index = from; index <= to; index++) entries.push(entry(index, term));
  return entries;
}

export function update(fields: Partial<PersistUpdate>): PersistUpdate {
  return { entries: [], snapshotChunks: [], ...fields };
}

/** Splits `data` into chunks of `chunkBytes` for `metadata`. */
export function chunksOf(metadata: SnapshotMetadata, data: Uint8Array, chunkBytes: number): SnapshotChunk[] {
  const chunks: SnapshotChunk[] = [];
  let offset = 0;
  do {
    const piece = data.subarray(offset, Math.min(data.length, offset + chunkBytes));
    chunks.push({
      metadata,
      offset,
      totalBytes: data.length,
      data: piece,
      done: offset + piece.length === data.length,
    });
    offset += piece.length;
  } while (offset < data.length);
  return chunks;
}

export function bytes(length: number, seed = 1): Uint8Array {
  const result = new Uint8Array(length);
  for (let i = 0; i < length; i++) result[i] = (i * 31 + seed * 7) & 0xff;
  return result;
}

function readWholeSnapshot(storage: Storage, chunkBytes = 7): Uint8Array {
  const size = storage.snapshotSize();
  const result = new Uint8Array(size);
  let offset = 0;
  while (offset < size) {
    const piece = storage.readSnapshotChunk(offset, chunkBytes);
    expect(piece.length).toBeGreaterThan(0);
    result.set(piece, offset);
    offset += piece.length;
  }
  return result;
}

function terms(storage: Storage, from: number, to: number): number[] {
  const result: number[] = [];
  for (let index = from; index <= to; index++) result.push(storage.term(index));
  return result;
}

/** Runs the whole Storage contract against fresh storages from `makeStorage`. */
export function describeStorageCompliance(name: string, makeStorage: () => Storage): void {
  describe(`Storage compliance: ${name}`, () => {
    describe("initial state", () => {
      it("is empty: zero hard state, no snapshot, firstIndex 1, lastIndex 0", () => {
        const storage = makeStorage();
        const { hardState, confState } = storage.initialState();
        expect(hardState).toEqual({ term: 0, vote: "", commit: 0 });
        expect(confState).toEqual({ voters: [], learners: [] });
        expect(storage.firstIndex()).toBe(1);
        expect(storage.lastIndex()).toBe(0);
        expect(storage.term(0)).toBe(0);
        expect(storage.entries(1, 1, UNLIMITED)).toEqual([]);
        expect(storage.snapshotMetadata().index).toBe(0);
        expect(storage.snapshotSize()).toBe(0);
        expect(storage.readSnapshotChunk(0, 100)).toEqual(new Uint8Array(0));
      });

      it("answers Unavailable past the end", () => {
        const storage = makeStorage();
        expect(() => storage.term(1)).toThrow(UnavailableError);
        expect(() => storage.entries(1, 2, UNLIMITED)).toThrow(UnavailableError);
      });
    });

    describe("append", () => {
      it("stores entries and hard state", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 2, vote: "a", commit: 3 }, entries: entryRange(1, 5, 2) }));
        expect(storage.lastIndex()).toBe(5);
        expect(storage.firstIndex()).toBe(1);
        expect(storage.entries(1, 6, UNLIMITED)).toEqual(entryRange(1, 5, 2));
        expect(storage.entries(2, 4, UNLIMITED)).toEqual(entryRange(2, 3, 2));
        expect(terms(storage, 0, 5)).toEqual([0, 2, 2, 2, 2, 2]);
        expect(storage.initialState().hardState).toEqual({ term: 2, vote: "a", commit: 3 });
      });

      it("appends across calls and keeps entry types and data", () => {
        const storage = makeStorage();
        const confChange: Entry = { index: 1, term: 1, type: EntryType.ConfChange, data: bytes(10) };
        storage.persist(update({ entries: [confChange] }));
        storage.persist(update({ entries: [entry(2, 1, new Uint8Array(0)), entry(3, 1, bytes(1000, 3))] }));
        expect(storage.entries(1, 4, UNLIMITED)).toEqual([
          confChange,
          entry(2, 1, new Uint8Array(0)),
          entry(3, 1, bytes(1000, 3)),
        ]);
      });

      it("replaces a conflicting suffix: an entry at a stored index truncates everything after it", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 1, vote: "", commit: 2 }, entries: entryRange(1, 5, 1) }));
        storage.persist(update({ hardState: { term: 2, vote: "", commit: 2 }, entries: entryRange(3, 4, 2) }));
        expect(storage.lastIndex()).toBe(4);
        expect(terms(storage, 1, 4)).toEqual([1, 1, 2, 2]);
        expect(() => storage.term(5)).toThrow(UnavailableError);
        storage.persist(update({ entries: entryRange(5, 6, 2) }));
        expect(terms(storage, 1, 6)).toEqual([1, 1, 2, 2, 2, 2]);
      });

      it("rejects a gap, non-consecutive entries and replacing committed entries, changing nothing", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 1, vote: "", commit: 2 }, entries: entryRange(1, 3, 1) }));
        expect(() => storage.persist(update({ entries: [entry(5, 1)] }))).toThrow(InvariantError);
        expect(() => storage.persist(update({ entries: [entry(4, 1), entry(6, 1)] }))).toThrow(InvariantError);
        expect(() => storage.persist(update({ entries: [entry(2, 5)] }))).toThrow(InvariantError);
        expect(storage.lastIndex()).toBe(3);
        expect(terms(storage, 1, 3)).toEqual([1, 1, 1]);
      });

      it("rejects a term going back and a commit beyond the log", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 3, vote: "", commit: 0 }, entries: entryRange(1, 2, 3) }));
        expect(() => storage.persist(update({ hardState: { term: 2, vote: "", commit: 0 } }))).toThrow(InvariantError);
        expect(() => storage.persist(update({ hardState: { term: 3, vote: "", commit: 3 } }))).toThrow(InvariantError);
        expect(storage.initialState().hardState).toEqual({ term: 3, vote: "", commit: 0 });
      });

      it("accepts an empty update (a heartbeat's Ready)", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 1, vote: "b", commit: 0 } }));
        storage.persist(update({}));
        storage.persist(update({ hardState: { term: 1, vote: "b", commit: 0 } }));
        expect(storage.initialState().hardState).toEqual({ term: 1, vote: "b", commit: 0 });
      });
    });

    describe("entries(lo, hi, maxBytes)", () => {
      it("returns at least one entry, then stops before exceeding maxBytes", () => {
        const storage = makeStorage();
        const big = [
          entry(1, 1, bytes(100)),
          entry(2, 1, bytes(100)),
          entry(3, 1, bytes(100)),
          entry(4, 1, bytes(100)),
        ];
        storage.persist(update({ entries: big }));
        expect(storage.entries(1, 5, 0)).toEqual([big[0]]);
        expect(storage.entries(1, 5, 99)).toEqual([big[0]]);
        expect(storage.entries(1, 5, 100)).toEqual([big[0]]);
        expect(storage.entries(1, 5, 250)).toEqual([big[0], big[1]]);
        expect(storage.entries(1, 5, 300)).toEqual(big.slice(0, 3));
        expect(storage.entries(2, 5, UNLIMITED)).toEqual(big.slice(1));
        expect(storage.entries(3, 3, 0)).toEqual([]);
      });

      it("throws Unavailable for hi past lastIndex + 1", () => {
        const storage = makeStorage();
        storage.persist(update({ entries: entryRange(1, 3, 1) }));
        expect(() => storage.entries(2, 5, UNLIMITED)).toThrow(UnavailableError);
        expect(storage.entries(2, 4, UNLIMITED)).toHaveLength(2);
      });
    });

    describe("createSnapshot and compaction", () => {
      it("compacts the log up to the snapshot: Compacted below, the snapshot term at its index", () => {
        const storage = makeStorage();
        storage.persist(
          update({
            hardState: { term: 3, vote: "", commit: 6 },
            entries: [...entryRange(1, 3, 1), ...entryRange(4, 8, 3)],
          }),
        );
        const data = bytes(500, 9);
        storage.createSnapshot(5, CONF, data);
        expect(storage.snapshotMetadata()).toEqual({ index: 5, term: 3, confState: CONF });
        expect(storage.firstIndex()).toBe(6);
        expect(storage.lastIndex()).toBe(8);
        expect(storage.term(5)).toBe(3);
        expect(() => storage.term(4)).toThrow(CompactedError);
        expect(() => storage.entries(5, 7, UNLIMITED)).toThrow(CompactedError);
        expect(storage.entries(6, 9, UNLIMITED)).toEqual(entryRange(6, 8, 3));
        expect(storage.snapshotSize()).toBe(500);
        expect(readWholeSnapshot(storage)).toEqual(data);
        expect(storage.initialState().confState).toEqual(CONF);
      });

      it("keeps retainEntries entries before the snapshot for slow followers", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 2, vote: "", commit: 10 }, entries: entryRange(1, 12, 2) }));
        storage.createSnapshot(10, CONF, bytes(10), 4);
        expect(storage.snapshotMetadata().index).toBe(10);
        expect(storage.firstIndex()).toBe(7);
        expect(storage.term(6)).toBe(2);
        expect(() => storage.term(5)).toThrow(CompactedError);
        expect(storage.entries(7, 13, UNLIMITED)).toEqual(entryRange(7, 12, 2));
        // More retained entries than the log holds: nothing more is compacted, nothing breaks.
        storage.createSnapshot(11, CONF, bytes(11), 100);
        expect(storage.firstIndex()).toBe(7);
        expect(storage.snapshotMetadata().index).toBe(11);
      });

      it("rejects an old snapshot and one past the log", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 1, vote: "", commit: 4 }, entries: entryRange(1, 5, 1) }));
        storage.createSnapshot(3, CONF, bytes(3));
        expect(() => storage.createSnapshot(3, CONF, bytes(3))).toThrow(SnapshotOutOfDateError);
        expect(() => storage.createSnapshot(2, CONF, bytes(3))).toThrow(SnapshotOutOfDateError);
        expect(() => storage.createSnapshot(6, CONF, bytes(3))).toThrow(UnavailableError);
        expect(storage.snapshotMetadata().index).toBe(3);
      });

      it("appends after a compaction and replaces entries after the compaction point", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 1, vote: "", commit: 4 }, entries: entryRange(1, 6, 1) }));
        storage.createSnapshot(4, CONF, bytes(4));
        storage.persist(update({ hardState: { term: 2, vote: "", commit: 4 }, entries: entryRange(6, 8, 2) }));
        expect(terms(storage, 4, 8)).toEqual([1, 1, 2, 2, 2]);
        // Entries the snapshot covers are ignored.
        storage.persist(update({ entries: [entry(3, 1), entry(4, 1), entry(5, 1), ...entryRange(6, 9, 2)] }));
        expect(storage.lastIndex()).toBe(9);
        expect(storage.firstIndex()).toBe(5);
      });
    });

    describe("InstallSnapshot chunks", () => {
      const metadata: SnapshotMetadata = { index: 20, term: 4, confState: CONF };

      it("assembles chunks over several persists, installs, and replaces the whole log", () => {
        const storage = makeStorage();
        storage.persist(update({ hardState: { term: 3, vote: "", commit: 2 }, entries: entryRange(1, 5, 3) }));
        const data = bytes(1000, 5);
        const chunks = chunksOf(metadata, data, 300);
        storage.persist(update({ hardState: { term: 4, vote: "", commit: 2 }, snapshotChunks: chunks.slice(0, 2) }));
        // Nothing changes until installSnapshot.
        expect(storage.snapshotMetadata().index).toBe(0);
        expect(storage.lastIndex()).toBe(5);
        storage.persist(
          update({
            hardState: { term: 4, vote: "", commit: 21 },
            snapshotChunks: chunks.slice(2),
            installSnapshot: metadata,
            entries: entryRange(21, 23, 4),
          }),
        );
        expect(storage.snapshotMetadata()).toEqual(metadata);
        expect(storage.snapshotSize()).toBe(1000);
        expect(readWholeSnapshot(storage, 128)).toEqual(data);
        expect(storage.readSnapshotChunk(990, 100)).toEqual(data.subarray(990));
        expect(storage.firstIndex()).toBe(21);
        expect(storage.lastIndex()).toBe(23);
        expect(storage.term(20)).toBe(4);
        expect(() => storage.term(19)).toThrow(CompactedError);
        expect(storage.entries(21, 24, UNLIMITED)).toEqual(entryRange(21, 23, 4));
        expect(storage.initialState()).toEqual({ hardState: { term: 4, vote: "", commit: 21 }, confState: CONF });
      });

      it("installs an empty snapshot from a single chunk (bootstrap)", () => {
        const storage = makeStorage();
        const boot: SnapshotMetadata = { index: 1, term: 1, confState: { voters: ["a"], learners: [] } };
        storage.persist(
          update({
            hardState: { term: 1, vote: "", commit: 1 },
            snapshotChunks: [{ metadata: boot, offset: 0, totalBytes: 0, data: new Uint8Array(0), done: true }],
            installSnapshot: boot,
          }),
        );
        expect(storage.snapshotMetadata()).toEqual(boot);
        expect(storage.snapshotSize()).toBe(0);
        expect(storage.firstIndex()).toBe(2);
        expect(storage.lastIndex()).toBe(1);
        expect(storage.term(1)).toBe(1);
        expect(storage.initialState().hardState.commit).toBe(1);
      });

      it("restarts the transfer on a chunk at offset 0, and rejects one that does not continue it", () => {
        const storage = makeStorage();
        const first = chunksOf(metadata, bytes(100, 1), 40);
        storage.persist(update({ snapshotChunks: first.slice(0, 2) }));
        expect(() => storage.persist(update({ snapshotChunks: [first[2]!, first[2]!] }))).toThrow(InvariantError);
        const skipping = { ...first[2]!, offset: 90, data: first[2]!.data.subarray(10) };
        expect(() => storage.persist(update({ snapshotChunks: [skipping] }))).toThrow(InvariantError);
        // A newer snapshot starts over at offset 0.
        const newer: SnapshotMetadata = { index: 30, term: 5, confState: CONF };
        const second = chunksOf(newer, bytes(70, 2), 40);
        storage.persist(update({ snapshotChunks: [second[0]!] }));
        expect(() => storage.persist(update({ snapshotChunks: [first[2]!] }))).toThrow(InvariantError);
        storage.persist(update({ snapshotChunks: [second[1]!], installSnapshot: newer }));
        expect(storage.snapshotMetadata()).toEqual(newer);
        expect(readWholeSnapshot(storage)).toEqual(bytes(70, 2));
      });

      it("rejects installSnapshot before the last chunk, and an out-of-date snapshot", () => {
        const storage = makeStorage();
        const chunks = chunksOf(metadata, bytes(100), 60);
        storage.persist(update({ snapshotChunks: [chunks[0]!] }));
        expect(() => storage.persist(update({ installSnapshot: metadata }))).toThrow(InvariantError);
        storage.persist(update({ snapshotChunks: [chunks[1]!], installSnapshot: metadata }));
        const older: SnapshotMetadata = { index: 10, term: 3, confState: CONF };
        const olderChunks = chunksOf(older, bytes(10), 60);
        expect(() => storage.persist(update({ snapshotChunks: olderChunks, installSnapshot: older }))).toThrow(
          SnapshotOutOfDateError,
        );
        expect(storage.snapshotMetadata()).toEqual(metadata);
      });

      it("takes a later createSnapshot over an installed one", () => {
        const storage = makeStorage();
        storage.persist(update({ snapshotChunks: chunksOf(metadata, bytes(50), 50), installSnapshot: metadata }));
        storage.persist(update({ hardState: { term: 4, vote: "", commit: 25 }, entries: entryRange(21, 26, 4) }));
        storage.createSnapshot(25, CONF, bytes(60, 8), 2);
        expect(storage.snapshotMetadata()).toEqual({ index: 25, term: 4, confState: CONF });
        expect(storage.firstIndex()).toBe(24);
        expect(readWholeSnapshot(storage)).toEqual(bytes(60, 8));
      });
    });

    describe("hard state", () => {
      it("keeps the last hard state written, including votes and commits on their own", () => {
        const storage = makeStorage();
        const states: HardState[] = [
          { term: 1, vote: "", commit: 0 },
          { term: 1, vote: "b", commit: 0 },
          { term: 1, vote: "b", commit: 2 },
          { term: 5, vote: "", commit: 2 },
          { term: 5, vote: "c", commit: 3 },
        ];
        storage.persist(update({ entries: entryRange(1, 3, 1) }));
        for (const hardState of states) storage.persist(update({ hardState }));
        expect(storage.initialState().hardState).toEqual(states.at(-1));
      });
    });

    it("throws StorageClosedError after close()", () => {
      const storage = makeStorage();
      storage.close();
      expect(() => storage.lastIndex()).toThrow(StorageClosedError);
      expect(() => storage.persist(update({}))).toThrow(StorageClosedError);
      storage.close();
    });
  });
}
