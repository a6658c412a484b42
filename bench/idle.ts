// `pnpm bench idle`: what one idle Conclave agent costs. For each variant (the source run by type
// stripping, the one-file bundle, the bundle with the memory flags the systemd unit sets) a
// 3-node group on loopback (timing `lan`, simulated BMCs, the demo's launcher
// scripts/demo/loopback-group.ts) forms, settles for IDLE_SETTLE_MS, then each agent is measured
// over IDLE_WINDOW_MS with nothing asked of the cluster: RSS (VmRSS, split into anonymous and file
// pages from /proc/<pid>/status) and CPU (utime+stime from /proc/<pid>/stat over the window).
// Summary line `idle:`; bench/results/idle.json holds `rss_mb_idle` and `cpu_pct_idle` (the tuned
// bundle, the worst agent) and the same per variant. Variants run one after another, never together.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { round, type Summary, writeResults } from "./results.ts";

const ROOT = resolve(import.meta.dirname, "..");
/** The memory settings the systemd unit sets (NODE_OPTIONS, MALLOC_ARENA_MAX): read from it, so the figures are the unit's. */
const UNIT_FILE = join(ROOT, "deploy/systemd/conclaved.service");
const UNIT_MEMORY_KEYS = ["NODE_OPTIONS", "MALLOC_ARENA_MAX"];
const TUNED_ENVIRONMENT: Record<string, string> = {};
for (const match of readFileSync(UNIT_FILE, "utf8").matchAll(
  /^Environment=([A-Z_][A-Z0-9_]*)=(?:"([^"]*)"|(\S*))$/gm,
)) {
  const key = match[1] as string;
  if (UNIT_MEMORY_KEYS.includes(key)) TUNED_ENVIRONMENT[key] = match[2] ?? match[3] ?? "";
}
for (const key of UNIT_MEMORY_KEYS) {
  if (TUNED_ENVIRONMENT[key] === undefined) throw new Error(`${UNIT_FILE} has no Environment=${key}=... line`);
}
/** No memory settings: Node's and glibc's defaults (a NODE_OPTIONS of the caller is cleared). */
const UNTUNED: Readonly<Record<string, string>> = { NODE_OPTIONS: "" };
const TARGETS = { rss_mb_idle: 96, cpu_pct_idle: 2 } as const;

const DEFAULT_IDLE_WINDOW_MS = 30_000;
const IDLE_WINDOW_MS = positiveEnv("IDLE_WINDOW_MS", DEFAULT_IDLE_WINDOW_MS);
/** After the VIP answers: time for joins, autopilot promotions and start-up garbage to settle. */
const DEFAULT_IDLE_SETTLE_MS = 20_000;
const IDLE_SETTLE_MS = positiveEnv("IDLE_SETTLE_MS", DEFAULT_IDLE_SETTLE_MS);
/** Bound on a group forming (lan timing: 3 s settle before bootstrap) and the VIP answering. */
const FORM_TIMEOUT_MS = 60_000;
const GROUP_SIZE = 3;

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name} must be a positive integer, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

// The demo's launcher lives outside bench/ (whose tsconfig keeps its rootDir): imported at run
// time, with the slice of its API used here declared locally.
interface Group {
  readonly agents: readonly {
    readonly name: string;
    readonly logFile: string;
    readonly child: { readonly pid?: number | undefined };
  }[];
  status(index: number): Promise<{ pocId: string | null; members: readonly { name: string; isPoC: boolean }[] }>;
  stop(): Promise<void>;
}
interface GroupModule {
  startLoopbackGroup(init: {
    size: number;
    clusterName: string;
    timing: "lan";
    daemonCommand: readonly string[];
    cliCommand: readonly string[];
    agentEnvironment?: Readonly<Record<string, string>>;
    tempPrefix?: string;
  }): Promise<Group>;
  waitForVip(group: Group, timeoutMs: number): Promise<{ url: string; uuid: string }>;
  SOURCE_DAEMON: string;
  SOURCE_CLI: string;
}
interface BuildModule {
  buildBundle(options: { outdir: string }): Promise<{ files: { name: string; file: string }[] }>;
}
const groupModulePath = join(ROOT, "scripts/demo/loopback-group.ts");
const buildModulePath = join(ROOT, "deploy/bundle/build.mjs");
const { startLoopbackGroup, waitForVip, SOURCE_DAEMON, SOURCE_CLI } = (await import(groupModulePath)) as GroupModule;
const { buildBundle } = (await import(buildModulePath)) as BuildModule;

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function statusMb(pid: number, field: string): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? round(Number(match[1]) / 1024, 1) : Number.NaN;
}

interface AgentIdle {
  readonly name: string;
  readonly poc: boolean;
  readonly rssMb: number;
  readonly rssAnonMb: number;
  readonly rssFileMb: number;
  readonly cpuPct: number;
}

interface VariantResult {
  readonly variant: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly windowMs: number;
  readonly pocChanged: boolean;
  readonly agents: AgentIdle[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bound on the log lines shown when a group does not form. */
const LOG_TAIL_LINES = 15;

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-LOG_TAIL_LINES).join("\n");
  } catch {
    return "(no log)";
  }
}

async function measure(
  variant: string,
  daemonCommand: string[],
  cliCommand: string[],
  environment: Readonly<Record<string, string>>,
) {
  const group = await startLoopbackGroup({
    size: GROUP_SIZE,
    clusterName: `idle-${variant}`,
    timing: "lan",
    daemonCommand,
    cliCommand,
    agentEnvironment: environment,
    tempPrefix: `conclave-bench-idle-${variant}-`,
  });
  try {
    await waitForVip(group, FORM_TIMEOUT_MS).catch((error: unknown) => {
      const logs = group.agents.map((a) => `--- ${a.name} ---\n${tail(a.logFile)}`).join("\n");
      throw new Error(`${variant}: ${String(error)}\n${logs}`);
    });
    await sleep(IDLE_SETTLE_MS);
    const before = await group.status(0);
    const pids = group.agents.map((agent) => agent.child.pid as number);
    const startTicks = pids.map(cpuTicks);
    const startedAt = performance.now();
    await sleep(IDLE_WINDOW_MS);
    const windowMs = performance.now() - startedAt;
    const after = await group.status(0);
    // A PoC change (a health hand-over on a saturated host: health's CPU figure is host-wide) is
    // work, not idleness: recorded so a reader can discount that run.
    const pocChanged = after.pocId !== before.pocId;
    const agents = group.agents.map((agent, i) => {
      const pid = pids[i] as number;
      return {
        name: agent.name,
        poc: after.members.some((m) => m.name === agent.name && m.isPoC),
        rssMb: statusMb(pid, "VmRSS"),
        rssAnonMb: statusMb(pid, "RssAnon"),
        rssFileMb: statusMb(pid, "RssFile"),
        cpuPct: round((((cpuTicks(pid) - (startTicks[i] as number)) / CLK_TCK) * 100_000) / windowMs, 2),
      };
    });
    return { variant, environment, windowMs: round(windowMs, 0), pocChanged, agents } satisfies VariantResult;
  } finally {
    await group.stop();
  }
}

// IDLE_BUNDLE_DIR measures bundles already built (e.g. the ones an image installs); otherwise the
// bundle is built from the working tree into a temp dir.
const prebuiltBundleDir = process.env.IDLE_BUNDLE_DIR;
const bundleDir = prebuiltBundleDir ?? mkdtempSync(join(tmpdir(), "conclave-bench-idle-bundle-"));
const cleanUp = () => {
  if (prebuiltBundleDir === undefined) rmSync(bundleDir, { recursive: true, force: true });
};
process.once("SIGINT", () => {
  cleanUp();
  process.exit(130);
});
const results: VariantResult[] = [];
try {
  if (prebuiltBundleDir === undefined) await buildBundle({ outdir: bundleDir });
  const bundleDaemon = [process.execPath, join(bundleDir, "conclaved.mjs")];
  const bundleCli = [process.execPath, join(bundleDir, "conclave.mjs")];
  results.push(await measure("source", [process.execPath, SOURCE_DAEMON], [process.execPath, SOURCE_CLI], UNTUNED));
  results.push(await measure("bundle", bundleDaemon, bundleCli, UNTUNED));
  results.push(await measure("bundle-tuned", bundleDaemon, bundleCli, TUNED_ENVIRONMENT));
} finally {
  cleanUp();
}

const summary: Summary = {};
const keyOf = (variant: string) => variant.replace(/-/g, "_");
for (const result of results) {
  summary[`rss_mb_idle_${keyOf(result.variant)}`] = Math.max(...result.agents.map((a) => a.rssMb));
  summary[`rss_anon_mb_idle_${keyOf(result.variant)}`] = Math.max(...result.agents.map((a) => a.rssAnonMb));
  summary[`cpu_pct_idle_${keyOf(result.variant)}`] = Math.max(...result.agents.map((a) => a.cpuPct));
  summary[`cpu_pct_idle_poc_${keyOf(result.variant)}`] = result.agents.find((a) => a.poc)?.cpuPct ?? Number.NaN;
}
summary.rss_mb_idle = summary.rss_mb_idle_bundle_tuned ?? Number.NaN;
summary.cpu_pct_idle = summary.cpu_pct_idle_bundle_tuned ?? Number.NaN;
const file = writeResults("idle", summary, {
  groupSize: GROUP_SIZE,
  timing: "lan",
  windowMs: IDLE_WINDOW_MS,
  settleMs: IDLE_SETTLE_MS,
  tunedEnvironment: TUNED_ENVIRONMENT,
  targets: TARGETS,
  variants: results,
});
const mark = (ok: boolean) => (ok ? "ok" : "MISS");
console.log(
  `idle: ${results
    .map(
      (r) =>
        `${r.variant} RSS ${summary[`rss_mb_idle_${keyOf(r.variant)}`]} MB CPU ${summary[`cpu_pct_idle_${keyOf(r.variant)}`]}%`,
    )
    .join("; ")} | target RSS <= ${TARGETS.rss_mb_idle} MB (${mark(summary.rss_mb_idle <= TARGETS.rss_mb_idle)}), ` +
    `CPU < ${TARGETS.cpu_pct_idle}% (${mark(summary.cpu_pct_idle < TARGETS.cpu_pct_idle)}) -> ${file}`,
);
