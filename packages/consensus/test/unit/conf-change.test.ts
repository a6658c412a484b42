// Proves membership validation and application: one voter or learner at a time, never an empty quorum.
import { describe, expect, it } from "vitest";
import { Membership } from "../../src/conf-change.ts";
import { InvalidConfChangeError } from "../../src/errors.ts";
import { type ConfChange, ConfChangeType } from "../../src/types.ts";

const addVoter = (nodeId: string): ConfChange => ({ type: ConfChangeType.AddVoter, nodeId });
const addLearner = (nodeId: string): ConfChange => ({ type: ConfChangeType.AddLearner, nodeId });
const remove = (nodeId: string): ConfChange => ({ type: ConfChangeType.RemoveNode, nodeId });

describe("Membership", () => {
  it("round-trips a ConfState, sorted, and a voter listed as learner stays a voter", () => {
    const membership = Membership.from({ voters: ["3", "1", "2"], learners: ["5", "1", "4"] });
    expect(membership.toConfState()).toEqual({ voters: ["1", "2", "3"], learners: ["4", "5"] });
    expect(membership.has("4")).toBe(true);
    expect(membership.has("9")).toBe(false);
  });

  it("adds a voter, and promotes a learner to voter", () => {
    const membership = Membership.from({ voters: ["1"], learners: ["2"] });
    expect(membership.apply(addVoter("3"))).toBe(true);
    expect(membership.apply(addVoter("2"))).toBe(true);
    expect(membership.toConfState()).toEqual({ voters: ["1", "2", "3"], learners: [] });
  });

  it("adds a learner", () => {
    const membership = Membership.from({ voters: ["1"], learners: [] });
    expect(membership.apply(addLearner("2"))).toBe(true);
    expect(membership.toConfState()).toEqual({ voters: ["1"], learners: ["2"] });
  });

  it("removes a voter or a learner", () => {
    const membership = Membership.from({ voters: ["1", "2"], learners: ["3"] });
    expect(membership.apply(remove("2"))).toBe(true);
    expect(membership.apply(remove("3"))).toBe(true);
    expect(membership.toConfState()).toEqual({ voters: ["1"], learners: [] });
  });

  it.each([
    [addVoter("1"), "1 is already a voter"],
    [addLearner("1"), "demoting a voter to learner is not supported"],
    [addLearner("2"), "2 is already a learner"],
    [remove("9"), "9 is not a member"],
    [addVoter(""), "a membership change needs a node id"],
    [{ type: 7, nodeId: "4" } as unknown as ConfChange, "unknown membership change type 7"],
  ])("refuses %j: %s", (change, message) => {
    const membership = Membership.from({ voters: ["1", "3"], learners: ["2"] });
    expect(() => membership.validate(change)).toThrow(InvalidConfChangeError);
    expect(() => membership.validate(change)).toThrow(message);
    // Applying an invalid change is a no-op on every node, so all nodes stay identical.
    expect(membership.apply(change)).toBe(false);
    expect(membership.toConfState()).toEqual({ voters: ["1", "3"], learners: ["2"] });
  });

  it("refuses to remove the last voter, but removes a learner next to it", () => {
    const membership = Membership.from({ voters: ["1"], learners: ["2"] });
    expect(() => membership.validate(remove("1"))).toThrow("removing it would leave no quorum");
    expect(membership.apply(remove("2"))).toBe(true);
  });
});
