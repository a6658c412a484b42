// One Raft node of `pnpm bench consensus`, alone in a worker thread with its own FileStorage,
// so that the nodes fsync in parallel as real BMCs do with their own flash. It runs the
// agent's loop shape: the tick timer and peer ports only enqueue; one turn per event-loop
// turn steps everything queued, ticks, proposes (leader load), then handles one Ready:
// persist -> send -> apply -> advance. Peers are MessageChannel ports carrying
// codec-encoded bytes, so the codec runs as it would over a real transport.
import { isMainThread, type MessagePort, parentPort, workerData } from "node:worker_threads";
import {
  bootstrapStorage,
  decodeMessage,
  type Entry,
  encodeMessage,
  type NodeId,
  RaftNode,
  type Ready,
  SeededRandom,
} from "../packages/consensus/src/index.ts";
import { FileStorage } from "../packages/consensus/src/storage/file-storage.ts";
import type {
  ControlRequest,
  LoadResult,
  LoadSpec,
  NodeStats,
  NodeWorkerData,
  TimingStats,
  WorkerEvent,
} from "./consensus-worker-protocol.ts";
import { percentile } from "./results.ts";

/** Ticks replayed at once after the thread stalled (fsync, GC); older ones are dropped. */
const MAX_CATCH_UP_TICKS = 10;
/** Timing samples kept between two resets; later ones are only counted. */
const MAX_TIMING_SAMPLES = 200_000;
/** Messages stepped in one turn; the rest wait for the next turn. */
const MAX_MESSAGES_PER_TURN = 10_000;
/**
 * FileStorage keeps every entry after its snapshot in memory, so an embedder snapshots to bound
 * it, as this one does; without it the closed loops leave each worker hundreds of thousands of
 * entries whose garbage collection stalls the later phases.
 */
const SNAPSHOT_EVERY_ENTRIES = 20_000;
/** Entries kept behind a snapshot, so a follower a closed-loop window behind needs no snapshot. */
const SNAPSHOT_RETAIN_ENTRIES = 5_000;
/** The benchmark's state machine holds nothing. */
const EMPTY_STATE = new Uint8Array(0);

if (isMainThread || !parentPort) {
  throw new Error("consensus-node-worker.ts is started by bench/consensus.ts as a worker thread");
}
const control = parentPort;
const config = workerData as NodeWorkerData;

const storage = FileStorage.open({ dir: config.dir });
bootstrapStorage(storage, config.ids);
const node = new RaftNode({
  id: config.id,
  storage,
  random: new SeededRandom(config.seed),
  electionTicks: config.electionTicks,
  heartbeatTicks: config.heartbeatTicks,
});

class Timings {
  private samples: number[] = [];
  private count = 0;
  private totalMs = 0;

  add(ms: number): void {
    this.count++;
    this.totalMs += ms;
    if (this.samples.length < MAX_TIMING_SAMPLES) this.samples.push(ms);
  }

  summary(): TimingStats {
    const sorted = this.samples.slice().sort((a, b) => a - b);
    return {
      count: this.count,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] ?? Number.NaN,
      totalMs: this.totalMs,
    };
  }
}

/** The leader's load: proposes, and times each proposal until it is applied here. */
class LoadRun {
  readonly requestId: number;
  private readonly spec: LoadSpec;
  private readonly payload: Uint8Array;
  private readonly warmupEndAt: number;
  readonly endAt: number;
  readonly drainDeadline: number;
  private readonly intervalMs: number;
  private nextScheduledAt: number;
  /** Index -> proposal time (fixed rate: the scheduled time) of proposals not yet applied. */
  private readonly pending = new Map<number, number>();
  private readonly latencies: number[] = [];
  private proposed = 0;
  private appliedInWindow = 0;
  private readonly proposeLags: number[] = [];

  constructor(requestId: number, spec: LoadSpec, now: number) {
    this.requestId = requestId;
    this.spec = spec;
    this.payload = new Uint8Array(spec.entryBytes).fill(0x5a);
    this.warmupEndAt = now + spec.warmupMs;
    this.endAt = this.warmupEndAt + spec.measureMs;
    this.drainDeadline = this.endAt + spec.drainTimeoutMs;
    this.intervalMs = 1000 / spec.ratePerS;
    this.nextScheduledAt = now;
  }

  /** Proposes what the load calls for at `now`. Throws what propose() throws (lost leadership). */
  propose(now: number): void {
    if (now >= this.endAt) return;
    if (this.spec.mode === "closed-loop") {
      while (this.pending.size < this.spec.window) this.proposeOne(now);
      return;
    }
    while (this.nextScheduledAt <= now && this.nextScheduledAt < this.endAt) {
      this.proposeOne(this.nextScheduledAt);
      if (this.nextScheduledAt >= this.warmupEndAt) this.proposeLags.push(now - this.nextScheduledAt);
      this.nextScheduledAt += this.intervalMs;
    }
  }

  private proposeOne(at: number): void {
    const { index } = node.propose(this.payload);
    this.pending.set(index, at);
    this.proposed++;
  }

  applied(entry: Entry, now: number): void {
    const at = this.pending.get(entry.index);
    if (at === undefined) return;
    this.pending.delete(entry.index);
    if (now >= this.warmupEndAt && now < this.endAt) this.appliedInWindow++;
    if (at >= this.warmupEndAt) this.latencies.push(now - at);
  }

  /** Milliseconds until the next scheduled proposal, if the schedule has one left. */
  msToNextProposal(now: number): number | undefined {
    if (this.spec.mode !== "fixed-rate" || this.nextScheduledAt >= this.endAt) return undefined;
    return Math.max(0, this.nextScheduledAt - now);
  }

  done(now: number): boolean {
    return now >= this.endAt && this.pending.size === 0;
  }

  result(): LoadResult {
    const sorted = this.latencies.sort((a, b) => a - b);
    const lags = this.proposeLags.sort((a, b) => a - b);
    return {
      mode: this.spec.mode,
      entryBytes: this.spec.entryBytes,
      proposed: this.proposed,
      appliedInWindow: this.appliedInWindow,
      measuredMs: this.spec.measureMs,
      commitsPerSecond: this.appliedInWindow / (this.spec.measureMs / 1000),
      latencySamples: sorted.length,
      latencyP50Ms: percentile(sorted, 50),
      latencyP99Ms: percentile(sorted, 99),
      latencyMaxMs: sorted[sorted.length - 1] ?? Number.NaN,
      proposeLagP50Ms: percentile(lags, 50),
      proposeLagP99Ms: percentile(lags, 99),
      proposeLagMaxMs: lags[lags.length - 1] ?? Number.NaN,
    };
  }
}

const peers = new Map<NodeId, MessagePort>(Object.entries(config.peers));
const inbox: Uint8Array[] = [];
let turnScheduled = false;
let stopped = false;
let load: LoadRun | undefined;
let proposalTimer: NodeJS.Timeout | undefined;
const tickStartAt = performance.now();
let ticksDone = 0;
let ticksDropped = 0;
let persistTimings = new Timings();
let otherTimings = new Timings();
let snapshotTimings = new Timings();
let timerLateTimings = new Timings();
let lastApplied = 0;
let readies = 0;
let entriesPersisted = 0;
let syncedPersistsWithoutEntries = 0;

function post(event: WorkerEvent): void {
  control.postMessage(event);
}

function scheduleTurn(): void {
  if (turnScheduled || stopped) return;
  turnScheduled = true;
  setImmediate(turn);
}

for (const port of peers.values()) {
  port.on("message", (buffers: ArrayBuffer[]) => {
    for (const buffer of buffers) inbox.push(new Uint8Array(buffer));
    scheduleTurn();
  });
}
let previousTimerAt = performance.now();
const tickTimer = setInterval(() => {
  // How much later than asked the timer fired: the time this thread was kept from running
  // (other threads on too few cores, GC, a long fsync in this thread).
  const now = performance.now();
  timerLateTimings.add(Math.max(0, now - previousTimerAt - config.tickIntervalMs));
  previousTimerAt = now;
  scheduleTurn();
}, config.tickIntervalMs);

function turn(): void {
  turnScheduled = false;
  if (stopped) return;
  const startedAt = performance.now();
  const stepped = inbox.splice(0, MAX_MESSAGES_PER_TURN);
  for (const bytes of stepped) node.step(decodeMessage(bytes));

  const dueTicks = Math.floor((startedAt - tickStartAt) / config.tickIntervalMs) - ticksDone;
  const ticks = Math.min(dueTicks, MAX_CATCH_UP_TICKS);
  ticksDropped += dueTicks - ticks;
  ticksDone += dueTicks;
  for (let i = 0; i < ticks; i++) node.tick();

  if (load) {
    try {
      load.propose(startedAt);
    } catch (error) {
      failLoad(`proposing: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  let storageMs = 0;
  if (node.hasReady()) storageMs = handleReady(node.ready());
  otherTimings.add(performance.now() - startedAt - storageMs);

  const now = performance.now();
  if (load?.done(now)) {
    post({ kind: "load", requestId: load.requestId, result: load.result() });
    load = undefined;
  } else if (load && now > load.drainDeadline) {
    failLoad(`proposals still unapplied ${load.drainDeadline - load.endAt} ms after the load ended`);
  }
  if (inbox.length > 0 || node.hasReady()) scheduleTurn();
  scheduleNextProposal(now);
}

/** Persists, sends, applies and acknowledges one Ready; returns the time spent in storage (persist, snapshot). */
function handleReady(ready: Ready): number {
  readies++;
  const syncsBefore = storage.syncCount;
  const persistStartedAt = performance.now();
  storage.persist({
    ...(ready.hardState ? { hardState: ready.hardState } : {}),
    entries: ready.entries,
    snapshotChunks: ready.snapshotChunks,
    ...(ready.installSnapshot ? { installSnapshot: ready.installSnapshot } : {}),
  });
  const persistMs = performance.now() - persistStartedAt;
  if (storage.syncCount !== syncsBefore) {
    persistTimings.add(persistMs);
    if (ready.entries.length === 0 && ready.snapshotChunks.length === 0) syncedPersistsWithoutEntries++;
  }
  entriesPersisted += ready.entries.length;

  send(ready);
  if (ready.softState) {
    const { term } = node.status();
    post({ kind: "soft-state", id: config.id, role: ready.softState.role, leaderId: ready.softState.leaderId, term });
  }
  if (load) {
    const appliedAt = performance.now();
    for (const entry of ready.committedEntries) load.applied(entry, appliedAt);
  }
  lastApplied = ready.committedEntries.at(-1)?.index ?? lastApplied;
  node.advance();
  return persistMs + maybeSnapshot();
}

/** Snapshots once enough entries were applied since the last one; returns the time it took. */
function maybeSnapshot(): number {
  if (lastApplied - storage.snapshotMetadata().index < SNAPSHOT_EVERY_ENTRIES) return 0;
  const startedAt = performance.now();
  storage.createSnapshot(lastApplied, node.status().confState, EMPTY_STATE, SNAPSHOT_RETAIN_ENTRIES);
  const snapshotMs = performance.now() - startedAt;
  snapshotTimings.add(snapshotMs);
  return snapshotMs;
}

/** One postMessage per peer per Ready; each message is its own transferred buffer, as a frame would be. */
function send(ready: Ready): void {
  const outgoing = new Map<NodeId, ArrayBuffer[]>();
  for (const message of ready.messages) {
    // Encoded bytes may be a slice of a shared slab: copy to an exact-size buffer to transfer.
    const bytes = encodeMessage(message).slice();
    const buffers = outgoing.get(message.to);
    if (buffers) buffers.push(bytes.buffer);
    else outgoing.set(message.to, [bytes.buffer]);
  }
  for (const [to, buffers] of outgoing) peers.get(to)?.postMessage(buffers, buffers);
}

function scheduleNextProposal(now: number): void {
  if (proposalTimer !== undefined) clearTimeout(proposalTimer);
  proposalTimer = undefined;
  const waitMs = load?.msToNextProposal(now);
  if (waitMs !== undefined) proposalTimer = setTimeout(scheduleTurn, waitMs);
}

function failLoad(message: string): void {
  if (!load) return;
  post({ kind: "failed", requestId: load.requestId, message: `${config.id}: ${message}` });
  load = undefined;
}

function stats(resetTimings: boolean): NodeStats {
  const status = node.status();
  const result: NodeStats = {
    id: config.id,
    role: status.role,
    leaderId: status.leaderId,
    term: status.term,
    commit: status.commit,
    applied: status.applied,
    lastIndex: status.lastIndex,
    bytesWritten: storage.bytesWritten,
    syncCount: storage.syncCount,
    readies,
    entriesPersisted,
    syncedPersistsWithoutEntries,
    ticksDropped,
    persist: persistTimings.summary(),
    readyOther: otherTimings.summary(),
    snapshot: snapshotTimings.summary(),
    timerLate: timerLateTimings.summary(),
  };
  if (resetTimings) {
    persistTimings = new Timings();
    otherTimings = new Timings();
    snapshotTimings = new Timings();
    timerLateTimings = new Timings();
    readies = 0;
    entriesPersisted = 0;
    syncedPersistsWithoutEntries = 0;
  }
  return result;
}

function stop(): void {
  stopped = true;
  clearInterval(tickTimer);
  if (proposalTimer !== undefined) clearTimeout(proposalTimer);
  for (const port of peers.values()) port.close();
  storage.close();
}

control.on("message", (request: ControlRequest) => {
  switch (request.kind) {
    case "stats":
      post({ kind: "stats", requestId: request.requestId, stats: stats(request.resetTimings) });
      break;
    case "load":
      if (load) {
        post({ kind: "failed", requestId: request.requestId, message: `${config.id}: a load is already running` });
        break;
      }
      load = new LoadRun(request.requestId, request.spec, performance.now());
      scheduleTurn();
      break;
    case "stop":
      stop();
      post({ kind: "stopped", requestId: request.requestId });
      break;
  }
});
