// Proves power sequences are validated with clear messages and order targets into steps: groups in
// order for power-on (ungrouped last), reversed for power-off (ungrouped first), each group's delay
// after it; and that an aggregated reset plan batches within each step.
import { describe, expect, it } from "vitest";
import { FacadeConfigError } from "../../src/facade-options.ts";
import { type PlannedResetTarget, planAggregateReset } from "../../src/operations/aggregate-reset-plan.ts";
import {
  type PowerSequenceConfig,
  powerDirection,
  powerSteps,
  resolvePowerSequence,
} from "../../src/operations/power-sequence.ts";

const CONFIG: PowerSequenceConfig = {
  groups: [
    { name: "storage", members: ["jbod1", "jbod2"], delayAfterSeconds: 30 },
    { name: "compute", labels: { role: "compute" }, delayAfterSeconds: 5 },
  ],
};

interface Target {
  readonly name: string;
  readonly labels: Record<string, string>;
}

const TARGETS: Target[] = [
  { name: "node1", labels: { role: "compute" } },
  { name: "jbod1", labels: {} },
  { name: "mgmt", labels: {} },
  { name: "node2", labels: { role: "compute" } },
  { name: "jbod2", labels: { role: "compute" } },
];

function names(steps: { group: string | null; targets: readonly Target[]; delayBeforeMs: number }[]) {
  return steps.map((s) => ({ group: s.group, targets: s.targets.map((t) => t.name), delayBeforeMs: s.delayBeforeMs }));
}

describe("resolvePowerSequence", () => {
  it("accepts no sequence and a good one (frozen)", () => {
    expect(resolvePowerSequence(undefined)).toBeUndefined();
    const sequence = resolvePowerSequence(CONFIG);
    expect(sequence?.groups.map((g) => [g.name, g.delayAfterMs])).toEqual([
      ["storage", 30_000],
      ["compute", 5_000],
    ]);
    expect(Object.isFrozen(sequence)).toBe(true);
  });

  it.each([
    [{ groups: [] }, /1 to 32 groups/],
    [
      { groups: [{ name: "a", members: ["x"], delayAfterSeconds: -1 }] },
      /delayAfterSeconds must be an integer from 0 to 3600/,
    ],
    [{ groups: [{ name: "a", members: ["x"], delayAfterSeconds: 1.5 }] }, /delayAfterSeconds/],
    [{ groups: [{ name: "a", delayAfterSeconds: 0 }] }, /either members or labels/],
    [{ groups: [{ name: "a", members: ["x"], labels: { r: "s" }, delayAfterSeconds: 0 }] }, /either members or labels/],
    [{ groups: [{ name: "a", members: ["bad_name"], delayAfterSeconds: 0 }] }, /not a member name/],
    [{ groups: [{ name: "a", members: [], delayAfterSeconds: 0 }] }, /1 to 256 member names/],
    [{ groups: [{ name: "a/b", members: ["x"], delayAfterSeconds: 0 }] }, /name must match/],
    [{ groups: [{ name: "a", labels: {}, delayAfterSeconds: 0 }] }, /1 to 16 labels/],
    [{ groups: [{ name: "a", members: ["x"], delayAfterSeconds: 0, after: "b" }] }, /unknown property "after"/],
    [
      {
        groups: [
          { name: "a", members: ["x"], delayAfterSeconds: 0 },
          { name: "b", members: ["x"], delayAfterSeconds: 0 },
        ],
      },
      /x is already in group a/,
    ],
    [
      {
        groups: [
          { name: "a", members: ["x"], delayAfterSeconds: 0 },
          { name: "a", members: ["y"], delayAfterSeconds: 0 },
        ],
      },
      /two groups are named a/,
    ],
  ])("refuses %j", (config, message) => {
    expect(() => resolvePowerSequence(config as unknown as PowerSequenceConfig)).toThrow(FacadeConfigError);
    expect(() => resolvePowerSequence(config as unknown as PowerSequenceConfig)).toThrow(message);
  });
});

describe("powerSteps", () => {
  const sequence = resolvePowerSequence(CONFIG);
  if (sequence === undefined) throw new Error("no sequence");

  it("powers on group by group, a group's delay after it, members in no group last", () => {
    // jbod2 carries the compute label but is named by storage, which comes first.
    expect(names(powerSteps(sequence, TARGETS, (t) => t, "on"))).toEqual([
      { group: "storage", targets: ["jbod1", "jbod2"], delayBeforeMs: 0 },
      { group: "compute", targets: ["node1", "node2"], delayBeforeMs: 30_000 },
      { group: null, targets: ["mgmt"], delayBeforeMs: 5_000 },
    ]);
  });

  it("powers off in reverse, members in no group first", () => {
    expect(names(powerSteps(sequence, TARGETS, (t) => t, "off"))).toEqual([
      { group: null, targets: ["mgmt"], delayBeforeMs: 0 },
      { group: "compute", targets: ["node1", "node2"], delayBeforeMs: 0 },
      { group: "storage", targets: ["jbod1", "jbod2"], delayBeforeMs: 5_000 },
    ]);
  });

  it("skips groups with no target", () => {
    const only = TARGETS.filter((t) => t.name !== "node1" && t.name !== "node2");
    expect(names(powerSteps(sequence, only, (t) => t, "on")).map((s) => s.group)).toEqual(["storage", null]);
  });

  it("sequences only ResetTypes that power on or off", () => {
    expect(
      ["On", "ForceOn", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle", "Nmi"].map(powerDirection),
    ).toEqual(["on", "on", "off", "off", undefined, undefined, undefined]);
  });
});

describe("planAggregateReset", () => {
  const targets: PlannedResetTarget[] = TARGETS.map((t) => ({
    memberId: `peer-${t.name}`,
    memberName: t.name,
    memberLabels: t.labels,
    targetUri: `/redfish/v1/Systems/${t.name}_system`,
    actionPath: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
  }));
  const base = {
    name: "reset",
    payload: {
      targetUri: "/redfish/v1/AggregationService/Actions/AggregationService.Reset",
      httpOperation: "POST",
      jsonBody: "{}",
    },
    targets,
    batchSize: 1,
    delayBetweenBatchesMs: 2_000,
  };

  it("batches within each power group, stops on failure, one subtask per target", () => {
    const plan = planAggregateReset({ ...base, resetType: "On", sequence: resolvePowerSequence(CONFIG) });
    expect(plan.stopOnFailure).toBe(true);
    expect(plan.subtasks.map((s) => s.targetUri.split("/").pop())).toEqual([
      "jbod1_system",
      "jbod2_system",
      "node1_system",
      "node2_system",
      "mgmt_system",
    ]);
    expect(plan.stages.map((s) => [s.label, s.subtaskIndexes, s.delayBeforeMs])).toEqual([
      ["power group storage, batch 1 of 2", [0], 0],
      ["power group storage, batch 2 of 2", [1], 2_000],
      ["power group compute, batch 1 of 2", [2], 30_000],
      ["power group compute, batch 2 of 2", [3], 2_000],
      ["members in no power group", [4], 5_000],
    ]);
    expect(plan.subtasks[0]?.action).toEqual({
      kind: "http",
      request: {
        method: "POST",
        path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
        headers: { "content-type": "application/json" },
        body: '{"ResetType":"On"}',
      },
    });
  });

  it("only batches a restart, in the order given, and runs every batch whatever fails", () => {
    const plan = planAggregateReset({
      ...base,
      batchSize: 2,
      resetType: "ForceRestart",
      sequence: resolvePowerSequence(CONFIG),
    });
    expect(plan.stopOnFailure).toBe(false);
    expect(plan.stages.map((s) => [s.label, s.subtaskIndexes, s.delayBeforeMs])).toEqual([
      ["batch 1 of 3", [0, 1], 0],
      ["batch 2 of 3", [2, 3], 2_000],
      ["batch 3 of 3", [4], 2_000],
    ]);
  });

  it("runs every target in one stage without a BatchSize", () => {
    const plan = planAggregateReset({ ...base, batchSize: undefined, resetType: "On", sequence: undefined });
    expect(plan.stages).toEqual([
      { subtaskIndexes: [0, 1, 2, 3, 4], delayBeforeMs: 0, label: "batch 1 of 1", handOverFrom: null },
    ]);
  });
});
