// The PoC's autopilot hook: the one place the daemon asks for the next membership change. It runs
// the pure planner of src/autopilot/ (stable-learner promotion with odd voter counts, replacement
// of a lost voter, quorum-safe cleanup of dead members when `cleanupDeadMembers` is on), keeps the
// planner's memory for this PoC term, and logs a report once when it appears.
import type { NodeId } from "@conclave/consensus";
import {
  AUTOPILOT_STABILIZATION_MS_DEFAULT,
  type AutopilotAction,
  type AutopilotConfig,
  type AutopilotMemory,
  type AutopilotReport,
  autopilotConfig,
  emptyAutopilotMemory,
  planAutopilot,
} from "../autopilot/index.ts";
import type { MemberRecord } from "../cluster-state/types.ts";
import type { ConclaveConfig } from "../config/schema.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import type { MemberProgress } from "../raft-driver/raft-driver.ts";

/**
 * How long a learner must stay reachable and caught up before promotion, per timing profile:
 * the autopilot's default on `lan`; `fast` halves it, as it halves every other duration.
 */
export const STABILIZATION_MS_BY_PROFILE: Readonly<Record<ConclaveConfig["timing"], number>> = Object.freeze({
  lan: AUTOPILOT_STABILIZATION_MS_DEFAULT,
  fast: AUTOPILOT_STABILIZATION_MS_DEFAULT / 2,
});

export interface MembershipInput {
  readonly selfId: NodeId;
  readonly nowMs: number;
  readonly members: readonly MemberRecord[];
  readonly progress: readonly MemberProgress[];
  /** When this node last heard from each member, on the clock of `nowMs`. */
  readonly lastContactAtMs: (id: NodeId) => number | undefined;
}

export class MembershipPlanner {
  readonly #config: AutopilotConfig;
  readonly #logger: AgentLogger;
  #memory: AutopilotMemory = emptyAutopilotMemory();
  #reports: readonly AutopilotReport[] = [];
  #logged = new Set<string>();

  constructor(config: Pick<ConclaveConfig, "maxVoters" | "cleanupDeadMembers" | "timing">, logger?: AgentLogger) {
    this.#config = autopilotConfig(config, { stabilizationMs: STABILIZATION_MS_BY_PROFILE[config.timing] });
    this.#logger = logger ?? silentLogger;
  }

  /** Forgets everything: called when this node becomes PoC (the planner starts from its own observations). */
  reset(): void {
    this.#memory = emptyAutopilotMemory();
    this.#reports = [];
    this.#logged = new Set();
  }

  /** What an operator should read now (empty on a node that is not PoC). */
  get reports(): readonly AutopilotReport[] {
    return this.#reports;
  }

  plan(input: MembershipInput): AutopilotAction | null {
    const plan = planAutopilot({
      selfId: input.selfId,
      nowMs: input.nowMs,
      members: input.members,
      progress: input.progress.map((progress) => ({
        ...progress,
        lastContactAtMs: input.lastContactAtMs(progress.id),
      })),
      config: this.#config,
      memory: this.#memory,
    });
    this.#memory = plan.memory;
    this.#reports = plan.reports;
    const current = new Set(plan.reports.map((report) => report.message));
    for (const report of plan.reports) {
      if (!this.#logged.has(report.message)) {
        this.#logger.warn({ code: report.code, nodeId: report.nodeId }, report.message);
      }
    }
    this.#logged = current;
    return plan.action;
  }
}
