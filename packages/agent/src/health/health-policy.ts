// When an unhealthy PoC should hand over, and to whom. Hysteresis keeps one bad sample (a CPU
// spike, one slow probe) from moving leadership, and one good sample from undoing the decision.
import { HEALTH_LEVEL_RANK, type HealthLevel } from "./health-report.ts";

/** Consecutive critical samples before a PoC hands over (with the default 2 s interval: 6 s). */
export const HAND_OVER_AFTER_CRITICAL_SAMPLES = 3;
/** Consecutive non-critical samples before the hand-over decision is withdrawn (10 s). */
export const CLEAR_AFTER_HEALTHY_SAMPLES = 5;

export interface HealthPolicyInit {
  readonly handOverAfterCriticalSamples?: number;
  readonly clearAfterHealthySamples?: number;
}

export class HealthPolicy {
  readonly handOverAfterCriticalSamples: number;
  readonly clearAfterHealthySamples: number;
  private criticalStreak = 0;
  private healthyStreak = 0;
  private handOver = false;

  constructor(init: HealthPolicyInit = {}) {
    this.handOverAfterCriticalSamples = init.handOverAfterCriticalSamples ?? HAND_OVER_AFTER_CRITICAL_SAMPLES;
    this.clearAfterHealthySamples = init.clearAfterHealthySamples ?? CLEAR_AFTER_HEALTHY_SAMPLES;
    if (!Number.isInteger(this.handOverAfterCriticalSamples) || this.handOverAfterCriticalSamples < 1) {
      throw new RangeError("handOverAfterCriticalSamples must be a positive integer");
    }
    if (!Number.isInteger(this.clearAfterHealthySamples) || this.clearAfterHealthySamples < 1) {
      throw new RangeError("clearAfterHealthySamples must be a positive integer");
    }
  }

  /** Feeds one sample's level; returns shouldHandOver after it. */
  observe(level: HealthLevel): boolean {
    if (level === "critical") {
      this.criticalStreak += 1;
      this.healthyStreak = 0;
      if (this.criticalStreak >= this.handOverAfterCriticalSamples) this.handOver = true;
    } else {
      this.healthyStreak += 1;
      this.criticalStreak = 0;
      if (this.healthyStreak >= this.clearAfterHealthySamples) this.handOver = false;
    }
    return this.handOver;
  }

  /** True once critical has persisted long enough, until health has been clear long enough. */
  get shouldHandOver(): boolean {
    return this.handOver;
  }

  /** Forgets the history, e.g. after leadership moved (the new PoC starts from its own samples). */
  reset(): void {
    this.criticalStreak = 0;
    this.healthyStreak = 0;
    this.handOver = false;
  }
}

export interface SuccessorCandidate {
  readonly id: string;
  readonly level: HealthLevel;
  /** Higher is preferred (config `priority`). */
  readonly priority: number;
  /** Log entries behind the leader's last index. */
  readonly replicationLag: number;
  readonly drained: boolean;
  readonly witness: boolean;
  /** Heard from recently enough to take over (the caller decides what recently is). */
  readonly reachable: boolean;
}

/**
 * The member leadership should go to: drained, witness and unreachable members never; then the
 * best health level, the highest priority, the smallest replication lag, and the lowest id so that
 * every node picks the same one. Pass the other members only (not the PoC itself). A critical
 * candidate may be returned when nobody better exists: compare its level before handing over.
 */
export function pickHealthiestSuccessor(candidates: readonly SuccessorCandidate[]): SuccessorCandidate | undefined {
  let best: SuccessorCandidate | undefined;
  for (const candidate of candidates) {
    if (candidate.drained || candidate.witness || !candidate.reachable) continue;
    if (best === undefined || compareSuccessors(candidate, best) < 0) best = candidate;
  }
  return best;
}

/** Negative when `a` is the better successor. */
export function compareSuccessors(a: SuccessorCandidate, b: SuccessorCandidate): number {
  return (
    HEALTH_LEVEL_RANK[a.level] - HEALTH_LEVEL_RANK[b.level] ||
    b.priority - a.priority ||
    a.replicationLag - b.replicationLag ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}
