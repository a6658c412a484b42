// The autopilot's settings: the two the operator sets in the config file, and the named thresholds
// (after Consul's autopilot: ServerStabilizationTime, MaxTrailingLogs, dead-server cleanup).
import type { ConclaveConfig } from "../config/schema.ts";

/** A learner must stay reachable, caught up and not critical this long before it is promoted (Consul: 10 s). */
export const AUTOPILOT_STABILIZATION_MS_DEFAULT = 10_000;
/** A learner at most this many entries behind the PoC counts as caught up (Consul's MaxTrailingLogs). */
export const AUTOPILOT_MAX_LAG_ENTRIES_DEFAULT = 250;
/** A member not heard from for this long is dead: reported, replaced as a voter, removed if cleanup is on. */
export const AUTOPILOT_DEAD_AFTER_MS_DEFAULT = 30_000;

export interface AutopilotConfig {
  /** At most this many voters (witnesses count); the rest stay learners. Config `maxVoters`. */
  readonly maxVoters: number;
  /** Remove dead members automatically, never below a safe quorum. Config `cleanupDeadMembers`. */
  readonly cleanupDeadMembers: boolean;
  readonly stabilizationMs: number;
  readonly maxLagEntries: number;
  readonly deadAfterMs: number;
}

export type AutopilotThresholds = Pick<AutopilotConfig, "stabilizationMs" | "maxLagEntries" | "deadAfterMs">;

/**
 * The autopilot settings from the agent config, with the thresholds' defaults filled in (or
 * overridden, e.g. by tests), validated with plain messages and frozen.
 */
export function autopilotConfig(
  config: Pick<ConclaveConfig, "maxVoters" | "cleanupDeadMembers">,
  thresholds: Partial<AutopilotThresholds> = {},
): AutopilotConfig {
  const result: AutopilotConfig = {
    maxVoters: config.maxVoters,
    cleanupDeadMembers: config.cleanupDeadMembers,
    stabilizationMs: thresholds.stabilizationMs ?? AUTOPILOT_STABILIZATION_MS_DEFAULT,
    maxLagEntries: thresholds.maxLagEntries ?? AUTOPILOT_MAX_LAG_ENTRIES_DEFAULT,
    deadAfterMs: thresholds.deadAfterMs ?? AUTOPILOT_DEAD_AFTER_MS_DEFAULT,
  };
  validateAutopilotConfig(result);
  return Object.freeze(result);
}

/** Throws RangeError naming the first setting out of range. */
export function validateAutopilotConfig(config: AutopilotConfig): void {
  if (!Number.isInteger(config.maxVoters) || config.maxVoters < 1) {
    throw new RangeError("maxVoters must be a positive integer");
  }
  if (!Number.isInteger(config.stabilizationMs) || config.stabilizationMs < 0) {
    throw new RangeError("stabilizationMs must be an integer of at least 0");
  }
  if (!Number.isInteger(config.maxLagEntries) || config.maxLagEntries < 0) {
    throw new RangeError("maxLagEntries must be an integer of at least 0");
  }
  // A member heard from this very moment must never be dead.
  if (!Number.isInteger(config.deadAfterMs) || config.deadAfterMs < 1) {
    throw new RangeError("deadAfterMs must be a positive integer");
  }
}
