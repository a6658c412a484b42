// Proves the /proc parsers against fixture text, the thresholds and reasons of a report, the strict parsing of a peer's report, the hand-over hysteresis, the successor order, and the sampler with injected readers.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config/load-config.ts";
import {
  CLEAR_AFTER_HEALTHY_SAMPLES,
  cpuPercentBetween,
  createHealthSampler,
  diskPercent,
  evaluateHealth,
  HAND_OVER_AFTER_CRITICAL_SAMPLES,
  HealthPolicy,
  type HealthReport,
  type HealthSample,
  memoryPercent,
  parseHealthReport,
  parseMeminfo,
  parseProcStat,
  parseUptime,
  pickHealthiestSuccessor,
  procReaders,
  type SuccessorCandidate,
} from "../../src/health/index.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

/** The config's defaults: cpu 90/98, memory 85/95, disk 85/95, BMC grace 10 s. */
const thresholds = {
  cpu: { warningPercent: 90, criticalPercent: 98, judged: true },
  memory: { warningPercent: 85, criticalPercent: 95, judged: true },
  disk: { warningPercent: 85, criticalPercent: 95, judged: true },
  bmcUnreachableGraceMs: 10_000,
};

describe("the /proc parsers", () => {
  it("computes CPU busy percent from two /proc/stat readings", () => {
    const before = parseProcStat(fixture("proc-stat-before.txt"));
    const after = parseProcStat(fixture("proc-stat-after.txt"));
    expect(before).toEqual({ idle: 80_500, total: 94_000 });
    expect(cpuPercentBetween(before, after)).toBe(50);
    expect(cpuPercentBetween(after, after)).toBeUndefined();
    expect(() => parseProcStat("intr 1 2 3\n")).toThrow(/no aggregate cpu line/);
  });

  it("reads memory use from MemAvailable, and from free + buffers + cache on old kernels", () => {
    expect(Math.round(memoryPercent(parseMeminfo(fixture("meminfo.txt"))))).toBe(75);
    expect(memoryPercent(parseMeminfo(fixture("meminfo-no-available.txt")))).toBe(50);
    expect(() => parseMeminfo("MemFree: 1 kB\n")).toThrow(/MemTotal/);
  });

  it("reads uptime and disk use as df does", () => {
    expect(parseUptime(fixture("uptime.txt"))).toBe(86_400.52);
    expect(() => parseUptime("soon")).toThrow(/malformed/);
    // 100 blocks, 20 free of which 10 usable by non-root: used 80 of 90 usable.
    expect(Math.round(diskPercent({ blocks: 100, bfree: 20, bavail: 10 }))).toBe(89);
    expect(diskPercent({ blocks: 0, bfree: 0, bavail: 0 })).toBe(0);
  });

  it.skipIf(process.platform !== "linux")("reads this machine's /proc", async () => {
    expect(parseProcStat(await procReaders.readProcStat()).total).toBeGreaterThan(0);
    expect(parseMeminfo(await procReaders.readMeminfo()).totalBytes).toBeGreaterThan(0);
    expect(parseUptime(await procReaders.readUptime())).toBeGreaterThan(0);
    const percent = diskPercent(await procReaders.statfs("/"));
    expect(percent).toBeGreaterThanOrEqual(0);
    expect(percent).toBeLessThanOrEqual(100);
  });
});

describe("evaluateHealth", () => {
  const healthy: HealthSample = {
    cpuPercent: 12.4,
    memoryPercent: 40,
    diskPercent: 30,
    uptimeSeconds: 1000.4,
    bmc: { reachable: true, failingForMs: 0 },
    sampledAtMs: 5,
  };

  it("is ok with no reasons when everything is under its warning threshold", () => {
    expect(evaluateHealth(healthy, thresholds)).toEqual({
      level: "ok",
      reasons: [],
      cpuPercent: 12,
      memoryPercent: 40,
      diskPercent: 30,
      uptimeSeconds: 1000,
      bmcReachable: true,
      sampledAtMs: 5,
    });
  });

  it("takes the worst level and lists reasons worst first", () => {
    const report = evaluateHealth({ ...healthy, cpuPercent: 91, diskPercent: 96 }, thresholds);
    expect(report.level).toBe("critical");
    expect(report.reasons).toEqual(["disk 96% >= critical 95%", "cpu 91% >= warning 90%"]);
    expect(evaluateHealth({ ...healthy, memoryPercent: 85 }, thresholds).level).toBe("warning");
  });

  it("reports a metric that is not judged without letting it change the level", () => {
    const shared = { ...thresholds, cpu: { ...thresholds.cpu, judged: false } };
    const report = evaluateHealth({ ...healthy, cpuPercent: 100 }, shared);
    expect(report).toMatchObject({ level: "ok", reasons: [], cpuPercent: 100 });
    expect(evaluateHealth({ ...healthy, cpuPercent: 100 }, thresholds).level).toBe("critical");
  });

  it("gives an unreachable BMC a grace period as a warning, then calls it critical", () => {
    const failing = (failingForMs: number) =>
      evaluateHealth(
        { ...healthy, bmc: { reachable: false, failingForMs, problem: "AGENT_ERR_BMC_TIMEOUT" } },
        thresholds,
      );
    expect(failing(0)).toMatchObject({
      level: "warning",
      reasons: ["local BMC not answering (AGENT_ERR_BMC_TIMEOUT)"],
    });
    expect(failing(9_999).level).toBe("warning");
    expect(failing(12_000)).toMatchObject({
      level: "critical",
      bmcReachable: false,
      reasons: ["local BMC unreachable for 12 s (AGENT_ERR_BMC_TIMEOUT)"],
    });
  });

  it("leaves out metrics it could not read and warns about read problems", () => {
    const report = evaluateHealth(
      { bmc: { reachable: true, failingForMs: 0 }, sampledAtMs: 1, readProblems: ["disk: cannot statfs /x (ENOENT)"] },
      thresholds,
    );
    expect(report).toEqual({
      level: "warning",
      reasons: ["disk: cannot statfs /x (ENOENT)"],
      bmcReachable: true,
      sampledAtMs: 1,
    });
  });

  it("stays compact: a report is well under 300 bytes of JSON", () => {
    const report = evaluateHealth({ ...healthy, cpuPercent: 99, memoryPercent: 99, diskPercent: 99 }, thresholds);
    expect(JSON.stringify(report).length).toBeLessThan(300);
  });
});

describe("parseHealthReport", () => {
  it("accepts a report and rejects anything malformed", () => {
    const report = evaluateHealth(
      { cpuPercent: 1, memoryPercent: 2, diskPercent: 3, bmc: { reachable: true, failingForMs: 0 }, sampledAtMs: 9 },
      thresholds,
    );
    expect(parseHealthReport(JSON.parse(JSON.stringify(report)))).toEqual(report);
    expect(parseHealthReport({ ...report, level: "fine" })).toBeUndefined();
    expect(parseHealthReport({ ...report, cpuPercent: "1" })).toBeUndefined();
    expect(parseHealthReport({ ...report, reasons: Array(20).fill("x") })).toBeUndefined();
    expect(parseHealthReport({ ...report, bmcReachable: undefined })).toBeUndefined();
    expect(parseHealthReport(null)).toBeUndefined();
    expect(parseHealthReport([report])).toBeUndefined();
  });
});

describe("HealthPolicy", () => {
  it("hands over only after critical persists, and clears only after health persists", () => {
    const policy = new HealthPolicy();
    for (let sample = 1; sample < HAND_OVER_AFTER_CRITICAL_SAMPLES; sample++) {
      expect(policy.observe("critical")).toBe(false);
    }
    expect(policy.observe("critical")).toBe(true);
    for (let sample = 1; sample < CLEAR_AFTER_HEALTHY_SAMPLES; sample++) expect(policy.observe("ok")).toBe(true);
    expect(policy.observe("warning")).toBe(false);
    expect(policy.shouldHandOver).toBe(false);
  });

  it("does not flap: alternating samples never start or end a hand-over", () => {
    const policy = new HealthPolicy({ handOverAfterCriticalSamples: 2, clearAfterHealthySamples: 2 });
    for (let round = 0; round < 20; round++) {
      policy.observe("critical");
      expect(policy.observe("ok")).toBe(false);
    }
    policy.observe("critical");
    policy.observe("critical");
    for (let round = 0; round < 20; round++) {
      policy.observe("ok");
      expect(policy.observe("critical")).toBe(true);
    }
    policy.reset();
    expect(policy.shouldHandOver).toBe(false);
    expect(() => new HealthPolicy({ handOverAfterCriticalSamples: 0 })).toThrow(RangeError);
  });
});

describe("pickHealthiestSuccessor", () => {
  const candidate = (id: string, overrides: Partial<SuccessorCandidate> = {}): SuccessorCandidate => ({
    id,
    level: "ok",
    priority: 50,
    replicationLag: 0,
    drained: false,
    witness: false,
    reachable: true,
    ...overrides,
  });

  it("skips drained, witness and unreachable members", () => {
    expect(
      pickHealthiestSuccessor([
        candidate("a", { drained: true }),
        candidate("b", { witness: true }),
        candidate("c", { reachable: false }),
      ]),
    ).toBeUndefined();
    expect(pickHealthiestSuccessor([])).toBeUndefined();
  });

  it("orders by level, then priority, then replication lag, then id", () => {
    const pick = (candidates: SuccessorCandidate[]) => pickHealthiestSuccessor(candidates)?.id;
    expect(pick([candidate("a", { level: "warning", priority: 100 }), candidate("b", { priority: 0 })])).toBe("b");
    expect(pick([candidate("a", { priority: 10 }), candidate("b", { priority: 90, replicationLag: 500 })])).toBe("b");
    expect(pick([candidate("a", { replicationLag: 3 }), candidate("b", { replicationLag: 1 })])).toBe("b");
    expect(pick([candidate("c"), candidate("b"), candidate("d")])).toBe("b");
    expect(pick([candidate("a", { level: "critical" }), candidate("b", { level: "critical", priority: 60 })])).toBe(
      "b",
    );
  });

  it("picks the same member whatever order the candidates come in", () => {
    const members = [
      candidate("n1", { level: "warning" }),
      candidate("n2", { priority: 70, replicationLag: 4 }),
      candidate("n3", { priority: 70, replicationLag: 2 }),
      candidate("n4", { priority: 70, replicationLag: 2, drained: true }),
      candidate("n5", { priority: 70, replicationLag: 2 }),
    ];
    for (let shuffle = 0; shuffle < 10; shuffle++) {
      const order = [...members].sort(() => ((shuffle * 7919) % 3) - 1);
      expect(pickHealthiestSuccessor(order)?.id).toBe("n3");
    }
  });
});

describe("createHealthSampler", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function readers(stats: string[]) {
    let call = 0;
    return {
      readProcStat: async () => stats[Math.min(call++, stats.length - 1)]!,
      readMeminfo: async () => fixture("meminfo.txt"),
      readUptime: async () => fixture("uptime.txt"),
      statfs: async () => ({ blocks: 100, bfree: 50, bavail: 50 }),
    };
  }

  it("samples every metric, using the baseline taken at start for CPU", async () => {
    const reports: HealthReport[] = [];
    const sampler = createHealthSampler({
      thresholds,
      stateDir: "/var/lib/conclave",
      probeBmc: async () => ({ reachable: true }),
      readers: readers([fixture("proc-stat-before.txt"), fixture("proc-stat-after.txt")]),
      nowMs: () => 1_000,
      onReport: (report) => reports.push(report),
    });
    await sampler.start();
    await sampler.stop();
    expect(reports).toEqual([
      {
        level: "ok",
        reasons: [],
        cpuPercent: 50,
        memoryPercent: 75,
        diskPercent: 50,
        uptimeSeconds: 86_401,
        bmcReachable: true,
        sampledAtMs: 1_000,
      },
    ]);
    expect(sampler.latest()).toEqual(reports[0]);
  });

  it("times how long the BMC has been failing and turns critical after the grace", async () => {
    let now = 0;
    let reachable = false;
    const sampler = createHealthSampler({
      thresholds,
      stateDir: "/",
      probeBmc: async () => ({ reachable, problem: reachable ? undefined : "AGENT_ERR_BMC_UNREACHABLE" }),
      readers: readers([fixture("proc-stat-before.txt")]),
      nowMs: () => now,
    });
    expect((await sampler.sample()).level).toBe("warning");
    now = 5_000;
    expect((await sampler.sample()).level).toBe("warning");
    now = 10_000;
    expect(await sampler.sample()).toMatchObject({ level: "critical", bmcReachable: false });
    reachable = true;
    now = 12_000;
    expect((await sampler.sample()).level).toBe("ok");
    reachable = false;
    now = 13_000;
    expect((await sampler.sample()).level).toBe("warning"); // the clock starts again
  });

  it("reports unreadable metrics instead of failing, and a probe that throws as unreachable", async () => {
    const sampler = createHealthSampler({
      thresholds,
      stateDir: "/gone",
      probeBmc: async () => Promise.reject(Object.assign(new Error("boom"), { code: "AGENT_ERR_BMC_TIMEOUT" })),
      readers: {
        readProcStat: async () => Promise.reject(Object.assign(new Error("no"), { code: "ENOENT" })),
        readMeminfo: async () => "garbage",
        readUptime: async () => fixture("uptime.txt"),
        statfs: async () => Promise.reject(Object.assign(new Error("no"), { code: "ENOENT" })),
      },
    });
    const report = await sampler.sample();
    expect(report.level).toBe("warning");
    expect(report.reasons).toEqual([
      "local BMC not answering (AGENT_ERR_BMC_TIMEOUT)",
      "disk: cannot statfs /gone (ENOENT)",
    ]);
    expect(report.cpuPercent).toBeUndefined();
    expect(report.memoryPercent).toBeUndefined();
    expect(report.uptimeSeconds).toBe(86_401);
  });

  it("samples on its interval, never two at once, and stops", async () => {
    vi.useFakeTimers();
    let probes = 0;
    let release: () => void = () => {};
    const sampler = createHealthSampler({
      thresholds,
      stateDir: "/",
      intervalMs: 1_000,
      probeBmc: async () => {
        probes += 1;
        if (probes === 2) await new Promise<void>((resolve) => (release = resolve));
        return { reachable: true };
      },
      readers: readers([fixture("proc-stat-before.txt")]),
    });
    await sampler.start();
    expect(probes).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(probes).toBe(2); // this probe hangs
    await vi.advanceTimersByTimeAsync(3_000);
    expect(probes).toBe(2); // ticks while it hangs share it
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(probes).toBe(3);
    await sampler.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(probes).toBe(3);
  });
});

it("uses the same thresholds as the config's defaults", () => {
  const { config } = parseConfig("clusterName: rack-a\n", { file: "conclave.yaml" });
  expect(config.health).toEqual(thresholds);
});
