// Proves the per-follower replication state machine: probe, replicate, snapshot, and flow control.
import { describe, expect, it } from "vitest";
import { Progress } from "../../src/progress.ts";

describe("Progress", () => {
  it("starts in probe state, optimistic about next, knowing no match", () => {
    const progress = new Progress(11, false);
    expect(progress).toMatchObject({ state: "probe", next: 11, match: 0, probeSent: false, isLearner: false });
  });

  describe("maybeUpdate", () => {
    it("raises match and next on a newer acknowledgement", () => {
      const progress = new Progress(5, false);
      progress.probeSent = true;
      expect(progress.maybeUpdate(7)).toBe(true);
      expect(progress).toMatchObject({ match: 7, next: 8, probeSent: false });
    });

    it("reports nothing new for a stale acknowledgement, and never lowers next", () => {
      const progress = new Progress(10, false);
      progress.maybeUpdate(6);
      expect(progress.maybeUpdate(4)).toBe(false);
      expect(progress).toMatchObject({ match: 6, next: 10 });
    });
  });

  describe("maybeDecreaseTo", () => {
    it("in probe state, steps back to the follower's hint", () => {
      const progress = new Progress(10, false);
      expect(progress.maybeDecreaseTo(9, 4)).toBe(true);
      expect(progress.next).toBe(5);
    });

    it("in probe state, never goes below match + 1 or above the rejected index", () => {
      const progress = new Progress(10, false);
      progress.match = 6;
      expect(progress.maybeDecreaseTo(9, 2)).toBe(true);
      expect(progress.next).toBe(7);
      const other = new Progress(10, false);
      expect(other.maybeDecreaseTo(9, 50)).toBe(true);
      expect(other.next).toBe(9);
    });

    it("in probe state, ignores a rejection of an append that is not the latest probe", () => {
      const progress = new Progress(10, false);
      expect(progress.maybeDecreaseTo(5, 1)).toBe(false);
      expect(progress.next).toBe(10);
    });

    it("in replicate state, falls back to match + 1 and ignores stale rejections", () => {
      const progress = new Progress(1, false);
      progress.maybeUpdate(5);
      progress.becomeReplicate();
      progress.next = 12;
      expect(progress.maybeDecreaseTo(4, 0)).toBe(false);
      expect(progress.next).toBe(12);
      expect(progress.maybeDecreaseTo(9, 0)).toBe(true);
      expect(progress.next).toBe(6);
    });

    it("never sets next below 1", () => {
      const progress = new Progress(1, false);
      expect(progress.maybeDecreaseTo(0, -5)).toBe(true);
      expect(progress.next).toBe(1);
    });
  });

  describe("state transitions", () => {
    it("becomeReplicate resumes right after match and clears in-flight appends", () => {
      const progress = new Progress(20, false);
      progress.maybeUpdate(8);
      progress.probeSent = true;
      progress.becomeReplicate();
      expect(progress).toMatchObject({ state: "replicate", next: 9, probeSent: false });
      expect(progress.inflights).toEqual([]);
    });

    it("becomeProbe from replicate restarts at match + 1", () => {
      const progress = new Progress(1, false);
      progress.maybeUpdate(3);
      progress.becomeReplicate();
      progress.inflights.push(5, 7);
      progress.next = 8;
      progress.becomeProbe();
      expect(progress).toMatchObject({ state: "probe", next: 4 });
      expect(progress.inflights).toEqual([]);
    });

    it("becomeProbe from snapshot resumes after the snapshot even before match catches up", () => {
      const progress = new Progress(1, false);
      progress.maybeUpdate(2);
      progress.becomeSnapshot(50);
      expect(progress).toMatchObject({ state: "snapshot", snapshotIndex: 50, snapshotOffset: 0 });
      progress.becomeProbe();
      expect(progress).toMatchObject({ state: "probe", next: 51, snapshotIndex: 0 });
    });
  });

  describe("flow control", () => {
    it("probe: paused while one probe is outstanding", () => {
      const progress = new Progress(1, false);
      expect(progress.isPaused(4)).toBe(false);
      progress.probeSent = true;
      expect(progress.isPaused(4)).toBe(true);
    });

    it("replicate: paused once maxInflight appends are unacknowledged; acknowledgements free them in order", () => {
      const progress = new Progress(1, false);
      progress.becomeReplicate();
      progress.inflights.push(2, 4, 6);
      expect(progress.isPaused(3)).toBe(true);
      expect(progress.isPaused(4)).toBe(false);
      progress.freeInflightsTo(4);
      expect(progress.inflights).toEqual([6]);
      expect(progress.isPaused(3)).toBe(false);
      progress.freeInflightsTo(3);
      expect(progress.inflights).toEqual([6]);
      progress.freeInflightsTo(100);
      expect(progress.inflights).toEqual([]);
    });

    it("snapshot: always paused for appends", () => {
      const progress = new Progress(1, false);
      progress.becomeSnapshot(10);
      expect(progress.isPaused(1_000)).toBe(true);
    });
  });
});
