// The agent's one Raft loop. Network events only enqueue (a bounded inbox); API calls only
// queue requests; a single loop turn, run on a timer at every tick and as soon as something
// arrives, does everything else in this order:
//
//   (a) reads the monotonic clock and catches up one tick() per elapsed tickMs; if the lease ran
//       out while the loop was stalled (SIGSTOP, GC, a slow fsync), reports it lost first of all,
//       and after a stall lets the event loop read its sockets and steps that before the ticks;
//   (b) steps the queued messages, then takes the queued requests (propose, read, transfer,
//       membership change);
//   (c) handles each Ready exactly per the contract: persist -> (lease check) -> send ->
//       restore from an installed snapshot -> apply committed entries -> serve reads -> advance;
//   (d) takes an application snapshot by the snapshot policy;
//   (e) reports what changed as typed events: leadership, lease, membership, applied index.
//
// The VIP follows the lease events. A lease is reported lost as early as the loop can know
// (before it sends anything that could make another leader) and acquired as late (end of turn).
// Its end is judged against the monotonic clock, not only the core's tick count: the lease runs
// until `lastTickAtMs + leaseTicksLeft x tickMs`, the scheduled time of the tick that stamped the
// newest quorum-acknowledged message plus leaseTicks (that message left at or after its tick's
// scheduled time, so this end is never later than the arithmetic in config/timing.ts allows). A
// late turn therefore costs the lease only when the lease really ran out meanwhile; dropping it on
// every stall past the safety margin made the VIP blink on a busy BMC for nothing (a stall of
// 150 ms with 300 ms of lease left proves nothing against the lease).
// A storage error stops the driver: run() rejects with it, and the daemon exits.
import {
  type ConfChange,
  ConfChangePendingError,
  ConfChangeType,
  ConsensusError,
  decodeConfChange,
  EntryType,
  InvalidConfChangeError,
  type Message,
  NO_NODE,
  type NodeId,
  NotLeaderError,
  type RaftConfig,
  RaftNode,
  type Ready,
  type Role,
  SeededRandom,
  type Storage,
} from "@conclave/consensus";
import type { ClusterState } from "../cluster-state/cluster-state.ts";
import type { CommandInput } from "../cluster-state/command.ts";
import { ClusterCommandRejectedError } from "../cluster-state/errors.ts";
import { MEMBERS_MAX } from "../cluster-state/types.ts";
import type { RaftTiming } from "../config/timing.ts";
import { AgentError } from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import type { RaftTransport } from "../p2p/raft-transport.ts";
import { type LoopTimers, type MonotonicClock, systemClock, systemTimers } from "./clock.ts";
import {
  DriverBusyError,
  DriverStoppedError,
  LeadershipLostError,
  ProposalTimeoutError,
  QuorumAtRiskError,
  ReadTimeoutError,
  TransferFailedError,
  TransferTimeoutError,
} from "./errors.ts";
import { Inbox } from "./inbox.ts";
import { pickTransferTarget } from "./transfer-target.ts";

export { ConfChangePendingError, NotLeaderError };

/** Requests queued by the API and not yet taken by the loop. */
export const REQUESTS_MAX = 1024;
/** Proposals and membership changes proposed and not yet applied. */
export const PENDING_PROPOSALS_MAX = 4096;
export const PROPOSE_TIMEOUT_MS_DEFAULT = 5_000;
export const READ_TIMEOUT_MS_DEFAULT = 5_000;
/** A transfer completes in an election round or the core aborts it after an election timeout. */
export const TRANSFER_TIMEOUT_MS_DEFAULT = 5_000;
/** Ready batches handled in one turn before yielding to the event loop (network I/O). */
export const READY_BATCHES_PER_TURN_MAX = 64;
/**
 * How long a TimeoutNow waits for the lease fence (the VIP taken off this node) before the
 * transfer is given up: a successor elected by TimeoutNow claims the VIP at once, so it must not
 * be asked before the old PoC has let go.
 */
export const LEASE_FENCE_TIMEOUT_MS = 3_000;
export const SNAPSHOT_EVERY_ENTRIES_DEFAULT = 1024;
export const SNAPSHOT_EVERY_LOG_BYTES_DEFAULT = 4 * 1024 * 1024;
/** Entries kept before a snapshot so a slightly lagging follower catches up from the log, not a snapshot. */
export const SNAPSHOT_RETAIN_ENTRIES_DEFAULT = 256;
/** Bytes read from storage at a time when restoring from a snapshot. */
const SNAPSHOT_READ_CHUNK_BYTES = 1024 * 1024;

export type RaftDriverTiming = Pick<
  RaftTiming,
  "tickMs" | "heartbeatTicks" | "electionTicks" | "leaseTicks" | "leaseSafetyMarginMs"
> &
  Partial<Pick<RaftTiming, "learnerHeartbeatRounds">>;

export interface SnapshotPolicy {
  /** Snapshot after this many entries applied since the last snapshot... */
  readonly everyAppliedEntries: number;
  /** ...or this many bytes of entry data, whichever comes first. */
  readonly everyLogBytes: number;
  readonly retainEntries: number;
}

export interface RaftDriverInit {
  readonly selfId: NodeId;
  readonly timing: RaftDriverTiming;
  /** Config `role: witness`: votes, never campaigns. Drained members never campaign either. */
  readonly witness?: boolean;
  readonly snapshotPolicy?: Partial<SnapshotPolicy>;
  readonly proposeTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly transferTimeoutMs?: number;
  readonly inboxMaxMessages?: number;
  readonly inboxMaxBytes?: number;
  /** Seed for election timeouts; default from crypto. */
  readonly seed?: number;
  /** Core settings beyond timing (message sizes, in-flight windows). */
  readonly raft?: Partial<
    Pick<
      RaftConfig,
      | "maxMessageBytes"
      | "maxInflightMessages"
      | "maxUncommittedBytes"
      | "maxSnapshotChunkBytes"
      | "maxCommittedBytesPerReady"
    >
  >;
}

export interface RaftDriverComponents {
  /** Opened by the daemon (FileStorage under stateDir) and closed by it after stop(). */
  readonly storage: Storage;
  readonly transport: Pick<RaftTransport, "send">;
  /** A fresh state; the driver restores it from storage. */
  readonly state: ClusterState;
  readonly clock?: MonotonicClock;
  readonly timers?: LoopTimers;
  /** Stamps proposed commands (ms since the epoch). */
  readonly wallClock?: () => number;
  readonly logger?: AgentLogger;
}

// ---------------------------------------------------------------- events

export type LeaseLostReason =
  | "expired"
  | "stall"
  | "leadership-lost"
  | "transfer"
  | "no-campaign"
  | "stopped"
  | "failed";

export interface RaftDriverEvents {
  leadershipChanged: {
    readonly role: Role;
    readonly leaderId: NodeId;
    readonly term: number;
    readonly previousRole: Role;
    readonly previousLeaderId: NodeId;
  };
  leaseAcquired: { readonly term: number };
  leaseLost: { readonly term: number; readonly reason: LeaseLostReason; readonly stalledMs?: number };
  membershipChanged: {
    readonly voters: readonly NodeId[];
    readonly learners: readonly NodeId[];
    readonly index: number;
  };
  applied: { readonly index: number };
  snapshotTaken: { readonly index: number; readonly bytes: number };
  snapshotInstalled: { readonly index: number };
  stalled: { readonly lateMs: number };
  fatal: { readonly error: unknown };
}

type Listener<T> = (event: T) => void;

// ---------------------------------------------------------------- status

export interface MemberProgress {
  readonly id: NodeId;
  readonly suffrage: "voter" | "learner";
  readonly match: number;
  readonly next: number;
  readonly state: "probe" | "replicate" | "snapshot";
  readonly recentActive: boolean;
  /** Entries the member is behind the leader's last index. */
  readonly lagEntries: number;
}

export interface RaftDriverStatus {
  readonly id: NodeId;
  readonly phase: DriverPhase;
  readonly role: Role;
  readonly leaderId: NodeId;
  readonly term: number;
  readonly lease: { readonly held: boolean; readonly ticksLeft: number; readonly msLeft: number };
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly noCampaign: boolean;
  readonly leadTransferee: NodeId;
  /** On the leader only: each member's replication progress. */
  readonly members: readonly MemberProgress[];
  readonly inbox: { readonly queued: number; readonly dropped: number };
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly stalls: number;
  readonly ticks: number;
}

export type DriverPhase = "idle" | "running" | "stopped" | "failed";

export interface ApplyResult {
  readonly index: number;
  readonly value: unknown;
}

export interface TransferResult {
  readonly leaderId: NodeId;
  readonly term: number;
  readonly tookMs: number;
}

// ---------------------------------------------------------------- internals

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface PendingProposal {
  readonly deferred: Deferred<ApplyResult>;
  readonly deadlineMs: number;
  readonly timeoutMs: number;
  readonly membership: boolean;
  term: number;
}

interface PendingRead {
  readonly deferred: Deferred<number>;
  readonly deadlineMs: number;
  /** Set once the core confirmed it: serve when applied reaches it. */
  index: number | undefined;
}

interface PendingTransfer {
  readonly deferred: Deferred<TransferResult>;
  readonly startedMs: number;
  readonly deadlineMs: number;
  target: NodeId;
  started: boolean;
}

type Request =
  | { readonly kind: "propose"; readonly data: Uint8Array; readonly pending: PendingProposal }
  | {
      readonly kind: "confChange";
      readonly change: ConfChange;
      readonly force: boolean;
      readonly pending: PendingProposal;
    }
  | { readonly kind: "read"; readonly id: string; readonly pending: PendingRead }
  | { readonly kind: "transfer"; readonly pending: PendingTransfer };

export function raftDriver(init: RaftDriverInit): (components: RaftDriverComponents) => RaftDriver {
  return (components) => new RaftDriver(init, components);
}

/** The PoC: the leader while it holds the lease. A follower trusts the leader it follows. */
export function pocFrom(selfId: NodeId, leaderId: NodeId, leaseHeldHere: boolean): NodeId | null {
  if (leaderId === NO_NODE) return null;
  if (leaderId === selfId) return leaseHeldHere ? selfId : null;
  return leaderId;
}

export class RaftDriver {
  readonly selfId: NodeId;
  readonly #timing: RaftDriverTiming;
  readonly #storage: Storage;
  readonly #transport: Pick<RaftTransport, "send">;
  readonly #state: ClusterState;
  readonly #clock: MonotonicClock;
  readonly #timers: LoopTimers;
  readonly #wallClock: () => number;
  readonly #logger: AgentLogger;
  readonly #node: RaftNode;
  readonly #snapshotPolicy: SnapshotPolicy;
  readonly #proposeTimeoutMs: number;
  readonly #readTimeoutMs: number;
  readonly #transferTimeoutMs: number;
  readonly #witness: boolean;
  readonly #maxCatchUpTicks: number;

  readonly #inbox: Inbox;
  #requests: Request[] = [];
  readonly #proposals = new Map<number, PendingProposal>();
  readonly #reads = new Map<string, PendingRead>();
  #transfer: PendingTransfer | undefined;
  #nextReadId = 1;

  readonly #listeners = new Map<keyof RaftDriverEvents, Set<Listener<never>>>();
  #phase: DriverPhase = "idle";
  #done: Deferred<void> | undefined;
  #timer: unknown;
  #timerAtMs = Number.POSITIVE_INFINITY;

  #lastTickAtMs = 0;
  #ticks = 0;
  #stalls = 0;
  #leaseHeld = false;
  /** After a stall, the lease counts only once a quorum acknowledged a tick at or after this one. */
  #leaseFreshFromTick: number | undefined;
  /** Set when ticks had to be skipped (a stall longer than the catch-up bound): the tick-to-time mapping is void. */
  #stallPending = false;
  /** How late this turn started, when later than the safety margin (0 otherwise): names a lease loss "stall". */
  #stalledMsThisTurn = 0;
  /**
   * This process's CPU time and the clock when the last turn ended. A stall's report says how much
   * CPU the process used since: about the whole gap when it was busy itself (GC, a long task), far
   * less when the machine ran others first (on a 32-BMC rack simulated on two cores, 5 ms of 150).
   */
  #cpuAtTurnEnd = process.cpuUsage();
  #clockAtTurnEndMs = 0;
  /** Run at every lease loss; see setLeaseFence. */
  #leaseFence: ((reason: LeaseLostReason) => Promise<void>) | undefined;
  /** Told the lease's remaining time after every turn and at every lease change; see setLeaseWatcher. */
  #leaseWatcher: ((msLeft: number) => void) | undefined;
  /** The fence of the latest lease loss: pending until the VIP is released. */
  #fence: { settled: boolean; failed: boolean; startedAtMs: number } | undefined;
  /** TimeoutNow messages held until the fence settles (one per target at most). */
  #heldTimeoutNow: Message[] = [];
  #role: Role = "follower";
  #leaderId: NodeId = NO_NODE;
  #voters: readonly NodeId[] = [];
  #learners: readonly NodeId[] = [];
  #noCampaign = false;
  #entriesSinceSnapshot = 0;
  #bytesSinceSnapshot = 0;

  constructor(init: RaftDriverInit, components: RaftDriverComponents) {
    this.selfId = init.selfId;
    this.#timing = init.timing;
    this.#storage = components.storage;
    this.#transport = components.transport;
    this.#state = components.state;
    this.#clock = components.clock ?? systemClock;
    this.#timers = components.timers ?? systemTimers;
    this.#wallClock = components.wallClock ?? Date.now;
    this.#logger = components.logger ?? silentLogger;
    this.#witness = init.witness ?? false;
    this.#snapshotPolicy = Object.freeze({
      everyAppliedEntries: init.snapshotPolicy?.everyAppliedEntries ?? SNAPSHOT_EVERY_ENTRIES_DEFAULT,
      everyLogBytes: init.snapshotPolicy?.everyLogBytes ?? SNAPSHOT_EVERY_LOG_BYTES_DEFAULT,
      retainEntries: init.snapshotPolicy?.retainEntries ?? SNAPSHOT_RETAIN_ENTRIES_DEFAULT,
    });
    this.#proposeTimeoutMs = init.proposeTimeoutMs ?? PROPOSE_TIMEOUT_MS_DEFAULT;
    this.#readTimeoutMs = init.readTimeoutMs ?? READ_TIMEOUT_MS_DEFAULT;
    this.#transferTimeoutMs = init.transferTimeoutMs ?? TRANSFER_TIMEOUT_MS_DEFAULT;
    // Enough for every election timeout to fire and every lease to end; more ticks change nothing.
    this.#maxCatchUpTicks = 2 * init.timing.electionTicks;
    this.#inbox = new Inbox(init.inboxMaxMessages, init.inboxMaxBytes);
    if (!(init.timing.leaseSafetyMarginMs > 0) || !(init.timing.tickMs > 0)) {
      throw new RangeError("timing: tickMs and leaseSafetyMarginMs must be positive");
    }

    // The application state starts from the storage's snapshot; the log after it is replayed by Raft.
    const metadata = this.#storage.snapshotMetadata();
    if (metadata.index > 0) this.#state.restore(readSnapshot(this.#storage), metadata);
    this.#node = new RaftNode({
      id: init.selfId,
      storage: this.#storage,
      random: new SeededRandom(init.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!),
      electionTicks: init.timing.electionTicks,
      heartbeatTicks: init.timing.heartbeatTicks,
      learnerHeartbeatRounds: init.timing.learnerHeartbeatRounds,
      leaseTicks: init.timing.leaseTicks,
      applied: this.#state.appliedIndex,
      noCampaign: this.#wantsNoCampaign(),
      logger: this.#logger,
      ...init.raft,
    });
    this.#noCampaign = this.#wantsNoCampaign();
    const status = this.#node.status();
    this.#voters = status.confState.voters;
    this.#learners = status.confState.learners;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts the loop. Settles when it ends: resolves after stop(), rejects with the error that stopped it (storage). */
  run(): Promise<void> {
    if (this.#phase !== "idle") throw new DriverStoppedError(`run() called in phase ${this.#phase}`);
    this.#phase = "running";
    this.#done = deferred<void>();
    this.#lastTickAtMs = this.#clock.now();
    this.#schedule(0);
    return this.#done.promise;
  }

  /** Stops the loop: lease reported lost, waiting callers rejected. Does not close the storage or hand over leadership. */
  stop(): void {
    if (this.#phase !== "running" && this.#phase !== "idle") return;
    this.#shutdown("stopped", new DriverStoppedError("stopped"));
    this.#done?.resolve();
  }

  get phase(): DriverPhase {
    return this.#phase;
  }

  /** The replicated state this node has applied. Read it; change it through propose(). */
  get state(): ClusterState {
    return this.#state;
  }

  /**
   * `fence` runs at every lease loss and resolves once what the lease guarded is gone (the daemon
   * releases the VIP). A TimeoutNow — which makes the successor leader, and PoC, within one round —
   * is not sent before the fence of the lease loss it follows has resolved; if the fence fails or
   * takes longer than LEASE_FENCE_TIMEOUT_MS the TimeoutNow is dropped and the transfer fails by
   * its own timeout. Unplanned failovers need no fence: the lease ends before any election can.
   */
  setLeaseFence(fence: (reason: LeaseLostReason) => Promise<void>): void {
    this.#leaseFence = fence;
  }

  /**
   * `watch` is told how long the lease has left (0 when none is held) after every turn, and before
   * a lease acquired or lost is reported: the lease guard sleeps until that end on a thread of its
   * own, and takes the VIP off the interface if this loop is stalled past it.
   */
  setLeaseWatcher(watch: (msLeft: number) => void): void {
    this.#leaseWatcher = watch;
    this.#publishLease();
  }

  on<K extends keyof RaftDriverEvents>(event: K, listener: Listener<RaftDriverEvents[K]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  // ---------------------------------------------------------------- input

  /** For the transport's onMessage: queue and return. Never blocks, never throws. */
  enqueue(message: Message): void {
    if (this.#phase === "stopped" || this.#phase === "failed") return;
    this.#inbox.push(message);
    if (this.#phase === "running") this.#schedule(0);
  }

  /**
   * Proposes a command, stamped with this node's wall clock. Resolves with its result once
   * applied here; rejects with NotLeaderError (carrying the leader's id), ClusterCommandRejectedError,
   * ProposalTimeoutError, LeadershipLostError, ProposalDroppedError, ClusterCommandInvalidError.
   */
  propose(command: CommandInput): Promise<ApplyResult> {
    let data: Uint8Array;
    try {
      data = this.#state.encode(command, Math.floor(this.#wallClock()));
    } catch (error) {
      return Promise.reject(error);
    }
    const pending = this.#newProposal(false);
    this.#request({ kind: "propose", data, pending }, pending.deferred);
    return pending.deferred.promise;
  }

  /** Adds a learner (it receives the log, does not vote). Resolves once the change is applied here. */
  addLearner(nodeId: NodeId): Promise<ApplyResult> {
    return this.#confChange({ type: ConfChangeType.AddLearner, nodeId }, false);
  }

  /** Makes a learner (or a new node) a voter. */
  promote(nodeId: NodeId): Promise<ApplyResult> {
    return this.#confChange({ type: ConfChangeType.AddVoter, nodeId }, false);
  }

  /**
   * Removes a member. Refuses with QuorumAtRiskError when the voters left that this leader
   * recently heard from would be fewer than a quorum of the new configuration, unless `force`.
   */
  remove(nodeId: NodeId, options: { force?: boolean } = {}): Promise<ApplyResult> {
    return this.#confChange({ type: ConfChangeType.RemoveNode, nodeId }, options.force ?? false);
  }

  /**
   * Confirms leadership with a quorum (ReadIndex) and waits until this node applied up to the
   * confirmed commit index; resolves with that index. Read `state` right after: it is current.
   */
  linearizableRead(): Promise<number> {
    const pending: PendingRead = {
      deferred: deferred<number>(),
      deadlineMs: this.#clock.now() + this.#readTimeoutMs,
      index: undefined,
    };
    const id = `read-${this.#nextReadId++}`;
    this.#request({ kind: "read", id, pending }, pending.deferred);
    return pending.deferred.promise;
  }

  /**
   * Hands leadership to `to` (default: the best eligible voter) and resolves once another
   * leader is known, with how long it took. Rejects with NotLeaderError, TransferFailedError
   * (the core aborted, or nobody is eligible) or TransferTimeoutError.
   */
  transferLeadership(to?: NodeId): Promise<TransferResult> {
    const now = this.#clock.now();
    const pending: PendingTransfer = {
      deferred: deferred<TransferResult>(),
      startedMs: now,
      deadlineMs: now + this.#transferTimeoutMs,
      target: to ?? NO_NODE,
      started: false,
    };
    this.#request({ kind: "transfer", pending }, pending.deferred);
    return pending.deferred.promise;
  }

  // ---------------------------------------------------------------- status

  /**
   * The PoC as this node sees it: the leader it follows, or itself while it holds the lease; null
   * while there is none. What `pocOf(status())` says, without building status() (the facade asks
   * on every request, and a leader's status() lists every member's progress).
   */
  pocId(): NodeId | null {
    return pocFrom(this.selfId, this.#node.leaderId, this.#leaseHeld);
  }

  /** status().term, without building status(). */
  get term(): number {
    return this.#node.term;
  }

  /** status().lease.held, without building status(). */
  get leaseHeld(): boolean {
    return this.#leaseHeld;
  }

  status(): RaftDriverStatus {
    const status = this.#node.status();
    const members: MemberProgress[] = Object.entries(status.progress)
      .map(([id, progress]) => ({
        id,
        suffrage: progress.isLearner ? ("learner" as const) : ("voter" as const),
        match: progress.match,
        next: progress.next,
        state: progress.state,
        recentActive: progress.recentActive,
        lagEntries: Math.max(0, status.lastIndex - progress.match),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    return {
      id: this.selfId,
      phase: this.#phase,
      role: status.role,
      leaderId: status.leaderId,
      term: status.term,
      lease: {
        held: this.#leaseHeld,
        ticksLeft: this.#leaseHeld ? status.leaseTicksLeft : 0,
        msLeft: this.#leaseHeld ? status.leaseTicksLeft * this.#timing.tickMs : 0,
      },
      commit: status.commit,
      applied: this.#state.appliedIndex,
      lastIndex: status.lastIndex,
      snapshotIndex: this.#phase === "running" || this.#phase === "idle" ? this.#storage.snapshotMetadata().index : 0,
      voters: status.confState.voters,
      learners: status.confState.learners,
      noCampaign: status.noCampaign,
      leadTransferee: status.leadTransferee,
      members,
      inbox: { queued: this.#inbox.length, dropped: this.#inbox.dropped },
      pendingProposals: this.#proposals.size,
      pendingReads: this.#reads.size,
      stalls: this.#stalls,
      ticks: this.#ticks,
    };
  }

  // ---------------------------------------------------------------- requests

  #newProposal(membership: boolean): PendingProposal {
    return {
      deferred: deferred<ApplyResult>(),
      deadlineMs: this.#clock.now() + this.#proposeTimeoutMs,
      timeoutMs: this.#proposeTimeoutMs,
      membership,
      term: 0,
    };
  }

  #confChange(change: ConfChange, force: boolean): Promise<ApplyResult> {
    const pending = this.#newProposal(true);
    this.#request({ kind: "confChange", change, force, pending }, pending.deferred);
    return pending.deferred.promise;
  }

  #request(
    request: Request,
    waiter: Deferred<never> | Deferred<ApplyResult> | Deferred<number> | Deferred<TransferResult>,
  ): void {
    if (this.#phase === "stopped" || this.#phase === "failed") {
      waiter.reject(new DriverStoppedError(this.#phase));
      return;
    }
    if (this.#requests.length >= REQUESTS_MAX) {
      waiter.reject(new DriverBusyError("requests", REQUESTS_MAX));
      return;
    }
    this.#requests.push(request);
    if (this.#phase === "running") this.#schedule(0);
  }

  #takeRequests(): void {
    // One at a time from the queue, so that a fatal error leaves the rest for shutdown to reject.
    for (let request = this.#requests.shift(); request !== undefined; request = this.#requests.shift()) {
      try {
        this.#takeRequest(request);
      } catch (error) {
        // Refusals (not leader, change pending, dropped, quorum at risk) go to the caller.
        const refusal =
          error instanceof AgentError || (error instanceof ConsensusError && error.code !== "CONSENSUS_ERR_INVARIANT");
        if (!refusal) {
          request.pending.deferred.reject(new DriverStoppedError("failed", { cause: error }));
          throw error;
        }
        request.pending.deferred.reject(error);
      }
    }
  }

  #takeRequest(request: Request): void {
    switch (request.kind) {
      case "propose": {
        if (this.#proposals.size >= PENDING_PROPOSALS_MAX) {
          request.pending.deferred.reject(new DriverBusyError("proposals", PENDING_PROPOSALS_MAX));
          return;
        }
        const { index, term } = this.#node.propose(request.data);
        request.pending.term = term;
        this.#proposals.set(index, request.pending);
        return;
      }
      case "confChange": {
        if (this.#proposals.size >= PENDING_PROPOSALS_MAX) {
          request.pending.deferred.reject(new DriverBusyError("proposals", PENDING_PROPOSALS_MAX));
          return;
        }
        this.#checkConfChange(request.change, request.force);
        const { index, term } = this.#node.proposeConfChange(request.change);
        request.pending.term = term;
        this.#proposals.set(index, request.pending);
        return;
      }
      case "read":
        this.#node.readIndex(request.id);
        this.#reads.set(request.id, request.pending);
        return;
      case "transfer":
        this.#startTransfer(request.pending);
        return;
    }
  }

  #checkConfChange(change: ConfChange, force: boolean): void {
    const status = this.#node.status();
    if (status.role !== "leader") throw new NotLeaderError(status.leaderId);
    const { voters, learners } = status.confState;
    if (change.type !== ConfChangeType.RemoveNode && voters.length + learners.length >= MEMBERS_MAX) {
      if (!voters.includes(change.nodeId) && !learners.includes(change.nodeId)) {
        throw new InvalidConfChangeError(`the cluster already has ${MEMBERS_MAX} members (MEMBERS_MAX)`);
      }
    }
    if (change.type === ConfChangeType.RemoveNode && voters.includes(change.nodeId) && !force) {
      const remaining = voters.filter((id) => id !== change.nodeId);
      const live = remaining.filter((id) => id === this.selfId || status.progress[id]?.recentActive === true).length;
      const quorum = Math.floor(remaining.length / 2) + 1;
      if (live < quorum) throw new QuorumAtRiskError(change.nodeId, live, quorum);
    }
  }

  #startTransfer(pending: PendingTransfer): void {
    const status = this.#node.status();
    if (status.role !== "leader") throw new NotLeaderError(status.leaderId);
    if (this.#transfer !== undefined) {
      pending.deferred.reject(new TransferFailedError(`a transfer to ${this.#transfer.target} is already under way`));
      return;
    }
    const target =
      pending.target !== NO_NODE
        ? pending.target
        : pickTransferTarget(this.selfId, status.confState.voters, status.progress, (id) => this.#state.member(id));
    if (target === undefined) {
      pending.deferred.reject(new TransferFailedError("no reachable voter that may lead (not a witness, not drained)"));
      return;
    }
    if (target === this.selfId) {
      pending.deferred.resolve({ leaderId: this.selfId, term: status.term, tookMs: 0 });
      return;
    }
    this.#node.transferLeadership(target);
    pending.target = target;
    pending.started = true;
    this.#transfer = pending;
    this.#logger.info({ to: target, term: status.term }, "handing leadership over");
  }

  // ---------------------------------------------------------------- the loop

  #schedule(delayMs: number): void {
    const atMs = this.#clock.now() + delayMs;
    if (this.#timer !== undefined) {
      if (this.#timerAtMs <= atMs) return;
      this.#timers.clearTimeout(this.#timer);
    }
    this.#timerAtMs = atMs;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAtMs = Number.POSITIVE_INFINITY;
      this.#turn();
    }, delayMs);
  }

  #turn(resumingAfterStall = false): void {
    if (this.#phase !== "running") return;
    let more = false;
    try {
      // (a) time: a stall is reported before anything else happens. What arrived during it is
      // still in the sockets (timers run before the event loop polls them): the turn goes on
      // once they have been read, and steps that before it counts the stall's ticks.
      if (!resumingAfterStall && this.#checkStall()) {
        this.#reportLeaseLoss();
        this.#timers.afterPendingIo(() => this.#turn(true));
        return;
      }
      if (resumingAfterStall) this.#stepWhatArrivedDuringStall();
      else this.#catchUpTicks(this.#maxCatchUpTicks);
      this.#reportLeaseLoss();
      // (b) input.
      for (const message of this.#inbox.drain()) this.#node.step(message);
      this.#takeRequests();
      // (c) Ready.
      let batches = 0;
      while (this.#node.hasReady()) {
        if (batches++ >= READY_BATCHES_PER_TURN_MAX) {
          more = true;
          break;
        }
        this.#handleReady(this.#node.ready());
      }
      this.#expireWaiters();
      this.#releaseHeldTimeoutNow();
      this.#settleTransfer();
      this.#updateLease();
      // (d) compaction.
      this.#maybeSnapshot();
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (this.#phase !== "running") return;
    this.#cpuAtTurnEnd = process.cpuUsage();
    this.#clockAtTurnEndMs = this.#clock.now();
    const nextTickMs = this.#lastTickAtMs + this.#timing.tickMs - this.#clock.now();
    this.#schedule(more || this.#inbox.length > 0 || this.#requests.length > 0 ? 0 : Math.max(0, nextTickMs));
  }

  /** True when this turn is later than the lease safety margin (a stall, reported here). */
  #checkStall(): boolean {
    const lateMs = this.#clock.now() - (this.#lastTickAtMs + this.#timing.tickMs);
    this.#stalledMsThisTurn = 0;
    if (lateMs <= this.#timing.leaseSafetyMarginMs) return false;
    this.#stalls++;
    this.#stalledMsThisTurn = Math.round(lateMs);
    const leaseLeftMs = this.#leaseHeld ? this.#leaseEndsAtMs() - this.#clock.now() : 0;
    const cpu = process.cpuUsage(this.#cpuAtTurnEnd);
    this.#logger.warn(
      {
        sinceLastTurnMs: Math.round(this.#clock.now() - this.#clockAtTurnEndMs),
        cpuMsSinceLastTurn: Math.round((cpu.user + cpu.system) / 1000),
        lateMs: Math.round(lateMs),
        marginMs: this.#timing.leaseSafetyMarginMs,
        leaseHeld: this.#leaseHeld,
        leaseLeftMs: Math.round(leaseLeftMs),
      },
      "the Raft loop was stalled longer than the lease safety margin",
    );
    // Reported before anything else: a lease that ran out during the stall is dropped at once.
    if (this.#leaseHeld && leaseLeftMs <= 0) this.#loseLease("stall", Math.round(lateMs));
    this.#emit("stalled", { lateMs });
    return true;
  }

  /**
   * The rest of a stalled turn, once the sockets were read. Counting the stall's ticks before what
   * arrived during it would judge as silence what was not: a 32-BMC rack on two cores lost its
   * leader every few seconds to its own quorum check, run by the replayed ticks while the
   * acknowledgements that answered it were still unread.
   * - A leader steps the acknowledgements first, then replays the ticks (its lease is judged by
   *   the clock, so those ticks cannot stretch it).
   * - Any other node that heard from a leader in what arrived drops the stall's ticks: they are
   *   time before that contact, and would start an election against a live leader. Dropping
   *   ticks only makes a node wait longer before it campaigns or votes, which the lease allows.
   *   A node that heard nothing replays them: the silence was real.
   */
  #stepWhatArrivedDuringStall(): void {
    const contactsBefore = this.#node.status().leaderContacts;
    for (const message of this.#inbox.drain()) this.#node.step(message);
    const status = this.#node.status();
    const heardLeader = status.role !== "leader" && status.leaderContacts > contactsBefore;
    this.#catchUpTicks(heardLeader ? 0 : this.#maxCatchUpTicks);
  }

  /** One tick() per elapsed tickMs, at most `maxTicks`; the rest are skipped. */
  #catchUpTicks(maxTicks: number): void {
    const tickMs = this.#timing.tickMs;
    let due = Math.floor((this.#clock.now() - this.#lastTickAtMs) / tickMs);
    if (due > maxTicks) {
      // Skipped ticks break the tick-to-time mapping the lease is judged by: void it until a
      // quorum acknowledges a tick from after the stall.
      this.#lastTickAtMs += (due - maxTicks) * tickMs;
      due = maxTicks;
      this.#stallPending = true;
      if (this.#leaseHeld) this.#loseLease("stall", this.#stalledMsThisTurn);
    }
    for (let i = 0; i < due; i++) {
      this.#node.tick();
      this.#ticks++;
      this.#lastTickAtMs += tickMs;
    }
    if (this.#stallPending) {
      // Acknowledgements of ticks from before the stall no longer prove anything.
      this.#stallPending = false;
      this.#leaseFreshFromTick = this.#ticks;
    }
  }

  #handleReady(ready: Ready): void {
    // 1. Durable first.
    this.#storage.persist({
      ...(ready.hardState ? { hardState: ready.hardState } : {}),
      entries: ready.entries,
      snapshotChunks: ready.snapshotChunks,
      ...(ready.installSnapshot ? { installSnapshot: ready.installSnapshot } : {}),
    });
    // A slow fsync is a stall too; and nothing may go out while a lease we no longer hold is reported held.
    this.#checkStallDuringTurn();
    this.#reportLeaseLoss();
    if (ready.softState) this.#leadershipChanged(ready.softState.role, ready.softState.leaderId);
    // 2. Then talk.
    for (const message of ready.messages) {
      if (message.type === "timeoutNow" && this.#fence !== undefined && !this.#fence.settled) {
        this.#heldTimeoutNow = [...this.#heldTimeoutNow.filter((held) => held.to !== message.to), message];
        continue;
      }
      try {
        this.#transport.send(message);
      } catch (error) {
        this.#logger.error({ err: error, to: message.to, type: message.type }, "raft transport refused a message");
      }
    }
    // 3. Then apply, in order.
    let membershipChanged = false;
    if (ready.installSnapshot) {
      const metadata = this.#storage.snapshotMetadata();
      this.#state.restore(readSnapshot(this.#storage), metadata);
      this.#entriesSinceSnapshot = 0;
      this.#bytesSinceSnapshot = 0;
      membershipChanged = true;
      for (const [index, pending] of this.#proposals) {
        if (index <= metadata.index) {
          this.#proposals.delete(index);
          pending.deferred.reject(new LeadershipLostError("proposal"));
        }
      }
      this.#logger.info({ index: metadata.index }, "restored the cluster state from an installed snapshot");
      this.#emit("snapshotInstalled", { index: metadata.index });
    }
    const settled: [PendingProposal, ApplyResult | Error][] = [];
    for (const entry of ready.committedEntries) {
      let result: ApplyResult | Error = { index: entry.index, value: undefined };
      if (entry.type === EntryType.ConfChange) {
        this.#state.applyConfChange(entry.index, decodeConfChange(entry.data));
        membershipChanged = true;
      } else if (entry.data.length === 0) {
        this.#state.applyEmpty(entry.index);
      } else {
        const outcome = this.#state.apply(entry.index, entry.data);
        if (outcome.ok) {
          result = { index: entry.index, value: outcome.value };
        } else {
          this.#logger.warn(
            { index: entry.index, type: outcome.type, code: outcome.code, reason: outcome.message },
            "command rejected",
          );
          result = new ClusterCommandRejectedError(outcome.code, outcome.message, entry.index);
        }
      }
      this.#entriesSinceSnapshot++;
      this.#bytesSinceSnapshot += entry.data.length;
      const pending = this.#proposals.get(entry.index);
      if (pending !== undefined) {
        this.#proposals.delete(entry.index);
        // Another leader's entry took the index: ours was never committed.
        settled.push([pending, pending.term === entry.term ? result : new LeadershipLostError("proposal")]);
      }
    }
    for (const read of ready.readStates) {
      const pending = this.#reads.get(read.requestId);
      if (pending !== undefined) pending.index = read.index;
    }
    // 4. Acknowledge. Membership changes take effect in the core here.
    this.#node.advance();

    for (const [pending, result] of settled) {
      if (result instanceof Error) pending.deferred.reject(result);
      else pending.deferred.resolve(result);
    }
    this.#serveReads();
    if (membershipChanged) this.#membershipChanged();
    if (ready.committedEntries.length > 0 || ready.installSnapshot) {
      this.#syncNoCampaign();
      this.#emit("applied", { index: this.#state.appliedIndex });
    }
  }

  #checkStallDuringTurn(): void {
    const lateMs = this.#clock.now() - (this.#lastTickAtMs + this.#timing.tickMs);
    if (lateMs <= this.#timing.leaseSafetyMarginMs) return;
    // A slow fsync inside the turn: the ticks catch up at the next turn, but the clock says now
    // whether the lease outlived it.
    this.#stalledMsThisTurn = Math.max(this.#stalledMsThisTurn, Math.round(lateMs));
    if (this.#leaseHeld && this.#leaseEndsAtMs() <= this.#clock.now()) {
      this.#stalls++;
      this.#loseLease("stall", Math.round(lateMs));
    }
  }

  #leadershipChanged(role: Role, leaderId: NodeId): void {
    const previousRole = this.#role;
    const previousLeaderId = this.#leaderId;
    this.#role = role;
    this.#leaderId = leaderId;
    if (previousRole === "leader" && role !== "leader") {
      for (const [index, pending] of this.#proposals) {
        this.#proposals.delete(index);
        pending.deferred.reject(new LeadershipLostError(pending.membership ? "membership change" : "proposal"));
      }
      for (const [id, pending] of this.#reads) {
        this.#reads.delete(id);
        pending.deferred.reject(new LeadershipLostError("read"));
      }
    }
    const term = this.#node.term;
    this.#logger.info({ role, leaderId, term, previousRole, previousLeaderId }, "leadership changed");
    this.#emit("leadershipChanged", { role, leaderId, term, previousRole, previousLeaderId });
  }

  #membershipChanged(): void {
    const { voters, learners } = this.#node.status().confState;
    if (sameIds(voters, this.#voters) && sameIds(learners, this.#learners)) return;
    this.#voters = voters;
    this.#learners = learners;
    this.#logger.info({ voters, learners, index: this.#state.appliedIndex }, "membership changed");
    this.#emit("membershipChanged", { voters, learners, index: this.#state.appliedIndex });
  }

  #serveReads(): void {
    const applied = this.#state.appliedIndex;
    for (const [id, pending] of this.#reads) {
      if (pending.index !== undefined && pending.index <= applied) {
        this.#reads.delete(id);
        pending.deferred.resolve(applied);
      }
    }
  }

  #wantsNoCampaign(): boolean {
    const self = this.#state.member(this.selfId);
    return this.#witness || self?.witness === true || self?.drained === true;
  }

  #syncNoCampaign(): void {
    const want = this.#wantsNoCampaign();
    if (want === this.#noCampaign) return;
    this.#noCampaign = want;
    this.#node.setNoCampaign(want);
    this.#logger.info({ noCampaign: want }, want ? "this node will not campaign" : "this node may campaign again");
  }

  #expireWaiters(): void {
    const now = this.#clock.now();
    for (const [index, pending] of this.#proposals) {
      if (pending.deadlineMs <= now) {
        this.#proposals.delete(index);
        pending.deferred.reject(new ProposalTimeoutError(pending.timeoutMs));
      }
    }
    for (const [id, pending] of this.#reads) {
      if (pending.deadlineMs <= now) {
        this.#reads.delete(id);
        pending.deferred.reject(new ReadTimeoutError(this.#readTimeoutMs));
      }
    }
  }

  #settleTransfer(): void {
    const transfer = this.#transfer;
    if (transfer === undefined) return;
    const status = this.#node.status();
    const now = this.#clock.now();
    if (status.leaderId !== NO_NODE && status.leaderId !== this.selfId) {
      this.#transfer = undefined;
      transfer.deferred.resolve({ leaderId: status.leaderId, term: status.term, tookMs: now - transfer.startedMs });
    } else if (status.role === "leader" && status.leadTransferee === NO_NODE) {
      this.#transfer = undefined;
      transfer.deferred.reject(
        new TransferFailedError(
          `${transfer.target} did not take over within an election timeout; this node still leads`,
        ),
      );
    } else if (transfer.deadlineMs <= now) {
      this.#transfer = undefined;
      transfer.deferred.reject(new TransferTimeoutError(transfer.target, this.#transferTimeoutMs));
    }
  }

  // ---------------------------------------------------------------- lease

  /** When the lease ends by the monotonic clock (see the top of this file). */
  /**
   * Whether the lease holds at this instant by the monotonic clock, not as of the last turn: a
   * turn that is late (the process starved of CPU) has not yet noticed a lease that ran out. For
   * acting on the lease from outside the loop (the VIP claim when its turn comes).
   */
  leaseHeldNow(): boolean {
    return this.#leaseHeld && !this.#stallPending && this.#leaseEndsAtMs() > this.#clock.now();
  }

  #leaseEndsAtMs(): number {
    return this.#lastTickAtMs + this.#node.leaseTicksLeft() * this.#timing.tickMs;
  }

  #leaseValid(): boolean {
    if (this.#stallPending || !this.#node.hasLease()) return false;
    if (this.#leaseEndsAtMs() <= this.#clock.now()) return false;
    if (this.#leaseFreshFromTick === undefined) return true;
    // The newest quorum-acknowledged tick is now + ticksLeft - leaseTicks; it must postdate the stall.
    const ticksLeft = this.#node.leaseTicksLeft();
    if (this.#ticks + ticksLeft - this.#timing.leaseTicks >= this.#leaseFreshFromTick) {
      this.#leaseFreshFromTick = undefined;
      return true;
    }
    return false;
  }

  #reportLeaseLoss(): void {
    if (this.#leaseHeld && !this.#leaseValid()) this.#loseLease(this.#lossReason());
  }

  #publishLease(): void {
    this.#leaseWatcher?.(this.#leaseHeld ? this.#leaseEndsAtMs() - this.#clock.now() : 0);
  }

  #updateLease(): void {
    const valid = this.#leaseValid();
    if (this.#leaseHeld && !valid) this.#loseLease(this.#lossReason());
    else if (!this.#leaseHeld && valid) {
      this.#leaseHeld = true;
      this.#publishLease();
      const term = this.#node.term;
      this.#logger.info({ term }, "lease acquired");
      this.#emit("leaseAcquired", { term });
    }
    this.#publishLease();
  }

  #lossReason(): LeaseLostReason {
    const status = this.#node.status();
    if (status.role !== "leader") return "leadership-lost";
    if (status.leadTransferee !== NO_NODE) return "transfer";
    if (status.noCampaign) return "no-campaign";
    if (this.#stallPending || this.#leaseFreshFromTick !== undefined || this.#stalledMsThisTurn > 0) return "stall";
    return "expired";
  }

  #loseLease(reason: LeaseLostReason, stalledMs?: number): void {
    this.#leaseHeld = false;
    this.#publishLease();
    const term = this.#node.term;
    this.#logger.warn({ term, reason, stalledMs }, "lease lost");
    this.#emit("leaseLost", stalledMs === undefined ? { term, reason } : { term, reason, stalledMs });
    this.#raiseFence(reason);
  }

  #raiseFence(reason: LeaseLostReason): void {
    const run = this.#leaseFence;
    if (run === undefined) return;
    const fence = { settled: false, failed: false, startedAtMs: this.#clock.now() };
    this.#fence = fence;
    const settle = (failed: boolean) => {
      fence.settled = true;
      fence.failed = failed;
      if (this.#fence === fence && this.#heldTimeoutNow.length > 0 && this.#phase === "running") this.#schedule(0);
    };
    let pending: Promise<void>;
    try {
      pending = run(reason);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      () => settle(false),
      (error: unknown) => {
        this.#logger.error({ err: error, reason }, "the lease fence failed: a transfer waiting for it is given up");
        settle(true);
      },
    );
  }

  /** Sends the TimeoutNow held for the fence once it resolved; drops it when the fence failed or timed out, or the transfer is over. */
  #releaseHeldTimeoutNow(): void {
    if (this.#heldTimeoutNow.length === 0) return;
    const fence = this.#fence;
    const status = this.#node.status();
    const stillTransferring = status.role === "leader" && status.leadTransferee !== NO_NODE;
    const timedOut =
      fence !== undefined && !fence.settled && this.#clock.now() - fence.startedAtMs > LEASE_FENCE_TIMEOUT_MS;
    if (fence !== undefined && !fence.settled && !timedOut) return;
    const held = this.#heldTimeoutNow;
    this.#heldTimeoutNow = [];
    if (timedOut || fence?.failed === true || !stillTransferring) {
      if (timedOut)
        this.#logger.error(
          { timeoutMs: LEASE_FENCE_TIMEOUT_MS },
          "the lease fence did not resolve in time: the transfer is given up",
        );
      return;
    }
    for (const message of held) {
      if (message.to !== status.leadTransferee) continue;
      try {
        this.#transport.send(message);
      } catch (error) {
        this.#logger.error({ err: error, to: message.to, type: message.type }, "raft transport refused a message");
      }
    }
  }

  // ---------------------------------------------------------------- snapshots

  #maybeSnapshot(): void {
    const policy = this.#snapshotPolicy;
    if (this.#entriesSinceSnapshot < policy.everyAppliedEntries && this.#bytesSinceSnapshot < policy.everyLogBytes) {
      return;
    }
    const index = this.#state.appliedIndex;
    if (index <= this.#storage.snapshotMetadata().index) return;
    const data = this.#state.snapshot();
    this.#storage.createSnapshot(index, this.#node.status().confState, data, policy.retainEntries);
    this.#entriesSinceSnapshot = 0;
    this.#bytesSinceSnapshot = 0;
    this.#logger.info({ index, bytes: data.length }, "cluster state snapshot taken; log compacted");
    this.#emit("snapshotTaken", { index, bytes: data.length });
  }

  // ---------------------------------------------------------------- ending

  #fail(error: unknown): void {
    this.#logger.error({ err: error }, "the Raft driver stops: a storage or invariant error");
    this.#shutdown("failed", new DriverStoppedError("failed", { cause: error }));
    this.#emit("fatal", { error });
    this.#done?.reject(error);
  }

  #shutdown(phase: "stopped" | "failed", error: Error): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#leaseHeld) this.#loseLease(phase);
    this.#phase = phase;
    for (const pending of this.#proposals.values()) pending.deferred.reject(error);
    this.#proposals.clear();
    for (const pending of this.#reads.values()) pending.deferred.reject(error);
    this.#reads.clear();
    this.#transfer?.deferred.reject(error);
    this.#transfer = undefined;
    for (const request of this.#requests) request.pending.deferred.reject(error);
    this.#requests = [];
  }

  #emit<K extends keyof RaftDriverEvents>(event: K, payload: RaftDriverEvents[K]): void {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) {
      try {
        (listener as Listener<RaftDriverEvents[K]>)(payload);
      } catch (error) {
        // A listener's bug must not stop Raft; it is the listener's to fix.
        this.#logger.error({ err: error, event }, "a Raft driver event listener threw");
      }
    }
  }
}

function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** The storage's current snapshot data, read in bounded chunks. */
export function readSnapshot(storage: Storage): Uint8Array {
  const size = storage.snapshotSize();
  const data = new Uint8Array(size);
  let offset = 0;
  while (offset < size) {
    const chunk = storage.readSnapshotChunk(offset, Math.min(SNAPSHOT_READ_CHUNK_BYTES, size - offset));
    if (chunk.length === 0) break;
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return data;
}
