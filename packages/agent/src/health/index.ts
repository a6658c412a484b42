// Health after OpenBMC's health-monitor: sampling, the shared report, and the hand-over policy.
export {
  CLEAR_AFTER_HEALTHY_SAMPLES,
  compareSuccessors,
  HAND_OVER_AFTER_CRITICAL_SAMPLES,
  HealthPolicy,
  type HealthPolicyInit,
  pickHealthiestSuccessor,
  type SuccessorCandidate,
} from "./health-policy.ts";
export {
  evaluateHealth,
  HEALTH_LEVEL_RANK,
  type HealthLevel,
  type HealthReport,
  type HealthSample,
  type HealthThresholds,
  MAX_HEALTH_REASONS,
  parseHealthReport,
} from "./health-report.ts";
export {
  type BmcProbe,
  createHealthSampler,
  HEALTH_SAMPLE_INTERVAL_MS,
  type HealthSampler,
  type HealthSamplerInit,
} from "./health-sampler.ts";
export {
  type CpuTimes,
  cpuPercentBetween,
  diskPercent,
  type FileSystemBlocks,
  type HealthReaders,
  type MemoryInfo,
  memoryPercent,
  parseMeminfo,
  parseProcStat,
  parseUptime,
  procReaders,
} from "./proc-readers.ts";
