// A node's health in one small object, shared with heartbeats and RPC: the level the PoC acts on,
// the reasons an operator reads, and the numbers behind them. Pure: the sampler measures, this judges.
import type { ConclaveConfig } from "../config/schema.ts";

export type HealthLevel = "ok" | "warning" | "critical";
export type HealthThresholds = ConclaveConfig["health"];

/** Worse levels sort later. */
export const HEALTH_LEVEL_RANK: Readonly<Record<HealthLevel, number>> = Object.freeze({
  ok: 0,
  warning: 1,
  critical: 2,
});

export interface HealthReport {
  readonly level: HealthLevel;
  /** One short sentence per metric past a threshold, worst first; empty when ok. */
  readonly reasons: readonly string[];
  /** Percentages rounded to integers; absent when the metric could not be read. */
  readonly cpuPercent?: number;
  readonly memoryPercent?: number;
  readonly diskPercent?: number;
  readonly uptimeSeconds?: number;
  readonly bmcReachable: boolean;
  readonly sampledAtMs: number;
}

export interface HealthSample {
  readonly cpuPercent?: number | undefined;
  readonly memoryPercent?: number | undefined;
  readonly diskPercent?: number | undefined;
  readonly uptimeSeconds?: number | undefined;
  /** A metric that could not be read, e.g. "disk: cannot statfs /var/lib/conclave (ENOENT)": a warning. */
  readonly readProblems?: readonly string[];
  readonly bmc: {
    readonly reachable: boolean;
    /** How long the BMC has failed without a success in between (0 when reachable). */
    readonly failingForMs: number;
    readonly problem?: string | undefined;
  };
  readonly sampledAtMs: number;
}

interface Finding {
  readonly level: HealthLevel;
  readonly reason: string;
}

function judgePercent(
  name: string,
  value: number | undefined,
  thresholds: { warningPercent: number; criticalPercent: number; judged?: boolean },
): Finding | undefined {
  if (value === undefined) return undefined;
  if (thresholds.judged === false) return undefined;
  const shown = Math.round(value);
  if (value >= thresholds.criticalPercent) {
    return { level: "critical", reason: `${name} ${shown}% >= critical ${thresholds.criticalPercent}%` };
  }
  if (value >= thresholds.warningPercent) {
    return { level: "warning", reason: `${name} ${shown}% >= warning ${thresholds.warningPercent}%` };
  }
  return undefined;
}

/** Judges a sample against the configured thresholds. */
export function evaluateHealth(sample: HealthSample, thresholds: HealthThresholds): HealthReport {
  const findings: Finding[] = [];
  const add = (finding: Finding | undefined): void => {
    if (finding !== undefined) findings.push(finding);
  };
  if (!sample.bmc.reachable) {
    const seconds = Math.round(sample.bmc.failingForMs / 1000);
    const why = sample.bmc.problem === undefined ? "" : ` (${sample.bmc.problem})`;
    add(
      sample.bmc.failingForMs >= thresholds.bmcUnreachableGraceMs
        ? { level: "critical", reason: `local BMC unreachable for ${seconds} s${why}` }
        : { level: "warning", reason: `local BMC not answering${why}` },
    );
  }
  add(judgePercent("cpu", sample.cpuPercent, thresholds.cpu));
  add(judgePercent("memory", sample.memoryPercent, thresholds.memory));
  add(judgePercent("disk", sample.diskPercent, thresholds.disk));
  for (const problem of sample.readProblems ?? []) add({ level: "warning", reason: problem });
  findings.sort((a, b) => HEALTH_LEVEL_RANK[b.level] - HEALTH_LEVEL_RANK[a.level]);
  const level = findings[0]?.level ?? "ok";
  const round = (value: number | undefined) => (value === undefined ? {} : { value: Math.round(value) });
  const cpu = round(sample.cpuPercent);
  const memory = round(sample.memoryPercent);
  const disk = round(sample.diskPercent);
  const uptime = round(sample.uptimeSeconds);
  return {
    level,
    reasons: findings.map((finding) => finding.reason),
    ...("value" in cpu ? { cpuPercent: cpu.value } : {}),
    ...("value" in memory ? { memoryPercent: memory.value } : {}),
    ...("value" in disk ? { diskPercent: disk.value } : {}),
    ...("value" in uptime ? { uptimeSeconds: uptime.value } : {}),
    bmcReachable: sample.bmc.reachable,
    sampledAtMs: sample.sampledAtMs,
  };
}

/** Reasons kept when a report arrives from a peer; more is a broken or hostile peer. */
export const MAX_HEALTH_REASONS = 8;
const MAX_REASON_LENGTH = 200;

/**
 * Checks a report received from another node (heartbeat, RPC) and returns it typed, or undefined
 * when it is not one. Strict: a malformed report must not make a node look healthy.
 */
export function parseHealthReport(value: unknown): HealthReport | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (record.level !== "ok" && record.level !== "warning" && record.level !== "critical") return undefined;
  if (typeof record.bmcReachable !== "boolean") return undefined;
  if (typeof record.sampledAtMs !== "number" || !Number.isFinite(record.sampledAtMs)) return undefined;
  if (!Array.isArray(record.reasons) || record.reasons.length > MAX_HEALTH_REASONS) return undefined;
  if (!record.reasons.every((reason) => typeof reason === "string" && reason.length <= MAX_REASON_LENGTH)) {
    return undefined;
  }
  const numbers: Record<string, number> = {};
  for (const key of ["cpuPercent", "memoryPercent", "diskPercent", "uptimeSeconds"] as const) {
    const metric = record[key];
    if (metric === undefined) continue;
    if (typeof metric !== "number" || !Number.isFinite(metric) || metric < 0) return undefined;
    numbers[key] = metric;
  }
  return {
    level: record.level,
    reasons: [...(record.reasons as string[])],
    ...numbers,
    bmcReachable: record.bmcReachable,
    sampledAtMs: record.sampledAtMs,
  };
}
