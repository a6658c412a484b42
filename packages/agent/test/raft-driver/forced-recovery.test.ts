// Proves the forced recovery's plan and write on a real storage: the membership is read as of the
// last entry (uncommitted conf changes included), every other member gets one RemoveNode entry,
// the commit index moves past them, and a node that is not a voter or has no state is refused.
import { ConfChangeType, EntryType, encodeConfChange, MemoryStorage } from "@conclave/consensus";
import { describe, expect, it } from "vitest";
import { bootstrapOnce } from "../../src/raft-driver/bootstrap.ts";
import {
  applyForcedRecovery,
  ForcedRecoveryError,
  membershipAtLastEntry,
  planForcedRecovery,
} from "../../src/raft-driver/forced-recovery.ts";

function storageOfThreeWithALearner(): MemoryStorage {
  const storage = new MemoryStorage();
  bootstrapOnce(storage, ["a", "b", "c"]);
  const last = storage.lastIndex();
  storage.persist({
    hardState: { term: 4, vote: "a", commit: last },
    entries: [
      { index: last + 1, term: 4, type: EntryType.Normal, data: new Uint8Array([1]) },
      // Never committed: the learner d was being added when the quorum was lost.
      {
        index: last + 2,
        term: 4,
        type: EntryType.ConfChange,
        data: encodeConfChange({ type: ConfChangeType.AddLearner, nodeId: "d" }),
      },
    ],
    snapshotChunks: [],
  });
  return storage;
}

describe("forced recovery", () => {
  it("removes every other member, learners included, and commits the whole log", () => {
    const storage = storageOfThreeWithALearner();
    const plan = planForcedRecovery(storage, "b");
    expect(plan).toMatchObject({ selfId: "b", voters: ["a", "b", "c"], learners: ["d"], removed: ["a", "c", "d"] });
    expect(plan.uncommittedEntries).toBe(2);
    applyForcedRecovery(storage, plan);
    expect(membershipAtLastEntry(storage)).toEqual({ voters: ["b"], learners: [] });
    expect(storage.initialState().hardState).toMatchObject({ term: 4, commit: plan.lastIndex + 3 });
    expect(storage.lastIndex()).toBe(plan.lastIndex + 3);
    // Once done there is nothing left to do.
    expect(planForcedRecovery(storage, "b")).toMatchObject({ removed: [], uncommittedEntries: 0 });
  });

  it("refuses a node that is not a voter, and a node without Raft state", () => {
    expect(() => planForcedRecovery(storageOfThreeWithALearner(), "d")).toThrow(ForcedRecoveryError);
    expect(() => planForcedRecovery(storageOfThreeWithALearner(), "d")).toThrow(/voters: a, b, c/);
    expect(() => planForcedRecovery(new MemoryStorage(), "a")).toThrow(/no Raft state/);
  });
});
