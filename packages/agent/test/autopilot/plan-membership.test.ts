// Proves each autopilot rule on its own: stable promotion, odd voter counts, replacement of lost voters, dead-member reports, quorum-safe cleanup, the two-voter warning and the planner's memory.
import { describe, expect, it } from "vitest";
import {
  type AutopilotConfig,
  type AutopilotPlan,
  autopilotConfig,
  emptyAutopilotMemory,
  planAutopilot,
} from "../../src/index.ts";
import { type Cluster, CONFIG, cluster, T0 } from "./support.ts";

/** Plans once at T0 (first sight), then again `elapsedMs` later with the memory from the first call. */
function planAfter(
  state: Cluster,
  elapsedMs: number,
  config: Partial<AutopilotConfig> = {},
  selfId = "a",
): AutopilotPlan {
  const full = { ...CONFIG, ...config };
  const first = planAutopilot({ selfId, nowMs: T0, ...state, config: full, memory: emptyAutopilotMemory() });
  return planAutopilot({ selfId, nowMs: T0 + elapsedMs, ...state, config: full, memory: first.memory });
}

function summary(plan: AutopilotPlan): string {
  const action = plan.action;
  if (action === null) return "none";
  return action.kind === "promote" ? `promote ${action.nodeId} as ${action.role}` : `remove ${action.nodeId}`;
}

function codes(plan: AutopilotPlan): string[] {
  return plan.reports.map((report) => report.code);
}

describe("promotion of stable learners", () => {
  const cases: {
    name: string;
    state: Cluster;
    elapsedMs: number;
    config?: Partial<AutopilotConfig>;
    expected: string;
  }[] = [
    {
      name: "a caught-up learner is promoted once stable for the stabilization time",
      state: cluster({ a: {}, b: {}, c: { role: "learner" }, d: { role: "learner" } }),
      elapsedMs: 10_000,
      expected: "promote c as voter",
    },
    {
      name: "not before the stabilization time has passed",
      state: cluster({ a: {}, b: {}, c: { role: "learner" }, d: { role: "learner" } }),
      elapsedMs: 9_999,
      expected: "none",
    },
    {
      name: "not a learner that lags more than maxLagEntries",
      state: cluster({ a: {}, b: { role: "learner", lagEntries: 251 } }),
      elapsedMs: 60_000,
      expected: "none",
    },
    {
      name: "not a learner that is not heard from",
      state: cluster({ a: {}, b: { role: "learner", active: false } }),
      elapsedMs: 10_000,
      expected: "none",
    },
    {
      name: "not a critical learner",
      state: cluster({ a: {}, b: { role: "learner", health: "critical" } }),
      elapsedMs: 10_000,
      expected: "none",
    },
    {
      name: "not a drained learner",
      state: cluster({ a: {}, b: { role: "learner", drained: true } }),
      elapsedMs: 10_000,
      expected: "none",
    },
    {
      name: "a learner that has not reported health yet counts as ok",
      state: cluster({ a: {}, b: {}, c: { role: "learner", health: null } }),
      elapsedMs: 10_000,
      expected: "promote c as voter",
    },
    {
      name: "healthier first",
      state: cluster({ a: {}, b: {}, c: { role: "learner", health: "warning" }, d: { role: "learner" } }),
      elapsedMs: 10_000,
      expected: "promote d as voter",
    },
    {
      name: "then higher priority",
      state: cluster({ a: {}, b: {}, c: { role: "learner", priority: 10 }, d: { role: "learner", priority: 90 } }),
      elapsedMs: 10_000,
      expected: "promote d as voter",
    },
    {
      name: "then lower lag",
      state: cluster({ a: {}, b: {}, c: { role: "learner", lagEntries: 9 }, d: { role: "learner", lagEntries: 3 } }),
      elapsedMs: 10_000,
      expected: "promote d as voter",
    },
    {
      name: "then lowest id",
      state: cluster({ a: {}, b: {}, d: { role: "learner" }, c: { role: "learner" } }),
      elapsedMs: 10_000,
      expected: "promote c as voter",
    },
    {
      name: "members that may lead before witnesses",
      state: cluster({ a: {}, b: {}, c: { role: "learner", witness: true, priority: 100 }, d: { role: "learner" } }),
      elapsedMs: 10_000,
      expected: "promote d as voter",
    },
    {
      name: "a witness learner becomes a witness voter (the third vote of two BMCs)",
      state: cluster({ a: {}, b: {}, w: { role: "learner", witness: true } }),
      elapsedMs: 10_000,
      expected: "promote w as witness",
    },
    {
      name: "never beyond maxVoters",
      state: cluster({ a: {}, b: {}, c: {}, d: { role: "learner" }, e: { role: "learner" } }),
      elapsedMs: 10_000,
      config: { maxVoters: 3 },
      expected: "none",
    },
  ];
  it.each(cases)("$name", ({ state, elapsedMs, config, expected }) => {
    expect(summary(planAfter(state, elapsedMs, config))).toBe(expected);
  });

  it("restarts the stabilization clock when a learner falls behind", () => {
    const good = cluster({ a: {}, b: {}, e: {}, c: { role: "learner" }, d: { role: "learner" } });
    const behind = cluster({ a: {}, b: {}, e: {}, c: { role: "learner", lagEntries: 1_000 }, d: { role: "learner" } });
    const base = { selfId: "a", config: CONFIG };
    const p1 = planAutopilot({ ...base, ...good, nowMs: T0, memory: emptyAutopilotMemory() });
    const p2 = planAutopilot({ ...base, ...behind, nowMs: T0 + 5_000, memory: p1.memory });
    const p3 = planAutopilot({ ...base, ...good, nowMs: T0 + 10_000, memory: p2.memory });
    // d is ready (stable since T0) but c is not: from 3 voters only a pair of ready learners is promoted.
    expect(p3.action).toBeNull();
    const p4 = planAutopilot({ ...base, ...good, nowMs: T0 + 19_999, memory: p3.memory });
    expect(p4.action).toBeNull();
    const p5 = planAutopilot({ ...base, ...good, nowMs: T0 + 20_000, memory: p4.memory });
    expect(summary(p5)).toBe("promote c as voter");
  });
});

describe("odd voter counts", () => {
  const cases: { name: string; state: Cluster; maxVoters: number; expected: string }[] = [
    {
      name: "1 voter and 1 ready learner: stays at 1 (2 voters would stop on either failure)",
      state: cluster({ a: {}, b: { role: "learner" } }),
      maxVoters: 5,
      expected: "none",
    },
    {
      name: "1 voter and 2 ready learners: promotes on the way to 3",
      state: cluster({ a: {}, b: { role: "learner" }, c: { role: "learner" } }),
      maxVoters: 5,
      expected: "promote b as voter",
    },
    {
      name: "2 voters: promotes to 3 at once",
      state: cluster({ a: {}, b: {}, c: { role: "learner" } }),
      maxVoters: 5,
      expected: "promote c as voter",
    },
    {
      name: "3 voters, 2 ready learners, maxVoters 4: stays at 3 (a 4th adds no fault tolerance)",
      state: cluster({ a: {}, b: {}, c: {}, d: { role: "learner" }, e: { role: "learner" } }),
      maxVoters: 4,
      expected: "none",
    },
    {
      name: "4 voters (maxVoters 5): promotes the 5th",
      state: cluster({ a: {}, b: {}, c: {}, d: {}, e: { role: "learner" } }),
      maxVoters: 5,
      expected: "promote e as voter",
    },
  ];
  it.each(cases)("$name", ({ state, maxVoters, expected }) => {
    expect(summary(planAfter(state, 10_000, { maxVoters }))).toBe(expected);
  });

  it("reports an even count it cannot fix", () => {
    const plan = planAfter(cluster({ a: {}, b: {}, c: {}, d: {} }), 10_000);
    expect(codes(plan)).toEqual(["AUTOPILOT_EVEN_VOTERS"]);
    expect(plan.reports[0]?.message).toBe(
      "4 voters survive no more failures than 3: an even count adds no fault tolerance; add a learner so one can be promoted",
    );
    expect(planAfter(cluster({ a: {}, b: {}, c: {}, d: {} }), 10_000, { maxVoters: 4 }).reports[0]?.message).toBe(
      "4 voters survive no more failures than 3: an even count adds no fault tolerance; maxVoters is 4: an odd maxVoters avoids this",
    );
  });
});

describe("dead members", () => {
  it("reports a member not heard from for the dead-after time, in plain words", () => {
    const plan = planAfter(cluster({ a: {}, b: {}, c: {}, "bmc-3": { role: "learner", active: false } }), 45_000);
    expect(plan.reports).toEqual([
      { code: "AUTOPILOT_MEMBER_DEAD", nodeId: "bmc-3", message: "member bmc-3 has not been heard from for 45 s" },
    ]);
    expect(plan.action).toBeNull();
  });

  it("is not dead before the dead-after time (first sight is a grace period)", () => {
    const plan = planAfter(cluster({ a: {}, b: {}, c: {}, d: { role: "learner", active: false } }), 29_999);
    expect(plan.reports).toEqual([]);
  });

  it("uses the daemon's last contact time when it has one", () => {
    const state = cluster({ a: {}, b: {}, c: {}, d: { role: "learner", active: false, lastContactAtMs: T0 + 20_000 } });
    expect(codes(planAfter(state, 45_000))).toEqual([]);
    expect(codes(planAfter(state, 50_000))).toEqual(["AUTOPILOT_MEMBER_DEAD"]);
  });

  it("never counts the PoC itself as dead, even without a progress entry", () => {
    const state = cluster({ a: {}, b: {}, c: {} });
    const plan = planAfter({ members: state.members, progress: state.progress.slice(1) }, 60_000);
    expect(codes(plan)).toEqual([]);
  });

  const replacement: {
    name: string;
    state: Cluster;
    config: Partial<AutopilotConfig>;
    expected: string;
    reports: string[];
  }[] = [
    {
      name: "a lost voter is replaced by the best ready learner (even count allowed: it restores the live voters)",
      state: cluster({ a: {}, b: {}, c: { active: false }, d: { role: "learner" } }),
      config: {},
      expected: "promote d as voter",
      reports: ["AUTOPILOT_MEMBER_DEAD"],
    },
    {
      name: "with the voter set full and cleanup off, the dead voter is reported, not replaced",
      state: cluster({ a: {}, b: {}, c: { active: false }, d: { role: "learner" } }),
      config: { maxVoters: 3 },
      expected: "none",
      reports: ["AUTOPILOT_MEMBER_DEAD", "AUTOPILOT_DEAD_VOTER_NOT_REPLACED"],
    },
    {
      name: "with the voter set full and cleanup on, the dead voter is removed first (the learner follows)",
      state: cluster({ a: {}, b: {}, c: {}, d: {}, e: { active: false }, f: { role: "learner" } }),
      config: { maxVoters: 5, cleanupDeadMembers: true },
      expected: "remove e",
      reports: ["AUTOPILOT_MEMBER_DEAD"],
    },
    {
      name: "cleanup never takes a 3-voter cluster below 3 voters",
      state: cluster({ a: {}, b: {}, c: { active: false }, d: { role: "learner", active: false } }),
      config: { cleanupDeadMembers: true },
      expected: "remove d",
      reports: ["AUTOPILOT_MEMBER_DEAD", "AUTOPILOT_MEMBER_DEAD", "AUTOPILOT_REMOVAL_UNSAFE"],
    },
    {
      name: "cleanup never removes a voter when the rest would not be a reachable majority",
      state: cluster({ a: {}, b: {}, c: {}, d: {}, e: {}, f: { active: false }, g: { active: false }, h: {} }),
      config: { maxVoters: 9, cleanupDeadMembers: true },
      expected: "remove f",
      reports: ["AUTOPILOT_MEMBER_DEAD", "AUTOPILOT_MEMBER_DEAD"],
    },
    {
      name: "a dead learner is removed only with cleanup on",
      state: cluster({ a: {}, b: {}, c: {}, d: { role: "learner", active: false } }),
      config: { cleanupDeadMembers: false },
      expected: "none",
      reports: ["AUTOPILOT_MEMBER_DEAD"],
    },
    {
      name: "a dead learner is removed with cleanup on",
      state: cluster({ a: {}, b: {}, c: {}, d: { role: "learner", active: false } }),
      config: { cleanupDeadMembers: true },
      expected: "remove d",
      reports: ["AUTOPILOT_MEMBER_DEAD"],
    },
    {
      name: "a two-member cluster never loses a voter automatically",
      state: cluster({ a: {}, b: { role: "witness", active: false } }),
      config: { cleanupDeadMembers: true },
      expected: "none",
      reports: ["AUTOPILOT_MEMBER_DEAD", "AUTOPILOT_NO_QUORUM"],
    },
    {
      name: "without a reachable majority nothing is planned",
      state: cluster({ a: {}, b: { active: false }, c: { active: false }, d: { role: "learner" } }),
      config: { cleanupDeadMembers: true },
      expected: "none",
      reports: ["AUTOPILOT_MEMBER_DEAD", "AUTOPILOT_MEMBER_DEAD", "AUTOPILOT_NO_QUORUM"],
    },
  ];
  it.each(replacement)("$name", ({ state, config, expected, reports }) => {
    const plan = planAfter(state, 40_000, config);
    expect(summary(plan)).toBe(expected);
    expect(codes(plan)).toEqual(reports);
  });

  it("refuses to remove a dead voter when the reachable rest is not a majority of the new set", () => {
    // 4 voters, 2 of them dead: 2 reachable of 4 is no quorum; the planner stops at rule 0.
    // 5 voters, 2 dead: removing one leaves 4 voters needing 3, and 3 are reachable: allowed.
    const five = cluster({ a: {}, b: {}, c: {}, d: { active: false }, e: { active: false } });
    expect(summary(planAfter(five, 40_000, { cleanupDeadMembers: true }))).toBe("remove d");
  });

  it("says why a removal was refused", () => {
    const plan = planAfter(cluster({ a: {}, b: {}, c: { active: false } }), 40_000, { cleanupDeadMembers: true });
    expect(plan.reports.at(-1)?.message).toBe("not removing dead voter c: it would leave 2 voters, fewer than 3");
  });
});

describe("two voters", () => {
  it("warns plainly when two voters have no witness", () => {
    const plan = planAfter(cluster({ a: {}, b: {} }), 1_000);
    expect(plan.reports).toEqual([
      {
        code: "AUTOPILOT_TWO_VOTERS_NO_WITNESS",
        message: "two voters and no witness: losing either BMC stops the cluster; add a witness",
      },
    ]);
  });

  it("says when a single voter carries the cluster", () => {
    const plan = planAfter(cluster({ a: {}, b: { role: "learner" } }), 10_000);
    expect(plan.action).toBeNull();
    expect(plan.reports).toEqual([
      {
        code: "AUTOPILOT_SINGLE_VOTER",
        nodeId: "a",
        message:
          "only a votes: losing it stops the cluster; two caught-up learners (or a learner and a witness) let the autopilot make 3 voters",
      },
    ]);
    expect(planAfter(cluster({ a: {}, b: { role: "learner" } }), 10_000, { maxVoters: 1 }).reports).toEqual([]);
  });

  it("is quiet when one of the two voters is a witness", () => {
    expect(planAfter(cluster({ a: {}, w: { role: "witness" } }), 1_000).reports).toEqual([]);
  });
});

describe("memory and purity", () => {
  it("returns new memory and never changes the one passed in", () => {
    const state = cluster({ a: {}, b: { role: "learner" } });
    const memory = emptyAutopilotMemory();
    const plan = planAutopilot({ selfId: "a", nowMs: T0, ...state, config: CONFIG, memory });
    expect(memory.members.size).toBe(0);
    expect(plan.memory.members.get("b")).toEqual({ lastSeenAtMs: T0, stableSinceMs: T0 });
  });

  it("forgets members that left", () => {
    const before = planAutopilot({
      selfId: "a",
      nowMs: T0,
      ...cluster({ a: {}, b: {} }),
      config: CONFIG,
      memory: emptyAutopilotMemory(),
    });
    const after = planAutopilot({
      selfId: "a",
      nowMs: T0,
      ...cluster({ a: {} }),
      config: CONFIG,
      memory: before.memory,
    });
    expect([...after.memory.members.keys()]).toEqual(["a"]);
  });

  it("validates its config with plain messages", () => {
    expect(() => autopilotConfig({ maxVoters: 5, cleanupDeadMembers: false }, { deadAfterMs: 0 })).toThrow(
      "deadAfterMs must be a positive integer",
    );
    expect(autopilotConfig({ maxVoters: 5, cleanupDeadMembers: true })).toEqual({
      maxVoters: 5,
      cleanupDeadMembers: true,
      stabilizationMs: 10_000,
      maxLagEntries: 250,
      deadAfterMs: 30_000,
    });
  });
});
