// The embedder's handle on a Raft node: feed it ticks and messages, then take a Ready,
// make it durable, send it, apply it, and acknowledge it with advance().
//
// One loop drives it (etcd-io/raft's RawNode shape):
//
//   node.tick() / node.step(message) / node.propose(data) ...
//   if (node.hasReady()) {
//     const ready = node.ready();
//     storage.persist({ hardState, entries, snapshotChunks, installSnapshot })  // 1. durable first
//     send(ready.messages)                                                      // 2. then talk
//     if (ready.installSnapshot) restoreStateMachineFromStorageSnapshot()       // 3. then apply,
//     apply(ready.committedEntries)                                             //    in order
//     serve(ready.readStates)
//     node.advance()                                                            // 4. acknowledge
//   }
//
// Nothing may be called on the node between ready() and advance().
import { encodeConfChange } from "./codec.ts";
import type { RaftConfig } from "./config.ts";
import { InvariantError } from "./errors.ts";
import { Raft, type Role, type SoftState } from "./raft.ts";
import type { ReadState } from "./read-only.ts";
import type { Storage } from "./storage.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  NO_NODE,
  type NodeId,
  type SnapshotChunk,
  type SnapshotMetadata,
} from "./types.ts";

export interface Ready {
  /** Leader or role changed since the last Ready. Not persisted. */
  readonly softState?: SoftState;
  /** Term, vote or commit changed: persist it. */
  readonly hardState?: HardState;
  /** Entries to persist before sending `messages`. */
  readonly entries: readonly Entry[];
  /** InstallSnapshot chunks to persist, in order. */
  readonly snapshotChunks: readonly SnapshotChunk[];
  /** A received snapshot is complete: persist it (it replaces the log), then restore the application from it. */
  readonly installSnapshot?: SnapshotMetadata;
  /** Send only after everything above is durable. */
  readonly messages: readonly Message[];
  /** Apply in order, after persisting. Membership changes among them take effect at advance(). */
  readonly committedEntries: readonly Entry[];
  /** Linearizable reads confirmed: serve each once the application has applied up to its index. */
  readonly readStates: readonly ReadState[];
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: "probe" | "replicate" | "snapshot";
  /** Heard from in the current or the previous CheckQuorum round (one to two election timeouts). */
  readonly recentActive: boolean;
  readonly isLearner: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly leaderId: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly hasLease: boolean;
  /** Ticks left on the lease (0 without one). */
  readonly leaseTicksLeft: number;
  /**
   * Messages from a leader of this node's term stepped since the node started (append, heartbeat,
   * snapshot): a count that only grows, so that a caller can tell whether what it stepped
   * included word from a leader.
   */
  readonly leaderContacts: number;
  readonly leadTransferee: NodeId;
  readonly noCampaign: boolean;
  readonly confState: ConfState;
  /** Per member, on the leader only. */
  readonly progress: Readonly<Record<NodeId, ProgressStatus>>;
}

export class RaftNode {
  private readonly raft: Raft;
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  /** The Ready handed out and not yet acknowledged. */
  private inFlight: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.previousSoftState = this.raft.softState();
    this.previousHardState = this.raft.hardState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** status().term, status().role and status().leaderId, each without building the rest of status(). */
  get term(): number {
    return this.raft.term;
  }

  get role(): Role {
    return this.raft.role;
  }

  get leaderId(): NodeId {
    return this.raft.leaderId;
  }

  // ---------------------------------------------------------------- input

  /** One unit of logical time. The embedder calls it at a fixed interval, catching up after a stall. */
  tick(): void {
    this.assertNotInFlight("tick");
    this.raft.tick();
  }

  step(message: Message): void {
    this.assertNotInFlight("step");
    this.raft.step(message);
  }

  /** Proposes application data. Throws NotLeaderError (with the known leader), TransferInProgressError, ProposalDroppedError. */
  propose(data: Uint8Array): { index: number; term: number } {
    this.assertNotInFlight("propose");
    return this.raft.propose(data);
  }

  /** Proposes one membership change. Throws ConfChangePendingError while another is unapplied. */
  proposeConfChange(change: ConfChange): { index: number; term: number } {
    this.assertNotInFlight("proposeConfChange");
    return this.raft.proposeConfChange(change, encodeConfChange(change));
  }

  /** Starts handing leadership to `to`; watch softState for the outcome. */
  transferLeadership(to: NodeId): void {
    this.assertNotInFlight("transferLeadership");
    this.raft.transferLeadership(to);
  }

  /** Requests a linearizable read; a ReadState with `requestId` follows in a Ready (leader only). */
  readIndex(requestId: string): void {
    this.assertNotInFlight("readIndex");
    this.raft.readIndex(requestId);
  }

  /**
   * Starts an election now. Ignored when this node may not lead, and (with CheckQuorum)
   * within an election timeout of hearing from a leader: its own vote would break that
   * leader's lease. Use transferLeadership() to move a live leader.
   */
  campaign(): void {
    this.assertNotInFlight("campaign");
    this.raft.campaign(false);
  }

  /** Drained and witness nodes vote but never campaign. */
  setNoCampaign(noCampaign: boolean): void {
    this.raft.noCampaign = noCampaign;
  }

  // ---------------------------------------------------------------- output

  hasLease(): boolean {
    return this.raft.hasLease();
  }

  /** Ticks left on the lease (0 without one): status().leaseTicksLeft without building the rest of status(). */
  leaseTicksLeft(): number {
    const raft = this.raft;
    return raft.hasLease() ? raft.leaseExpiry() - raft.tickCount() : 0;
  }

  hasReady(): boolean {
    if (this.inFlight) return false;
    const raft = this.raft;
    const log = raft.log;
    return (
      raft.hasPendingBroadcast() ||
      raft.messages.length > 0 ||
      log.unstableEntries().length > 0 ||
      log.pendingSnapshot() !== undefined ||
      raft.snapshotChunks.length > 0 ||
      log.hasCommittedEntriesToApply() ||
      raft.readStates.length > 0 ||
      !sameSoftState(raft.softState(), this.previousSoftState) ||
      !sameHardState(raft.hardState(), this.previousHardState)
    );
  }

  ready(): Ready {
    this.assertNotInFlight("ready");
    const raft = this.raft;
    raft.flushBroadcast();
    const softState = raft.softState();
    const hardState = raft.hardState();
    const installSnapshot = raft.log.pendingSnapshot();
    const ready: Ready = {
      ...(sameSoftState(softState, this.previousSoftState) ? {} : { softState }),
      ...(sameHardState(hardState, this.previousHardState) ? {} : { hardState }),
      entries: raft.log.unstableEntries().slice(),
      snapshotChunks: raft.snapshotChunks,
      ...(installSnapshot ? { installSnapshot } : {}),
      messages: raft.messages,
      committedEntries: raft.log.nextCommittedEntries(raft.config.maxCommittedBytesPerReady),
      readStates: raft.readStates,
    };
    raft.snapshotChunks = [];
    raft.messages = [];
    raft.readStates = [];
    this.inFlight = ready;
    return ready;
  }

  /** Acknowledges the last Ready: persisted, sent and applied. */
  advance(): void {
    const ready = this.inFlight;
    if (!ready) throw new InvariantError("advance() without a Ready in flight");
    this.inFlight = undefined;
    const raft = this.raft;
    if (ready.softState) this.previousSoftState = ready.softState;
    if (ready.hardState) this.previousHardState = ready.hardState;
    raft.log.markPersisted();
    let appliedBytes = 0;
    for (const entry of ready.committedEntries) {
      raft.log.appliedTo(entry.index);
      appliedBytes += entry.data.length;
      if (entry.type === EntryType.ConfChange) raft.applyConfChangeEntry(entry);
    }
    raft.committedBytesApplied(appliedBytes);
  }

  status(): Status {
    const raft = this.raft;
    const progress: Record<NodeId, ProgressStatus> = {};
    if (raft.role === "leader") {
      for (const [id, p] of raft.progress) {
        progress[id] = {
          match: p.match,
          next: p.next,
          state: p.state,
          recentActive: p.recentActive || p.activeLastRound,
          isLearner: p.isLearner,
        };
      }
    }
    const hasLease = raft.hasLease();
    return {
      id: raft.id,
      role: raft.role,
      leaderId: raft.leaderId,
      term: raft.term,
      vote: raft.vote,
      commit: raft.log.committed,
      applied: raft.log.applied,
      lastIndex: raft.log.lastIndex(),
      hasLease,
      leaseTicksLeft: this.leaseTicksLeft(),
      leaderContacts: raft.leaderContactCount(),
      leadTransferee: raft.leadTransferee,
      noCampaign: raft.noCampaign,
      confState: raft.confState(),
      progress,
    };
  }

  private assertNotInFlight(operation: string): void {
    if (this.inFlight) {
      throw new InvariantError(`${operation}() called between ready() and advance()`);
    }
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leaderId === b.leaderId && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * Writes the first configuration of a new cluster into empty storage: an empty
 * snapshot at index 1, term 1, naming the voters. Bootstrap exactly one configuration
 * per cluster (every founding node with the same voters, or only one node and let the
 * others join); never bootstrap storage that already holds state.
 */
export function bootstrapStorage(storage: Storage, voters: readonly NodeId[]): void {
  if (voters.length === 0) throw new InvariantError("a cluster needs at least one voter");
  if (voters.some((id) => id === NO_NODE)) throw new InvariantError("voter ids must not be empty");
  const state = storage.initialState();
  if (storage.lastIndex() !== 0 || state.hardState.term !== 0) {
    throw new InvariantError("storage already holds Raft state; refusing to bootstrap it again");
  }
  const metadata: SnapshotMetadata = {
    index: 1,
    term: 1,
    confState: { voters: [...new Set(voters)].sort(), learners: [] },
  };
  storage.persist({
    hardState: { term: 1, vote: NO_NODE, commit: 1 },
    entries: [],
    snapshotChunks: [{ metadata, offset: 0, totalBytes: 0, data: new Uint8Array(0), done: true }],
    installSnapshot: metadata,
  });
}
