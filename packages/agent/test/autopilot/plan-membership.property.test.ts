// Proves, over random clusters of 1..32 members, that the autopilot plans at most one change, never one that loses quorum or exceeds maxVoters, never makes a witness a successor, is pure, and converges when its actions are applied.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HealthStatus } from "../../src/cluster-state/types.ts";
import {
  type AutopilotConfig,
  type AutopilotInput,
  type AutopilotPlan,
  decideHealthHandover,
  emptyAutopilotMemory,
  type HealthLevel,
  isVoterRole,
  planAutopilot,
  quorumOf,
  successorCandidates,
} from "../../src/index.ts";
import { applyAction, type Cluster, T0 } from "./support.ts";

const SELF = "bmc-00";
const RUNS = Number(process.env.AUTOPILOT_PROPERTY_RUNS ?? 500);

const memberArb = fc.record({
  voter: fc.boolean(),
  witness: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  drained: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  priority: fc.integer({ min: 0, max: 100 }),
  health: fc.constantFrom<HealthStatus | null>("ok", "ok", "warning", "critical", null),
  active: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
  lagEntries: fc.integer({ min: 0, max: 600 }),
  lastContactAgoMs: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
});

/** Member 0 is the PoC planning: a voter (never a witness) that hears itself. */
const clusterArb: fc.Arbitrary<Cluster> = fc.array(memberArb, { minLength: 1, maxLength: 32 }).map((specs) => {
  const state: Cluster = { members: [], progress: [] };
  specs.forEach((spec, index) => {
    const self = index === 0;
    const id = `bmc-${String(index).padStart(2, "0")}`;
    const witness = !self && spec.witness;
    const voter = self || spec.voter;
    state.members.push({
      id,
      role: voter ? (witness ? "witness" : "voter") : "learner",
      witness,
      drained: spec.drained,
      priority: spec.priority,
      health: spec.health === null ? null : { status: spec.health },
    });
    state.progress.push({
      id,
      lagEntries: self ? 0 : spec.lagEntries,
      recentActive: self || spec.active,
      ...(spec.lastContactAgoMs === undefined ? {} : { lastContactAtMs: T0 - spec.lastContactAgoMs }),
    });
  });
  return state;
});

const configArb: fc.Arbitrary<AutopilotConfig> = fc.record({
  maxVoters: fc.integer({ min: 1, max: 15 }),
  cleanupDeadMembers: fc.boolean(),
  stabilizationMs: fc.integer({ min: 0, max: 20_000 }),
  maxLagEntries: fc.integer({ min: 0, max: 500 }),
  deadAfterMs: fc.integer({ min: 1, max: 60_000 }),
});

function activeIds(state: Cluster): Set<string> {
  return new Set(state.progress.filter((entry) => entry.id === SELF || entry.recentActive).map((entry) => entry.id));
}

function votersOf(state: Cluster): string[] {
  return state.members.filter((member) => isVoterRole(member.role)).map((member) => member.id);
}

function hasQuorum(state: Cluster): boolean {
  const voters = votersOf(state);
  const active = activeIds(state);
  return voters.filter((id) => active.has(id)).length >= quorumOf(voters.length);
}

/** Every invariant one plan must hold, checked against the input it was made from. */
function checkPlan(state: Cluster, input: AutopilotInput, plan: AutopilotPlan): void {
  // Purity: the same input (the same memory) gives the same plan.
  expect(planAutopilot(input)).toEqual(plan);
  const action = plan.action;
  if (action === null) return;
  const voters = votersOf(state);
  const target = state.members.find((member) => member.id === action.nodeId);
  expect(target, "the action names a member").toBeDefined();
  expect(hasQuorum(state), "no change is planned without a reachable majority").toBe(true);
  if (action.kind === "promote") {
    expect(target?.role).toBe("learner");
    expect(target?.drained).toBe(false);
    expect(activeIds(state).has(action.nodeId)).toBe(true);
    expect(voters.length + 1).toBeLessThanOrEqual(input.config.maxVoters);
    expect(action.role).toBe(target?.witness ? "witness" : "voter");
  } else {
    expect(action.nodeId).not.toBe(SELF);
    expect(input.config.cleanupDeadMembers).toBe(true);
    if (target !== undefined && isVoterRole(target.role)) {
      expect(voters.length - 1).toBeGreaterThanOrEqual(Math.min(3, state.members.length));
    }
  }
  const after = applyAction(state, action);
  expect(hasQuorum(after), "the change keeps a reachable majority").toBe(true);
}

/** Whatever health the PoC has, a health hand-over never goes to a witness, a drained member or a learner. */
function checkSuccessor(state: Cluster, selfLevel: HealthLevel): void {
  const decision = decideHealthHandover({
    selfId: SELF,
    selfLevel,
    shouldHandOver: true,
    candidates: successorCandidates(SELF, state.members, state.progress),
  });
  if (!decision.handOver) return;
  const to = state.members.find((member) => member.id === decision.to);
  expect(to?.role).toBe("voter");
  expect(to?.witness).toBe(false);
  expect(to?.drained).toBe(false);
  expect(activeIds(state).has(decision.to)).toBe(true);
}

describe("autopilot planner properties", () => {
  it("plans at most one safe change, within maxVoters, purely", () => {
    fc.assert(
      fc.property(
        clusterArb,
        configArb,
        fc.integer({ min: 0, max: 120_000 }),
        fc.constantFrom<HealthLevel>("ok", "warning", "critical"),
        (state, config, elapsedMs, selfLevel) => {
          const first: AutopilotInput = { selfId: SELF, nowMs: T0, ...state, config, memory: emptyAutopilotMemory() };
          const firstPlan = planAutopilot(first);
          checkPlan(state, first, firstPlan);
          const second: AutopilotInput = { ...first, nowMs: T0 + elapsedMs, memory: firstPlan.memory };
          checkPlan(state, second, planAutopilot(second));
          checkSuccessor(state, selfLevel);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("converges when its actions are applied, and then stays put", () => {
    fc.assert(
      fc.property(clusterArb, configArb, (initial, config) => {
        // One step lets every timer (stabilization, dead-after) run out.
        const stepMs = Math.max(config.stabilizationMs, config.deadAfterMs) + 1;
        // Each member is promoted at most once and removed at most once; two more steps for the timers.
        const stepsMax = 2 * initial.members.length + 3;
        let state = initial;
        let memory = emptyAutopilotMemory();
        let nowMs = T0;
        let quietAt: number | undefined;
        for (let step = 0; step < stepsMax && quietAt === undefined; step++) {
          const input: AutopilotInput = { selfId: SELF, nowMs, ...state, config, memory };
          const plan = planAutopilot(input);
          checkPlan(state, input, plan);
          expect(votersOf(state).length).toBeLessThanOrEqual(Math.max(config.maxVoters, votersOf(initial).length));
          memory = plan.memory;
          if (plan.action !== null) state = applyAction(state, plan.action);
          else if (nowMs >= T0 + stepMs) quietAt = nowMs;
          nowMs += stepMs;
        }
        expect(quietAt, `no convergence within ${stepsMax} steps`).toBeDefined();
        // Idempotent: the same memory and no change in the input give the same (empty) answer, later too.
        expect(planAutopilot({ selfId: SELF, nowMs: quietAt!, ...state, config, memory }).action).toBeNull();
        expect(planAutopilot({ selfId: SELF, nowMs: nowMs + stepMs, ...state, config, memory }).action).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });
});
