// Autopilot: the pure membership planner the PoC runs, and the health hand-over decision.
export {
  AUTOPILOT_DEAD_AFTER_MS_DEFAULT,
  AUTOPILOT_MAX_LAG_ENTRIES_DEFAULT,
  AUTOPILOT_STABILIZATION_MS_DEFAULT,
  type AutopilotConfig,
  type AutopilotThresholds,
  autopilotConfig,
  validateAutopilotConfig,
} from "./autopilot-config.ts";
export {
  decideHealthHandover,
  type HealthHandoverDecision,
  type HealthHandoverInput,
  successorCandidates,
} from "./health-handover.ts";
export {
  AUTOPILOT_MIN_VOTERS_AFTER_REMOVAL,
  type AutopilotAction,
  type AutopilotActionCode,
  type AutopilotInput,
  type AutopilotMember,
  type AutopilotMemberMemory,
  type AutopilotMemory,
  type AutopilotPlan,
  type AutopilotProgress,
  type AutopilotReport,
  type AutopilotReportCode,
  emptyAutopilotMemory,
  isVoterRole,
  planAutopilot,
  quorumOf,
} from "./plan-membership.ts";
