// Proves the majority arithmetic: quorum sizes, the quorum-th largest value, and vote outcomes.
import { describe, expect, it } from "vitest";
import { quorumSize, quorumValue, voteResult } from "../../src/quorum.ts";

describe("quorumSize", () => {
  it("is a strict majority", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });
});

describe("quorumValue", () => {
  const values: Record<string, number> = { a: 5, b: 3, c: 9, d: 1, e: 7 };
  const valueFor = (id: string): number => values[id] ?? 0;

  it("returns the largest value a majority has reached", () => {
    expect(quorumValue(new Set(["a", "b", "c"]), valueFor)).toBe(5);
    expect(quorumValue(new Set(["a", "b", "c", "d", "e"]), valueFor)).toBe(5);
    expect(quorumValue(new Set(["a", "b", "c", "d"]), valueFor)).toBe(3);
    expect(quorumValue(new Set(["c"]), valueFor)).toBe(9);
  });

  it("is minus infinity without voters, so nothing commits and no lease exists", () => {
    expect(quorumValue(new Set(), valueFor)).toBe(Number.NEGATIVE_INFINITY);
  });

  it("counts only the voters it is given", () => {
    // A learner with a high match index must not raise the commit index.
    expect(quorumValue(new Set(["b", "d"]), valueFor)).toBe(1);
  });
});

describe("voteResult", () => {
  const voters = new Set(["1", "2", "3", "4", "5"]);

  it("is pending until a majority grants or a majority rejects", () => {
    expect(voteResult(voters, new Map([["1", true]]))).toBe("pending");
    expect(
      voteResult(
        voters,
        new Map([
          ["1", true],
          ["2", false],
          ["3", false],
        ]),
      ),
    ).toBe("pending");
  });

  it("is won with a majority of grants", () => {
    expect(
      voteResult(
        voters,
        new Map([
          ["1", true],
          ["2", true],
          ["3", true],
        ]),
      ),
    ).toBe("won");
  });

  it("is lost once a majority can no longer be reached", () => {
    expect(
      voteResult(
        voters,
        new Map([
          ["1", true],
          ["2", false],
          ["3", false],
          ["4", false],
        ]),
      ),
    ).toBe("lost");
  });

  it("ignores votes from non-voters", () => {
    const votes = new Map([
      ["1", true],
      ["x", true],
      ["y", true],
    ]);
    expect(voteResult(voters, votes)).toBe("pending");
  });

  it("a single voter wins with its own vote", () => {
    expect(voteResult(new Set(["1"]), new Map([["1", true]]))).toBe("won");
  });
});
