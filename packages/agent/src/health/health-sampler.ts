// Samples this node's health every HEALTH_SAMPLE_INTERVAL_MS: CPU, memory, uptime, state-dir disk
// and whether the local BMC's Redfish answers, judged against the config's thresholds. The daemon
// shares `latest()` with heartbeats and feeds each report's level to a HealthPolicy.
import { type AgentLogger, silentLogger } from "../logger.ts";
import { evaluateHealth, type HealthReport, type HealthSample, type HealthThresholds } from "./health-report.ts";
import {
  type CpuTimes,
  cpuPercentBetween,
  diskPercent,
  type HealthReaders,
  memoryPercent,
  parseMeminfo,
  parseProcStat,
  parseUptime,
  procReaders,
} from "./proc-readers.ts";

/** How often health is sampled. With the policy's streaks: hand over after 6 s critical, clear after 10 s. */
export const HEALTH_SAMPLE_INTERVAL_MS = 2_000;

/** What the sampler needs from the BMC client's probe(). */
export type BmcProbe = () => Promise<{ readonly reachable: boolean; readonly problem?: string | undefined }>;

export interface HealthSamplerInit {
  readonly thresholds: HealthThresholds;
  readonly stateDir: string;
  readonly probeBmc: BmcProbe;
  readonly intervalMs?: number;
  readonly readers?: Partial<HealthReaders>;
  readonly nowMs?: () => number;
  readonly logger?: AgentLogger;
  /** Called with every report, in order. */
  readonly onReport?: (report: HealthReport) => void;
}

export interface HealthSampler {
  /** Takes the CPU baseline and the first sample, then samples every interval. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Samples now (also what the timer calls). */
  sample(): Promise<HealthReport>;
  latest(): HealthReport | undefined;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
}

export function createHealthSampler(init: HealthSamplerInit): HealthSampler {
  const readers: HealthReaders = { ...procReaders, ...init.readers };
  const intervalMs = init.intervalMs ?? HEALTH_SAMPLE_INTERVAL_MS;
  const nowMs = init.nowMs ?? Date.now;
  const logger = init.logger ?? silentLogger;

  let previousCpu: CpuTimes | undefined;
  let bmcFailingSinceMs: number | undefined;
  let latest: HealthReport | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let inFlight: Promise<HealthReport> | undefined;
  let readProblemLogged = new Set<string>();

  const readCpu = async (): Promise<number | undefined> => {
    const current = parseProcStat(await readers.readProcStat());
    const percent = previousCpu === undefined ? undefined : cpuPercentBetween(previousCpu, current);
    previousCpu = current;
    return percent;
  };

  const measure = async (): Promise<HealthReport> => {
    const problems: string[] = [];
    const attempt = async <T>(name: string, read: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await read();
      } catch (err) {
        const problem = `${name}: cannot read (${errorCode(err)})`;
        if (!readProblemLogged.has(problem)) {
          readProblemLogged.add(problem);
          logger.warn({ err, metric: name }, "health metric unreadable");
        }
        return undefined;
      }
    };
    const [cpuPercent, memory, uptimeSeconds, disk, probe] = await Promise.all([
      attempt("cpu", readCpu),
      attempt("memory", async () => memoryPercent(parseMeminfo(await readers.readMeminfo()))),
      attempt("uptime", async () => parseUptime(await readers.readUptime())),
      readers.statfs(init.stateDir).then(
        (stats) => diskPercent(stats),
        (err: unknown) => {
          problems.push(`disk: cannot statfs ${init.stateDir} (${errorCode(err)})`);
          return undefined;
        },
      ),
      init.probeBmc().catch((err: unknown) => ({ reachable: false, problem: errorCode(err) })),
    ]);
    const sampledAtMs = nowMs();
    if (probe.reachable) bmcFailingSinceMs = undefined;
    else bmcFailingSinceMs ??= sampledAtMs;
    const sample: HealthSample = {
      cpuPercent,
      memoryPercent: memory,
      diskPercent: disk,
      uptimeSeconds,
      readProblems: problems,
      bmc: {
        reachable: probe.reachable,
        failingForMs: bmcFailingSinceMs === undefined ? 0 : sampledAtMs - bmcFailingSinceMs,
        problem: probe.problem,
      },
      sampledAtMs,
    };
    const report = evaluateHealth(sample, init.thresholds);
    if (latest === undefined || latest.level !== report.level) {
      const log = report.level === "ok" ? logger.info : logger.warn;
      log.call(logger, { level: report.level, previous: latest?.level, reasons: report.reasons }, "health changed");
    }
    latest = report;
    init.onReport?.(report);
    return report;
  };

  const sample = (): Promise<HealthReport> => {
    // A slow BMC probe must not pile samples up: callers share the one in flight.
    inFlight ??= measure().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  return {
    async start() {
      if (timer !== undefined) return;
      readProblemLogged = new Set();
      await readers
        .readProcStat()
        .then((text) => {
          previousCpu = parseProcStat(text);
        })
        .catch(() => undefined);
      timer = setInterval(() => {
        sample().catch((err: unknown) => logger.error({ err }, "health sample failed"));
      }, intervalMs);
      timer.unref?.();
      await sample();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await inFlight?.catch(() => undefined);
    },
    sample,
    latest: () => latest,
  };
}
