// What the consensus benchmark's main thread and its node workers say to each other.
// Raft traffic never passes through here: it goes worker to worker over MessageChannel
// ports, as codec-encoded bytes (see consensus-node-worker.ts).
import type { MessagePort } from "node:worker_threads";
import type { NodeId } from "../packages/consensus/src/index.ts";

/** Where a node keeps its FileStorage: the machine's disk, or tmpfs (no real fsync). */
export type StorageMedium = "disk" | "tmpfs";

export interface NodeWorkerData {
  readonly id: NodeId;
  readonly ids: readonly NodeId[];
  /** This node's own FileStorage directory. */
  readonly dir: string;
  readonly seed: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly tickIntervalMs: number;
  /** One end of a MessageChannel per other node (transferred with the worker). */
  readonly peers: Readonly<Record<NodeId, MessagePort>>;
}

/**
 * Load run by the leader's worker, which proposes and times its own proposals, so every
 * latency is measured on one clock. Closed loop: keep `window` proposals unapplied.
 * Fixed rate: propose on a schedule of `ratePerS`; latency counts from the scheduled time.
 */
export interface LoadSpec {
  readonly mode: "closed-loop" | "fixed-rate";
  readonly entryBytes: number;
  /** Proposals before this much time has passed are not measured. */
  readonly warmupMs: number;
  /** Proposals stop after warmupMs + measureMs. */
  readonly measureMs: number;
  readonly window: number;
  readonly ratePerS: number;
  /** After the last proposal, how long to wait for it to be applied before giving up. */
  readonly drainTimeoutMs: number;
}

export interface LoadResult {
  readonly mode: LoadSpec["mode"];
  readonly entryBytes: number;
  readonly proposed: number;
  /** Entries applied on the leader during the measurement window. */
  readonly appliedInWindow: number;
  readonly measuredMs: number;
  readonly commitsPerSecond: number;
  /** Measured proposals (those made after warm-up) and their propose -> applied-on-leader latency. */
  readonly latencySamples: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyMaxMs: number;
  /** Fixed rate only: how late measured proposals went out against their schedule (part of their latency). */
  readonly proposeLagP50Ms: number;
  readonly proposeLagP99Ms: number;
  readonly proposeLagMaxMs: number;
}

export interface TimingStats {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly totalMs: number;
}

export interface NodeStats {
  readonly id: NodeId;
  readonly role: string;
  readonly leaderId: NodeId;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly bytesWritten: number;
  readonly syncCount: number;
  /** Ticks skipped because the thread stalled longer than the catch-up bound. */
  readonly ticksDropped: number;
  /** Ready batches handled since the last reset, and entries they persisted. */
  readonly readies: number;
  readonly entriesPersisted: number;
  /** persist() calls that fsynced with no entries: in steady state, a new commit index alone. */
  readonly syncedPersistsWithoutEntries: number;
  /** Time inside storage.persist() per Ready that wrote anything, since the last reset. */
  readonly persist: TimingStats;
  /** Time per turn outside persist() and snapshots: decode, step, propose, encode, send, apply. */
  readonly readyOther: TimingStats;
  /** createSnapshot() calls (bounding the log kept in memory) and their time. */
  readonly snapshot: TimingStats;
  /** How late the tick timer fired, since the last reset: time the thread could not run. */
  readonly timerLate: TimingStats;
}

export type ControlRequest =
  | { readonly kind: "stats"; readonly requestId: number; readonly resetTimings: boolean }
  | { readonly kind: "load"; readonly requestId: number; readonly spec: LoadSpec }
  | { readonly kind: "stop"; readonly requestId: number };

export type WorkerEvent =
  | {
      readonly kind: "soft-state";
      readonly id: NodeId;
      readonly role: string;
      readonly leaderId: NodeId;
      readonly term: number;
    }
  | { readonly kind: "stats"; readonly requestId: number; readonly stats: NodeStats }
  | { readonly kind: "load"; readonly requestId: number; readonly result: LoadResult }
  | { readonly kind: "stopped"; readonly requestId: number }
  | { readonly kind: "failed"; readonly requestId: number; readonly message: string };
