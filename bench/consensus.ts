// `pnpm bench consensus`: commit throughput and latency of 3 and 5 Raft nodes in one process,
// each node in its own worker thread with its own FileStorage directory (so the nodes fsync in
// parallel, as BMCs do with their own flash), wired by MessageChannel ports carrying
// codec-encoded messages. Also: bytes and fsyncs per entry, the disk's own fdatasync latency
// measured in the same run, the same runs on tmpfs (no real fsync: the software's own cost),
// and election time after a leader crash (simulated time, in this thread).
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { InProcessCluster } from "../packages/consensus/demo/in-process-cluster.ts";
import type { NodeId } from "../packages/consensus/src/index.ts";
import { MemoryStorage } from "../packages/consensus/src/storage/memory-storage.ts";
import { WorkerCluster } from "./consensus-worker-cluster.ts";
import type { LoadResult, LoadSpec, NodeStats, StorageMedium, TimingStats } from "./consensus-worker-protocol.ts";
import { percentile, round, type Summary, writeResults } from "./results.ts";

const TICK_INTERVAL_MS = 10;
/**
 * The worker clusters keep the agent's default `lan` profile in milliseconds (heartbeats every
 * 100 ms, elections after 500-1000 ms) at 10 ms ticks. Five nodes fsyncing one shared disk under
 * a closed loop see fsyncs of several hundred milliseconds, which shorter timeouts turn into
 * elections mid-measurement; a BMC has its flash to itself.
 */
const CLUSTER_ELECTION_TICKS = 50;
const CLUSTER_HEARTBEAT_TICKS = 10;
/** The election-time figures keep the settings they always had, so the numbers stay comparable. */
const ELECTION_TICKS = 10;
const HEARTBEAT_TICKS = 1;
/** A phase that loses its leader (or fails otherwise) is run again this many times at most. */
const MAX_PHASE_ATTEMPTS = 3;
/** Proposals kept unapplied in the closed-loop runs: this many, and no more than CLOSED_LOOP_WINDOW_BYTES. */
const CLOSED_LOOP_WINDOW = 2048;
/**
 * 2048 entries of 4 KiB would be 8 MiB per batch: one fsync of that takes the thread away for
 * hundreds of milliseconds, long enough for an election. A real embedder bounds bytes too.
 */
const CLOSED_LOOP_WINDOW_BYTES = 1024 * 1024;
const FIXED_RATE_PER_S = 1000;
const WARMUP_MS = 500;
const CLOSED_LOOP_MEASURE_MS = 2500;
const FIXED_RATE_MEASURE_MS = 5000;
/** After a load's last proposal, how long its proposals may take to be applied. */
const DRAIN_TIMEOUT_MS = 10_000;
const LEADER_WAIT_MS = 10_000;
const CATCH_UP_TIMEOUT_MS = 10_000;
const TMPFS_DIR = "/dev/shm";
/** Raw disk probe: samples per kind, and a time bound per kind. */
const RAW_SYNC_SAMPLES = 300;
const RAW_SYNC_MAX_MS = 3000;
const RAW_SYNC_RECORD_BYTES = 64;
const ELECTION_TRIALS = 300;
/** Bound on ticks waiting for any one election. */
const MAX_ELECTION_TICKS = 1000;
/** Ticks after an election for every follower to hear the new leader. */
const SETTLE_TICKS = 15;

type PhaseName = "closed-64b" | "closed-4k" | "rate-64b" | "rate-4k";

function loadSpec(mode: LoadSpec["mode"], entryBytes: number): LoadSpec {
  return {
    mode,
    entryBytes,
    warmupMs: WARMUP_MS,
    measureMs: mode === "closed-loop" ? CLOSED_LOOP_MEASURE_MS : FIXED_RATE_MEASURE_MS,
    window: Math.min(CLOSED_LOOP_WINDOW, Math.floor(CLOSED_LOOP_WINDOW_BYTES / entryBytes)),
    ratePerS: FIXED_RATE_PER_S,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
  };
}

/**
 * Fixed rate first: a closed loop leaves hundreds of megabytes of dirty pages that the kernel
 * writes back for seconds after, and fsync latency measured meanwhile would be the writeback's.
 */
const PHASES: readonly { readonly name: PhaseName; readonly spec: LoadSpec }[] = [
  { name: "rate-64b", spec: loadSpec("fixed-rate", 64) },
  { name: "rate-4k", spec: loadSpec("fixed-rate", 4096) },
  { name: "closed-64b", spec: loadSpec("closed-loop", 64) },
  { name: "closed-4k", spec: loadSpec("closed-loop", 4096) },
];

const CLUSTER_RUNS: readonly { readonly nodes: number; readonly medium: StorageMedium }[] = [
  { nodes: 3, medium: "disk" },
  { nodes: 5, medium: "disk" },
  { nodes: 3, medium: "tmpfs" },
  { nodes: 5, medium: "tmpfs" },
];

interface NodeCost {
  readonly id: NodeId;
  readonly persist: TimingStats;
  readonly readyOther: TimingStats;
  readonly snapshot: TimingStats;
  readonly timerLate: TimingStats;
  /** Share of this node's fsyncing persists that carried no entries (a commit index alone). */
  readonly syncedPersistsWithoutEntriesShare: number;
  readonly entriesPerReady: number;
  readonly ticksDropped: number;
}

interface PhaseResult {
  readonly nodes: number;
  readonly medium: StorageMedium;
  readonly phase: PhaseName;
  readonly load: LoadResult;
  /** Entries appended to the leader's log during the phase (proposals plus nothing else). */
  readonly entries: number;
  readonly bytesWrittenPerEntryPerNode: number;
  readonly fsyncsPerEntryPerNode: number;
  readonly leader: NodeCost;
  readonly followers: readonly NodeCost[];
}

// ---------------------------------------------------------------- raw disk

/** fdatasync (or fsync) latency of 64 B writes, appended or overwriting a preallocated file. */
function probeSync(path: string, preallocated: boolean, sync: (fd: number) => void): TimingStats {
  let fd: number;
  if (preallocated) {
    fd = openSync(path, "w+");
    writeSync(fd, new Uint8Array(RAW_SYNC_SAMPLES * RAW_SYNC_RECORD_BYTES));
    fsyncSync(fd);
  } else {
    fd = openSync(path, "a");
  }
  try {
    const record = new Uint8Array(RAW_SYNC_RECORD_BYTES).fill(0x42);
    const samples: number[] = [];
    const deadline = performance.now() + RAW_SYNC_MAX_MS;
    for (let i = 0; i < RAW_SYNC_SAMPLES && performance.now() < deadline; i++) {
      const startedAt = performance.now();
      writeSync(fd, record, 0, record.length, preallocated ? i * RAW_SYNC_RECORD_BYTES : null);
      sync(fd);
      samples.push(performance.now() - startedAt);
    }
    return timingStats(samples);
  } finally {
    closeSync(fd);
  }
}

function measureRawSync(baseDir: string) {
  const dir = mkdtempSync(join(baseDir, "conclave-bench-sync-"));
  try {
    return {
      appendFdatasync: probeSync(join(dir, "append-fdatasync"), false, fdatasyncSync),
      /** What FileStorage's WAL does: append, then fsync. */
      appendFsync: probeSync(join(dir, "append-fsync"), false, fsyncSync),
      /** What a WAL with preallocated segments would do: no size change, so no inode to journal. */
      preallocatedFdatasync: probeSync(join(dir, "preallocated-fdatasync"), true, fdatasyncSync),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function timingStats(samples: number[]): TimingStats {
  const sorted = samples.slice().sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    totalMs: sorted.reduce((sum, value) => sum + value, 0),
  };
}

// ---------------------------------------------------------------- clusters

/** Phases run again, and why: a leadership change mid-load is worth knowing about. */
const phaseRetries: { nodes: number; medium: StorageMedium; phase: PhaseName; error: string }[] = [];

/** Temp dirs of running clusters, removed on SIGINT/SIGTERM too. */
const openClusters = new Set<WorkerCluster>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const cluster of openClusters) rmSync(cluster.dir, { recursive: true, force: true });
    process.exit(130);
  });
}

function nodeCost(before: NodeStats, after: NodeStats): NodeCost {
  return {
    id: after.id,
    persist: after.persist,
    readyOther: after.readyOther,
    snapshot: after.snapshot,
    timerLate: after.timerLate,
    syncedPersistsWithoutEntriesShare:
      after.persist.count === 0 ? 0 : after.syncedPersistsWithoutEntries / after.persist.count,
    entriesPerReady: after.readies === 0 ? 0 : after.entriesPersisted / after.readies,
    ticksDropped: after.ticksDropped - before.ticksDropped,
  };
}

async function runPhase(
  cluster: WorkerCluster,
  nodes: number,
  medium: StorageMedium,
  phase: PhaseName,
  spec: LoadSpec,
): Promise<PhaseResult> {
  const leader = await cluster.waitForLeader(LEADER_WAIT_MS);
  await cluster.waitForCatchUp(leader, CATCH_UP_TIMEOUT_MS);
  const before = await cluster.allStats(true);
  const load = await cluster.runLoad(leader, spec);
  await cluster.waitForCatchUp(leader, CATCH_UP_TIMEOUT_MS);
  const after = await cluster.allStats(true);
  const beforeById = new Map(before.map((stats) => [stats.id, stats]));
  const costs = after.map((stats) => nodeCost(beforeById.get(stats.id)!, stats));
  const leaderBefore = beforeById.get(leader)!;
  const leaderAfter = after.find((stats) => stats.id === leader)!;
  if (leaderAfter.role !== "leader" || leaderAfter.term !== leaderBefore.term) {
    throw new Error(`leadership changed during ${phase} (${nodes} nodes, ${medium}): figures would mix two leaders`);
  }
  const entries = leaderAfter.lastIndex - leaderBefore.lastIndex;
  let bytes = 0;
  let syncs = 0;
  for (const stats of after) {
    const previous = beforeById.get(stats.id)!;
    bytes += stats.bytesWritten - previous.bytesWritten;
    syncs += stats.syncCount - previous.syncCount;
  }
  return {
    nodes,
    medium,
    phase,
    load,
    entries,
    bytesWrittenPerEntryPerNode: bytes / nodes / entries,
    fsyncsPerEntryPerNode: syncs / nodes / entries,
    leader: costs.find((cost) => cost.id === leader)!,
    followers: costs.filter((cost) => cost.id !== leader),
  };
}

async function runCluster(nodes: number, medium: StorageMedium, baseDir: string): Promise<PhaseResult[]> {
  const cluster = await WorkerCluster.start({
    nodes,
    baseDir,
    seed: nodes * 10 + (medium === "tmpfs" ? 1 : 0),
    electionTicks: CLUSTER_ELECTION_TICKS,
    heartbeatTicks: CLUSTER_HEARTBEAT_TICKS,
    tickIntervalMs: TICK_INTERVAL_MS,
  });
  openClusters.add(cluster);
  try {
    const results: PhaseResult[] = [];
    for (const { name, spec } of PHASES) {
      for (let attempt = 1; ; attempt++) {
        try {
          results.push(await runPhase(cluster, nodes, medium, name, spec));
          break;
        } catch (error) {
          if (attempt >= MAX_PHASE_ATTEMPTS) throw error;
          const message = error instanceof Error ? error.message : String(error);
          phaseRetries.push({ nodes, medium, phase: name, error: message });
          console.error(`consensus: retrying ${name} (${nodes} nodes, ${medium}) after: ${message}`);
        }
      }
    }
    return results;
  } finally {
    await cluster.close();
    openClusters.delete(cluster);
  }
}

// ---------------------------------------------------------------- elections

/** Crashes the leader again and again; counts ticks until a new one is elected. */
function electionTicks(nodes: number) {
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const cluster = new InProcessCluster({
    ids,
    seed: 99 + nodes,
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: HEARTBEAT_TICKS,
    makeStorage: () => new MemoryStorage(),
  });
  const samples: number[] = [];
  for (let trial = 0; trial < ELECTION_TRIALS; trial++) {
    for (let i = 0; i < MAX_ELECTION_TICKS && !cluster.leader(); i++) cluster.tick();
    for (let i = 0; i < SETTLE_TICKS; i++) cluster.tick();
    const old = cluster.leader();
    if (!old) throw new Error("no leader before the crash");
    cluster.crash(old);
    let ticks = 0;
    while (!cluster.leader()) {
      if (++ticks > MAX_ELECTION_TICKS) throw new Error(`no leader ${MAX_ELECTION_TICKS} ticks after a crash`);
      cluster.tick();
    }
    samples.push(ticks);
    cluster.restart(old);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples[samples.length - 1] as number };
}

// ---------------------------------------------------------------- run

const startedAt = performance.now();
/** Other work on the machine shows up as stalls in every figure: record how busy it was. */
const loadAverageAtStart = loadavg();
const diskDir = tmpdir();
const tmpfsDir = existsSync(TMPFS_DIR) ? TMPFS_DIR : undefined;
const rawSync = measureRawSync(diskDir);
const phases: PhaseResult[] = [];
for (const { nodes, medium } of CLUSTER_RUNS) {
  const baseDir = medium === "disk" ? diskDir : tmpfsDir;
  if (baseDir) phases.push(...(await runCluster(nodes, medium, baseDir)));
}
const election3 = electionTicks(3);
const election5 = electionTicks(5);

function find(nodes: number, medium: StorageMedium, phase: PhaseName): PhaseResult | undefined {
  return phases.find((result) => result.nodes === nodes && result.medium === medium && result.phase === phase);
}

function worstFollowerP99(result: PhaseResult): number {
  return Math.max(...result.followers.map((follower) => follower.persist.p99Ms));
}

const summary: Summary = {};
/** Adds the figures of one phase under `suffix` (e.g. "_5n", "_tmpfs"). */
function summarize(result: PhaseResult | undefined, keys: (result: PhaseResult) => Summary): void {
  if (result) Object.assign(summary, keys(result));
}
const closed = (size: string, nodes: number, medium: StorageMedium, suffix: string) =>
  summarize(find(nodes, medium, size === "64b" ? "closed-64b" : "closed-4k"), (r) => ({
    [`commits_per_s_${size}_${nodes}n${suffix}`]: Math.round(r.load.commitsPerSecond),
  }));
for (const medium of ["disk", "tmpfs"] as const) {
  const suffix = medium === "disk" ? "" : "_tmpfs";
  for (const nodes of [3, 5]) {
    closed("64b", nodes, medium, suffix);
    closed("4k", nodes, medium, suffix);
  }
}
summarize(find(3, "disk", "rate-64b"), (r) => ({
  commit_p50_ms_at_1000: round(r.load.latencyP50Ms),
  commit_p99_ms_at_1000: round(r.load.latencyP99Ms),
}));
for (const medium of ["disk", "tmpfs"] as const) {
  const suffix = medium === "disk" ? "" : "_tmpfs";
  for (const nodes of [3, 5]) {
    for (const size of ["64b", "4k"] as const) {
      const qualifier = `${size === "4k" ? "_4k" : ""}${nodes === 5 ? "_5n" : ""}${suffix}`;
      if (qualifier === "") continue;
      summarize(find(nodes, medium, size === "64b" ? "rate-64b" : "rate-4k"), (r) => ({
        [`commit_p50_ms_at_1000${qualifier}`]: round(r.load.latencyP50Ms),
        [`commit_p99_ms_at_1000${qualifier}`]: round(r.load.latencyP99Ms),
      }));
    }
  }
}
summarize(find(3, "disk", "closed-64b"), (r) => ({
  commit_p50_ms_closed_64b_3n: round(r.load.latencyP50Ms),
  commit_p99_ms_closed_64b_3n: round(r.load.latencyP99Ms),
  bytes_written_per_entry: round(r.bytesWrittenPerEntryPerNode, 1),
  fsyncs_per_entry: round(r.fsyncsPerEntryPerNode, 4),
  leader_entries_per_fsync_64b_3n: round(r.leader.entriesPerReady, 1),
}));
summarize(find(3, "disk", "closed-4k"), (r) => ({
  bytes_written_per_entry_4k: round(r.bytesWrittenPerEntryPerNode, 1),
}));
summarize(find(3, "disk", "rate-64b"), (r) => ({
  bytes_written_per_entry_at_1000: round(r.bytesWrittenPerEntryPerNode, 1),
  fsyncs_per_entry_at_1000: round(r.fsyncsPerEntryPerNode, 3),
  leader_persist_p50_ms_at_1000: round(r.leader.persist.p50Ms),
  leader_persist_p99_ms_at_1000: round(r.leader.persist.p99Ms),
  follower_persist_p99_ms_at_1000: round(worstFollowerP99(r)),
  leader_other_p99_ms_at_1000: round(r.leader.readyOther.p99Ms),
  propose_lag_p99_ms_at_1000: round(r.load.proposeLagP99Ms),
  follower_commit_only_fsync_share_at_1000: round(
    Math.max(...r.followers.map((follower) => follower.syncedPersistsWithoutEntriesShare)),
  ),
  leader_timer_late_p99_ms_at_1000: round(r.leader.timerLate.p99Ms),
}));
summarize(find(3, "tmpfs", "rate-64b"), (r) => ({
  propose_lag_p99_ms_at_1000_tmpfs: round(r.load.proposeLagP99Ms),
  leader_timer_late_p99_ms_at_1000_tmpfs: round(r.leader.timerLate.p99Ms),
}));
Object.assign(summary, {
  raw_fdatasync_p50_ms: round(rawSync.appendFdatasync.p50Ms),
  raw_fdatasync_p99_ms: round(rawSync.appendFdatasync.p99Ms),
  raw_append_fsync_p50_ms: round(rawSync.appendFsync.p50Ms),
  raw_append_fsync_p99_ms: round(rawSync.appendFsync.p99Ms),
  raw_preallocated_fdatasync_p50_ms: round(rawSync.preallocatedFdatasync.p50Ms),
  raw_preallocated_fdatasync_p99_ms: round(rawSync.preallocatedFdatasync.p99Ms),
  election_ticks_p50: election3.p50,
  election_ticks_p99: election3.p99,
  election_ticks_p99_5n: election5.p99,
  load_average_1m_at_start: round(loadAverageAtStart[0] ?? Number.NaN),
  run_seconds: round((performance.now() - startedAt) / 1000, 1),
});

const file = writeResults("consensus", summary, {
  tickIntervalMs: TICK_INTERVAL_MS,
  clusterElectionTicks: CLUSTER_ELECTION_TICKS,
  clusterHeartbeatTicks: CLUSTER_HEARTBEAT_TICKS,
  electionTicks: ELECTION_TICKS,
  heartbeatTicks: HEARTBEAT_TICKS,
  phaseRetries,
  closedLoopWindow: CLOSED_LOOP_WINDOW,
  closedLoopWindowBytes: CLOSED_LOOP_WINDOW_BYTES,
  loadAverageAtStart,
  loadAverageAtEnd: loadavg(),
  fixedRatePerS: FIXED_RATE_PER_S,
  warmupMs: WARMUP_MS,
  diskDir,
  tmpfsDir: tmpfsDir ?? null,
  rawSync,
  phases,
  elections: { election3, election5 },
});
const tmpfsPart =
  summary.commit_p99_ms_at_1000_tmpfs === undefined
    ? ""
    : `, on tmpfs ${summary.commit_p50_ms_at_1000_tmpfs}/${summary.commit_p99_ms_at_1000_tmpfs} ms`;
console.log(
  `consensus: ${summary.commits_per_s_64b_3n} commits/s (64 B, 3 nodes), ${summary.commits_per_s_64b_5n} (5 nodes), ` +
    `${summary.commits_per_s_4k_3n} (4 KiB, 3 nodes); commit p50/p99 at ${FIXED_RATE_PER_S}/s ` +
    `${summary.commit_p50_ms_at_1000}/${summary.commit_p99_ms_at_1000} ms${tmpfsPart} ` +
    `(disk fdatasync p50/p99 ${summary.raw_fdatasync_p50_ms}/${summary.raw_fdatasync_p99_ms} ms); ` +
    `${summary.bytes_written_per_entry} B and ${summary.fsyncs_per_entry} fsyncs per 64 B entry per node ` +
    `(${summary.bytes_written_per_entry_at_1000} B, ${summary.fsyncs_per_entry_at_1000} at ${FIXED_RATE_PER_S}/s); ` +
    `election after crash p50/p99 ${summary.election_ticks_p50}/${summary.election_ticks_p99} ticks -> ${file}`,
);
