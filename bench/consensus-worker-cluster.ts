// A Raft cluster for the benchmark: one worker thread per node (consensus-node-worker.ts),
// wired peer to peer by MessageChannel ports, each node with its own FileStorage directory
// under one temp dir. close() always stops the workers and removes the temp dir.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type { NodeId } from "../packages/consensus/src/index.ts";
import type {
  ControlRequest,
  LoadResult,
  LoadSpec,
  NodeStats,
  NodeWorkerData,
  WorkerEvent,
} from "./consensus-worker-protocol.ts";

/** Bound on one stats or stop request. */
const REQUEST_TIMEOUT_MS = 5000;
/** A load request may take its own duration plus this. */
const LOAD_REQUEST_MARGIN_MS = 5000;
/** Between two looks at the cluster while waiting for a leader or for followers to catch up. */
const POLL_INTERVAL_MS = 20;
const WORKER_URL = new URL("./consensus-node-worker.ts", import.meta.url);

export interface WorkerClusterOptions {
  readonly nodes: number;
  /** Parent of the cluster's temp dir: the disk under test, or tmpfs. */
  readonly baseDir: string;
  readonly seed: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly tickIntervalMs: number;
}

interface PendingRequest {
  readonly resolve: (event: WorkerEvent) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Member {
  readonly id: NodeId;
  readonly worker: Worker;
  role: string;
  leaderId: NodeId;
  term: number;
}

export class WorkerCluster {
  readonly dir: string;
  readonly ids: readonly NodeId[];
  private readonly members = new Map<NodeId, Member>();
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  private failure: Error | undefined;
  private closed = false;

  private constructor(dir: string, ids: readonly NodeId[]) {
    this.dir = dir;
    this.ids = ids;
  }

  /** Starts one worker per node. On any error the workers started so far are stopped and the dir removed. */
  static async start(options: WorkerClusterOptions): Promise<WorkerCluster> {
    const dir = mkdtempSync(join(options.baseDir, "conclave-bench-"));
    const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    const cluster = new WorkerCluster(dir, ids);
    try {
      const ports = new Map<NodeId, Record<NodeId, MessagePort>>(ids.map((id) => [id, {}]));
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) {
          const a = ids[i]!;
          const b = ids[j]!;
          const channel = new MessageChannel();
          ports.get(a)![b] = channel.port1;
          ports.get(b)![a] = channel.port2;
        }
      }
      ids.forEach((id, i) => {
        const peers = ports.get(id)!;
        const data: NodeWorkerData = {
          id,
          ids,
          dir: join(dir, id),
          seed: options.seed * 1000 + i,
          electionTicks: options.electionTicks,
          heartbeatTicks: options.heartbeatTicks,
          tickIntervalMs: options.tickIntervalMs,
          peers,
        };
        const worker = new Worker(WORKER_URL, { workerData: data, transferList: Object.values(peers) });
        cluster.adopt(id, worker);
      });
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  private adopt(id: NodeId, worker: Worker): void {
    const member: Member = { id, worker, role: "follower", leaderId: "", term: 0 };
    this.members.set(id, member);
    worker.on("message", (event: WorkerEvent) => this.onEvent(member, event));
    worker.on("error", (error) => this.fail(new Error(`node ${id} crashed: ${error.message}`, { cause: error })));
    worker.on("exit", (code) => {
      if (!this.closed) this.fail(new Error(`node ${id} exited with code ${code}`));
    });
  }

  private onEvent(member: Member, event: WorkerEvent): void {
    if (event.kind === "soft-state") {
      member.role = event.role;
      member.leaderId = event.leaderId;
      member.term = event.term;
      return;
    }
    const request = this.pending.get(event.requestId);
    if (!request) return;
    this.pending.delete(event.requestId);
    clearTimeout(request.timer);
    if (event.kind === "failed") request.reject(new Error(event.message));
    else request.resolve(event);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(error);
    }
    this.pending.clear();
  }

  private request(id: NodeId, make: (requestId: number) => ControlRequest, timeoutMs: number): Promise<WorkerEvent> {
    if (this.failure) return Promise.reject(this.failure);
    const member = this.members.get(id);
    if (!member) return Promise.reject(new Error(`no node ${id}`));
    const requestId = this.nextRequestId++;
    return new Promise<WorkerEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`node ${id} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      member.worker.postMessage(make(requestId));
    });
  }

  /** The leader every live node agrees on, if there is one. */
  agreedLeader(): NodeId | undefined {
    let leader: Member | undefined;
    for (const member of this.members.values()) if (member.role === "leader") leader = member;
    if (!leader) return undefined;
    for (const member of this.members.values()) if (member.leaderId !== leader.id) return undefined;
    return leader.id;
  }

  async waitForLeader(timeoutMs: number): Promise<NodeId> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      const leader = this.agreedLeader();
      if (leader) return leader;
      if (performance.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms`);
      await sleep(POLL_INTERVAL_MS);
    }
  }

  async stats(id: NodeId, resetTimings: boolean): Promise<NodeStats> {
    const event = await this.request(
      id,
      (requestId) => ({ kind: "stats", requestId, resetTimings }),
      REQUEST_TIMEOUT_MS,
    );
    if (event.kind !== "stats") throw new Error(`node ${id} answered a stats request with ${event.kind}`);
    return event.stats;
  }

  allStats(resetTimings: boolean): Promise<NodeStats[]> {
    return Promise.all(this.ids.map((id) => this.stats(id, resetTimings)));
  }

  async runLoad(id: NodeId, spec: LoadSpec): Promise<LoadResult> {
    const timeoutMs = spec.warmupMs + spec.measureMs + spec.drainTimeoutMs + LOAD_REQUEST_MARGIN_MS;
    const event = await this.request(id, (requestId) => ({ kind: "load", requestId, spec }), timeoutMs);
    if (event.kind !== "load") throw new Error(`node ${id} answered a load request with ${event.kind}`);
    return event.result;
  }

  /** Waits until every node has applied the leader's whole log. */
  async waitForCatchUp(leader: NodeId, timeoutMs: number): Promise<NodeStats[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const all = await this.allStats(false);
      const lastIndex = all.find((stats) => stats.id === leader)?.lastIndex ?? Number.POSITIVE_INFINITY;
      if (all.every((stats) => stats.applied === lastIndex)) return all;
      if (performance.now() > deadline) throw new Error(`followers did not catch up within ${timeoutMs} ms`);
      await sleep(POLL_INTERVAL_MS);
    }
  }

  /** Stops every worker (bounded), terminates it, removes the temp dir. Never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.members.values()].map(async (member) => {
        try {
          if (!this.failure)
            await this.request(member.id, (requestId) => ({ kind: "stop", requestId }), REQUEST_TIMEOUT_MS);
        } catch {
          // Terminated below either way.
        }
        await member.worker.terminate();
      }),
    );
    for (const request of this.pending.values()) clearTimeout(request.timer);
    this.pending.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
