// Proves the core's view of the log: stable plus unstable entries, conflicts, commit and apply cursors, snapshots.
import { describe, expect, it } from "vitest";
import { CompactedError, InvariantError, UnavailableError } from "../../src/errors.ts";
import { RaftLog } from "../../src/raft-log.ts";
import { MemoryStorage } from "../../src/storage/memory-storage.ts";
import type { Entry } from "../../src/types.ts";
import { bootstrap, entry, soloStorage } from "../support/raft-network.ts";

const terms = (entries: readonly Entry[]): number[] => entries.map((e) => e.term);

/** A log over storage holding the bootstrap snapshot (1/1) and entries 2.. with `logTerms`. */
function logWith(logTerms: number[], commit = 1, applied = 0): RaftLog {
  return new RaftLog(soloStorage({ logTerms, commit, term: Math.max(1, ...logTerms) }), applied);
}

/** What the embedder does between ready() and advance(), for the log alone. */
function persist(log: RaftLog): void {
  (log.storage as MemoryStorage).persist({ entries: log.unstableEntries(), snapshotChunks: [] });
  log.markPersisted();
}

describe("RaftLog", () => {
  describe("construction", () => {
    it("starts after the storage's snapshot, with commit and applied at least there", () => {
      const log = logWith([1, 2], 2);
      expect(log.firstIndex()).toBe(2);
      expect(log.lastIndex()).toBe(3);
      expect(log.lastTerm()).toBe(2);
      expect(log.committed).toBe(2);
      expect(log.applied).toBe(1);
    });

    it("takes the embedder's applied index", () => {
      expect(logWith([1, 2], 3, 2).applied).toBe(2);
    });

    it("on empty storage, is empty at index 0", () => {
      const log = new RaftLog(new MemoryStorage(), 0);
      expect([log.firstIndex(), log.lastIndex(), log.lastTerm(), log.committed]).toEqual([1, 0, 0, 0]);
    });
  });

  describe("term", () => {
    it("answers for stored and unstable entries and for the snapshot index", () => {
      const log = logWith([2]);
      log.append([entry(3, 3)]);
      expect([log.term(1), log.term(2), log.term(3)]).toEqual([1, 2, 3]);
    });

    it("throws CompactedError before the snapshot and UnavailableError past the end", () => {
      const storage = soloStorage({ logTerms: [2, 2, 2], commit: 4 });
      storage.createSnapshot(3, { voters: ["1"], learners: [] }, new Uint8Array(0));
      const log = new RaftLog(storage, 4);
      expect(log.term(3)).toBe(2);
      expect(() => log.term(2)).toThrow(CompactedError);
      expect(() => log.term(5)).toThrow(UnavailableError);
      expect(log.termOrZero(2)).toBe(0);
      expect(log.termOrZero(5)).toBe(0);
    });
  });

  describe("matchTerm and isUpToDate", () => {
    it("matches only an existing index with the same term", () => {
      const log = logWith([2, 3]);
      expect(log.matchTerm(3, 3)).toBe(true);
      expect(log.matchTerm(3, 2)).toBe(false);
      expect(log.matchTerm(4, 3)).toBe(false);
      expect(log.matchTerm(1, 1)).toBe(true);
    });

    it("compares last terms first, then last indexes (§5.4.1)", () => {
      const log = logWith([2, 3]);
      expect(log.isUpToDate(3, 3)).toBe(true);
      expect(log.isUpToDate(9, 3)).toBe(true);
      expect(log.isUpToDate(2, 3)).toBe(false);
      expect(log.isUpToDate(1, 4)).toBe(true);
      expect(log.isUpToDate(99, 2)).toBe(false);
    });
  });

  describe("append", () => {
    it("appends after the last entry, replaces an unstable tail, and restarts the unstable part inside storage", () => {
      const log = logWith([1, 1, 1]);
      log.append([entry(2, 5), entry(2, 6)]);
      expect(terms(log.unstableEntries())).toEqual([2, 2]);
      log.append([entry(3, 6)]);
      expect(log.unstableEntries().map((e) => `${e.term}/${e.index}`)).toEqual(["2/5", "3/6"]);
      log.append([entry(4, 3)]);
      expect(log.unstableEntries().map((e) => `${e.term}/${e.index}`)).toEqual(["4/3"]);
      expect(log.lastIndex()).toBe(3);
      persist(log);
      expect(terms(log.entries(2, 4, Number.MAX_SAFE_INTEGER))).toEqual([1, 4]);
    });

    it("refuses a gap and refuses to overwrite a committed entry", () => {
      const log = logWith([1, 1], 2);
      expect(() => log.append([entry(2, 5)])).toThrow(InvariantError);
      expect(() => log.append([entry(2, 2)])).toThrow("cannot overwrite committed entry 2 (commit 2)");
    });
  });

  describe("maybeAppend (the follower's side of AppendEntries)", () => {
    it("refuses when the logs do not match at prevIndex", () => {
      const log = logWith([1, 2]);
      expect(log.maybeAppend(3, 3, 3, [entry(3, 4)])).toBe(-1);
      expect(log.maybeAppend(5, 2, 3, [])).toBe(-1);
      expect(log.lastIndex()).toBe(3);
    });

    it("appends, truncating from the first conflict, and commits up to the last new entry", () => {
      const log = logWith([1, 2]);
      expect(log.maybeAppend(2, 1, 9, [entry(3, 3), entry(3, 4)])).toBe(4);
      expect(terms(log.entries(2, 5, Number.MAX_SAFE_INTEGER))).toEqual([1, 3, 3]);
      expect(log.committed).toBe(4);
    });

    it("keeps entries it already has (a stale, shorter append truncates nothing)", () => {
      const log = logWith([1, 2, 2]);
      expect(log.maybeAppend(1, 1, 1, [entry(1, 2)])).toBe(2);
      expect(log.lastIndex()).toBe(4);
      expect(log.unstableEntries()).toEqual([]);
    });

    it("refuses, loudly, a conflict with a committed entry", () => {
      const log = logWith([1, 2], 3);
      expect(() => log.maybeAppend(2, 1, 3, [entry(3, 3)])).toThrow(InvariantError);
    });
  });

  describe("findConflictByTerm", () => {
    it("finds the last index at or below `index` whose term is at most `term`", () => {
      const log = logWith([1, 2, 2, 4, 4]);
      expect(log.findConflictByTerm(6, 4)).toBe(6);
      expect(log.findConflictByTerm(6, 3)).toBe(4);
      expect(log.findConflictByTerm(6, 1)).toBe(2);
      expect(log.findConflictByTerm(99, 9)).toBe(6);
    });

    it("stops at the snapshot index", () => {
      const log = logWith([3, 3]);
      expect(log.findConflictByTerm(3, 2)).toBe(1);
    });
  });

  describe("entries", () => {
    it("returns [lo, hi) across storage and unstable entries, at least one, within maxBytes", () => {
      const log = logWith([]);
      log.append([entry(1, 2, "aaaa"), entry(1, 3, "bbbb")]);
      persist(log);
      log.append([entry(1, 4, "cccc"), entry(1, 5, "dddd")]);
      expect(log.entries(2, 6, Number.MAX_SAFE_INTEGER).map((e) => e.index)).toEqual([2, 3, 4, 5]);
      expect(log.entries(2, 6, 1).map((e) => e.index)).toEqual([2]);
      expect(log.entries(2, 6, 12).map((e) => e.index)).toEqual([2, 3, 4]);
      expect(log.entries(4, 6, 5).map((e) => e.index)).toEqual([4]);
      expect(log.entries(4, 4, 5)).toEqual([]);
    });

    it("throws for compacted or missing ranges", () => {
      const log = logWith([1]);
      expect(() => log.entries(1, 2, 100)).toThrow(CompactedError);
      expect(() => log.entries(2, 4, 100)).toThrow(UnavailableError);
    });
  });

  describe("commit and apply", () => {
    it("hands out committed entries once, in order, within a byte budget", () => {
      const log = logWith([]);
      log.append([entry(1, 2, "aaaa"), entry(1, 3, "bbbb"), entry(1, 4, "cccc")]);
      log.commitTo(4);
      expect(log.hasCommittedEntriesToApply()).toBe(true);
      const first = log.nextCommittedEntries(5);
      expect(first.map((e) => e.index)).toEqual([2]);
      log.appliedTo(2);
      expect(log.nextCommittedEntries(100).map((e) => e.index)).toEqual([3, 4]);
      log.appliedTo(4);
      expect(log.hasCommittedEntriesToApply()).toBe(false);
      expect(log.nextCommittedEntries(100)).toEqual([]);
    });

    it("never moves commit back, never past the log, and never applies past commit", () => {
      const log = logWith([1, 1], 3);
      log.commitTo(2);
      expect(log.committed).toBe(3);
      expect(() => log.commitTo(4)).toThrow(InvariantError);
      expect(() => log.appliedTo(4)).toThrow(InvariantError);
    });
  });

  describe("snapshots", () => {
    it("a restored snapshot replaces the log, commits its index, and is applied once persisted", () => {
      const storage = new MemoryStorage();
      bootstrap(storage, { voters: ["1"], learners: [] });
      const log = new RaftLog(storage, 0);
      log.append([entry(1, 2)]);
      const metadata = { index: 7, term: 3, confState: { voters: ["1"], learners: [] } };
      log.restore(metadata);
      expect(log.pendingSnapshot()).toEqual(metadata);
      expect([log.firstIndex(), log.lastIndex(), log.lastTerm(), log.committed]).toEqual([8, 7, 3, 7]);
      expect(log.unstableEntries()).toEqual([]);
      expect(log.hasCommittedEntriesToApply()).toBe(false);
      storage.persist({
        entries: [],
        snapshotChunks: [{ metadata, offset: 0, totalBytes: 0, data: new Uint8Array(0), done: true }],
        installSnapshot: metadata,
      });
      log.markPersisted();
      expect(log.pendingSnapshot()).toBeUndefined();
      expect(log.applied).toBe(7);
      expect(log.term(7)).toBe(3);
    });
  });
});
