// Proves an unhealthy PoC hands over only when its policy asks and someone strictly healthier may lead (never a witness, a drained, a learner or an unreachable member), so leadership cannot flap.
import { describe, expect, it } from "vitest";
import {
  decideHealthHandover,
  type HealthLevel,
  HealthPolicy,
  type SuccessorCandidate,
  successorCandidates,
} from "../../src/index.ts";
import { cluster } from "./support.ts";

function candidate(id: string, level: HealthLevel, extra: Partial<SuccessorCandidate> = {}): SuccessorCandidate {
  return { id, level, priority: 50, replicationLag: 0, drained: false, witness: false, reachable: true, ...extra };
}

describe("decideHealthHandover", () => {
  const cases: {
    name: string;
    selfLevel: HealthLevel;
    shouldHandOver: boolean;
    candidates: SuccessorCandidate[];
    expected: string;
  }[] = [
    {
      name: "stays while the policy does not ask",
      selfLevel: "critical",
      shouldHandOver: false,
      candidates: [candidate("b", "ok")],
      expected: "HANDOVER_NOT_NEEDED",
    },
    {
      name: "hands a critical PoC to an ok member",
      selfLevel: "critical",
      shouldHandOver: true,
      candidates: [candidate("b", "ok")],
      expected: "to b",
    },
    {
      name: "hands a critical PoC to a warning member (strictly healthier)",
      selfLevel: "critical",
      shouldHandOver: true,
      candidates: [candidate("b", "warning")],
      expected: "to b",
    },
    {
      name: "refuses a successor as critical as the PoC",
      selfLevel: "critical",
      shouldHandOver: true,
      candidates: [candidate("b", "critical")],
      expected: "HANDOVER_NOT_HEALTHIER",
    },
    {
      name: "refuses a successor as healthy as a PoC that has recovered to warning",
      selfLevel: "warning",
      shouldHandOver: true,
      candidates: [candidate("b", "warning")],
      expected: "HANDOVER_NOT_HEALTHIER",
    },
    {
      name: "never a witness, a drained or an unreachable member",
      selfLevel: "critical",
      shouldHandOver: true,
      candidates: [
        candidate("b", "ok", { witness: true }),
        candidate("c", "ok", { drained: true }),
        candidate("d", "ok", { reachable: false }),
      ],
      expected: "HANDOVER_NO_SUCCESSOR",
    },
    {
      name: "ignores the PoC itself in the candidates",
      selfLevel: "critical",
      shouldHandOver: true,
      candidates: [candidate("a", "ok")],
      expected: "HANDOVER_NO_SUCCESSOR",
    },
    {
      name: "picks the best: healthier, then priority, then lag, then id",
      selfLevel: "critical",
      shouldHandOver: true,
      candidates: [
        candidate("b", "warning", { priority: 100 }),
        candidate("c", "ok", { priority: 10, replicationLag: 5 }),
        candidate("d", "ok", { priority: 10, replicationLag: 1 }),
        candidate("e", "ok", { priority: 10, replicationLag: 1 }),
      ],
      expected: "to d",
    },
  ];
  it.each(cases)("$name", ({ selfLevel, shouldHandOver, candidates, expected }) => {
    const decision = decideHealthHandover({ selfId: "a", selfLevel, shouldHandOver, candidates });
    expect(decision.handOver ? `to ${decision.to}` : decision.code).toBe(expected);
  });

  it("does not flap: with the policy's hysteresis, one good sample does not bring leadership back", () => {
    const policy = new HealthPolicy({ handOverAfterCriticalSamples: 2, clearAfterHealthySamples: 3 });
    const decide = (level: HealthLevel) =>
      decideHealthHandover({
        selfId: "a",
        selfLevel: level,
        shouldHandOver: policy.observe(level),
        candidates: [candidate("b", "ok")],
      }).handOver;
    expect(decide("critical")).toBe(false);
    expect(decide("critical")).toBe(true);
    // Still asked to hand over (hysteresis), but an ok PoC is not worse than an ok successor.
    expect(decide("ok")).toBe(false);
  });
});

describe("successorCandidates", () => {
  it("offers voters only, marks witnesses, and reads reachability and lag from Raft progress", () => {
    const state = cluster({
      a: {},
      b: { lagEntries: 7, health: "warning", priority: 80 },
      c: { role: "learner" },
      w: { role: "witness" },
      x: { active: false },
    });
    expect(successorCandidates("a", state.members, state.progress)).toEqual([
      { id: "b", level: "warning", priority: 80, replicationLag: 7, drained: false, witness: false, reachable: true },
      { id: "w", level: "ok", priority: 50, replicationLag: 0, drained: false, witness: true, reachable: true },
      { id: "x", level: "ok", priority: 50, replicationLag: 0, drained: false, witness: false, reachable: false },
    ]);
  });
});
